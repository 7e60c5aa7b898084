"""Stage openlane: write the OpenLane 2 config for the design; run it when a runner exists and read its metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flow import openlane
from flow.stage import FlowContext, Stage
from model.contract import read_manifest


class OpenLaneStage(Stage):
    """Write the OpenLane 2 config for the design; run it when a runner exists and read its metrics."""

    name = "openlane"
    tools = ()
    metric_names = openlane.OPENLANE_METRIC_PREFIXES
    consumes = ("rtl_manifest", "rtl_sources")
    produces = {"openlane_config": "config.json", "openlane_metrics": "runs/bitbranch/final/metrics.json"}

    def config_path(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "config.json"

    def produced(self, ctx: FlowContext) -> dict[str, tuple[Path, ...]]:
        return {"openlane_config": (self.config_path(ctx),),
                "openlane_metrics": (openlane.latest_run_metrics(self.dir(ctx)),)}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"clock_ns": ctx.config.clock_ns, "core_util_pct": 50}

    def prepare(self, ctx: FlowContext) -> None:
        from flow.synth import ensure_rtl

        ensure_rtl(ctx.spec, ctx.root)

    def write(self, ctx: FlowContext) -> Path:
        m = read_manifest(ctx.path("rtl_manifest"))
        srcs = ctx.paths("rtl_sources")
        cfg = openlane.OpenLaneConfig(m["top"], tuple(p.name for p in srcs), m.get("clock_port", "clk"), ctx.config.clock_ns,
                                      adder_type=openlane.ADDER_TYPES[ctx.spec.adder])
        path = openlane.write_config(cfg, srcs, self.dir(ctx))
        print(f"OpenLane config: {path}")
        return path

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        path = self.write(ctx)
        runner = openlane.find_runner()
        mpath = openlane.run(runner, path, ctx.pdk.root, self.dir(ctx) / "openlane.log")
        return openlane.read_metrics(mpath)
