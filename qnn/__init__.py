"""The digits MLP: training with each width's quantized levels (data, net, sweep) and integer inference
checked bit-exactly on the generated RTL (on_rtl). Above verif, beside flow: it runs RTL, never the flow."""
