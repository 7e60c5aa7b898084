"""Stage klayout-drc: the second DRC deck (KLayout's sky130 runset) on the final GDS, as OpenLane runs it."""

from __future__ import annotations

import os
from typing import Any, Mapping

from common.files import atomic_write_json
from flow.pnr import klayout_drc
from flow.pnr.common import top_of
from flow.stage import FlowContext, Stage, StageError, _last_lines, run_tool


def _threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class KlayoutDrcStage(Stage):
    """``klayout -b -r sky130A_mr.drc`` (FEOL, BEOL, off-grid) on the routed GDS: the total and per-rule counts.

    The count is a metric, not a failure, like magic's: the report shows both decks' counts.
    """

    name = "klayout-drc"
    tools = ("klayout",)
    metric_names = ("klayout__drc_error__count", "klayout__drc_error__count__rule")
    consumes = ("rtl_manifest", "gds", "pdk_klayout_drc_deck")
    produces = {"klayout_drc_report": "drc.lyrdb", "klayout_drc_json": "drc.json"}

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"deck": ctx.pdk.klayout_drc_deck.name, "checks": dict(klayout_drc.CHECKS),
                "count": "items of the report database (one per marker)"}

    def prepare(self, ctx: FlowContext) -> None:
        why = klayout_drc.why_unusable(ctx.pdk.klayout_drc_deck)
        if why:  # one clear line naming the fix, before the generic missing-input check
            raise StageError(self.name, None, [], f"cannot run: {why}")

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        d.mkdir(parents=True, exist_ok=True)
        report = ctx.path("klayout_drc_report")
        argv = klayout_drc.argv(ctx.pdk.klayout_drc_deck, ctx.path("gds").resolve(), top_of(ctx), report.resolve(),
                                _threads())
        # the report is its declared output: removed before a real run, kept (and checked) when the run is reused
        # (it reads only the GDS and the deck, both stage inputs, nothing else of its folder)
        log = run_tool(self.name, "klayout", argv, d, ctx.config.timeout_s, cwd=d, reads=[], writes=[report.name])
        if not report.is_file():
            raise StageError(self.name, log, _last_lines(log), "klayout wrote no DRC report")
        try:
            rules = klayout_drc.parse_report(report.read_text(errors="replace"))
        except ValueError as e:
            raise StageError(self.name, report, [], str(e)) from None
        total = sum(rules.values())
        atomic_write_json(ctx.path("klayout_drc_json"), {"total": total, "by_rule": rules,
                                                         "deck": str(ctx.pdk.klayout_drc_deck)})
        print(f"[{self.name}] {total} violation(s)" + (f": {rules}" if rules else ""), flush=True)
        return {"klayout__drc_error__count": total, **{klayout_drc.rule_metric(r): n for r, n in rules.items()}}
