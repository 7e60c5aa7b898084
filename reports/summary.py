"""``reports/ppa.md``: the measured table, the encoded/baseline ratios, the ratios between the encodings and the
model's comparison of the three families ({-1,+1} encoded, {0,1} bit-plane, conventional) in Markdown, computed from
the rows.

The README's results section is pasted from this file, so no figure in it is typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from reports.table import PpaRow, needs_propagated_note, propagated_note

DEFAULT_ENCODING = "pm1"
BASELINE = "baseline"


@dataclass(frozen=True)
class ModelPoint:
    """The model's post-route estimate of one design (reports.estimates)."""

    arch: str
    encoding: str
    wbits: int
    abits: int
    n: int
    area_um2: float
    energy_per_mac_pj: float


def design_label(arch: str, encoding: str, w: int, a: int, n: int) -> str:
    """'parallel W2A2 N32' (pm1, as before encodings existed) or 'parallel twos W2A2 N32'."""
    enc = "" if encoding == DEFAULT_ENCODING else f" {encoding}"
    return f"{arch}{enc} W{w}A{a} N{n}"


def _f(v: Any, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def measured_table(rows: Sequence[PpaRow]) -> list[str]:
    """One line per flow design (model-only rows left out); blank numbers for rows that are not ok."""
    out = ["| design | status | measured | area um^2 | fmax MHz (ss) | hold ns (prop. clock) | energy/MAC pJ | GMAC/s | "
           "TOPS/W | model area err | model E err | DRC magic | DRC KLayout | LVS | route |", "|" + "---|" * 15]
    for r in rows:
        if r.status == "model-only":
            continue
        ok = r.status == "ok"
        status = r.status.split(":")[0]
        g = (lambda v, fmt: _f(v if ok else None, fmt))  # noqa: E731
        pct = (lambda v: g(v, "+.1f") + ("%" if ok and v is not None else ""))  # noqa: E731
        out.append(f"| {r.id} | {status} | {r.source if ok else '–'} | {g(r.area_um2, '.0f')} | {g(r.fmax_mhz, '.1f')} | {g(r.hold_ws_propagated_ns, '.2f')} | {g(r.energy_per_mac_pj, '.3f')} "
                   f"| {g(r.throughput_gmacs, '.2f')} | {g(r.tops_per_w, '.2f')} | {pct(r.model_area_err_pct)} "
                   f"| {pct(r.model_energy_err_pct)} | {g(r.drc_errors, 'd')} | {g(r.klayout_drc_errors, 'd')} "
                   f"| {g(r.lvs_errors, 'd')} | {(r.route_attempt or '–') if ok else '–'} |")
    return out


def _levels(r: PpaRow) -> dict[str, tuple[float | None, float | None, float | None]]:
    """(area, energy per MAC, fmax) of a row at each stage it was measured at and is current for."""
    out = {}
    if r.status == "ok" and r.source == "post-route":
        out["post-route"] = (r.area_um2, r.energy_per_mac_pj, r.fmax_mhz)
    if r.synth_area_um2 is not None or r.synth_energy_per_mac_pj is not None:
        out["post-synthesis"] = (r.synth_area_um2, r.synth_energy_per_mac_pj, r.synth_fmax_mhz)
    elif r.status == "ok" and r.source == "post-synthesis":
        out["post-synthesis"] = (r.area_um2, r.energy_per_mac_pj, r.fmax_mhz)
    return out


def _div(x: float | None, y: float | None) -> float | None:
    return (x / y) if (x is not None and y) else None


def _ratio(mine: tuple, base: tuple) -> dict[str, float | None]:
    (ra, re, rf), (ba, be, bf) = mine, base
    return {"area": _div(ra, ba), "energy_per_mac": _div(re, be), "fmax": _div(rf, bf)}


def ratios(rows: Sequence[PpaRow], baseline: str = BASELINE) -> list[dict[str, Any]]:
    """Encoded arch / baseline of the same encoding at the same (W, A, N), for area, energy per MAC and fmax, at
    each stage both were measured at: post-route against post-route, post-synthesis against post-synthesis (a design
    whose back end failed or is still running has post-synthesis numbers only)."""
    levels = {(r.arch, r.encoding, r.wbits, r.abits, r.n): _levels(r) for r in rows}
    out = []
    for (arch, enc, w, a, n), mine in sorted(levels.items(), key=lambda kv: (kv[0][2], kv[0][3], kv[0][1] != DEFAULT_ENCODING,
                                                                             kv[0][1], kv[0][0])):
        if arch != baseline:
            out += _at_common_stages(mine, levels.get((baseline, enc, w, a, n), {}),
                                     {"arch": arch, "encoding": enc, "wbits": w, "abits": a, "n": n})
    return out


def _at_common_stages(mine: Mapping[str, Any], other: Mapping[str, Any], row: dict[str, Any]) -> list[dict[str, Any]]:
    """``row`` with the ratio mine / other at each stage both were measured at (never post-route against
    post-synthesis)."""
    return [{**row, "source": s, **_ratio(mine[s], other[s])} for s in ("post-route", "post-synthesis")
            if s in mine and s in other]


def encoding_ratios(rows: Sequence[PpaRow], reference: str = DEFAULT_ENCODING) -> list[dict[str, Any]]:
    """Another encoding / the reference encoding (twos / pm1) for the same arch at the same (W, A, N), at each stage
    both were measured at."""
    levels = {(r.arch, r.encoding, r.wbits, r.abits, r.n): _levels(r) for r in rows}
    out = []
    for (arch, enc, w, a, n), mine in sorted(levels.items(), key=lambda kv: (kv[0][2], kv[0][3], kv[0][1], kv[0][0])):
        if enc != reference:
            out += _at_common_stages(mine, levels.get((arch, reference, w, a, n), {}),
                                     {"arch": arch, "encoding": enc, "reference": reference, "wbits": w, "abits": a,
                                      "n": n})
    return out


def ratio_table(rows: Sequence[PpaRow]) -> list[str]:
    out = ["| encoded / baseline (same encoding) | measured | area | energy per MAC | fmax (ss) |", "|---|---|---|---|---|"]
    for q in ratios(rows):
        out.append(f"| {design_label(q['arch'], q['encoding'], q['wbits'], q['abits'], q['n'])} | {q['source']} "
                   f"| x{_f(q['area'], '.2f')} | x{_f(q['energy_per_mac'], '.2f')} | x{_f(q['fmax'], '.2f')} |")
    return out


def encoding_ratio_table(rows: Sequence[PpaRow]) -> list[str]:
    """twos / pm1 per arch where both were measured at the same stage (empty list when none is)."""
    out = ["| twos / pm1 (same arch) | measured | area | energy per MAC | fmax (ss) |", "|---|---|---|---|---|"]
    for q in encoding_ratios(rows):
        out.append(f"| {q['arch']} W{q['wbits']}A{q['abits']} N{q['n']} ({q['encoding']} / {q['reference']}) "
                   f"| {q['source']} | x{_f(q['area'], '.2f')} | x{_f(q['energy_per_mac'], '.2f')} "
                   f"| x{_f(q['fmax'], '.2f')} |")
    return out if len(out) > 2 else []


FAMILY_COLUMNS = (("parallel", "pm1"), ("serial", "pm1"), ("parallel", "twos"), ("serial", "twos"),
                  ("baseline", "pm1"), ("baseline", "twos"))


def model_table(points: Sequence[ModelPoint], metric: str) -> list[str]:
    """The model's post-route ``metric`` ('area_um2' or 'energy_per_mac_pj') of the three families per W=A width:
    {-1,+1} encoded (pm1 parallel, serial), {0,1} bit-plane (twos parallel, serial), conventional (the baseline
    multiplier of each encoding's value set), and the ratios twos/pm1 (parallel) and parallel/baseline per encoding."""
    by = {(p.arch, p.encoding, p.wbits, p.abits, p.n): getattr(p, metric) for p in points}
    widths = sorted({(p.wbits, p.abits, p.n) for p in points if p.wbits == p.abits})
    if not widths:
        return []
    fmt = ".0f" if metric == "area_um2" else ".3f"
    head = [f"{arch} {enc}" if arch != BASELINE else f"conventional ({enc})" for arch, enc in FAMILY_COLUMNS]
    out = ["| W=A | " + " | ".join(head) + " | twos/pm1 parallel | pm1 parallel/conv | twos parallel/conv |",
           "|---|" + "---|" * (len(head) + 3)]
    for w, a, n in widths:
        v = {(arch, enc): by.get((arch, enc, w, a, n)) for arch, enc in FAMILY_COLUMNS}
        rat = [_div(v[("parallel", "twos")], v[("parallel", "pm1")]),
               _div(v[("parallel", "pm1")], v[("baseline", "pm1")]),
               _div(v[("parallel", "twos")], v[("baseline", "twos")])]
        out.append(f"| {w} (N{n}) | " + " | ".join(_f(v[c], fmt) for c in FAMILY_COLUMNS) + " | "
                   + " | ".join(f"x{_f(r, '.2f')}" for r in rat) + " |")
    return out


def synthesis_table(rows: Sequence[PpaRow]) -> list[str]:
    """Post-synthesis numbers of every flow design that has current ones, whatever became of its back end."""
    out = ["| design (post-synthesis) | status | area um^2 | fmax MHz (ss) | energy/MAC pJ |", "|---|---|---|---|---|"]
    for r in rows:
        lv = _levels(r).get("post-synthesis")
        if lv is not None:
            out.append(f"| {r.id} | {r.status.split(':')[0]} | {_f(lv[0], '.0f')} | {_f(lv[2], '.1f')} | {_f(lv[1], '.3f')} |")
    return out if len(out) > 2 else []


def model_error_line(measured: Sequence[PpaRow], meta: Mapping[str, Any]) -> str:
    """The model's largest errors against the measured rows, split into the designs its energy coefficients were
    fitted on (by id, as the report's meta records them) and the rest, which are out of sample."""
    def worst(rs: Sequence[PpaRow]) -> str:
        return (f"area |err| max {max(abs(r.model_area_err_pct or 0.0) for r in rs):.1f}%, energy per MAC |err| max "
                f"{max(abs(r.model_energy_err_pct or 0.0) for r in rs):.1f}%")

    line = f"Model against the flow on {len(measured)} measured designs: {worst(measured)}."
    if "calibration_energy_designs" not in meta:
        return line + " (which of them the model was fitted on is not recorded in this report)"
    fitted = set(meta["calibration_energy_designs"])
    ins = [r for r in measured if r.id in fitted]
    outs = [r for r in measured if r.id not in fitted]
    parts = []
    if ins:
        parts.append(f"{len(ins)} of them carry the id of a design the energy coefficients were fitted on "
                     f"({worst(ins)}; a design whose generator changed since the fit was fitted in its old form)")
    if outs:
        parts.append(f"{len(outs)} are out of sample ({worst(outs)})")
    return (f"{line} Calibration of {meta.get('calibration_date', 'unknown date')} (model/energy_calibration.json, "
            f"leave-one-out errors there): {'; '.join(parts)}.")


def markdown(rows: Sequence[PpaRow], meta: Mapping[str, Any], model_points: Sequence[ModelPoint] = ()) -> str:
    """The whole ppa.md: provenance line, measured table, ratios (encoded/baseline, twos/pm1), model error summary
    and, with ``model_points``, the model's comparison of the three families."""
    measured = [r for r in rows
                if r.status == "ok" and r.model_area_err_pct is not None and r.model_energy_err_pct is not None]
    errs = [(abs(r.model_area_err_pct), abs(r.model_energy_err_pct)) for r in measured]
    lines = [f"PPA report, {meta.get('made_utc', '')}, bitbranch {meta.get('commit', '')}, {meta.get('flow', '')}, "
             f"clock {meta.get('clock_ns', '')} ns, PDK {meta.get('pdk', '')}.", "",
             *measured_table(rows), ""]
    if needs_propagated_note(rows):
        lines += [propagated_note(rows), ""]
    synth = synthesis_table(rows)
    if synth:
        lines += ["Post-synthesis numbers of the same designs (front end only: yosys netlist, OpenSTA without wires, "
                  "gate-level simulation), also for a design whose back end failed or is still running:", "", *synth, ""]
    lines += [*ratio_table(rows), ""]
    enc_table = encoding_ratio_table(rows)
    if enc_table:
        lines += ["Between the encodings (the {0,1} bit-plane design over the {-1,+1} encoded design of the same arch "
                  "and widths, measured at the same stage):", "", *enc_table, ""]
    if model_points:
        lines += ["Model estimates of the three families at every width (post-route, tt, 10 ns clock, uniform random "
                  "words; the model is calibrated on pm1 and conventional designs only, so the twos columns are "
                  "predictions until the flow has run them). Area in um^2:", "", *model_table(model_points, "area_um2"),
                  "", "Energy per MAC in pJ:", "", *model_table(model_points, "energy_per_mac_pj"), ""]
    if errs:
        lines.append(model_error_line(measured, meta))
    return "\n".join(lines) + "\n"
