"""``make gds``: synthesized netlist -> placed, routed, checked Sky130 layout with post-route metrics.

Two back ends behind ``run_gds``: ``local`` (graywolf via qflow -> qrouter -> klayout GDS -> magic DRC and
extraction -> netgen LVS -> OpenSTA with routed wire caps) and ``openlane`` (config.json for OpenLane 2, run
natively or dockerized when possible, metrics read back). Which stages run, in which order, is the ``gds`` and
``openlane`` rows of ``flow.flows.FLOW_TABLE``; stages live under ``build/<id>/flow/<nn>-<stage>/``; the local stage
classes live in ``flow/pnr/*_stage.py``, one per module, so editing one does not make the others stale.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from common.errors import BitbranchError
from flow import metrics as M
from flow import openlane
from flow.flows import FLOWS, FRONT_END, stage_by_name
from flow.openlane_stage import OpenLaneStage
from flow.pdk import find_pdk
from flow.pnr import tech
from flow.pnr.route_stage import design_area
from flow.stage import (
    FlowConfig,
    FlowContext,
    Stage,
    check_metrics,
    is_up_to_date,
    run_flow,
    stamp_metrics,
)
from model.spec import DesignSpec

__all__ = ["design_area", "local_stages", "run_gds", "run_local", "run_openlane", "OpenLaneStage",
           "out_of_date_stages", "front_end_metrics", "why_not_current"]


def local_context(spec: DesignSpec, clock_ns: float, root: Path, vectors: int = 200, seed: int = 1) -> FlowContext:
    cfg = FlowConfig(clock_ns=clock_ns, flow="local", extra_dont_use=tech.dont_use_cells(), vectors=vectors, seed=seed)
    return FlowContext(spec, Path(root), find_pdk(), cfg).with_flow(FLOWS["gds"])


def local_stages() -> list[Stage]:
    """The local flow in run order (the ``gds`` row of the flow table)."""
    return list(FLOWS["gds"].stages)


def run_local(spec: DesignSpec, clock_ns: float, root: Path, force: bool = False, vectors: int = 200,
              seed: int = 1) -> dict[str, Any]:
    ctx = local_context(spec, clock_ns, root, vectors, seed)
    tech.check_plain_paths(ctx.root, ctx.pdk)  # before hours of work, not at placement
    run_flow(FLOWS["gds"], ctx, force=force)
    m = M.read_metrics(ctx.metrics_path)
    print(f"GDS: {ctx.path('gds')}  DRC: magic {m.get('magic__drc_error__count')}, "
          f"KLayout {m.get('klayout__drc_error__count')}  LVS errors: {m.get('design__lvs_error__count')}  "
          f"metrics: {ctx.metrics_path}")
    return m


def run_openlane(spec: DesignSpec, clock_ns: float, root: Path, force: bool = False) -> dict[str, Any]:
    flow = FLOWS["openlane"]
    ctx = FlowContext(spec, Path(root), find_pdk(), FlowConfig(clock_ns=clock_ns, flow="openlane")).with_flow(flow)
    stage = flow.stage("openlane")
    assert isinstance(stage, OpenLaneStage)
    stage.prepare(ctx)
    runner = openlane.find_runner()
    if runner.kind == "none":
        path = stage.write(ctx)  # useful output on its own; the metrics file is left as it was
        raise BitbranchError(f"{runner.reason} (config written: {path})")
    run_flow(flow, ctx, force=force)
    return M.read_metrics(ctx.metrics_path)


def run_gds(spec: DesignSpec, clock_ns: float, flow: str, root: Path, force: bool = False,
            vectors: int | None = None, seed: int | None = None) -> dict:
    """Entry point of ``python -m flow gds``: the local chain or OpenLane; returns the metrics dict.

    ``vectors``/``seed`` drive the local flow's gate-level simulations (None: the defaults); OpenLane runs none,
    so giving them with ``flow="openlane"`` is an error rather than silently ignored."""
    if flow == "local":
        defaults = FlowConfig()
        return run_local(spec, clock_ns, root, force=force, vectors=defaults.vectors if vectors is None else vectors,
                         seed=defaults.seed if seed is None else seed)
    if flow == "openlane":
        if vectors is not None or seed is not None:
            raise BitbranchError("--vectors and --seed set the local flow's gate-level simulation; "
                                 "--flow openlane runs none (drop them)")
        return run_openlane(spec, clock_ns, root, force=force)
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
    known = stage_by_name()
    return [name for name in sorted(metrics.get(M.PROVENANCE_KEY) or {})
            if name not in known or not is_up_to_date(known[name][1], ctx.with_flow(known[name][0]))]


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
        problem = metrics_mismatch(spec, root, metrics)
        if problem:
            return f"metrics.json: {problem} (edited by hand, or by an interrupted run; rerun the flow)"
    return None


def metrics_mismatch(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any]) -> str | None:
    """Why the values of ``metrics`` are not exactly those the stamps of the stages that wrote it record
    (``flow.stage.check_metrics``), or None: a hand-edited value in metrics.json shows as stale."""
    prov = metrics.get(M.PROVENANCE_KEY)
    names = set(prov) if isinstance(prov, Mapping) else set()
    flow = next((f for f in FLOWS.values() if set(f.names()) == names), None)
    if flow is None:
        return f"its stages ({', '.join(sorted(names)) or 'none'}) are not those of any flow"
    return check_metrics(flow.stages, _recorded_context(spec, root, metrics).with_flow(flow), metrics)


def front_end_metrics(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Post-synthesis numbers of a design (area and cells, fmax, power and energy) from the stamps of the stages
    of the ``power`` flow (``flows.FRONT_END``), or None unless all of them ran and are still up to date.

    A routed design's metrics.json holds the post-route values under the same names; these stay comparable
    with a design whose back end failed or is still running. The caller has checked ``flow__config``.
    """
    flow = FLOWS[FRONT_END]
    ctx = _recorded_context(spec, root, metrics).with_flow(flow)
    out: dict[str, Any] = {}
    for stage in flow.stages:
        if not is_up_to_date(stage, ctx):
            return None
        out.update(stamp_metrics(stage, ctx))
    return out
