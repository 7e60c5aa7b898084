"""Local Sky130 place-and-route chain: graywolf (qflow) -> qrouter -> klayout GDS -> magic DRC/extract -> netgen LVS.

Stages, one module each: ``place_stage`` (10), ``route_stage`` (11), ``lvs_stage`` (12), ``post`` (13-16, post-route
netlist, simulation, STA, power), ``render_stage`` (17); ``common`` holds the placement attempts they share.
Helpers, one module per idea: ``tech`` (derived PDK files), ``defedit`` (DEF legalisation, well taps), ``route`` (qrouter
script, failed nets, DRC feedback), ``gds`` (DEF -> GDS), ``repair`` (LVS-neutral GDS fixes), ``magic`` (DRC,
extraction), ``lvs`` (netgen), ``spef`` (routed wire caps, routed netlist), ``render``.
"""
