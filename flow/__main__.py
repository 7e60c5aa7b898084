"""``python -m flow synth|sta|power|gds <spec args> --clock-ns X [--flow local|openlane]``.

synth: yosys; sta: synth + OpenSTA at tt/ss/ff; power: synth + sta + gate-level simulation + power;
gds: handed to ``flow.backend.run_gds`` (the back end). Up-to-date stages are reused, not rerun.
The default clock is 10 ns (100 MHz); it is recorded as ``clock__period`` in the metrics file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from common.cli import run_main
from common.errors import BitbranchError
from rtl.cli import add_spec_arguments, spec_from_args

COMMANDS = ("synth", "sta", "power", "gds")


def parse_clock_ns(text: str | None) -> float:
    """'' or None -> the default clock; otherwise a positive number of nanoseconds."""
    from flow.stage import DEFAULT_CLOCK_NS

    if text is None or str(text).strip() == "":
        return DEFAULT_CLOCK_NS
    try:
        value = float(text)
    except ValueError:
        raise BitbranchError(f"--clock-ns must be a number of nanoseconds, got {text!r} (e.g. CLOCK_NS=10)") from None
    if not value > 0 or value != value or value == float("inf"):
        raise BitbranchError(f"--clock-ns must be positive, got {text!r} (e.g. CLOCK_NS=10)")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flow", description="Sky130 flow for one PE")
    p.add_argument("command", choices=COMMANDS)
    add_spec_arguments(p)
    p.add_argument("--clock-ns", default=None, help="clock period in ns (default 10 = 100 MHz)")
    p.add_argument("--flow", default="local", help="gds only: local (qflow tools) | openlane")
    p.add_argument("--root", default="build", help="build folder (default build)")
    p.add_argument("--vectors", type=int, default=200, help="power: random input vectors (default 200)")
    p.add_argument("--seed", type=int, default=1, help="power: stimulus seed (default 1)")
    p.add_argument("--force", action="store_true", help="rerun stages even when up to date")
    return p


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """Headline numbers of a metrics dict, one per line, with units."""
    from flow.metrics import METRIC_UNITS

    rows = []
    for key in sorted(metrics):
        if key == "provenance" or not isinstance(metrics[key], (int, float)):
            continue
        base = key.split("__corner:")[0]
        unit = METRIC_UNITS.get(base, "")
        rows.append(f"  {key:<44} {metrics[key]:.6g} {unit.split(' ')[0] if unit else ''}".rstrip())
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    spec = spec_from_args(ns)
    clock_ns = parse_clock_ns(ns.clock_ns)
    flow = (ns.flow or "local").strip() or "local"
    root = Path(ns.root)
    if ns.command == "gds":
        try:
            from flow.backend import run_gds
        except ModuleNotFoundError as e:
            if e.name in ("flow.backend",):
                raise BitbranchError("the place-and-route back end (flow/backend.py) is not installed in this checkout; "
                                     "`make synth|sta|power` work without it") from None
            raise
        run_gds(spec, clock_ns=clock_ns, flow=flow, root=root)
        return 0
    from flow.gatesim import GateSimStage
    from flow.metrics import read_metrics
    from flow.pdk import find_pdk
    from flow.power import PowerStage
    from flow.sta import StaStage
    from flow.stage import FlowConfig, FlowContext, run_stages
    from flow.synth import SynthStage

    cfg = FlowConfig(clock_ns=clock_ns, flow=flow, vectors=ns.vectors, seed=ns.seed)
    ctx = FlowContext(spec, root, find_pdk(), cfg)
    stages = {"synth": [SynthStage()], "sta": [SynthStage(), StaStage()],
              "power": [SynthStage(), StaStage(), GateSimStage(), PowerStage()]}[ns.command]
    run_stages(stages, ctx, force=ns.force)
    print(f"{spec.id}: {ctx.metrics_path} (clock {clock_ns:g} ns, PDK {ctx.pdk.root})")
    print("\n".join(summary_lines(read_metrics(ctx.metrics_path))))
    return 0


if __name__ == "__main__":
    run_main(main)
