"""Benchmark the design-space exploration on Dask (issue #18's goals), printing the load average beside every figure.

1. model-only throughput: points per second of ``reports.dse.model_rows``, in this process and on a 2-worker
   LocalCluster (``reports.dse.model_chunks``: a design's clocks in one task, estimated once), over every arch x
   encoding x W,A 1..4 x N 8..64 x 3 clocks (384 designs, 1152 points);
2. scaling: the same 8-point front-end grid (parallel, serial x pm1, twos x W1A1, W2A2 at N=32, 10 ns) on 1 worker and
   on 2 workers, each from an empty build root, submitted largest first as ``make dse`` does, on workers that have
   imported the task's modules (both runs); ``--repeat`` runs of each, alternating, the best wall time of each worker
   count taken (one run varies by +-10 % on a shared 2-core VM); the ratio (goal <= 0.55);
3. the per-point front-end time (synth, 3-corner STA, gate-level sim, power) of the W2A2 N=32 points (goal < 90 s);
4. the peak resident memory of each worker process and of the largest tool run it started.

    python bench/dse.py [--root /tmp/dse-bench] [--parts model,scaling,w4a4]

Parts: ``model`` (1), ``scaling`` (2-4), ``w4a4``: one parallel W4A4 N=32 point on one worker, its time and peak
memory (goal < 4 GB); default ``model,scaling``. Nothing is written under reports/; the build roots are emptied
first, so every front-end number is a cold run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports import dse  # noqa: E402
from reports.dse_run import defaults  # noqa: E402
from reports.estimates import largest_first  # noqa: E402
from reports.executor import ExecutorConfig, open_client, run_all  # noqa: E402
from reports.network import AccumulatorCost  # noqa: E402


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def peak_rss_mb() -> tuple[float, float]:
    """(this process, the largest of its finished children) peak resident memory in MB (Linux: ru_maxrss in kB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def settings(mode: str, root: Path) -> dse.Settings:
    return dse.Settings(mode, str(root), 128, AccumulatorCost.from_calibration(), "bench")


def model_throughput() -> None:
    grid = dse.parse_grid({"wbits": "1,2,3,4", "abits": "1,2,3,4", "n": "8,16,32,64", "clock_ns": "5,10,20"}, defaults())
    pts = grid.points()
    st = settings("model", Path("/nonexistent"))
    dse.model_rows(pts[:3], st)  # imports, calibration
    t0 = time.perf_counter()
    dse.model_rows(pts, st)
    dt = time.perf_counter() - t0
    print(f"model-only, 1 process: {len(pts)} points ({len(pts) // 3} designs x 3 clocks) in {dt:.2f} s = "
          f"{len(pts) / dt:.0f} points/s  [{load()}]", flush=True)
    chunks = dse.model_chunks(pts)
    with open_client(ExecutorConfig(workers=2)) as client:
        run_all(client, dse.model_rows, [chunks[0][:3]] * 2, ["warm-0", "warm-1"], args=(st,))
        t0 = time.perf_counter()
        rows = run_all(client, dse.model_rows, chunks, [f"model-{i}" for i in range(len(chunks))], args=(st,))
        dt = time.perf_counter() - t0
    n = sum(len(r) for r in rows)
    print(f"model-only, Dask LocalCluster 2 workers: {n} points in {len(chunks)} tasks in {dt:.2f} s = "
          f"{n / dt:.0f} points/s (goal >= 1000)  [{load()}]", flush=True)


def _warm() -> None:
    import reports.dse  # noqa: F401
    import reports.sweep  # noqa: F401


def front_end(points: list[dse.Point], workers: int, root: Path) -> tuple[float, list[tuple[str, float, str]], dict]:
    """Wall time of the points on ``workers`` local workers from an empty root; per-point times; peak RSS."""
    shutil.rmtree(root, ignore_errors=True)
    st = settings("front-end", root)
    times: list[tuple[str, float, str]] = []
    order = largest_first([p.spec for p in points])  # the order make dse submits in
    points = [points[i] for i in order]
    with open_client(ExecutorConfig(workers=workers)) as client:
        client.run(_warm)  # every worker has imported the task's modules before the clock starts, in both runs
        t0 = time.perf_counter()
        last = [t0]

        def show(done, i, total):
            now = time.perf_counter()
            times.append((done.result.id, now - last[0] if workers == 1 else float("nan"), done.result.status))
            last[0] = now
            print(f"  [{i}/{total}] {done.result.id:<32} {done.seconds:7.1f} s  {done.result.status[:60]}  [{load()}]",
                  flush=True)

        run_all(client, dse.front_end_row, points, [f"fe{workers}-{p.id}" for p in points], show, args=(st,))
        wall = time.perf_counter() - t0
        rss = client.run(peak_rss_mb)
    return wall, times, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/tmp/dse-bench")
    ap.add_argument("--parts", default="model,scaling", help="model, scaling, w4a4 (comma list)")
    ap.add_argument("--repeat", type=int, default=3, help="scaling: runs of each worker count, best taken (default 3)")
    ns = ap.parse_args()
    parts = {p.strip() for p in ns.parts.split(",") if p.strip()}
    unknown = parts - {"model", "scaling", "w4a4"}
    if unknown:
        ap.error(f"unknown part(s) {', '.join(sorted(unknown))}: use model, scaling, w4a4")
    root = Path(ns.root)
    print(f"bench/dse.py on {os.cpu_count()} cores  [{load()}]", flush=True)
    if "model" in parts:
        model_throughput()
    if "scaling" in parts:
        scaling(root, ns.repeat)
    if "w4a4" in parts:
        w4a4(root)


def scaling(root: Path, repeat: int) -> None:
    grid = dse.parse_grid({"archs": "parallel,serial", "encodings": "pm1,twos", "pairs": "1x1,2x2", "n": "32",
                           "clock_ns": "10"}, defaults())
    pts = grid.points()
    print(f"front end, {len(pts)} points ({grid.describe()})", flush=True)
    results: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(repeat):
        for workers in (1, 2):
            print(f"front end on {workers} worker(s), run {rep + 1} of {repeat}, empty root {root / f'w{workers}'}  "
                  f"[{load()}]", flush=True)
            wall, times, rss = front_end(pts, workers, root / f"w{workers}")
            results[workers].append(wall)
            print(f"front end, {workers} worker(s): {len(pts)} points in {wall:.1f} s  [{load()}]", flush=True)
            for addr, (own, child) in sorted(rss.items()):
                print(f"  peak RSS of worker {addr}: {own:.0f} MB; largest tool run it started: {child:.0f} MB",
                      flush=True)
            if workers == 1:
                for pid, sec, status in times:
                    if "w2a2_n32" in pid:
                        print(f"  per point: {pid} {sec:.1f} s (goal < 90 s) {status}", flush=True)
    best = {w: min(v) for w, v in results.items()}
    runs = ", ".join(f"{a / b:.2f}" for a, b in zip(results[2], results[1]))
    print(f"scaling: 2 workers / 1 worker, best of {repeat} = {best[2]:.1f} / {best[1]:.1f} = {best[2] / best[1]:.2f} "
          f"(goal <= 0.55); run by run {runs}  [{load()}]", flush=True)


def w4a4(root: Path) -> None:
    from model.spec import DesignSpec

    p = dse.Point(DesignSpec(arch="parallel", wbits=4, abits=4, n=32), 10.0)
    print(f"front end, {p.id} on 1 worker, empty root {root / 'w4a4'}  [{load()}]", flush=True)
    wall, _, rss = front_end([p], 1, root / "w4a4")
    for addr, (own, child) in sorted(rss.items()):
        print(f"W4A4 N=32: {wall:.1f} s; peak RSS worker {own:.0f} MB, largest tool run {child:.0f} MB "
              f"(goal < 4096 MB)  [{load()}]", flush=True)


if __name__ == "__main__":
    main()
