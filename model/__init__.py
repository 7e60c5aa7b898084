"""Reference arithmetic of the {-1,+1} encoding: codes, bit planes, branch dot product, quantizers, spec."""
