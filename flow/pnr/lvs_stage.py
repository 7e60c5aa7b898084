"""Stage lvs: magic extraction (devices and connectivity, no parasitics) of the final GDS, netgen LVS against the
routed netlist from the cell SPICE."""

from __future__ import annotations

from typing import Any

from common.files import atomic_write_json, atomic_write_text
from flow.pnr import lvs
from flow.pnr.common import pnr_tech, top_of
from flow.pnr.magic import run_extract
from flow.stage import FlowContext, Stage, run_tool


class LvsStage(Stage):
    """magic extraction of the final GDS, netgen LVS against the routed netlist built from the cell SPICE."""

    name = "lvs"
    tools = ("magic", "netgen-lvs")
    metric_names = ("design__lvs_error__count",)
    consumes = ("rtl_manifest", "gds", "routed_def", "pnr_tech")
    produces = {"lvs_report": "lvs.rpt", "lvs_json": "lvs.json"}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        d.mkdir(parents=True, exist_ok=True)
        t = pnr_tech(ctx)
        top = top_of(ctx)
        run_extract(self.name, ctx, t, ctx.path("gds"), top, d / "extract")
        src, unconnected = lvs.source_spice(ctx.path("routed_def").read_text(), t.lvs_spice, top)
        atomic_write_text(d / "source.spice", src)
        log = run_tool(self.name, "netgen-lvs", ["netgen-lvs", "-batch", "lvs", f"extract.spice {top}", f"source.spice {top}",
                       str(t.netgen_setup), "lvs.rpt"], d, ctx.config.timeout_s, cwd=d)
        res = lvs.parse_result(log.read_text(errors="replace"), (d / "lvs.rpt").read_text(errors="replace") if (d / "lvs.rpt").is_file() else "")
        atomic_write_json(d / "lvs.json", {"match": res.match, "errors": res.errors, "summary": res.summary,
                                            "source_unconnected_pins": unconnected})
        print(f"[lvs] {res.summary}")
        return {"design__lvs_error__count": res.errors}
