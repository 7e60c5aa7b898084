"""Stage place: qflow placement (graywolf) of the synthesized netlist at the first attempt, legalised, with well taps."""

from __future__ import annotations

from typing import Any, Mapping

from common.files import atomic_write_json, atomic_write_text
from common.tools import debian_version
from flow.pnr import defedit, tech
from flow.pnr.common import PNR
from flow.pnr.place import PLACE_CONSUMES, place
from flow.stage import FlowContext, Stage


class PlaceStage(Stage):
    """qflow placement (graywolf) of the netlist with the first attempt's density and seed, then legalisation.

    The route stage re-places with the later attempts when routing fails (the same ``flow.pnr.place.place``).
    """

    name = "place"
    tools = ("yosys", "qflow")
    metric_names = ("place__tap__worst_distance__um", "place__taps__count")
    consumes = PLACE_CONSUMES
    produces = {"placed_def": "placed.def", "qrouter_head": "qrouter_head.cfg", "rail_obs": "rail_obs.tcl"}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"attempt": PNR.attempts[0].placement.as_list(), "tap_um": PNR.tap_um, "qflow_tech": tech.QFLOW_TECH,
                "fanout_buffering": "qflow blifFanout -f -l 200 -c 20 (buffering only, no resizing), buf_2 (fallback)",
                "graywolf_debian_version": debian_version("graywolf")}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        first = PNR.attempts[0].placement
        legal, cfg, info = place(self.name, ctx, first, d / first.name)
        atomic_write_text(ctx.path("placed_def"), legal)
        atomic_write_text(ctx.path("qrouter_head"), cfg)
        atomic_write_text(ctx.path("rail_obs"), defedit.rail_obstructions(legal))
        atomic_write_json(d / "place.json", info)
        return {"place__tap__worst_distance__um": info["worst_tap_um"], "place__taps__count": info["taps"]}
