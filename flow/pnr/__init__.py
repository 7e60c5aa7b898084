"""Local Sky130 place-and-route chain: graywolf (qflow) -> qrouter -> klayout GDS -> magic DRC/extract -> netgen LVS.

One module per idea: ``tech`` (derived PDK files), ``defedit`` (DEF legalisation, well taps), ``route`` (qrouter
script, failed nets, DRC feedback), ``gds`` (DEF -> GDS), ``repair`` (LVS-neutral GDS fixes), ``magic`` (DRC,
extraction), ``lvs`` (netgen), ``spef`` (routed wire caps, routed netlist), ``post`` (post-route stages), ``render``.
"""
