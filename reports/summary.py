"""``reports/ppa.md``: the measured table and the encoded/baseline ratios in Markdown, computed from the rows.

The README's results section is pasted from this file, so no figure in it is typed by hand.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from reports.table import PpaRow


def _f(v: Any, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def measured_table(rows: Sequence[PpaRow]) -> list[str]:
    """One line per flow design (model-only rows left out); blank numbers for rows that are not ok."""
    out = ["| design | status | measured | area um^2 | fmax MHz (ss) | energy/MAC pJ | GMAC/s | TOPS/W | model area err | "
           "model E err | DRC magic | DRC KLayout | LVS |", "|" + "---|" * 13]
    for r in rows:
        if r.status == "model-only":
            continue
        ok = r.status == "ok"
        status = r.status.split(":")[0]
        g = (lambda v, fmt: _f(v if ok else None, fmt))  # noqa: E731
        pct = (lambda v: g(v, "+.1f") + ("%" if ok and v is not None else ""))  # noqa: E731
        out.append(f"| {r.id} | {status} | {r.source if ok else '–'} | {g(r.area_um2, '.0f')} | {g(r.fmax_mhz, '.1f')} | {g(r.energy_per_mac_pj, '.3f')} "
                   f"| {g(r.throughput_gmacs, '.2f')} | {g(r.tops_per_w, '.2f')} | {pct(r.model_area_err_pct)} "
                   f"| {pct(r.model_energy_err_pct)} | {g(r.drc_errors, 'd')} | {g(r.klayout_drc_errors, 'd')} "
                   f"| {g(r.lvs_errors, 'd')} |")
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


def ratios(rows: Sequence[PpaRow], baseline: str = "baseline") -> list[dict[str, Any]]:
    """Encoded arch / baseline at the same (W, A, N), for area, energy per MAC and fmax, at each stage both
    were measured at: post-route against post-route, post-synthesis against post-synthesis (a design whose
    back end failed or is still running has post-synthesis numbers only)."""
    levels = {(r.arch, r.wbits, r.abits, r.n): _levels(r) for r in rows}
    div = lambda x, y: (x / y) if (x is not None and y) else None  # noqa: E731
    out = []
    for (arch, w, a, n), mine in sorted(levels.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        base = levels.get((baseline, w, a, n), {})
        if arch == baseline:
            continue
        for source in ("post-route", "post-synthesis"):
            if source in mine and source in base:
                (ra, re, rf), (ba, be, bf) = mine[source], base[source]
                out.append({"arch": arch, "wbits": w, "abits": a, "n": n, "source": source, "area": div(ra, ba),
                            "energy_per_mac": div(re, be), "fmax": div(rf, bf)})
    return out


def ratio_table(rows: Sequence[PpaRow]) -> list[str]:
    out = ["| encoded / baseline | measured | area | energy per MAC | fmax (ss) |", "|---|---|---|---|---|"]
    for q in ratios(rows):
        out.append(f"| {q['arch']} W{q['wbits']}A{q['abits']} N{q['n']} | {q['source']} | x{_f(q['area'], '.2f')} "
                   f"| x{_f(q['energy_per_mac'], '.2f')} | x{_f(q['fmax'], '.2f')} |")
    return out


def synthesis_table(rows: Sequence[PpaRow]) -> list[str]:
    """Post-synthesis numbers of every flow design that has current ones, whatever became of its back end."""
    out = ["| design (post-synthesis) | status | area um^2 | fmax MHz (ss) | energy/MAC pJ |", "|---|---|---|---|---|"]
    for r in rows:
        lv = _levels(r).get("post-synthesis")
        if lv is not None:
            out.append(f"| {r.id} | {r.status.split(':')[0]} | {_f(lv[0], '.0f')} | {_f(lv[2], '.1f')} | {_f(lv[1], '.3f')} |")
    return out if len(out) > 2 else []


def markdown(rows: Sequence[PpaRow], meta: Mapping[str, Any]) -> str:
    """The whole ppa.md: provenance line, measured table, ratios, model error summary."""
    errs = [(abs(r.model_area_err_pct), abs(r.model_energy_err_pct)) for r in rows
            if r.status == "ok" and r.model_area_err_pct is not None and r.model_energy_err_pct is not None]
    lines = [f"PPA report, {meta.get('made_utc', '')}, bitbranch {meta.get('commit', '')}, {meta.get('flow', '')}, "
             f"clock {meta.get('clock_ns', '')} ns, PDK {meta.get('pdk', '')}.", "",
             *measured_table(rows), ""]
    synth = synthesis_table(rows)
    if synth:
        lines += ["Post-synthesis numbers of the same designs (front end only: yosys netlist, OpenSTA without wires, "
                  "gate-level simulation), also for a design whose back end failed or is still running:", "", *synth, ""]
    lines += [*ratio_table(rows), ""]
    if errs:
        lines.append(f"Model against the flow on {len(errs)} measured designs: area |err| max {max(e[0] for e in errs):.1f}%, "
                     f"energy per MAC |err| max {max(e[1] for e in errs):.1f}%, in-sample (the coefficients were fitted on these and "
                     "other designs; leave-one-out errors are in model/energy_calibration.json).")
    return "\n".join(lines) + "\n"
