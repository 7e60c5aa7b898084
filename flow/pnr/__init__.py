"""Local Sky130 place-and-route chain: graywolf (qflow) -> qrouter -> klayout GDS -> magic DRC/extract -> netgen LVS.

Stages, one module each (their order and folder numbers: the ``gds`` row of ``flow.flows.FLOW_TABLE``):
``tech_stage`` (shared, ``build/pdk/pnr``), ``place_stage`` (05), ``route_stage`` (06), ``lvs_stage`` (07), ``post``
(08-11, post-route netlist, simulation, STA, power), ``render_stage`` (12); ``common`` holds the placement attempts
they share, ``place`` the placement both the place and the route stage run.
Helpers, one module per idea: ``tech`` (derived PDK files), ``defedit`` (DEF legalisation, well taps), ``route`` (qrouter
script, failed nets, DRC feedback), ``gds`` (DEF -> GDS), ``repair`` (LVS-neutral GDS fixes), ``magic`` (DRC,
extraction), ``lvs`` (netgen), ``spef`` (routed wire caps, routed netlist), ``render``.
"""
