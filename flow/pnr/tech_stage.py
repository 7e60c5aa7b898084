"""Stage ``pnr-tech``: the derived P&R tech files (``tech.prepare``) under ``<build>/pdk/pnr/``, shared by every design.

The place, route and LVS stages consume them as the artifact ``pnr_tech``; computing their inputs writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flow.pnr import tech
from flow.pnr.common import PNR_DIR, pnr_tech
from flow.stage import FlowContext, Stage


class PnrTechStage(Stage):
    """qflow/graywolf tech, magic tech, router LEF, klayout map, LVS SPICE and netgen setup from the PDK."""

    name = "pnr-tech"
    shared = True
    consumes = ("liberty_tt", "pdk_magic_tech", "pdk_lef", "pdk_cdl")
    produces = {"pnr_tech": ("<derived tech files, see flow/pnr/tech.py files()>",)}
    sources = (PNR_DIR / "qrouter_dont_use.txt",)  # data tech.prepare reads (its code: the import closure)

    def dir(self, ctx: FlowContext) -> Path:
        return tech.tech_dir(ctx.root)

    def produced(self, ctx: FlowContext) -> dict[str, tuple[Path, ...]]:
        return {"pnr_tech": tech.files(pnr_tech(ctx))}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"qflow_tech": tech.QFLOW_TECH}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        tech.prepare(ctx.pdk, ctx.root, ctx.path("liberty_tt").resolve())
        return {}
