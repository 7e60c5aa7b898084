"""``python -m reports dse`` (``make dse``): run a design-space grid on the Dask executor and write the results.

Writes ``<out>/dse.csv``, ``<out>/dse.json`` (rows with provenance, the fronts and the knee) and the plots under
``<out>/dse/``, then re-renders ``<out>/index.html`` when a PPA report is there (its DSE section). The grid comes
from ``--grid FILE`` (TOML) and/or the axis flags (a flag wins over the file); everything is validated before a
cluster starts. A grid over the limit is refused unless ``--max-points`` raises it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from typing import Any

from common.cli import parse_int
from common.errors import BitbranchError
from common.files import atomic_write_text
from model import encodings as encoding_registry
from reports import dse
from reports.estimates import largest_first
from reports.executor import SCHEDULER_ENV, Done, ExecutorConfig, open_client, run_all
from rtl import archs as arch_registry

DEFAULT_ROOT = "build/dse"


def defaults() -> dict[str, Any]:
    """The default grid: the archs of the default sweep (`rtl.archs.swept_names`), every encoding, W, A in {1, 2} (unequal pairs included), N 8 and 16,
    10 ns: 48 points with three archs and two encodings."""
    return {"archs": ",".join(arch_registry.swept_names()), "encodings": ",".join(encoding_registry.names()),
            "wbits": "1,2", "abits": "1,2", "pairs": None, "n": "8,16", "clock_ns": "10"}


def add_arguments(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--grid", default="", help="a TOML grid file (keys: " + ", ".join(dse.GRID_KEYS) + ")")
    sp.add_argument("--archs", default=None, help="comma list of registered archs (default: all)")
    sp.add_argument("--encodings", default=None, help="comma list of registered encodings (default: all)")
    sp.add_argument("--wbits", default=None, help="weight widths, crossed with --abits (default 1,2)")
    sp.add_argument("--abits", default=None, help="activation widths (default 1,2)")
    sp.add_argument("--pairs", default=None, help="explicit WxA pairs instead of the cross product, e.g. 1x2,2x2")
    sp.add_argument("--n", default=None, help="vector lengths (default 8,16)")
    sp.add_argument("--clock-ns", dest="clock_ns", default=None, help="clock periods in ns (default 10)")
    sp.add_argument("--model-only", action="store_true", help="the energy/area model only (no flow)")
    sp.add_argument("--max-points", default="", help=f"raise the point limit (front end {dse.LIMITS['front-end']}, "
                                                     f"model {dse.LIMITS['model']})")
    sp.add_argument("--gds", default="", help="also route: pareto (the energy/area front) or top-K (lowest energy "
                                              "per inference)")
    sp.add_argument("--jobs", default="", help="worker processes of the local Dask cluster (default: the cores)")
    sp.add_argument("--scheduler", default="", help=f"an existing Dask scheduler (default ${SCHEDULER_ENV})")
    sp.add_argument("--root", default=DEFAULT_ROOT, help=f"build root (default {DEFAULT_ROOT}; one folder per clock)")
    sp.add_argument("--out", default="reports", help="report folder (default reports)")


def grid_from_args(ns: argparse.Namespace) -> dse.Grid:
    axes: dict[str, Any] = dse.read_grid_file(ns.grid) if str(ns.grid or "").strip() else {}
    for k in dse.GRID_KEYS:
        v = getattr(ns, k, None)
        if v is not None and str(v).strip():
            axes[k] = v
            if k in ("wbits", "abits"):
                axes.pop("pairs", None)  # widths on the command line replace the file's pairs
    return dse.parse_grid(axes, defaults())


def _hidden(qnn: dict | None) -> int:
    """The MLP's hidden width the accuracies were measured with (qnn.json), else the QNN sweep's default."""
    from qnn.sweep import SweepConfig

    cfg = (qnn or {}).get("provenance", {}).get("config") if isinstance(qnn, dict) else None
    if isinstance(cfg, dict) and isinstance(cfg.get("hidden"), int):
        return cfg["hidden"]
    return SweepConfig().hidden


def main(ns: argparse.Namespace, repo: Path) -> int:
    grid = grid_from_args(ns)
    mode = "model" if ns.model_only else "front-end"
    max_points = parse_int(ns.max_points, "--max-points", lo=1) if str(ns.max_points or "").strip() else None
    dse.check_limit(grid, mode, max_points)
    gds = dse.parse_gds(ns.gds)
    if gds and mode == "model":
        raise BitbranchError("--gds routes front-end points: drop --model-only")
    jobs = parse_int(ns.jobs, "--jobs", 1, 64) if str(ns.jobs or "").strip() else None
    executor = ExecutorConfig.from_env(ns.scheduler, jobs)
    root, out = repo / ns.root, repo / ns.out

    from reports.network import AccumulatorCost
    from reports.sweep import git_describe, read_qnn

    qnn = read_qnn(out)
    commit = git_describe(Path(ns.out))
    settings = dse.Settings(mode, str(root), _hidden(qnn), AccumulatorCost.from_calibration(), commit)
    points = grid.points()
    print(f"dse: {len(points)} points ({grid.describe()}); {mode}"
          + ("" if mode == "model" else f"; build root {root}"))

    def show(done: Done, i: int, total: int) -> None:
        rs = done.result if isinstance(done.result, list) else [done.result]
        r = rs[-1]
        state = r.status if not r.status.startswith("failed") else "FAILED: " + r.status[8:]
        e = f"  E/MAC {r.energy_per_mac_pj:.3f} pJ  E/inf {r.inference_energy_nj:.2f} nJ" \
            if r.measured and r.energy_per_mac_pj and r.inference_energy_nj else ""
        what = r.id if len(rs) == 1 else f"{len(rs)} points (last {r.id})"
        print(f"[{i}/{total}] {what:<36} {done.seconds:7.1f} s elapsed  {state}{e}", flush=True)

    with open_client(executor) as client:
        if mode == "model":
            chunks = dse.model_chunks(points)
            parts = run_all(client, dse.model_rows, chunks, [f"dse-model-{i}" for i in range(len(chunks))], show,
                            args=(settings,))
            by_id = {r.id: r for part in parts for r in part}
            rows = [by_id[p.id] for p in points]
        else:
            order = largest_first([p.spec for p in points])
            done = run_all(client, dse.front_end_row, [points[i] for i in order], [f"dse-{points[i].id}" for i in order],
                           show, args=(settings,))
            rows = [None] * len(points)
            for i, r in zip(order, done):
                rows[i] = r
        rows = dse.with_accuracy(rows, dse.accuracy_table(qnn))
        if gds:
            # the largest layouts first (their routes are the long jobs), as for the front end
            chosen = sorted(dse.choose_for_gds(rows, gds), key=lambda r: (-(r.area_um2 or 0.0), r.id))
            print(f"dse: routing {len(chosen)} point(s) ({gds}): {', '.join(r.id for r in chosen)}")
            routed = run_all(client, dse.gds_row, chosen, [f"dse-gds-{r.id}" for r in chosen],
                             lambda d, i, t: print(f"[gds {i}/{t}] {d.result.id:<36} {d.seconds:7.1f} s  "
                                                   f"{d.result.gds_status}", flush=True), args=(settings,))
            by_id = {r.id: r for r in routed}
            rows = [by_id.get(r.id, r) for r in rows]

    meta = {"commit": commit, "made_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "grid": grid.describe(), "points": len(rows), "mode": mode, "executor": executor.describe(),
            "build_root": ns.root, "flow": "python -m flow power (front end)" + (f"; gds on {gds}" if gds else ""),
            "network": f"digits MLP 64-{settings.hidden}-10 on one PE (reports/network.py)",
            "accumulator": settings.acc.source, "accuracy": "reports/qnn.json (make qnn)" if qnn else "none",
            "command": "python -m reports dse (make dse)"}
    index = write(rows, meta, out)
    s = dse.summary(rows)
    print(f"dse: {s['ok']} ok, {s['model_only']} model-only, {s['failed']} failed of {s['points']}; "
          f"energy/area front {len(s['front_energy_area'])} points; accuracy/energy knee {s['knee_accuracy_energy']}")
    print(f"report: {out / 'dse.csv'}, {out / 'dse.json'}, {out / 'dse'}/" + (f"; page {index}" if index else ""))
    failed = [r for r in rows if r.status.startswith("failed") or r.gds_status.startswith("failed")]
    for r in failed:
        print(f"  {r.id}: {r.status if r.status.startswith('failed') else 'gds ' + r.gds_status}")
    if failed:
        raise BitbranchError(f"{len(failed)} point(s) failed: their rows in {out / 'dse.csv'} say why")
    return 0


def write(rows: list[dse.DseRow], meta: dict[str, Any], out: Path) -> Path | None:
    """dse.csv, dse.json and the plots; the page re-rendered when a PPA report is beside them."""
    from reports import dse_plots

    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "dse.csv", dse.to_csv(rows))
    atomic_write_text(out / "dse.json", dse.to_json(rows, meta))
    dse_plots.all_plots(rows, out / "dse", f"bitbranch {meta.get('commit', '')}; {meta.get('points')} points, "
                        f"{meta.get('mode')}; {meta.get('made_utc', '')}; grid in dse.json")
    if (out / "ppa.json").is_file():
        from reports.sweep import rerender_page

        return rerender_page(out)
    return None
