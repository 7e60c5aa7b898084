"""Energy per MAC of the serial PE against the parallel PE and the conventional baseline (#16 item 3).

Usage: python bench/serial_energy.py [BITS ...] [--root R]   (default BITS 2, root build/bench-serial)
Runs the flow's front end (`python -m flow power`: synthesis, STA, gate-level simulation of 200 random vectors with
valid/ready high, activity-based power at tt_025C_1v80, 10 ns) for serial, parallel and baseline at W=A=BITS, N=32,
through the same stages as `make power` (up-to-date stages are reused), and prints post-synthesis energy per MAC,
area, flip-flops and the ratios. Goal in #16: serial <= 1.3x parallel at W2A2.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow.flows import FLOWS  # noqa: E402
from flow.metrics import read_metrics  # noqa: E402
from flow.pdk import find_pdk  # noqa: E402
from flow.stage import FlowConfig, FlowContext, run_flow  # noqa: E402
from model.spec import DesignSpec  # noqa: E402

GOAL = 1.3
ARCHS = ("serial", "parallel", "baseline")


def measure(spec: DesignSpec, root: Path) -> dict:
    """The power flow's metrics of one design, as `python -m flow power` makes them (up-to-date stages reused)."""
    ctx = FlowContext(spec, root, find_pdk(), FlowConfig())
    run_flow(FLOWS["power"], ctx)
    return read_metrics(ctx.metrics_path)


def main(argv: list[str]) -> int:
    root = Path("build") / "bench-serial"
    if "--root" in argv:
        k = argv.index("--root")
        root = Path(argv[k + 1])
        argv = argv[:k] + argv[k + 2:]
    widths = [int(b) for b in argv] or [2]
    print(f"{'W=A':>3} {'arch':<9} {'E/MAC pJ':>9} {'area um2':>9} {'flops':>5}  (post-synthesis, tt, 200 vectors)")
    for b in widths:
        e = {}
        for arch in ARCHS:
            m = measure(DesignSpec(arch, b, b, 32), root)
            e[arch] = m["power__energy_per_mac__pj"]
            print(f"{b:>3} {arch:<9} {e[arch]:9.3f} {m['design__instance__area']:9.0f} "
                  f"{m['design__instance__count__sequential']:5d}")
        ratio = e["serial"] / e["parallel"]
        goal = f" (goal <= {GOAL}: {'met' if ratio <= GOAL else 'not met'})" if b == 2 else ""
        print(f"W{b}A{b}: serial / parallel x{ratio:.2f}{goal}, serial / baseline x{e['serial'] / e['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
