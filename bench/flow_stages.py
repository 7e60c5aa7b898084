"""Wall time of each local back-end stage for one design (default parallel BITS=2 N=32), from a clean build root.

usage: .venv/bin/python bench/flow_stages.py [arch] [bits] [n] [root]   (goal: under 2 minutes in all on 2 cores)
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flow import stage as S  # noqa: E402
from model.spec import DesignSpec  # noqa: E402
from rtl import archs  # noqa: E402


def main() -> int:
    arch, bits, n = (sys.argv[1:4] + ["parallel", "2", "32"][len(sys.argv[1:4]):])[:3]
    root = Path(sys.argv[4] if len(sys.argv) > 4 else "build/bench-flow")
    spec = archs.registered(DesignSpec(arch, int(bits), int(bits), int(n)))
    shutil.rmtree(spec.build_dir(root), ignore_errors=True)
    times: list[tuple[str, float]] = []
    real_execute = S.execute

    def timed(stage, ctx, force=False):
        t0 = time.monotonic()
        try:
            return real_execute(stage, ctx, force)
        finally:
            times.append((stage.name, time.monotonic() - t0))

    S.execute = timed  # measure each stage as run_stages calls it
    from flow import backend

    t0 = time.monotonic()
    try:
        m = backend.run_gds(spec, 10.0, "local", root)
        status = f"ok: DRC boxes {m.get('magic__drc_error__count')}, LVS errors {m.get('design__lvs_error__count')}"
    except Exception as e:  # report the failing stage, still print the times measured so far
        status = f"failed: {e}"
    total = time.monotonic() - t0
    print(f"{spec.id} (2-core machine, {time.strftime('%Y-%m-%d')}): {status}")
    for name, t in times:
        print(f"  {name:16s} {t:8.1f} s")
    print(f"  {'total':16s} {total:8.1f} s  (goal < 120 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
