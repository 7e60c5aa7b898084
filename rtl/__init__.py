"""Verilog generator: spec -> PE Verilog + manifest under build/<id>/rtl/."""
