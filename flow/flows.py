"""The flows as data: one table, ``FLOW_TABLE``, lists each flow's stages in run order.

Everything else follows from it: the CLI's commands (``python -m flow synth|sta|power|gds``; ``gds --flow openlane``
runs the ``openlane`` flow), the back end, the stamp checks of the reports, and the folder numbers: per-design
stages are numbered 01, 02, ... in the order of their flow (``build/<id>/flow/<nn>-<name>/``), shared stages
(``liberty``, ``pnr-tech``) write under ``build/pdk/`` and have no number. A stage has the same number in every flow
that runs it (the shorter flows are prefixes of ``gds``; ``check_table`` enforces it).

``Flow`` (``flow/stage.py``) checks at import that every artifact a stage consumes is a primary input or produced
by an earlier stage of its flow.
"""

from __future__ import annotations

from typing import Mapping

from flow.derived import LibertyStage
from flow.gatesim import GateSimStage
from flow.openlane_stage import OpenLaneStage
from flow.pnr.klayout_drc_stage import KlayoutDrcStage
from flow.pnr.lvs_stage import LvsStage
from flow.pnr.place_stage import PlaceStage
from flow.pnr.post import PostRoutePowerStage, PostRouteStaStage, RoutedGateSimStage, RoutedNetlistStage
from flow.pnr.render_stage import RenderStage
from flow.pnr.route_stage import RouteStage
from flow.pnr.tech_stage import PnrTechStage
from flow.power import PowerStage
from flow.sta import StaStage
from flow.stage import Flow, FlowError, Stage
from flow.synth import SynthStage

_SYNTH: tuple[type[Stage], ...] = (LibertyStage, SynthStage)
_POWER = (*_SYNTH, StaStage, GateSimStage, PowerStage)
FLOW_TABLE: dict[str, tuple[type[Stage], ...]] = {
    "synth": _SYNTH,
    "sta": (*_SYNTH, StaStage),
    "power": _POWER,
    # the front end's pre-route stages run on the same netlist first, so metrics.json holds one consistent set;
    # the post-route stages then overwrite timing__* and power__* with the routed values (see provenance)
    "gds": (*_POWER, PnrTechStage, PlaceStage, RouteStage, LvsStage, KlayoutDrcStage,
            RoutedNetlistStage, RoutedGateSimStage, PostRouteStaStage, PostRoutePowerStage, RenderStage),
    "openlane": (OpenLaneStage,),
}

FRONT_END = "power"
"""The flow whose stamps hold a design's post-synthesis numbers (``flow.backend.front_end_metrics``)."""


def check_table(flows: Mapping[str, Flow]) -> None:
    """A stage name means one stage class and one folder in every flow."""
    seen: dict[str, tuple[type[Stage], str]] = {}
    for f in flows.values():
        for s in f.stages:
            key = (type(s), f"{s.index:02d}-{s.name}" if not s.shared else s.name)
            if s.name in seen and seen[s.name] != key:
                raise FlowError(f"stage {s.name!r} is {key} in flow {f.name!r} but {seen[s.name]} in another flow")
            seen[s.name] = key


FLOWS: dict[str, Flow] = {name: Flow(name, classes) for name, classes in FLOW_TABLE.items()}
check_table(FLOWS)

COMMANDS: tuple[str, ...] = ("synth", "sta", "power", "gds")
"""``python -m flow`` commands: each names a flow of the table (``gds --flow openlane``: the ``openlane`` flow)."""


def flow_for(command: str, kind: str = "local") -> Flow:
    """The flow a command runs: ``gds`` with ``kind`` openlane runs the ``openlane`` flow."""
    return FLOWS["openlane" if command == "gds" and kind == "openlane" else command]


def stage_by_name() -> dict[str, tuple[Flow, Stage]]:
    """Every stage of the table by name, with the first flow that runs it (its artifacts resolve there)."""
    out: dict[str, tuple[Flow, Stage]] = {}
    for f in FLOWS.values():
        for s in f.stages:
            out.setdefault(s.name, (f, s))
    return out
