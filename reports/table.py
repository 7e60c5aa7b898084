"""One PPA row per design, read from its manifest and flow metrics; CSV and JSON writers.

A row is only as current as its inputs: a design whose flow did not finish, or whose RTL is
newer than its metrics, is marked (``status`` = failed / stale / missing) and its numbers are
left blank rather than shown as current. The post-synthesis numbers (synth_* columns) of a design whose
back end failed or is still running are kept when its front-end stages are up to date.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from common.lock import LockBusy, design_lock
from common.state import load_state
from model.spec import DesignSpec

OPS_PER_MAC = 2  # one multiply and one add, the usual TOPS convention


@dataclass(frozen=True)
class PpaRow:
    """The PPA of one design; None means 'not measured' (never zero)."""

    arch: str
    wbits: int
    abits: int
    n: int
    id: str
    status: str  # ok | stale: <why> | failed: <why> | incomplete: <stage> | missing | model-only
    source: str = ""  # post-route | post-synthesis | model
    area_um2: float | None = None
    cells: int | None = None
    clock_ns: float | None = None
    fmax_mhz: float | None = None
    power_mw: float | None = None
    energy_per_dot_pj: float | None = None
    energy_per_mac_pj: float | None = None
    latency_cycles: int | None = None
    initiation_interval: int | None = None
    throughput_gmacs: float | None = None
    tops_per_w: float | None = None
    tops_per_mm2: float | None = None
    weight_bits: int | None = None
    model_area_um2: float | None = None
    model_energy_per_mac_pj: float | None = None
    model_area_err_pct: float | None = None
    model_energy_err_pct: float | None = None
    drc_errors: int | None = None  # magic's deck (unique error boxes)
    klayout_drc_errors: int | None = None  # KLayout's sky130 deck (report items); None when that stage did not run
    lvs_errors: int | None = None
    # post-synthesis numbers of the same design (its synth, sta and power stages; the main columns of a
    # post-synthesis row): kept for a routed design, and for one whose back end failed or is still running
    synth_area_um2: float | None = None
    synth_fmax_mhz: float | None = None
    synth_energy_per_mac_pj: float | None = None
    provenance: str = ""
    encoding: str = "pm1"  # model.encodings: pm1 ({-1,+1} encoded) or twos ({0,1} bit-plane); last, so positional rows stay valid
    hold_ws_propagated_ns: float | None = None  # worst hold slack with propagated clocks (no clock tree is built)
    hold_ws_propagated_registers_ns: float | None = None  # the same over the paths launched by registers
    route_attempt: str = ""  # the route stage's winning attempt (placement, seed, buffering, keep-out: d28-seed1-late)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(PpaRow))
PROPAGATED_NOTE = ("hold ns (prop. clock), hold (prop.) on the page: the worst hold slack over the corners with the clock's own cells and "
                   "nets counted; the other columns time ideal clocks. This flow has no CTS: clk is an ideal source; "
                   "the clock gates of the clock-gated serial PE drive balanced trees of clock buffers "
                   "(flow/clocktree.py), and a fanout-buffered placement (route winner *-buf) has qflow's buffers on clk "
                   "too. A negative value is the hold of paths from input ports, which change at the clk edge itself "
                   "(input delay 0), into registers behind that insertion delay; a top level that launches the inputs "
                   "from registers on the same, balanced clock tree closes it.")
"""Shown under the measured table when a design's hold slack with propagated clocks is negative (``propagated_note``)."""


def _short_of_hold(rows: Iterable[PpaRow]) -> list[PpaRow]:
    return [r for r in rows if r.status == "ok" and r.hold_ws_propagated_ns is not None and r.hold_ws_propagated_ns < 0]


def needs_propagated_note(rows: Iterable[PpaRow]) -> bool:
    """Whether a measured row's hold slack with propagated clocks is negative (``propagated_note`` is then shown)."""
    return bool(_short_of_hold(rows))


def propagated_note(rows: Sequence[PpaRow]) -> str:
    """``PROPAGATED_NOTE`` and what the rows short of hold measured on their register-launched paths."""
    short = _short_of_hold(rows)
    regs = [r.hold_ws_propagated_registers_ns for r in short]
    if not short or any(v is None for v in regs):
        return PROPAGATED_NOTE
    worst = min(regs)  # type: ignore[type-var]
    return (f"{PROPAGATED_NOTE} On the paths launched by registers the worst hold slack of these {len(short)} "
            f"design(s) is {worst:+.2f} ns ({'met' if worst >= 0 else 'violated'}).")


UNITS: dict[str, str] = {
    "area_um2": "um^2",
    "clock_ns": "ns",
    "fmax_mhz": "MHz",
    "power_mw": "mW at clock_ns with the stated activity",
    "energy_per_dot_pj": "pJ per y",
    "energy_per_mac_pj": "pJ per MAC",
    "throughput_gmacs": "GMAC/s at fmax",
    "tops_per_w": "TOPS/W (2 ops per MAC)",
    "tops_per_mm2": "TOPS/mm^2 at fmax (2 ops per MAC)",
    "weight_bits": "bits of weights per dot product (N*WBITS)",
    "drc_errors": "magic DRC error boxes (sky130A.tech, drc(full))",
    "klayout_drc_errors": "KLayout DRC markers (sky130A_mr.drc: feol, beol, offgrid)",
    "hold_ws_propagated_ns": ("ns, worst hold slack over corners with propagated clocks (the clock's own cells and "
                              "nets counted; this flow builds no CTS, so clock buffers show as insertion delay)"),
    "hold_ws_propagated_registers_ns": "ns, the same over the paths launched by registers (not from input ports)",
    "synth_area_um2": "um^2, post-synthesis cell area",
    "synth_fmax_mhz": "MHz, post-synthesis (no wires)",
    "synth_energy_per_mac_pj": "pJ per MAC, post-synthesis (no wires)",
    "route_attempt": ("the route stage's winning attempt: density, graywolf seed, -buf (fanout-buffered netlist), "
                      "-late (met1 keep-out from stage 3, pad edits)"),
}


def _num(m: Mapping[str, Any], key: str) -> float | None:
    v = m.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _provenance_summary(metrics: Mapping[str, Any]) -> str:
    """Tools, corner, PDK and activity source in one short string for the table."""
    prov = metrics.get("provenance")
    prov = prov if isinstance(prov, Mapping) else {}
    tools: dict[str, str] = {}
    pdk = corner = activity = ""
    for record in prov.values():
        if not isinstance(record, Mapping):
            continue
        for k, v in (record.get("tools") or {}).items():
            tools.setdefault(k, str(v).split("\n")[0])
        pdk = pdk or str(record.get("pdk") or record.get("pdk_root") or "")
        corner = corner or str(record.get("corner") or "")
        activity = activity or str(record.get("activity") or record.get("activity_source") or "")
    parts = [f"{k} {v}" for k, v in sorted(tools.items())]
    if corner:
        parts.append(f"corner {corner}")
    if pdk:
        parts.append(f"pdk {pdk}")
    if activity:
        parts.append(f"activity {activity}")
    return "; ".join(parts)


def rtl_newer_than(rtl_dir: Path, manifest: Mapping[str, Any], metrics_path: Path) -> bool:
    """True when any Verilog file or the manifest changed after the metrics were written."""
    t = metrics_path.stat().st_mtime
    files = manifest.get("verilog_files")
    paths = [rtl_dir / "manifest.json", *(rtl_dir / str(f) for f in (files if isinstance(files, list) else []))]
    return any(p.exists() and p.stat().st_mtime > t for p in paths)


def _why_stale(spec: DesignSpec, root: Path | str, manifest: Mapping[str, Any], metrics: Mapping[str, Any],
               metrics_path: Path, expected_config: Mapping[str, Any] | None, check_stamps: bool) -> str | None:
    """Why the numbers in ``metrics`` are no longer those of the current design and flow (None: they are)."""
    from flow.backend import why_not_current

    if rtl_newer_than(metrics_path.parent.parent / "rtl", manifest, metrics_path):
        return "RTL changed after the flow ran"
    return why_not_current(spec, root, metrics, expected_config, stamps=check_stamps)


def _synth_columns(spec: DesignSpec, root: Path | str, metrics: Mapping[str, Any], from_stamps: bool) -> dict[str, Any]:
    """The synth_* columns: from the front-end stages' stamps (only when all of them are still up to date)
    when a later stage wrote or may have written the same metric names, else the metrics themselves."""
    front: Mapping[str, Any] | None = metrics
    if from_stamps:
        from flow.backend import front_end_metrics

        front = front_end_metrics(spec, root, metrics)
        if front is None:
            return {}
    return dict(synth_area_um2=_num(front, "design__instance__area"), synth_fmax_mhz=_num(front, "timing__fmax__mhz"),
                synth_energy_per_mac_pj=_num(front, "power__energy_per_mac__pj"))


def row_from_build(spec: DesignSpec, root: Path | str = "build", expected_config: Mapping[str, Any] | None = None,
                   check_stamps: bool = False) -> PpaRow:
    """Read ``build/<id>/rtl/manifest.json`` and ``build/<id>/flow/metrics.json`` into a row.

    With ``expected_config`` (``flow.stage.config_summary`` of the configuration the report is about),
    a metrics file made under another configuration, or with none recorded, is marked stale. With
    ``check_stamps``, so is one whose stages are no longer up to date (their inputs, code or tools changed);
    and a design whose flow failed or is still running after its front end keeps its post-synthesis
    numbers (synth_* columns, from the up-to-date front-end stamps) while its main columns stay blank.
    """
    d = spec.build_dir(root)
    base = dict(arch=spec.arch, wbits=spec.wbits, abits=spec.abits, n=spec.n, id=spec.id, weight_bits=spec.n * spec.wbits,
                encoding=spec.encoding)
    try:  # never read a design while a command writes it (common/lock.py): a busy design is reported as such
        with design_lock(d, shared=True, wait=False):
            return _row(spec, root, d, base, expected_config, check_stamps)
    except LockBusy as e:
        return PpaRow(**base, status=f"incomplete: being written by {e.holder or 'another command'}")


def _row(spec: DesignSpec, root: Path | str, d: Path, base: dict[str, Any], expected_config: Mapping[str, Any] | None,
         check_stamps: bool) -> PpaRow:
    manifest_path, metrics_path = d / "rtl" / "manifest.json", d / "flow" / "metrics.json"
    if not d.is_dir():
        return PpaRow(**base, status="missing")
    manifest = load_state(manifest_path, "RTL manifest", then="the design is reported as missing")
    metrics = load_state(metrics_path, "metrics file", then="the design is reported as missing")
    if manifest is None or metrics is None:
        return PpaRow(**base, status="missing")
    lat, ii = manifest.get("latency_cycles"), manifest.get("initiation_interval")
    base.update(latency_cycles=lat, initiation_interval=ii)
    flow_status = str(metrics.get("flow__status", "missing status"))
    stale = _why_stale(spec, root, manifest, metrics, metrics_path, expected_config, check_stamps)
    if flow_status != "ok":
        kind = "incomplete" if flow_status.startswith("running") else "failed"
        synth = _synth_columns(spec, root, metrics, True) if check_stamps and stale is None else {}
        return PpaRow(**base, status=f"{kind}: {flow_status}", **synth)
    if stale is not None:
        return PpaRow(**base, status=f"stale: {stale}")

    area = _num(metrics, "design__instance__area")
    fmax = _num(metrics, "timing__fmax__mhz")
    power_w = _num(metrics, "power__total")
    e_mac = _num(metrics, "power__energy_per_mac__pj")
    routed = "design__die__area" in metrics and "route__wirelength" in metrics
    gmacs = fmax * 1e6 * spec.n / ii / 1e9 if fmax and ii else None
    drc, lvs = _num(metrics, "magic__drc_error__count"), _num(metrics, "design__lvs_error__count")
    kdrc = _num(metrics, "klayout__drc_error__count")
    synth = _synth_columns(spec, root, metrics, routed) if (check_stamps or not routed) else {}
    return PpaRow(
        **base,
        status="ok",
        source="post-route" if routed else "post-synthesis",
        area_um2=area,
        cells=int(c) if (c := _num(metrics, "design__instance__count")) is not None else None,
        clock_ns=_num(metrics, "clock__period"),
        fmax_mhz=fmax,
        power_mw=power_w * 1e3 if power_w is not None else None,
        energy_per_dot_pj=_num(metrics, "power__energy_per_dot__pj"),
        energy_per_mac_pj=e_mac,
        throughput_gmacs=gmacs,
        tops_per_w=OPS_PER_MAC / e_mac if e_mac else None,  # ops/J / 1e12 = 2 / (E_pJ)
        tops_per_mm2=OPS_PER_MAC * gmacs / 1e3 / (area * 1e-6) if gmacs and area else None,
        drc_errors=int(drc) if drc is not None else None,
        klayout_drc_errors=int(kdrc) if kdrc is not None else None,
        lvs_errors=int(lvs) if lvs is not None else None,
        hold_ws_propagated_ns=_num(metrics, "timing__hold__ws__propagated"),
        hold_ws_propagated_registers_ns=_num(metrics, "timing__hold__ws__propagated__from_registers"),
        provenance=_provenance_summary(metrics),
        route_attempt=str(metrics.get("route__attempt__winner") or ""),
        **synth,
    )


def to_csv(rows: Iterable[PpaRow]) -> str:
    """CSV with the columns of :class:`PpaRow`; blanks for unmeasured values."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in asdict(r).items()})
    return buf.getvalue()


def to_json(rows: Iterable[PpaRow], meta: Mapping[str, Any], model_points: Iterable[Any] = ()) -> str:
    """JSON with the run's provenance (``meta``), the units, the rows and the model's estimates of the compared
    families (``model_points``, dataclasses; kept so the report re-renders exactly without re-running the model)."""
    return json.dumps({"meta": dict(meta), "units": UNITS, "rows": [asdict(r) for r in rows],
                       "model_points": [asdict(p) for p in model_points]}, indent=2, sort_keys=True) + "\n"
