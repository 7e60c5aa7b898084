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
           "model E err | DRC | LVS |", "|" + "---|" * 12]
    for r in rows:
        if r.status == "model-only":
            continue
        ok = r.status == "ok"
        status = r.status.split(":")[0]
        g = (lambda v, fmt: _f(v if ok else None, fmt))  # noqa: E731
        pct = (lambda v: g(v, "+.1f") + ("%" if ok and v is not None else ""))  # noqa: E731
        out.append(f"| {r.id} | {status} | {r.source if ok else '–'} | {g(r.area_um2, '.0f')} | {g(r.fmax_mhz, '.1f')} | {g(r.energy_per_mac_pj, '.3f')} "
                   f"| {g(r.throughput_gmacs, '.2f')} | {g(r.tops_per_w, '.2f')} | {pct(r.model_area_err_pct)} "
                   f"| {pct(r.model_energy_err_pct)} | {g(r.drc_errors, 'd')} | {g(r.lvs_errors, 'd')} |")
    return out


def ratios(rows: Sequence[PpaRow], baseline: str = "baseline") -> list[dict[str, Any]]:
    """Encoded arch / baseline at the same (W, A, N), for area, energy per MAC and fmax, where both are ok and
    were measured at the same stage (post-route against post-route, post-synthesis against post-synthesis)."""
    ok = {(r.arch, r.wbits, r.abits, r.n): r for r in rows if r.status == "ok"}
    out = []
    for (arch, w, a, n), r in sorted(ok.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        b = ok.get((baseline, w, a, n))
        if arch == baseline or b is None or b.source != r.source:
            continue
        div = lambda x, y: (x / y) if (x is not None and y) else None  # noqa: E731
        out.append({"arch": arch, "wbits": w, "abits": a, "n": n, "source": r.source, "area": div(r.area_um2, b.area_um2),
                    "energy_per_mac": div(r.energy_per_mac_pj, b.energy_per_mac_pj), "fmax": div(r.fmax_mhz, b.fmax_mhz)})
    return out


def ratio_table(rows: Sequence[PpaRow]) -> list[str]:
    out = ["| encoded / baseline | measured | area | energy per MAC | fmax (ss) |", "|---|---|---|---|---|"]
    for q in ratios(rows):
        out.append(f"| {q['arch']} W{q['wbits']}A{q['abits']} N{q['n']} | {q['source']} | x{_f(q['area'], '.2f')} "
                   f"| x{_f(q['energy_per_mac'], '.2f')} | x{_f(q['fmax'], '.2f')} |")
    return out


def markdown(rows: Sequence[PpaRow], meta: Mapping[str, Any]) -> str:
    """The whole ppa.md: provenance line, measured table, ratios, model error summary."""
    errs = [(abs(r.model_area_err_pct), abs(r.model_energy_err_pct)) for r in rows
            if r.status == "ok" and r.model_area_err_pct is not None and r.model_energy_err_pct is not None]
    lines = [f"PPA report, {meta.get('made_utc', '')}, bitbranch {meta.get('commit', '')}, {meta.get('flow', '')}, "
             f"clock {meta.get('clock_ns', '')} ns, PDK {meta.get('pdk', '')}.", "",
             *measured_table(rows), "", *ratio_table(rows), ""]
    if errs:
        lines.append(f"Model against the flow on {len(errs)} measured designs: area |err| max {max(e[0] for e in errs):.1f}%, "
                     f"energy per MAC |err| max {max(e[1] for e in errs):.1f}%, in-sample (the coefficients were fitted on these and "
                     "other designs; leave-one-out errors are in model/energy_calibration.json).")
    return "\n".join(lines) + "\n"
