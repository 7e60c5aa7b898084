"""Design-space exploration: a grid of (arch, encoding, WBITS x ABITS, N, clock) points through the front end and the
model on the Dask executor, with network-level cost, Pareto fronts and provenance per row.

Every point runs ``python -m flow power`` (synthesis, setup/hold at tt/ss/ff, gate-level simulation, power) in its
own build root per clock (``<root>/clock-<c>ns/<id>/``: the synthesis targets the clock, so two clocks are two
designs), and gets the calibrated model's estimate beside it; ``--model-only`` skips the flow. ``--gds pareto`` or
``--gds top-K`` also routes the chosen points (``python -m flow gds`` in the same root, the front end reused).
A task returns its row (metrics, not paths): the client needs no access to the workers' build folders. A point
whose flow fails is a failed row with the flow's last line as its reason; nothing is carried over from an earlier
run except what the flow's stage stamps prove current. Architectures and encodings come from their registries.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from common.errors import BitbranchError
from common.state import load_state
from model import encodings as encoding_registry
from model.spec import DesignSpec, SpecError
from reports.network import AccumulatorCost, inference, knee, pareto
from rtl import archs as arch_registry

MODES = ("front-end", "model")
LIMITS = {"front-end": 100, "model": 20000}
"""Default point-count limits per mode; ``--max-points`` raises them."""
MODEL_CHUNK = 120
"""Model-only points per task: one task per point would spend more time in the scheduler than in the model."""
OPS_PER_MAC = 2
WIDTH_MAX = 16  # model.spec's BITS range
N_MAX = 65536


@dataclass(frozen=True)
class Point:
    """One grid point: a design and the clock it is synthesised and timed for."""

    spec: DesignSpec
    clock_ns: float

    @property
    def id(self) -> str:
        return f"{self.spec.id}@{self.clock_ns:g}ns"


@dataclass(frozen=True)
class Grid:
    """The axes of an exploration; every combination is a point (``points``)."""

    archs: tuple[str, ...]
    encodings: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]  # (WBITS, ABITS)
    ns: tuple[int, ...]
    clocks_ns: tuple[float, ...]

    def points(self) -> list[Point]:
        return [Point(DesignSpec(arch=a, wbits=w, abits=b, n=n, encoding=e), c)
                for c in self.clocks_ns for e in self.encodings for a in self.archs for w, b in self.pairs
                for n in self.ns]

    @property
    def size(self) -> int:
        return len(self.archs) * len(self.encodings) * len(self.pairs) * len(self.ns) * len(self.clocks_ns)

    def describe(self) -> str:
        pairs = " ".join(f"W{w}A{a}" for w, a in self.pairs)
        return (f"archs {','.join(self.archs)}; encodings {','.join(self.encodings)}; {pairs}; N {','.join(map(str, self.ns))}; "
                f"clock {','.join(f'{c:g}' for c in self.clocks_ns)} ns")


# --- the grid from a command line or a small TOML file ------------------------------------------------------------

GRID_KEYS = ("archs", "encodings", "wbits", "abits", "pairs", "n", "clock_ns")


def _items(value: Any, axis: str) -> list[str]:
    """An axis given as a comma list ("1,2") or a TOML list; an empty one is an error naming the axis."""
    if isinstance(value, str):
        items = [s.strip() for s in value.split(",") if s.strip()]
    elif isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value if str(v).strip()]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        items = [str(value)]
    else:
        raise BitbranchError(f"grid axis {axis!r} must be a list or a comma list, got {value!r}")
    if not items:
        raise BitbranchError(f"grid axis {axis!r} is empty: give at least one value")
    return list(dict.fromkeys(items))


def _ints(value: Any, axis: str, lo: int, hi: int) -> list[int]:
    out = []
    for s in _items(value, axis):
        try:
            v = int(s)
        except ValueError:
            raise BitbranchError(f"grid axis {axis!r}: {s!r} is not an integer") from None
        if not lo <= v <= hi:
            raise BitbranchError(f"grid axis {axis!r}: {v} is out of range: use {lo}..{hi}")
        out.append(v)
    return out


def _pairs(value: Any) -> list[tuple[int, int]]:
    out = []
    for s in _items(value, "pairs"):
        w, sep, a = s.lower().partition("x")
        if not sep:
            raise BitbranchError(f"grid axis 'pairs': {s!r} is not WxA (e.g. 1x2 for WBITS=1, ABITS=2)")
        out.append((_ints(w, "pairs (WBITS)", 1, WIDTH_MAX)[0], _ints(a, "pairs (ABITS)", 1, WIDTH_MAX)[0]))
    return out


def read_grid_file(path: Path | str) -> dict[str, Any]:
    """The axes of a grid file (TOML: ``archs = ["parallel"]``, ``wbits = [1, 2]``, ``pairs = ["1x2"]``, ...)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise BitbranchError(f"no grid file {p}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BitbranchError(f"grid file {p} is not valid TOML: {e}") from None
    unknown = sorted(set(data) - set(GRID_KEYS))
    if unknown:
        raise BitbranchError(f"grid file {p}: unknown key(s) {', '.join(unknown)}; use {', '.join(GRID_KEYS)}")
    return data


def parse_grid(axes: Mapping[str, Any], defaults: Mapping[str, Any]) -> Grid:
    """A validated grid from axis values (a given axis wins over ``defaults``); every fault is one BitbranchError
    (unknown arch or encoding, a width, N or clock out of range, an empty axis), raised before anything runs."""
    from flow.__main__ import parse_clock_ns

    def get(k: str) -> Any:  # None or '' (a blank make variable): the default; "," or [] stays, and is an error
        v = axes.get(k)
        return defaults.get(k) if v is None or (isinstance(v, str) and not v.strip()) else v

    try:
        archs = tuple(arch_registry.get(a).name for a in _items(get("archs"), "archs"))
        encs = tuple(encoding_registry.get(e).name for e in _items(get("encodings"), "encodings"))
    except encoding_registry.EncodingError as e:
        raise SpecError(str(e)) from None
    if get("pairs") not in (None, ""):
        pairs = _pairs(get("pairs"))
    else:
        ws = _ints(get("wbits"), "wbits", 1, WIDTH_MAX)
        as_ = _ints(get("abits"), "abits", 1, WIDTH_MAX)
        pairs = [(w, a) for w in ws for a in as_]
    ns = _ints(get("n"), "n", 1, N_MAX)
    clocks = [parse_clock_ns(c) for c in _items(get("clock_ns"), "clock_ns")]
    return Grid(archs, encs, tuple(dict.fromkeys(pairs)), tuple(ns), tuple(dict.fromkeys(clocks)))


def check_limit(grid: Grid, mode: str, max_points: int | None) -> None:
    """Refuse a grid larger than the mode's limit unless ``max_points`` raises it."""
    limit = max_points if max_points is not None else LIMITS[mode]
    if grid.size > limit:
        raise BitbranchError(f"the grid has {grid.size} points, over the {mode} limit of {limit}: shrink it or raise "
                             f"the limit with --max-points {grid.size} (MAX_POINTS={grid.size})")


# --- one row per point --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DseRow:
    """What one point measured (None: not measured, never zero). Main columns are post-synthesis (the front end;
    the model's post-synthesis estimate in a model-only run); the gds_* columns are post-route."""

    id: str
    arch: str
    encoding: str
    wbits: int
    abits: int
    n: int
    clock_ns: float
    status: str  # ok | model-only | failed: <reason>
    source: str = ""  # post-synthesis | model
    area_um2: float | None = None
    cells: int | None = None
    fmax_mhz: float | None = None  # worst corner (ss)
    fmax_tt_mhz: float | None = None
    fmax_ff_mhz: float | None = None
    setup_ws_ns: float | None = None  # worst over tt/ss/ff
    hold_ws_ns: float | None = None
    timing_met: bool | None = None
    power_mw: float | None = None
    energy_per_dot_pj: float | None = None
    energy_per_mac_pj: float | None = None
    latency_cycles: int | None = None
    initiation_interval: int | None = None
    period_ns: float | None = None  # the clock if timing is met at every corner, else 1000 / fmax
    throughput_gmacs: float | None = None
    tops_per_w: float | None = None
    tops_per_mm2: float | None = None
    model_area_um2: float | None = None
    model_energy_per_mac_pj: float | None = None  # post-synthesis estimate
    model_energy_per_mac_pj_routed: float | None = None  # post-route estimate
    model_area_err_pct: float | None = None
    model_energy_err_pct: float | None = None
    inference_dots: int | None = None
    inference_additions: int | None = None
    inference_energy_nj: float | None = None
    inference_accumulate_nj: float | None = None
    inference_latency_us: float | None = None
    accuracy: float | None = None  # digits MLP test accuracy at these widths (qnn.json mean over seeds)
    gds_status: str = ""  # "" (not routed) | ok | failed: <reason>
    gds_area_um2: float | None = None
    gds_fmax_mhz: float | None = None
    gds_energy_per_mac_pj: float | None = None
    drc_errors: int | None = None
    lvs_errors: int | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> DesignSpec:
        return DesignSpec(arch=self.arch, wbits=self.wbits, abits=self.abits, n=self.n, encoding=self.encoding)

    @property
    def measured(self) -> bool:
        """A row whose numbers can be compared and plotted (a front-end measurement or a model-only estimate)."""
        return self.status in ("ok", "model-only")


COLUMNS = tuple(f.name for f in fields(DseRow))
UNITS = {
    "area_um2": "um^2 (cell area)", "fmax_mhz": "MHz at the worst corner (ss)", "period_ns": "ns",
    "setup_ws_ns": "ns, worst over tt/ss/ff", "power_mw": "mW at clock_ns", "energy_per_dot_pj": "pJ per y",
    "energy_per_mac_pj": "pJ per MAC (tt_025C_1v80, random inputs)", "throughput_gmacs": "GMAC/s at period_ns",
    "tops_per_w": "TOPS/W (2 ops per MAC)", "tops_per_mm2": "TOPS/mm^2 at period_ns (2 ops per MAC)",
    "inference_energy_nj": "nJ per digits-MLP inference on one PE (dot products + partial-sum accumulation)",
    "inference_latency_us": "us per inference on one PE at period_ns", "accuracy": "test accuracy (fraction)",
    "gds_area_um2": "um^2 post-route", "gds_energy_per_mac_pj": "pJ per MAC post-route",
}


@dataclass(frozen=True)
class Settings:
    """What every task needs besides its point: the mode, the build root (as the workers see it), the MLP's
    hidden width and the accumulator's unit cost (computed once on the client)."""

    mode: str
    root: str
    hidden: int
    acc: AccumulatorCost
    commit: str = ""


def _num(m: Mapping[str, Any], key: str) -> float | None:
    v = m.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def clock_root(root: Path | str, clock_ns: float) -> Path:
    """The build root of one clock: the synthesis targets the clock, so each clock has its own designs."""
    return Path(root) / f"clock-{clock_ns:g}ns"


def _rates(spec: DesignSpec, row: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Throughput, efficiency and the network-level numbers from area, energy per dot, the period and timing."""
    period, e_dot, ii, lat = row.get("period_ns"), row.get("energy_per_dot_pj"), row.get("initiation_interval"), \
        row.get("latency_cycles")
    out: dict[str, Any] = {}
    if period and ii:
        out["throughput_gmacs"] = 1e3 / period * spec.n / ii / 1e3
    if row.get("energy_per_mac_pj"):
        out["tops_per_w"] = OPS_PER_MAC / row["energy_per_mac_pj"]
    if out.get("throughput_gmacs") and row.get("area_um2"):
        out["tops_per_mm2"] = OPS_PER_MAC * out["throughput_gmacs"] / 1e3 / (row["area_um2"] * 1e-6)
    if e_dot is not None and period and ii and lat is not None:
        inf = inference(spec, e_dot, period, lat, ii, settings.hidden, settings.acc)
        out.update(inference_dots=inf.dots, inference_additions=inf.additions, inference_energy_nj=inf.energy_nj,
                   inference_accumulate_nj=inf.accumulate_nj, inference_latency_us=inf.latency_us)
    return out


def _model_columns(spec: DesignSpec, cal: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's estimate of one design (columns, and its provenance)."""
    from reports.estimates import estimate_detail

    e = estimate_detail(spec, dict(cal))
    lat, ii = arch_registry.get(spec.arch).timing(spec)
    cols = dict(model_area_um2=e.area_um2, model_energy_per_mac_pj=e.energy_per_mac_pj_post_synthesis,
                model_energy_per_mac_pj_routed=e.energy_per_mac_pj, latency_cycles=lat, initiation_interval=ii)
    return cols, {"model": e.provenance}


def model_rows(points: Sequence[Point], settings: Settings) -> list[DseRow]:
    """Model-only rows (one Dask task evaluates a chunk): the model's post-synthesis area and energy, the clock taken
    as met (the model does not time a design), the network-level numbers from them. The estimate does not depend on
    the clock (its leakage share is below 1 %), so a design at several clocks is estimated once per chunk."""
    from model.energy import load_calibration

    cal = load_calibration()
    fp = _model_fingerprint(cal)
    cache: dict[DesignSpec, tuple[dict[str, Any], dict[str, Any]]] = {}
    out = []
    for p in points:
        if p.spec not in cache:
            cache[p.spec] = _model_columns(p.spec, cal)
        cols, prov = cache[p.spec]
        row = dict(cols, area_um2=cols["model_area_um2"], energy_per_mac_pj=cols["model_energy_per_mac_pj"],
                   energy_per_dot_pj=cols["model_energy_per_mac_pj"] * p.spec.macs, period_ns=p.clock_ns)
        row.update(_rates(p.spec, row, settings))
        out.append(DseRow(id=p.id, arch=p.spec.arch, encoding=p.spec.encoding, wbits=p.spec.wbits,
                          abits=p.spec.abits, n=p.spec.n, clock_ns=p.clock_ns, status="model-only", source="model",
                          provenance=dict(prov, code=fp, commit=settings.commit,
                                          clock="taken as met (not timed)"), **row))
    return out


def model_chunks(points: Sequence[Point], size: int = 0) -> list[tuple[Point, ...]]:
    """The model-only tasks: points grouped by design (a design's clocks in one task, so it is estimated once), the
    groups packed into chunks of about ``size`` points (default ``MODEL_CHUNK``)."""
    size = size or MODEL_CHUNK
    groups: dict[DesignSpec, list[Point]] = {}
    for p in points:
        groups.setdefault(p.spec, []).append(p)
    chunks: list[tuple[Point, ...]] = []
    cur: list[Point] = []
    for g in groups.values():
        if cur and len(cur) + len(g) > size:
            chunks.append(tuple(cur))
            cur = []
        cur += g
    if cur:
        chunks.append(tuple(cur))
    return chunks


def _model_fingerprint(cal: Mapping[str, Any]) -> str:
    """The model's code fingerprint: its source files and the calibration (a changed estimator changes it)."""
    import model
    import reports.network

    h = hashlib.sha256(json.dumps(cal, sort_keys=True).encode())
    base = Path(model.__file__).parent
    for f in sorted(base.rglob("*.py")):
        h.update(f.relative_to(base).as_posix().encode() + f.read_bytes())
    h.update(Path(reports.network.__file__).read_bytes())
    return "model " + h.hexdigest()[:16]


def flow_fingerprint(design_dir: Path) -> str:
    """The flow's code-and-inputs fingerprint of a design: a digest of its stages' stamp fingerprints (each one
    hashes the stage's code, tools, configuration and input files)."""
    h = hashlib.sha256()
    stamps = sorted((design_dir / "flow").glob("*/stamp.json"))
    for s in stamps:
        data = load_state(s, "stage stamp", then="it is left out of the fingerprint") or {}
        h.update(f"{s.parent.name}={data.get('fingerprint', '')}\n".encode())
    return f"flow {h.hexdigest()[:16]} ({len(stamps)} stages)"


def _flow_provenance(metrics: Mapping[str, Any], design_dir: Path) -> dict[str, Any]:
    from flow.pdk import CORNERS
    from flow.sta import STA_CORNERS

    prov = metrics.get("provenance") if isinstance(metrics.get("provenance"), Mapping) else {}
    tools: dict[str, str] = {}
    pdk = ""
    for record in prov.values():
        if isinstance(record, Mapping):
            for k, v in (record.get("tools") or {}).items():
                tools.setdefault(k, str(v).split("\n")[0])
            pdk = pdk or str(record.get("pdk_root") or "")
    return {"tools": dict(sorted(tools.items())), "pdk": pdk, "library": "sky130_fd_sc_hd",
            "corners": f"setup/hold at {', '.join(CORNERS[c] for c in STA_CORNERS)}; fmax at the worst; energy at "
                       f"{CORNERS['tt']}",
            "flow_config": metrics.get("flow__config"), "code": flow_fingerprint(design_dir)}


def _first_line(e: BaseException) -> str:
    lines = [x.strip() for x in str(e).splitlines() if x.strip()]
    return lines[0][:300] if lines else "no message"


def front_end_row(point: Point, settings: Settings) -> DseRow:
    """One point through ``python -m flow power`` (resumed from its stage stamps) and the model, as a row; a flow
    failure is a failed row with the flow's last line as the reason (model columns kept, marked as such), and so is
    any other fault of the task (a damaged file, a bug): the sweep never loses a point."""
    try:
        return _front_end_row(point, settings)
    except Exception as e:  # noqa: BLE001 (a row with the reason, rather than a lost point)
        s = point.spec
        return DseRow(id=point.id, arch=s.arch, encoding=s.encoding, wbits=s.wbits, abits=s.abits, n=s.n,
                      clock_ns=point.clock_ns, status=f"failed: {type(e).__name__}: {_first_line(e)}",
                      provenance={"commit": settings.commit})


def _front_end_row(point: Point, settings: Settings) -> DseRow:
    from model.energy import load_calibration
    from reports.sweep import run_flow_job

    spec, croot = point.spec, clock_root(settings.root, point.clock_ns)
    cal = load_calibration()
    model_cols, model_prov = _model_columns(spec, cal)
    base = dict(id=point.id, arch=spec.arch, encoding=spec.encoding, wbits=spec.wbits, abits=spec.abits, n=spec.n,
                clock_ns=point.clock_ns)
    try:
        job = run_flow_job(spec, "power", point.clock_ns, croot)
        reason = None if job.ok else job.message
    except OSError as e:
        job, reason = None, f"could not start the flow: {e}"
    design = spec.build_dir(croot)
    metrics = None
    if reason is None:
        metrics = load_state(design / "flow" / "metrics.json", "metrics file", then="the point is reported as failed")
        made = (metrics or {}).get("flow__config") or {}
        if not metrics or metrics.get("flow__status") != "ok":
            reason = f"flow status {(metrics or {}).get('flow__status', 'missing')!r}"
        elif not isinstance(made, Mapping) or made.get("clock_ns") != point.clock_ns:
            reason = f"metrics made for another clock ({made.get('clock_ns') if isinstance(made, Mapping) else '?'} ns)"
    prov = dict(model_prov, commit=settings.commit)
    if reason is not None or metrics is None:
        log = f"; log {job.log}" if job is not None else ""
        return DseRow(**base, status=f"failed: {reason}{log}", provenance=prov,
                      **{k: v for k, v in model_cols.items() if k.startswith("model_")})
    manifest = load_state(design / "rtl" / "manifest.json", "RTL manifest", then="latency and II from the arch") or {}
    setup = [_num(metrics, f"timing__setup__ws__corner:{c}") for c in ("tt", "ss", "ff")]
    hold = [_num(metrics, f"timing__hold__ws__corner:{c}") for c in ("tt", "ss", "ff")]
    setup_ws = min((s for s in setup if s is not None), default=_num(metrics, "timing__setup__ws"))
    hold_ws = min((h for h in hold if h is not None), default=_num(metrics, "timing__hold__ws"))
    fmax = _num(metrics, "timing__fmax__mhz")
    met = setup_ws is not None and hold_ws is not None and setup_ws >= 0 and hold_ws >= 0
    power = _num(metrics, "power__total")
    row: dict[str, Any] = dict(
        area_um2=_num(metrics, "design__instance__area"), cells=int(_num(metrics, "design__instance__count") or 0) or None,
        fmax_mhz=fmax, fmax_tt_mhz=_num(metrics, "timing__fmax__mhz__corner:tt"),
        fmax_ff_mhz=_num(metrics, "timing__fmax__mhz__corner:ff"), setup_ws_ns=setup_ws, hold_ws_ns=hold_ws,
        timing_met=met, power_mw=power * 1e3 if power is not None else None,
        energy_per_dot_pj=_num(metrics, "power__energy_per_dot__pj"), energy_per_mac_pj=_num(metrics, "power__energy_per_mac__pj"),
        period_ns=point.clock_ns if met or not fmax else max(point.clock_ns, 1e3 / fmax))
    row.update(model_cols)
    row["latency_cycles"] = manifest.get("latency_cycles", model_cols["latency_cycles"])
    row["initiation_interval"] = manifest.get("initiation_interval", model_cols["initiation_interval"])
    err = lambda est, ref: 100.0 * (est - ref) / ref if ref else None  # noqa: E731
    row["model_area_err_pct"] = err(model_cols["model_area_um2"], row["area_um2"])
    row["model_energy_err_pct"] = err(model_cols["model_energy_per_mac_pj"], row["energy_per_mac_pj"])
    row.update(_rates(spec, row, settings))
    prov.update(_flow_provenance(metrics, design))
    return DseRow(**base, status="ok", source="post-synthesis", provenance=prov, **row)


def gds_row(row: DseRow, settings: Settings) -> DseRow:
    """Route one front-end point (``python -m flow gds`` in the same root: the front-end stages are reused) and add
    its post-route columns; a failed route is ``gds_status`` failed with its reason, the front-end row unchanged."""
    from reports.sweep import run_flow_job

    croot = clock_root(settings.root, row.clock_ns)
    try:
        job = run_flow_job(row.spec, "gds", row.clock_ns, croot)
    except Exception as e:  # noqa: BLE001 (the route's fault is the row's gds_status)
        return replace(row, gds_status=f"failed: {type(e).__name__}: {_first_line(e)}")
    if not job.ok:
        return replace(row, gds_status=f"failed: {job.message}; log {job.log}")
    metrics = load_state(row.spec.build_dir(croot) / "flow" / "metrics.json", "metrics file",
                         then="the route is reported as failed") or {}
    if metrics.get("flow__status") != "ok":
        return replace(row, gds_status=f"failed: flow status {metrics.get('flow__status', 'missing')!r}")
    drc, lvs = _num(metrics, "magic__drc_error__count"), _num(metrics, "design__lvs_error__count")
    return replace(row, gds_status="ok", gds_area_um2=_num(metrics, "design__instance__area"),
                   gds_fmax_mhz=_num(metrics, "timing__fmax__mhz"),
                   gds_energy_per_mac_pj=_num(metrics, "power__energy_per_mac__pj"),
                   drc_errors=int(drc) if drc is not None else None, lvs_errors=int(lvs) if lvs is not None else None)


# --- accuracy, fronts, output -------------------------------------------------------------------------------------

def accuracy_table(qnn: Mapping[str, Any] | None) -> dict[tuple[str, int, int], float]:
    """(encoding, WBITS, ABITS) -> mean test accuracy of the digits MLP, from qnn.json (``make qnn``)."""
    out: dict[tuple[str, int, int], float] = {}
    for r in (qnn or {}).get("rows", []):
        if isinstance(r, Mapping) and r.get("wbits") is not None and isinstance(r.get("mean"), (int, float)):
            out[(str(r.get("encoding", encoding_registry.DEFAULT)), int(r["wbits"]), int(r["abits"]))] = float(r["mean"])
    return out


def with_accuracy(rows: Iterable[DseRow], acc: Mapping[tuple[str, int, int], float]) -> list[DseRow]:
    return [replace(r, accuracy=acc.get((r.encoding, r.wbits, r.abits))) for r in rows]


def energy_area_front(rows: Sequence[DseRow]) -> list[DseRow]:
    return pareto([r for r in rows if r.measured], lambda r: (r.energy_per_mac_pj, r.area_um2))


def density_energy_front(rows: Sequence[DseRow]) -> list[DseRow]:
    return pareto([r for r in rows if r.measured],
                  lambda r: (-r.tops_per_mm2 if r.tops_per_mm2 is not None else None, r.energy_per_mac_pj))


def accuracy_front(rows: Sequence[DseRow]) -> list[DseRow]:
    """The accuracy / energy-per-inference front; of points tied on both (one design at several clocks has one
    model energy) the one with the lowest latency stands for them."""
    front = pareto([r for r in rows if r.measured and r.accuracy is not None],
                   lambda r: (r.inference_energy_nj, -r.accuracy if r.accuracy is not None else None))
    best: dict[tuple[float | None, float | None], DseRow] = {}
    for r in front:
        k = (r.inference_energy_nj, r.accuracy)
        if k not in best or (r.inference_latency_us or math.inf, r.id) < (best[k].inference_latency_us or math.inf, best[k].id):
            best[k] = r
    return [r for r in front if best[(r.inference_energy_nj, r.accuracy)] is r]


def accuracy_knee(rows: Sequence[DseRow]) -> DseRow | None:
    return knee(accuracy_front(rows), lambda r: r.inference_energy_nj, lambda r: r.accuracy)


def choose_for_gds(rows: Sequence[DseRow], how: str) -> list[DseRow]:
    """The points ``--gds`` routes: ``pareto`` (the energy/MAC-vs-area front) or ``top-K`` (the K lowest energies
    per inference)."""
    ok = [r for r in rows if r.status == "ok"]
    if how == "pareto":
        return energy_area_front(ok)
    k = int(how.split("-", 1)[1])
    return sorted((r for r in ok if r.inference_energy_nj is not None), key=lambda r: (r.inference_energy_nj, r.id))[:k]


def parse_gds(text: str | None) -> str | None:
    """``--gds``: '' (none), ``pareto`` or ``top-K`` (K >= 1)."""
    t = (text or "").strip().lower()
    if not t:
        return None
    if t == "pareto":
        return t
    if t.startswith("top-") and t[4:].isdigit() and int(t[4:]) >= 1:
        return t
    raise BitbranchError(f"--gds {text!r}: use pareto or top-K (e.g. top-3)")


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def to_csv(rows: Iterable[DseRow]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _cell(v) for k, v in asdict(r).items()})
    return buf.getvalue()


def summary(rows: Sequence[DseRow]) -> dict[str, Any]:
    """The fronts and the knee by point id (what the page and the README quote)."""
    k = accuracy_knee(rows)
    return {"points": len(rows), "ok": sum(r.status == "ok" for r in rows),
            "model_only": sum(r.status == "model-only" for r in rows),
            "failed": sum(r.status.startswith("failed") for r in rows),
            "front_energy_area": [r.id for r in energy_area_front(rows)],
            "front_density_energy": [r.id for r in density_energy_front(rows)],
            "front_accuracy_energy": [r.id for r in accuracy_front(rows)],
            "knee_accuracy_energy": k.id if k is not None else None}


def to_json(rows: Sequence[DseRow], meta: Mapping[str, Any]) -> str:
    return json.dumps({"meta": dict(meta), "units": UNITS, "summary": summary(rows), "rows": [asdict(r) for r in rows]},
                      indent=1, sort_keys=True) + "\n"


def rows_from_json(data: Mapping[str, Any]) -> list[DseRow]:
    names = set(COLUMNS)
    return [DseRow(**{k: v for k, v in r.items() if k in names}) for r in data.get("rows", [])]


def finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)
