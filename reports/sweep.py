"""Run a set of designs through the flow (on the Dask executor, with progress) and write the PPA report.

Each design runs as its own ``python -m flow <stage>`` process, so a crash in one never takes the
others down, and the flow's own up-to-date checks make a re-run cheap. The report is written
from the metrics files afterwards, so what is plotted is exactly what is on disk.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

from common.errors import BitbranchError
from common.files import atomic_write_text
from common.state import DamagedState, keys_of, load_state, read_state
from flow.stage import DEFAULT_CLOCK_NS, run_guarded
from model import encodings as encoding_registry
from model.spec import DesignSpec
from reports import page, plots, summary
from reports.estimates import largest_first
from reports.executor import Done, ExecutorConfig, open_client, run_all
from reports.table import PpaRow, to_csv, to_json
from rtl import archs as registry

REPO = Path(__file__).resolve().parent.parent


def flow_specs(bits: Iterable[int] = range(1, 5), n: int = 32, archs: Sequence[str] | None = None,
               encodings: Sequence[str] | None = None) -> list[DesignSpec]:
    """The measured set: every arch (default: the registered ones but rtl.archs.OUT_OF_DEFAULT_SWEEP) in every
    encoding (default: every registered one) at W=A=b for each b, at one N; an arch or encoding the registries do not
    know is a SpecError."""
    names = registry.swept_names() if archs is None else [registry.get(a).name for a in archs]
    encs = encoding_registry.names() if encodings is None else list(encodings)
    return [DesignSpec(arch=a, wbits=b, abits=b, n=n, encoding=e) for b in bits for e in encs for a in names]


@dataclass(frozen=True)
class JobResult:
    spec: DesignSpec
    ok: bool
    seconds: float
    log: Path
    message: str


def run_flow_job(spec: DesignSpec, stage: str, clock_ns: float | None, root: Path, extra: Sequence[str] = ()) -> JobResult:
    """``python -m flow <stage>`` for one design; output goes to ``build/sweep/<id>.<stage>.log``."""
    log = root / "sweep" / f"{spec.id}.{stage}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "flow", stage, "--arch", spec.arch, "--wbits", str(spec.wbits),
            "--abits", str(spec.abits), "--n", str(spec.n), "--popcount", spec.popcount, "--adder", spec.adder,
            "--encoding", spec.encoding,
            "--clock-ns", "" if clock_ns is None else str(clock_ns), "--root", str(root), *extra]
    t0 = time.monotonic()
    with open(log, "w") as f:
        rc = run_guarded(argv, cwd=REPO, stdout=f)  # dies with this worker, tools and all
    lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
    return JobResult(spec, rc == 0, time.monotonic() - t0, log, lines[-1] if lines else "")


def run_jobs(specs: Sequence[DesignSpec], job: Callable[[DesignSpec], JobResult], executor: ExecutorConfig,
             progress: Callable[[str], None] = print) -> list[JobResult]:
    """Run ``job`` over ``specs`` on the Dask executor (``reports.executor``), printing one progress line per
    finished design; results in ``specs`` order."""
    by_size = [specs[i] for i in largest_first(list(specs))]

    def show(done: Done, i: int, total: int) -> None:
        r = done.result
        state = "ok" if r.ok else f"FAILED ({r.message}) log: {r.log}"
        progress(f"[{i}/{total}] {r.spec.id:<28} {r.seconds:6.1f} s  {state}")

    with open_client(executor, progress) as client:
        results = run_all(client, job, by_size, [f"flow-{s.id}" for s in by_size], show)
    order = {s.id: i for i, s in enumerate(specs)}
    return sorted(results, key=lambda r: order[r.spec.id])


def git_describe(outputs: Path | None = None) -> str:
    """The commit the report was made from, with '-dirty' when the tree had local changes other than the
    report's own earlier output (``outputs``, the report folder's files it rewrites)."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        spec = ["--", "."]
        out = (REPO / outputs).resolve() if outputs is not None else None
        if out is not None and out.is_relative_to(REPO.resolve()):  # a report written outside the tree changes nothing in it
            rel = out.relative_to(REPO.resolve()).as_posix()
            spec += [f":(exclude){rel}/{p}" for p in REPORT_OUTPUTS]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", *spec], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


REPORT_OUTPUTS = ("ppa.csv", "ppa.json", "ppa.md", "index.html", "index.png", "plots", "layouts",  # what write_report
                  "dse.csv", "dse.json", "dse")  # and `make dse` rewrite


LAYOUT_WIDTH_PX = 800


def shrink_png(src: Path, dest: Path, width: int = LAYOUT_WIDTH_PX) -> None:
    """A report-sized copy of a layout render (the full-size one stays in build/<id>/flow/)."""
    from PIL import Image

    with Image.open(src) as im:
        if im.width > width:
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.LANCZOS)
        im.convert("RGB").quantize(colors=64).save(dest, optimize=True)  # layer colours need no more


def has_layout(row: PpaRow) -> bool:
    """Whether the row's numbers come from a route, so a layout render belongs beside them."""
    return row.status == "ok" and row.source == "post-route"


def collect_layouts(rows: Sequence[PpaRow], root: Path, out_dir: Path) -> list[tuple[str, Path]]:
    """Copy each current design's GDS render (build/<id>/flow/*.png) next to the report."""
    found = []
    dest_dir = out_dir / "layouts"
    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    for r in rows:
        if not has_layout(r):  # a post-synthesis row's folder may hold a render of an older route
            continue
        pngs = sorted(p for p in (root / r.id / "flow").glob("*.png") if not p.name.startswith("."))  # not a temp file
        if pngs:
            dest_dir.mkdir(parents=True, exist_ok=True)
            dest = dest_dir / f"{r.id}.png"
            shrink_png(pngs[0], dest)
            found.append((r.id, dest))
    return found


def write_report(rows: Sequence[PpaRow], out_dir: Path, root: Path, meta: dict,
                 model_points: Sequence[summary.ModelPoint] = ()) -> Path:
    """ppa.csv, ppa.json, ppa.md, the plots and index.html under ``out_dir``; returns the page's path.
    ``model_points`` (the model's estimate of every design of the comparison, :func:`model_points`) add the
    model-estimate comparison of the families to ppa.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(sorted(meta.items()))  # the order ppa.json keeps, so `python -m reports page` renders the same page
    atomic_write_text(out_dir / "ppa.csv", to_csv(rows))
    atomic_write_text(out_dir / "ppa.json", to_json(rows, meta, model_points))
    atomic_write_text(out_dir / "ppa.md", summary.markdown(rows, meta, model_points))
    footnote = f"bitbranch {meta.get('commit', '')}; {meta.get('pdk', '')}; {meta.get('flow', '')}"
    made = plots.all_plots(rows, out_dir / "plots", footnote)
    layouts = collect_layouts(rows, root, out_dir)
    index = out_dir / "index.html"
    atomic_write_text(index, page.render(rows, made, layouts, meta, out_dir, read_qnn(out_dir), read_dse(out_dir)))
    atomic_write_text(out_dir / page.CSS_FILE.name, page.CSS_FILE.read_text())
    return index


def read_qnn(out_dir: Path) -> dict | None:
    """The accuracy results beside the report (``qnn.json``, written by ``make qnn``), if any."""
    return load_state(Path(out_dir) / "qnn.json", "accuracy report", then="the page is written without it")


def read_dse(out_dir: Path) -> dict | None:
    """The design-space exploration beside the report (``dse.json``, written by ``make dse``), if any."""
    return load_state(Path(out_dir) / "dse.json", "design-space report", then="the page is written without it")


def report_from_json(path: Path) -> tuple[list[PpaRow], dict, list[summary.ModelPoint]]:
    """The rows, provenance and model estimates of a written report (``ppa.json``), exactly as they were measured
    (no model estimates in a report written before they were kept there)."""
    try:
        data = read_state(path, keys_of({"rows": list, "meta": dict}))
    except DamagedState as e:
        raise BitbranchError(f"{e}: rewrite the report with `make ppa` (python -m reports ppa|table)") from None
    if data is None:
        raise BitbranchError(f"no {path}: a report is written by `make ppa` (python -m reports ppa)")
    try:
        points = [summary.ModelPoint(**p) for p in data.get("model_points", [])]
    except TypeError as e:
        raise BitbranchError(f"{path}: model_points do not match this code ({e}): rewrite the report with `make ppa`")\
            from None
    return [PpaRow(**r) for r in data["rows"]], dict(data["meta"]), points


def rows_from_json(path: Path) -> tuple[list[PpaRow], dict]:
    """The rows and provenance of a written report (``ppa.json``), exactly as they were measured."""
    rows, meta, _ = report_from_json(path)
    return rows, meta


def page_texts(out_dir: Path) -> dict[str, str]:
    """``index.html`` and ``ppa.md`` of an existing report, rendered from its ``ppa.json`` (rows and provenance
    unchanged), its ``qnn.json`` and the plots and layout renders already in it; runs and measures nothing."""
    out_dir = Path(out_dir)
    if not (out_dir / "ppa.json").is_file():
        raise BitbranchError(f"no {out_dir / 'ppa.json'}: a report is written by `make ppa` (python -m reports ppa)")
    rows, meta, points = report_from_json(out_dir / "ppa.json")
    plots_made = sorted((out_dir / "plots").glob("*.png"))
    layouts = [(r.id, out_dir / "layouts" / f"{r.id}.png") for r in rows
               if has_layout(r) and (out_dir / "layouts" / f"{r.id}.png").is_file()]
    return {"index.html": page.render(rows, plots_made, layouts, meta, out_dir, read_qnn(out_dir), read_dse(out_dir)),
            "ppa.md": summary.markdown(rows, meta, points), page.CSS_FILE.name: page.CSS_FILE.read_text()}


def rerender_page(out_dir: Path) -> Path:
    """Rewrite ``index.html`` and ``ppa.md`` of an existing report (:func:`page_texts`); returns the page's path."""
    for name, text in page_texts(out_dir).items():
        atomic_write_text(Path(out_dir) / name, text)
    return Path(out_dir) / "index.html"


def report_meta(stage: str, clock_ns: float | None, root: Path, out: Path | None = None) -> dict:
    """Provenance of a report run: commit, date, flow stage, clock, PDK root and build root."""
    return {
        "commit": git_describe(out),
        "made_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "flow": f"python -m flow {stage} (FLOW=local)",
        "clock_ns": clock_ns if clock_ns is not None else f"{DEFAULT_CLOCK_NS:g} (flow default)",
        "pdk": os.environ.get("PDK_ROOT", "flow/pdk.py discovery (../shared/pdk)"),
        "build_root": str(root),
        "tops_convention": "2 ops per MAC",
        **calibration_meta(),
    }


def calibration_meta() -> dict:
    """Which designs (by id) and date the model's coefficients were fitted on (model/energy_calibration.json), so
    the report can tell in-sample from out-of-sample model errors."""
    from model.energy import load_calibration

    prov = load_calibration().get("provenance", {})
    return {"calibration_date": prov.get("date", "unknown"),
            "calibration_energy_designs": sorted(prov.get("energy_designs", []))}


Estimator = Callable[..., tuple[float, float]]  # (spec, stage="post-route" | "post-synthesis") -> (area, E/MAC)


def with_model_columns(row: PpaRow, estimate: Estimator) -> PpaRow:
    """Fill the model-estimate columns, and the model's error against the flow where the row is measured; the
    estimate is for the stage the row was measured at (post-route, or post-synthesis without routed wires)."""
    spec = DesignSpec(arch=row.arch, wbits=row.wbits, abits=row.abits, n=row.n, encoding=row.encoding)
    area, energy = estimate(spec, "post-synthesis" if row.source == "post-synthesis" else "post-route")
    measured = row.status == "ok"
    err = lambda est, ref: 100.0 * (est - ref) / ref if (measured and ref) else None  # noqa: E731
    return replace(row, model_area_um2=area, model_energy_per_mac_pj=energy,
                   model_area_err_pct=err(area, row.area_um2), model_energy_err_pct=err(energy, row.energy_per_mac_pj))


def model_only_row(spec: DesignSpec, estimate: Estimator, provenance: str) -> PpaRow:
    """A row for a design the flow did not run: the model's area and energy, clearly marked as such."""
    area, energy = estimate(spec)
    return PpaRow(arch=spec.arch, wbits=spec.wbits, abits=spec.abits, n=spec.n, id=spec.id, status="model-only",
                  source="model", weight_bits=spec.n * spec.wbits, model_area_um2=area,
                  model_energy_per_mac_pj=energy, provenance=provenance, encoding=spec.encoding)


def model_points(specs: Sequence[DesignSpec], estimate: Estimator) -> list[summary.ModelPoint]:
    """The model's post-route (area, energy per MAC) of each design: the families compared on equal terms, whether
    or not the flow has run them."""
    return [summary.ModelPoint(s.arch, s.encoding, s.wbits, s.abits, s.n, *estimate(s, "post-route")) for s in specs]
