"""Stage 17-render: a headless PNG of the final GDS for the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from flow.pnr import render
from flow.pnr.common import PNR_DIR, top_of
from flow.pnr.route_stage import RouteStage
from flow.stage import FlowContext, Stage


class RenderStage(Stage):
    """Headless PNG of the final GDS (klayout LayoutView with the PDK's layer properties)."""

    name = "render"
    index = 17
    tools = ()
    metric_names = ()

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        lyp = ctx.pdk.klayout_lyp
        return [RouteStage().gds(ctx), PNR_DIR / "render.py", *([lyp] if lyp is not None and lyp.is_file() else [])]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [ctx.flow_dir / f"{top_of(ctx)}.png"]

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        render.render(RouteStage().gds(ctx), self.outputs(ctx)[0], ctx.pdk.klayout_lyp)
        return {}
