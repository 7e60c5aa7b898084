"""`python -m reports ppa|demo|table`: run the PPA sweep and write a report (table, plots, page).

- ``ppa``: the default set (BITS 1..4 x parallel, serial, baseline x the pm1 and twos encodings at N=32) through
  the flow; refreshes the committed snapshot ``reports/``.
- ``demo``: the whole project on a small set: rtl -> verify -> flow -> ppa, reported under ``build/report/``
  so the committed snapshot is never overwritten by a smaller run.
- ``table``: rewrite the report (``reports/``) from what is already in build/, running nothing.
- ``page``: rewrite only ``index.html`` and ``ppa.md`` of a report from its own ``ppa.json``, ``qnn.json``, plots
  and layout renders (the numbers and their provenance unchanged; no build/ needed).
- ``dse``: a design-space grid (archs, encodings, WBITS x ABITS, N, clocks) through the front end and the model on
  Dask: ``reports/dse.csv``, ``dse.json``, ``dse/*.png`` and the page's DSE section (``reports/dse_run.py``).
- ``check``: open ``index.html`` in headless Chromium, check that every image loads, every table row is shown
  and the page fits a 1280 px window, and save a screenshot beside it (``index.png``).
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from common.cli import int_list, parse_int, run_main
from common.errors import BitbranchError
from model import encodings as encoding_registry
from model.spec import SpecError
from reports.estimates import estimate, estimate_detail
from reports.executor import SCHEDULER_ENV, ExecutorConfig
from reports.sweep import (
    REPO,
    flow_specs,
    model_only_row,
    model_points,
    report_meta,
    run_flow_job,
    run_jobs,
    with_model_columns,
    write_report,
)
from reports.table import row_from_build
from rtl import archs as registry

DEMO_OUT = "build/report"
"""Where ``make demo`` writes its report: not ``reports/``, whose committed snapshot only ``make ppa`` refreshes."""


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per report job, each with the sweep's options."""
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("ppa", "demo", "table"):
        sp = sub.add_parser(name)
        sp.add_argument("--bits", default="1,2" if name == "demo" else "1,2,3,4", help="W=A bit widths to sweep")
        sp.add_argument("--n", default="32")
        sp.add_argument("--archs", default=",".join(registry.swept_names()))
        sp.add_argument("--encodings", default="pm1" if name == "demo" else ",".join(encoding_registry.names()),
                        help="encodings to sweep (default: every registered one; demo: pm1)")
        sp.add_argument("--stage", default="gds", choices=["synth", "sta", "power", "gds"],
                        help="last flow stage to run (gds = post-route numbers)")
        sp.add_argument("--clock-ns", default="")
        sp.add_argument("--jobs", default="2", help="worker processes of the local Dask cluster (default 2)")
        sp.add_argument("--scheduler", default="",
                        help=f"an existing Dask scheduler (tcp://host:8786; default ${SCHEDULER_ENV}, else a LocalCluster)")
        sp.add_argument("--root", default="build")
        sp.add_argument("--out", default=DEMO_OUT if name == "demo" else "reports",
                        help=f"report folder (default {DEMO_OUT if name == 'demo' else 'reports'})")
        sp.add_argument("--model-bits-max", default="8",
                        help="add model-only estimate rows for W=A bits above the flow set, up to this")
    from reports.dse_run import add_arguments as dse_arguments

    dse_arguments(sub.add_parser("dse", help="design-space exploration on Dask (reports/dse.csv, dse.json, plots)"))
    for name, what in (("page", "rewrite index.html and ppa.md from ppa.json"), ("check", "check the page in Chromium")):
        sp = sub.add_parser(name, help=what)
        sp.add_argument("--out", default="reports", help="report folder (default reports)")
    return p


def browser_check(out: Path, rows: Sequence, required: bool = False) -> None:
    """Check a written report's page in headless Chromium and save index.png beside it; without a browser that
    is one printed line (or, ``required``, an error)."""
    from reports.browser import check_page, find_browser

    try:
        find_browser()
    except BitbranchError as e:
        if required:
            raise
        print(f"page not checked in a browser: {e}")
        return
    res = check_page(out / "index.html", out / "index.png", [r.id for r in rows])
    f = res.facts
    print(f"check: {len(f['images'])} images, {f['rows']} table rows, {len(f['designs'])} design rows, page "
          f"{f['scroll_width']} px wide in a {f['window_width']} px window; screenshot {res.screenshot}")
    for p in res.problems:
        print(f"  problem: {p}")
    if res.problems:
        raise BitbranchError(f"{len(res.problems)} problem(s) with {out / 'index.html'} in Chromium")


def page_main(ns: argparse.Namespace) -> int:
    out = REPO / ns.out
    if ns.cmd == "page":
        from reports.sweep import rerender_page

        index = rerender_page(out)
        print(f"page: {index} and {out / 'ppa.md'} rewritten from {out / 'ppa.json'}")
        return 0
    from reports.sweep import rows_from_json

    browser_check(out, rows_from_json(out / "ppa.json")[0], required=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    if ns.cmd in ("page", "check"):
        return page_main(ns)
    if ns.cmd == "dse":
        from reports.dse_run import main as dse_main

        return dse_main(ns, REPO)

    from flow.__main__ import parse_clock_ns

    jobs = parse_int(ns.jobs, "--jobs", 1, 64, default=2)
    clock = parse_clock_ns(ns.clock_ns) if str(ns.clock_ns or "").strip() else None
    model_bits_max = parse_int(ns.model_bits_max, "--model-bits-max", 0, 16)  # the spec's limit (BITS 1..16)
    archs = [a for a in ns.archs.split(",") if a]
    encs = [e.strip() for e in ns.encodings.split(",") if e.strip()]
    for e in encs:
        try:
            encoding_registry.get(e)
        except encoding_registry.EncodingError as err:
            raise SpecError(str(err)) from None
    n = parse_int(ns.n, "--n", 1, 65536)
    specs = flow_specs(int_list(ns.bits, "--bits", 1, 16), n, archs, encs)
    # relative --root/--out name folders of the repository (where the Makefile and the flow jobs run), from any
    # working directory; the stage stamps do not depend on how the root is spelled (flow.stage.portable_path)
    root, out = REPO / ns.root, REPO / ns.out

    failed = []
    if ns.cmd == "demo":
        print(f"demo: {len(specs)} designs: {', '.join(s.id for s in specs)}")
        print("demo: step 1/3 verify (cocotb, Icarus) each design against the reference model")
        for s in specs:
            r = subprocess.run([sys.executable, "-m", "verif", "--arch", s.arch, "--wbits", str(s.wbits),
                                "--abits", str(s.abits), "--n", str(s.n), "--encoding", s.encoding, "--root", str(root)],
                               cwd=REPO)
            if r.returncode != 0:
                failed.append(f"verify {s.id}")
        print(f"demo: step 2/3 flow to {ns.stage} (Dask, {jobs} local workers unless ${SCHEDULER_ENV} is set)")
    if ns.cmd in ("ppa", "demo"):
        from flow.pnr.common import ROUTE_JOBS_ENV, route_jobs

        if not os.environ.get(ROUTE_JOBS_ENV, "").strip():  # the cores shared out: each design routes with its part
            os.environ[ROUTE_JOBS_ENV] = str(max(1, route_jobs() // max(1, jobs)))
        results = run_jobs(specs, functools.partial(run_flow_job, stage=ns.stage, clock_ns=clock, root=root),
                           ExecutorConfig.from_env(ns.scheduler, jobs))
        failed += [f"flow {r.spec.id} (log: {r.log})" for r in results if not r.ok]
    from flow.stage import DEFAULT_CLOCK_NS, FlowConfig, config_summary

    expected = config_summary(FlowConfig(clock_ns=clock if clock is not None else DEFAULT_CLOCK_NS))
    if ns.cmd == "demo":
        print("demo: step 3/3 PPA table, plots and page from the metrics on disk")
    rows = [with_model_columns(row_from_build(s, root, expected, check_stamps=True), estimate) for s in specs]
    flow_bits = {s.wbits for s in specs}
    model_prov = estimate_detail(specs[0]).provenance if specs else ""
    rows += [model_only_row(s, estimate, model_prov)
             for s in flow_specs([b for b in range(1, model_bits_max + 1) if b not in flow_bits], n, archs, encs)]
    points = model_points(flow_specs(range(1, max(model_bits_max, max(flow_bits, default=1)) + 1), n, archs, encs),
                          estimate)
    index = write_report(rows, out, root, report_meta(ns.stage, clock, Path(ns.root), Path(ns.out)), points)
    print(f"report: {out / 'ppa.csv'}, {out / 'ppa.json'}, {out / 'plots'}/")
    model_only = [r.id for r in rows if r.status == "model-only"]
    if model_only:
        print(f"  model-only estimates (hollow markers, not measured): {len(model_only)} designs")
    for r in rows:
        if r.status not in ("ok", "model-only"):
            print(f"  {r.id}: {r.status} (not plotted)")
    browser_check(out, rows)
    if ns.cmd == "demo" and out.resolve() != (REPO / "reports").resolve():
        print(f"demo: report written to {out}/ (the committed snapshot reports/ is refreshed by `make ppa` only)")
    print(f"open: {index.resolve()}")
    if failed:
        raise BitbranchError(f"{len(failed)} step(s) failed: {'; '.join(failed)}")
    return 0


if __name__ == "__main__":
    run_main(main)
