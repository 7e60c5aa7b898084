"""`python -m reports ppa|demo|table`: run the PPA sweep and write reports/ (table, plots, page).

- ``ppa``: the default set (BITS 1..4 x parallel, serial, baseline at N=32) through the flow.
- ``demo``: the whole project on a small set: rtl -> verify -> flow -> ppa.
- ``table``: rewrite the report from what is already in build/, running nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from common.cli import run_main
from common.errors import BitbranchError
from reports.estimates import estimate, estimate_detail
from reports.sweep import (
    REPO,
    flow_specs,
    model_only_row,
    report_meta,
    run_flow_job,
    run_jobs,
    with_model_columns,
    write_report,
)
from reports.table import row_from_build
from rtl import archs as registry


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BitbranchError(f"--bits takes a comma list of integers such as 1,2,3,4, got {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("ppa", "demo", "table"):
        sp = sub.add_parser(name)
        sp.add_argument("--bits", default="1,2" if name == "demo" else "1,2,3,4", help="W=A bit widths to sweep")
        sp.add_argument("--n", type=int, default=32)
        sp.add_argument("--archs", default=",".join(registry.names()))
        sp.add_argument("--stage", default="gds", choices=["synth", "sta", "power", "gds"],
                        help="last flow stage to run (gds = post-route numbers)")
        sp.add_argument("--clock-ns", default="")
        sp.add_argument("--jobs", default="2")
        sp.add_argument("--root", default="build")
        sp.add_argument("--out", default="reports")
        sp.add_argument("--model-bits-max", type=int, default=8,
                        help="add model-only estimate rows for W=A bits above the flow set, up to this")
    ns = p.parse_args(argv)

    try:
        jobs = int(ns.jobs or 2)
        clock = float(ns.clock_ns) if ns.clock_ns else None
    except ValueError:
        raise BitbranchError(f"--jobs must be an integer and --clock-ns a number, got {ns.jobs!r}, {ns.clock_ns!r}") from None
    archs = [a for a in ns.archs.split(",") if a]
    specs = flow_specs(_int_list(ns.bits), ns.n, archs)
    # relative --root/--out name folders of the repository (where the Makefile and the flow jobs run), from any
    # working directory; the stage stamps do not depend on how the root is spelled (flow.stage.portable_path)
    root, out = REPO / ns.root, REPO / ns.out

    failed = []
    if ns.cmd == "demo":
        print(f"demo: {len(specs)} designs: {', '.join(s.id for s in specs)}")
        print("demo: step 1/3 verify (cocotb, Icarus) each design against the reference model")
        for s in specs:
            r = subprocess.run([sys.executable, "-m", "verif", "--arch", s.arch, "--wbits", str(s.wbits),
                                "--abits", str(s.abits), "--n", str(s.n)], cwd=REPO)
            if r.returncode != 0:
                failed.append(f"verify {s.id}")
        print(f"demo: step 2/3 flow to {ns.stage} ({jobs} jobs)")
    if ns.cmd in ("ppa", "demo"):
        from flow.pnr.common import ROUTE_JOBS_ENV, route_jobs

        if not os.environ.get(ROUTE_JOBS_ENV, "").strip():  # the cores shared out: each design routes with its part
            os.environ[ROUTE_JOBS_ENV] = str(max(1, route_jobs() // max(1, jobs)))
        results = run_jobs(specs, lambda s: run_flow_job(s, ns.stage, clock, root), jobs)
        failed += [f"flow {r.spec.id} (log: {r.log})" for r in results if not r.ok]
    from flow.stage import DEFAULT_CLOCK_NS, FlowConfig, config_summary

    expected = config_summary(FlowConfig(clock_ns=clock if clock is not None else DEFAULT_CLOCK_NS))
    if ns.cmd == "demo":
        print("demo: step 3/3 PPA table, plots and page from the metrics on disk")
    rows = [with_model_columns(row_from_build(s, root, expected, check_stamps=True), estimate) for s in specs]
    flow_bits = {s.wbits for s in specs}
    model_prov = estimate_detail(specs[0]).provenance if specs else ""
    rows += [model_only_row(s, estimate, model_prov)
             for s in flow_specs([b for b in range(1, ns.model_bits_max + 1) if b not in flow_bits], ns.n, archs)]
    index = write_report(rows, out, root, report_meta(ns.stage, clock, Path(ns.root), Path(ns.out)))
    print(f"report: {out / 'ppa.csv'}, {out / 'ppa.json'}, {out / 'plots'}/")
    model_only = [r.id for r in rows if r.status == "model-only"]
    if model_only:
        print(f"  model-only estimates (hollow markers, not measured): {len(model_only)} designs")
    for r in rows:
        if r.status not in ("ok", "model-only"):
            print(f"  {r.id}: {r.status} (not plotted)")
    print(f"open: {index.resolve()}")
    if failed:
        raise BitbranchError(f"{len(failed)} step(s) failed: {'; '.join(failed)}")
    return 0


if __name__ == "__main__":
    run_main(main)
