"""cocotb verification of the generated PEs against model/'s reference."""
