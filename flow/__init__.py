"""Sky130 flow: netlist, timing, power, layout and metrics of each PE."""
