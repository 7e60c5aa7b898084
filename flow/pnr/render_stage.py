"""Stage render: a headless PNG of the final GDS for the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from flow.pnr import render
from flow.stage import FlowContext, Stage


class RenderStage(Stage):
    """Headless PNG of the final GDS (klayout LayoutView with the PDK's layer properties)."""

    name = "render"
    tools = ()
    metric_names = ()
    consumes = ("gds",)
    produces = {"layout_png": "../{top}.png"}  # build/<id>/flow/<top>.png, beside metrics.json

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        lyp = ctx.pdk.klayout_lyp  # optional: without the PDK's layer properties klayout uses its defaults
        return [*super().inputs(ctx), *([lyp] if lyp is not None and lyp.is_file() else [])]

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        render.render(ctx.path("gds"), ctx.path("layout_png"), ctx.pdk.klayout_lyp)
        return {}
