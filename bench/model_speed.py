"""How fast model.energy scores designs: specs/second over every registered arch, W=A=1..8, N in {8, 32, 64}."""

from __future__ import annotations

import time

from model.energy import load_calibration
from model.spec import DesignSpec
from reports.estimates import estimate_detail
from rtl import archs


def main() -> None:
    cal = load_calibration()
    specs = [DesignSpec(arch, w, a, n) for arch in archs.names() for w in range(1, 9) for a in range(1, 9) for n in (8, 32, 64)]
    estimate_detail(specs[0], cal)  # warm-up (imports)
    t0 = time.perf_counter()
    for s in specs:
        estimate_detail(s, cal)
    dt = time.perf_counter() - t0
    print(f"model.energy: {len(specs)} specs in {dt:.2f} s = {len(specs) / dt:.0f} specs/second "
          f"(256 random vectors each, W,A in 1..8, N in 8/32/64, {len(archs.names())} archs)")


if __name__ == "__main__":
    main()
