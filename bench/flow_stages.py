"""Wall time per flow stage and per design.

usage:
  .venv/bin/python bench/flow_stages.py [arch] [bits] [n] [root]
      run one design (default parallel BITS=2 N=32) through ``python -m flow gds`` from a clean build folder and
      print each stage's wall time (goal for parallel W2A2: under 5 minutes in all on 2 cores)
  .venv/bin/python bench/flow_stages.py --table [root] [design ...]
      run nothing: per-stage, per-design wall times of the last run of every stage under ``root`` (default
      build), from the ``wall_s`` each stage records in its ``stamp.json`` ("-": no stamp, "?": a stamp from
      before stages recorded their time); then the CPU seconds of the design's qrouter runs (every round the
      route stage ran, from its ``rounds.json``; "?": a run from before the flow recorded CPU time), a figure
      the machine's load does not change, and the winning placement attempt
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def stage_times(design_dir: Path) -> dict[str, float | None]:
    """{stage name: wall seconds or None} from ``<design>/flow/<nn>-<stage>/stamp.json``, in folder order."""
    out: dict[str, float | None] = {}
    for stamp in sorted((design_dir / "flow").glob("[0-9][0-9]-*/stamp.json")):
        name = re.sub(r"^\d\d-", "", stamp.parent.name)
        try:
            out[name] = json.loads(stamp.read_text()).get("wall_s")
        except (OSError, json.JSONDecodeError):
            out[name] = None
    return out


def winner(design_dir: Path) -> str:
    try:
        m = json.loads((design_dir / "flow" / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError):
        return ""
    return str(m.get("route__attempt__winner") or "")


def qrouter_cpu_s(design_dir: Path) -> float | str:
    """CPU seconds of every qrouter run of the design's route stage (``rounds.json``); "-": no rounds recorded,
    "?": a round without a CPU figure (a run from before the flow recorded it, or one that did not finish)."""
    rounds = sorted((design_dir / "flow").glob("[0-9][0-9]-route/rounds.json"))
    try:
        data = json.loads(rounds[-1].read_text()) if rounds else None
    except (OSError, json.JSONDecodeError):
        data = None
    if not isinstance(data, list) or not data:
        return "-"
    cpu = [(r.get("qrouter") or {}).get("cpu_s") for r in data if isinstance(r, dict) and "qrouter" in r]
    return "?" if not cpu or any(not isinstance(c, (int, float)) for c in cpu) else round(sum(cpu), 1)


def table(root: Path, ids: list[str]) -> str:
    designs = sorted(d for d in root.iterdir() if (d / "flow").is_dir() and (not ids or d.name in ids))
    times = {d.name: stage_times(d) for d in designs}
    stages: list[str] = []
    for t in times.values():
        stages += [s for s in t if s not in stages]
    width = max([len("design"), *(len(d) for d in times)])
    cols = [s[:12] for s in stages]
    lines = [f"{'design':<{width}} " + " ".join(f"{c:>12}" for c in cols) + f" {'total s':>9} {'qrouter CPU s':>13}"
             f"  route winner"]
    col_sum = {s: 0.0 for s in stages}
    for d in designs:
        t = times[d.name]
        cells = []
        for s in stages:
            v = t.get(s, "-")
            if isinstance(v, (int, float)):
                col_sum[s] += v
                cells.append(f"{v:12.1f}")
            else:
                cells.append(f"{'-' if v == '-' else '?':>12}")
        total = sum(v for v in t.values() if isinstance(v, (int, float)))
        cpu = qrouter_cpu_s(d)
        lines.append(f"{d.name:<{width}} " + " ".join(cells) + f" {total:9.1f} "
                     + (f"{cpu:13.1f}" if isinstance(cpu, float) else f"{cpu:>13}") + f"  {winner(d)}")
    lines.append(f"{'sum':<{width}} " + " ".join(f"{col_sum[s]:12.1f}" for s in stages)
                 + f" {sum(col_sum.values()):9.1f}")
    shared = [(p.parent.name, json.loads(p.read_text()).get("wall_s")) for p in sorted((root / "pdk").glob("*/stamp.json"))]
    if shared:
        lines.append("shared stages (once for every design): " + ", ".join(f"{n} {v if v is not None else '?'} s"
                                                                           for n, v in shared))
    return "\n".join(lines)


def run_one(arch: str, bits: str, n: str, root: Path) -> int:
    from flow import stage as S
    from model.spec import DesignSpec
    from rtl import archs

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
        status = (f"ok: DRC magic {m.get('magic__drc_error__count')}, KLayout {m.get('klayout__drc_error__count')}, "
                  f"LVS errors {m.get('design__lvs_error__count')}, route winner {m.get('route__attempt__winner')}")
    except Exception as e:  # report the failing stage, still print the times measured so far
        status = f"failed: {e}"
    total = time.monotonic() - t0
    load = os.getloadavg()
    print(f"{spec.id} ({os.cpu_count()} cores, load average {load[0]:.1f} at the end, {time.strftime('%Y-%m-%d')}): {status}")
    for name, t in times:
        print(f"  {name:16s} {t:8.1f} s")
    print(f"  {'total':16s} {total:8.1f} s")
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if argv and argv[0] == "--table":
        root = Path(argv[1] if len(argv) > 1 else "build")
        print(table(root, argv[2:]))
        return 0
    arch, bits, n = (argv[:3] + ["parallel", "2", "32"][len(argv[:3]):])[:3]
    from model.spec import SpecError

    try:
        return run_one(arch, bits, n, Path(argv[3] if len(argv) > 3 else "build/bench-flow"))
    except (SpecError, ValueError) as e:  # a bad arch, width or N: one line, as the flow's own commands say it
        print(f"flow_stages: {e} (usage: bench/flow_stages.py [arch] [bits] [n] [root]; --help)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
