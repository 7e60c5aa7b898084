"""Time the Sky130 front end (synth, 3-corner STA, gate-level sim, power) for each registered arch at W2A2, N=32."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow.flows import FLOWS  # noqa: E402
from flow.metrics import read_metrics  # noqa: E402
from flow.pdk import find_pdk  # noqa: E402
from flow.stage import FlowConfig, FlowContext, run_stages  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from rtl import archs  # noqa: E402

ROOT = Path("build") / "bench-flow"


def main() -> None:
    pdk = find_pdk()
    print(f"{'design':<22} {'synth':>7} {'sta':>7} {'gatesim':>8} {'power':>7}  cells  P_total(W)")
    for arch in archs.names():
        flow = FLOWS["power"]
        ctx = FlowContext(DesignSpec(arch, 2, 2, 32), ROOT, pdk, FlowConfig()).with_flow(flow)
        run_stages([flow.stage("liberty")], ctx)  # the shared filtered liberty, not timed
        times = []
        for stage in (flow.stage(n) for n in ("synth", "sta", "gatesim", "power")):
            t0 = time.monotonic()
            run_stages([stage], ctx, force=True)
            times.append(time.monotonic() - t0)
        m = read_metrics(ctx.metrics_path)
        print(f"{ctx.spec.id:<22} " + " ".join(f"{t:7.1f}" for t in times)
              + f"  {m['design__instance__count']:5d}  {m['power__total']:.3e}")


if __name__ == "__main__":
    main()
