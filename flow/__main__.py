"""``python -m flow synth|sta|power|gds <spec args> [--clock-ns X] [--root DIR] [--force] [--vectors N] [--seed S]
[--flow local|openlane]``.

Each command runs the flow of the same name in ``flow.flows.FLOW_TABLE``: synth: yosys; sta: synth + OpenSTA at
tt/ss/ff; power: synth + sta + gate-level simulation + power; gds: power + place and route, DRC, LVS, post-route
checks (``--flow openlane``: the OpenLane flow instead, via ``flow.backend.run_gds``). Up-to-date stages are reused,
not rerun; ``--force`` reruns them. ``--clock-ns``, ``--root`` and ``--force`` work for every command; ``--vectors``
and ``--seed`` (the gate-level simulation's stimulus) for power and gds; ``--flow`` for gds. A flag a command cannot
use is refused with one ``error:`` line (exit status 2), never ignored.
The default clock is 10 ns (100 MHz); it is recorded as ``clock__period`` in the metrics file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence

from common.cli import parse_int, run_main
from common.errors import BitbranchError
from rtl.cli import add_spec_arguments, spec_from_args

COMMANDS = ("synth", "sta", "power", "gds")  # = flow.flows.COMMANDS (not imported here: the CLI parses first)
SIMULATING = ("power", "gds")  # commands whose flow runs the gate-level simulation (--vectors, --seed)


def parse_clock_ns(text: str | None) -> float:
    """'' or None -> the default clock; otherwise a positive number of nanoseconds."""
    from flow.stage import CLOCK_NS_MAX, CLOCK_NS_MIN, DEFAULT_CLOCK_NS

    if text is None or str(text).strip() == "":
        return DEFAULT_CLOCK_NS
    try:
        value = float(text)
    except ValueError:
        raise BitbranchError(f"--clock-ns must be a number of nanoseconds, got {text!r} (e.g. CLOCK_NS=10)") from None
    if not value > 0 or value != value or value == float("inf"):
        raise BitbranchError(f"--clock-ns must be positive, got {text!r} (e.g. CLOCK_NS=10)")
    if not CLOCK_NS_MIN <= value <= CLOCK_NS_MAX:
        raise BitbranchError(f"--clock-ns {text} is outside {CLOCK_NS_MIN:g}..{CLOCK_NS_MAX:g} ns (10 GHz..1 kHz), "
                             f"where the flow's numbers mean something (e.g. CLOCK_NS=10)")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m flow", description="Sky130 flow for one PE")
    p.add_argument("command", choices=COMMANDS)
    add_spec_arguments(p)
    p.add_argument("--clock-ns", default=None, help="clock period in ns (default 10 = 100 MHz)")
    p.add_argument("--flow", default=None, help="gds only: local (qflow tools, default) | openlane")
    p.add_argument("--root", default="build", help="build folder (default build)")
    p.add_argument("--vectors", default=None, help="power, gds: random input vectors of the gate-level simulation (default 200)")
    p.add_argument("--seed", default=None, help="power, gds: stimulus seed (default 1)")
    p.add_argument("--run-bits", default=None, help="power only: run-time widths of the gate-level stimulus, b or mxk "
                   "(a run-time-precision PE gets them on wprec/aprec, any other PE m- and k-bit values in its own "
                   "widths; default: the spec's widths)")
    p.add_argument("--force", action="store_true", help="rerun stages even when up to date")
    return p


def _given(text: str | None) -> bool:
    return text is not None and str(text).strip() != ""


def check_flags(ns: argparse.Namespace) -> tuple[str, int | None, int | None]:
    """The flow kind, vectors and seed of a command line (None: not given); one clear error for a flag the
    command cannot use."""
    kind = (ns.flow or "").strip() or "local"
    if kind not in ("local", "openlane"):
        raise BitbranchError(f"--flow {kind!r}: choose local or openlane (FLOW=...)")
    if kind != "local" and ns.command != "gds":
        raise BitbranchError(f"--flow {kind} applies to gds only: {ns.command} always runs the local tools")
    vectors = parse_int(ns.vectors, "--vectors", lo=1) if _given(ns.vectors) else None
    seed = parse_int(ns.seed, "--seed", lo=0) if _given(ns.seed) else None
    given = [f for f, v in (("--vectors", vectors), ("--seed", seed)) if v is not None]
    if given and ns.command not in SIMULATING:
        raise BitbranchError(f"{' and '.join(given)} set the gate-level simulation's stimulus: "
                             f"{ns.command} runs none (use power or gds)")
    if given and kind == "openlane":
        raise BitbranchError(f"{' and '.join(given)} set the local flow's gate-level simulation: "
                             f"--flow openlane runs none (drop them)")
    return kind, vectors, seed


def summary_lines(metrics: dict[str, Any]) -> list[str]:
    """Headline numbers of a metrics dict, one per line, with units."""
    from flow.metrics import METRIC_UNITS

    rows = []
    for key in sorted(metrics):
        if key == "provenance" or not isinstance(metrics[key], (int, float)):
            continue
        base = key.split("__corner:")[0].split("__")
        # a refinement of a metric (``..._propagated__from_inputs``) has the unit of the longest named prefix
        unit = next((METRIC_UNITS[k] for i in range(len(base), 0, -1) if (k := "__".join(base[:i])) in METRIC_UNITS), "")
        rows.append(f"  {key:<44} {metrics[key]:.6g} {unit.split(' ')[0] if unit else ''}".rstrip())
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    kind, vectors, seed = check_flags(ns)
    spec = spec_from_args(ns)
    clock_ns = parse_clock_ns(ns.clock_ns)
    run_bits = ""
    if _given(ns.run_bits):
        from model.runtime import parse_run_bits

        if ns.command != "power":
            raise BitbranchError(f"--run-bits (RUN_BITS) sets the power stimulus' run-time widths: use it with power, "
                                 f"not {ns.command}")
        rb = parse_run_bits(ns.run_bits, spec)
        run_bits = "" if rb is None else f"{rb.m}x{rb.k}"
    root = Path(ns.root)
    if ns.command == "gds":
        try:
            from flow.backend import run_gds
        except ModuleNotFoundError as e:
            if e.name in ("flow.backend",):
                raise BitbranchError("the place-and-route back end (flow/backend.py) is not installed in this checkout; "
                                     "`make synth|sta|power` work without it") from None
            raise
        run_gds(spec, clock_ns=clock_ns, flow=kind, root=root, force=ns.force, vectors=vectors, seed=seed)
        return 0
    from flow.flows import FLOWS
    from flow.metrics import read_metrics
    from flow.pdk import find_pdk
    from flow.stage import FlowConfig, FlowContext, run_flow

    defaults = FlowConfig()
    cfg = FlowConfig(clock_ns=clock_ns, flow=kind, vectors=defaults.vectors if vectors is None else vectors,
                     seed=defaults.seed if seed is None else seed, run_bits=run_bits)
    ctx = FlowContext(spec, root, find_pdk(), cfg)
    run_flow(FLOWS[ns.command], ctx, force=ns.force)
    print(f"{spec.id}: {ctx.metrics_path} (clock {clock_ns:g} ns, PDK {ctx.pdk.root})")
    print("\n".join(summary_lines(read_metrics(ctx.metrics_path))))
    return 0


if __name__ == "__main__":
    run_main(main)
