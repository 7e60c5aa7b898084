"""``make gds``: synthesized netlist -> placed, routed, checked Sky130 layout with post-route metrics.

Two back ends behind ``run_gds``: ``local`` (graywolf via qflow -> qrouter -> klayout GDS -> magic DRC and
extraction -> netgen LVS -> OpenSTA with routed wire caps) and ``openlane`` (config.json for OpenLane 2, run
natively or dockerized when possible, metrics read back). Stages live under ``build/<id>/flow/<nn>-<stage>/``; the
local stage classes live in ``flow/pnr/*_stage.py``, one per module, so editing one does not make the others stale.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

from common.errors import BitbranchError
from flow import metrics as M
from flow import openlane
from flow.gatesim import GateSimStage
from flow.pdk import find_pdk
from flow.pnr import tech
from flow.pnr.lvs_stage import LvsStage
from flow.pnr.place_stage import PlaceStage
from flow.pnr.post import post_route_stages
from flow.pnr.render_stage import RenderStage
from flow.pnr.route_stage import RouteStage, design_area
from flow.power import PowerStage
from flow.sta import StaStage
from flow.stage import (
    FlowConfig,
    FlowContext,
    Stage,
    is_up_to_date,
    run_stages,
    stamp_metrics,
)
from flow.synth import SynthStage
from model.contract import manifest_files, read_manifest
from model.spec import DesignSpec

__all__ = ["LOCAL_STAGES", "PlaceStage", "RouteStage", "LvsStage", "RenderStage", "design_area",
           "local_stages", "run_gds", "run_local", "run_openlane", "OpenLaneStage", "out_of_date_stages",
           "front_end_metrics", "FRONT_END_STAGES", "why_not_current"]

LOCAL_STAGES: tuple[type[Stage], ...] = (PlaceStage, RouteStage, LvsStage, RenderStage)


def local_context(spec: DesignSpec, clock_ns: float, root: Path) -> FlowContext:
    cfg = FlowConfig(clock_ns=clock_ns, flow="local", extra_dont_use=tech.dont_use_cells())
    return FlowContext(spec, Path(root), find_pdk(), cfg)


def local_stages() -> list[Stage]:
    """The local flow in run order. The front end's pre-route stages run on the same netlist first, so
    metrics.json holds one consistent set; the post-route stages then overwrite timing__* and power__* with
    the routed values (see provenance)."""
    pre: list[Stage] = [SynthStage(), StaStage(), GateSimStage(), PowerStage()]
    return [*pre, *(s() for s in LOCAL_STAGES[:3]), *post_route_stages(), LOCAL_STAGES[3]()]


def run_local(spec: DesignSpec, clock_ns: float, root: Path) -> dict[str, Any]:
    ctx = local_context(spec, clock_ns, root)
    run_stages(local_stages(), ctx)
    m = M.read_metrics(ctx.metrics_path)
    print(f"GDS: {RouteStage().gds(ctx)}  DRC boxes: {m.get('magic__drc_error__count')}  "
          f"LVS errors: {m.get('design__lvs_error__count')}  metrics: {ctx.metrics_path}")
    return m


class OpenLaneStage(Stage):
    """Write the OpenLane 2 config for the design; run it when a runner exists and read its metrics."""

    name = "openlane"
    index = 20
    tools = ()
    metric_names = openlane.OPENLANE_METRIC_PREFIXES

    def config_path(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "config.json"

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [ctx.rtl_dir / "manifest.json", *manifest_files(read_manifest(ctx.rtl_dir / "manifest.json"), ctx.rtl_dir)]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.config_path(ctx), openlane.latest_run_metrics(self.dir(ctx))]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"clock_ns": ctx.config.clock_ns, "core_util_pct": 50}

    def prepare(self, ctx: FlowContext) -> None:
        from flow.synth import ensure_rtl

        ensure_rtl(ctx.spec, ctx.root)

    def write(self, ctx: FlowContext) -> Path:
        m = read_manifest(ctx.rtl_dir / "manifest.json")
        srcs = list(manifest_files(m, ctx.rtl_dir))
        cfg = openlane.OpenLaneConfig(m["top"], tuple(p.name for p in srcs), m.get("clock_port", "clk"), ctx.config.clock_ns)
        path = openlane.write_config(cfg, srcs, self.dir(ctx))
        print(f"OpenLane config: {path}")
        return path

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        path = self.write(ctx)
        runner = openlane.find_runner()
        mpath = openlane.run(runner, path, ctx.pdk.root, self.dir(ctx) / "openlane.log")
        return openlane.read_metrics(mpath)


def run_openlane(spec: DesignSpec, clock_ns: float, root: Path) -> dict[str, Any]:
    ctx = FlowContext(spec, Path(root), find_pdk(), FlowConfig(clock_ns=clock_ns, flow="openlane"))
    stage = OpenLaneStage()
    stage.prepare(ctx)
    runner = openlane.find_runner()
    if runner.kind == "none":
        path = stage.write(ctx)  # useful output on its own; the metrics file is left as it was
        raise BitbranchError(f"{runner.reason} (config written: {path})")
    run_stages([stage], ctx)
    return M.read_metrics(ctx.metrics_path)


def run_gds(spec: DesignSpec, clock_ns: float, flow: str, root: Path) -> dict:
    """Entry point of ``python -m flow gds``: the local chain or OpenLane; returns the metrics dict."""
    if flow == "local":
        return run_local(spec, clock_ns, root)
    if flow == "openlane":
        return run_openlane(spec, clock_ns, root)
    raise BitbranchError(f"unknown flow {flow!r}: choose local or openlane (FLOW=...)")


def _recorded_context(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any]) -> FlowContext:
    """The context a metrics file was made in, rebuilt from its ``flow__config``.

    flow__config is config_summary(): the FlowConfig fields minus the cell list (recorded as its hash, which
    the callers compare with the current one) and the tool time-out; the missing ones take their defaults.
    """
    fields = {f.name for f in dataclasses.fields(FlowConfig)}
    cfg = FlowConfig(**{k: v for k, v in (metrics.get("flow__config") or {}).items() if k in fields})
    return FlowContext(spec, Path(root), find_pdk(), cfg)


def out_of_date_stages(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any]) -> list[str]:
    """Stages that wrote ``metrics`` (its provenance) whose stamp no longer matches their inputs, code or tools.

    A report calls this before showing a row: metrics.json alone cannot tell that, e.g., the P&R code changed
    after a design was routed. The caller has checked that the recorded ``flow__config`` matches the current one.
    """
    ctx = _recorded_context(spec, root, metrics)
    known = {s.name: s for s in (*local_stages(), OpenLaneStage())}
    return [name for name in sorted(metrics.get(M.PROVENANCE_KEY) or {})
            if name not in known or not is_up_to_date(known[name], ctx)]


def why_not_current(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any],
                    expected_config: Mapping[str, Any] | None, stamps: bool = True) -> str | None:
    """Why ``metrics`` are not the current design's, or None when they are: made under another flow
    configuration than ``expected_config`` (``config_summary`` of the one asked for; None: not checked), or
    (with ``stamps``) written by a stage that is no longer up to date."""
    if expected_config is not None:
        made = metrics.get("flow__config")
        if not isinstance(made, Mapping):
            return "no flow configuration recorded (made by an older flow)"
        differ = sorted(k for k in set(made) | set(expected_config) if made.get(k) != expected_config.get(k))
        if differ:
            return f"flow configuration differs in {', '.join(differ)}"
    if stamps:
        try:
            old = out_of_date_stages(spec, root, metrics)
        except BitbranchError as e:
            return f"cannot check the stage stamps ({e})"
        if old:
            return f"{', '.join(old)} out of date (inputs, code or tools changed since; rerun make ppa)"
    return None


FRONT_END_STAGES: tuple[type[Stage], ...] = (SynthStage, StaStage, PowerStage)


def front_end_metrics(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Post-synthesis numbers of a design (area and cells, fmax, power and energy) from the stamps of its
    synth, sta and power stages, or None unless all three ran and are still up to date.

    A routed design's metrics.json holds the post-route values under the same names; these stay comparable
    with a design whose back end failed or is still running. The caller has checked ``flow__config``.
    """
    ctx = _recorded_context(spec, root, metrics)
    out: dict[str, Any] = {}
    for cls in FRONT_END_STAGES:
        stage = cls()
        if not is_up_to_date(stage, ctx):
            return None
        out.update(stamp_metrics(stage, ctx))
    return out
