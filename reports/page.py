"""The static report page ``reports/index.html``: the answer first, then the measurements; opens from disk.

Order: the encoded/baseline ratios (one row per design, post-route and post-synthesis side by side) with a
one-line summary per arch computed from them, the network accuracy (``qnn.json`` beside the page, when there),
the measured designs, their post-synthesis numbers, the model-only estimates (a table of their own, so no
column of dashes), the design-space exploration (``dse.json``, when there), the plots, the layout renders, and the provenance and units last. Numbers are formatted
for reading (``10,944`` um^2, ``0.659`` pJ, ``x0.87``); ``ppa.csv``/``ppa.json`` keep the full precision. A
failed design's long reason is a numbered note under its table, so the row stays narrow. The page fits a
1280 px window (``python -m reports check`` verifies it in headless Chromium).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from reports.table import UNITS, PpaRow, needs_propagated_note, propagated_note

PLOT_ORDER = ("energy_per_mac_vs_bits", "area_vs_bits", "fmax_vs_bits", "adp_vs_bits",
              "pareto_energy_vs_throughput_density", "model_vs_flow")
"""Plots in the order a reader wants them (others follow, by name)."""

E = html.escape


def _fmt(v: Any, fmt: str) -> str:
    return "&ndash;" if v is None else E(format(v, fmt))


def _num(v: Any, fmt: str, cls: str = "num") -> str:
    return f"<td class={cls}>{_fmt(v, fmt)}</td>"


def _pct(v: float | None) -> str:
    return "<td class=num>&ndash;</td>" if v is None else f"<td class=num>{v:+.1f}%</td>"


def _ratio(v: float | None, better_below: bool) -> str:
    if v is None:
        return "<td class=num>&ndash;</td>"
    good = v < 1 if better_below else v > 1
    return f"<td class='num {'better' if good else 'worse'}'>&times;{v:.2f}</td>"


def answer_section(rows: Sequence[PpaRow]) -> str:
    """The ratio table (encoded / baseline at the same W, A, N), post-route and post-synthesis side by side."""
    from reports.summary import DEFAULT_ENCODING, design_label, ratios

    qs = ratios(rows)
    if not qs:
        return "<p>No arch has a measured baseline at the same widths yet.</p>"
    keys: list[tuple[str, str, int, int, int]] = []
    by: dict[tuple[tuple[str, str, int, int, int], str], dict[str, Any]] = {}
    for q in qs:
        k = (q["arch"], q["encoding"], q["wbits"], q["abits"], q["n"])
        if k not in keys:
            keys.append(k)
        by[(k, q["source"])] = q
    stages = [s for s in ("post-route", "post-synthesis") if any(src == s for _, src in by)]
    head1 = "".join(f"<th colspan=3 class=group>{E(s)}</th>" for s in stages)
    head2 = "".join("<th>area</th><th>energy / MAC</th><th>fmax (ss)</th>" for _ in stages)
    body = []
    for k in keys:
        cells = []
        for s in stages:
            q = by.get((k, s))
            if q is None:
                cells.append("<td class=num colspan=3>not measured</td>")
            else:
                cells.append(_ratio(q["area"], True) + _ratio(q["energy_per_mac"], True) + _ratio(q["fmax"], False))
        body.append(f"<tr data-ratio='{E(' '.join(map(str, k)))}'><td>{E(design_label(*k))}</td>{''.join(cells)}</tr>")
    lines = []
    for family in dict.fromkeys(k[:2] for k in keys):
        for s in stages:
            sel = [by[(k, s)] for k in keys if k[:2] == family and (k, s) in by]
            if not sel:
                continue

            def span(name: str) -> str:
                vals = [q[name] for q in sel if q[name] is not None]
                return "&ndash;" if not vals else (f"&times;{min(vals):.2f}" if min(vals) == max(vals)
                                                   else f"&times;{min(vals):.2f}&ndash;{max(vals):.2f}")
            widths = ", ".join(f"W{q['wbits']}A{q['abits']}" for q in sel)
            name = family[0] if family[1] == DEFAULT_ENCODING else f"{family[0]} {family[1]}"
            lines.append(f"<li><b>{E(name)}</b>, {E(s)} ({E(widths)}): area {span('area')}, energy per MAC "
                         f"{span('energy_per_mac')}, fmax {span('fmax')}</li>")
            break  # the most complete stage only: the table has the rest
    return (f"<ul class=answer>{''.join(lines)}</ul>\n"
            "<table id=ratios><thead><tr><th rowspan=2>encoded design / baseline</th>" + head1 + "</tr><tr>" + head2
            + "</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>\n"
            "<p class=note>Ratios compare the two designs at the same stage only. Green: the encoded PE is better "
            "(smaller area or energy, higher fmax).</p>")


def qnn_section(qnn: Mapping[str, Any] | None) -> str:
    if not qnn or not qnn.get("rows"):
        return ""
    prov = qnn.get("provenance", {})
    body = "\n".join(
        f"<tr><td>{E(str(r['config']))}</td><td class=num>{100 * r['mean']:.2f} % &plusmn; {100 * r['std']:.2f}</td>"
        f"<td class=num>{100 * r['min']:.2f} %</td><td class=num>{100 * r['max']:.2f} %</td></tr>"
        for r in qnn["rows"])
    seeds = ", ".join(str(s) for s in prov.get("seeds", []))
    return (
        "<h2>Is the network still accurate?</h2>\n"
        f"<p class=note>{E(str(prov.get('network', '')))}; {E(str(prov.get('data', '')))}, {prov.get('n_train', '?')} "
        f"train / {prov.get('n_test', '?')} held-out test images; seeds {E(seeds)} (from qnn.json, "
        f"<code>{E(str(prov.get('command', 'make qnn')))}</code>).</p>\n"
        "<table id=qnn><thead><tr><th>config</th><th>test accuracy (mean &plusmn; std)</th><th>min</th><th>max</th>"
        f"</tr></thead><tbody>\n{body}\n</tbody></table>")


def dse_section(data: Mapping[str, Any] | None, out_dir: Path) -> str:
    """The design-space exploration (``dse.json`` beside the page, from ``make dse``): what ran, the knee, the
    accuracy/energy front as a table and the DSE plots (``dse/*.png``)."""
    if not data or not isinstance(data.get("rows"), list):
        return ""
    meta, summ = data.get("meta", {}), data.get("summary", {})
    rows = {r.get("id"): r for r in data["rows"] if isinstance(r, Mapping)}
    front = [rows[i] for i in summ.get("front_accuracy_energy", []) if i in rows]
    front.sort(key=lambda r: r.get("inference_energy_nj") or 0.0)
    knee = summ.get("knee_accuracy_energy")
    body = "\n".join(
        f"<tr{' class=knee' if r['id'] == knee else ''}><td>{E(str(r['id']))}</td><td>{E(str(r['encoding']))}</td>"
        f"<td>W{r['wbits']}A{r['abits']}</td><td class=num>{r['n']}</td>{_num(r.get('area_um2'), ',.0f')}"
        f"{_num(r.get('energy_per_mac_pj'), '.3f')}{_num(r.get('inference_energy_nj'), '.2f')}"
        f"{_num(r.get('inference_latency_us'), '.2f')}<td class=num>{100 * r['accuracy']:.2f} %</td></tr>"
        for r in front if r.get("accuracy") is not None)
    figs = "\n".join(_figure(p, out_dir, p.stem.replace("_", " ")) for p in sorted((out_dir / "dse").glob("*.png")))
    what = (f"{summ.get('points', '?')} points ({E(str(meta.get('grid', '')))}), {E(str(meta.get('mode', '')))}: "
            f"{summ.get('ok', 0)} measured, {summ.get('model_only', 0)} model-only, {summ.get('failed', 0)} failed; "
            f"{E(str(meta.get('executor', '')))}; bitbranch {E(str(meta.get('commit', '')))}, "
            f"{E(str(meta.get('made_utc', '')))}")
    table = ("<table id=dse><thead><tr><th>point</th><th>encoding</th><th>widths</th><th>N</th>"
             "<th>area<br><span class=unit>um&sup2;</span></th><th>energy / MAC<br><span class=unit>pJ</span></th>"
             "<th>energy / inference<br><span class=unit>nJ</span></th><th>latency / inference<br>"
             "<span class=unit>us</span></th><th>test accuracy</th></tr></thead><tbody>\n"
             f"{body}\n</tbody></table>\n") if body else "<p>No point has a measured accuracy (run make qnn).</p>\n"
    return ("<h2>Design-space exploration</h2>\n"
            f"<p class=note>{what}. Network level: {E(str(meta.get('network', '')))}; partial sums: "
            f"{E(str(meta.get('accumulator', '')))}. dse.csv and dse.json hold every point with its provenance.</p>\n"
            f"<p>Knee of the accuracy / energy-per-inference front: <b>{E(str(knee or 'none (fewer than 3 front points)'))}"
            "</b>. The front's points:</p>\n" + table + f"<div class=figs>\n{figs}\n</div>")


Cell = Callable[[PpaRow], str]


MEASURED: tuple[tuple[str, str, Cell], ...] = (
    ("measured", "", lambda r: f"<td>{E(r.source) if r.status == 'ok' else '&ndash;'}</td>"),
    ("area", "um&sup2;", lambda r: _num(r.area_um2, ",.0f")),
    ("cells", "", lambda r: _num(r.cells, ",d")),
    ("fmax (ss)", "MHz", lambda r: _num(r.fmax_mhz, ".1f")),
    ("hold (prop.)", "ns", lambda r: _num(r.hold_ws_propagated_ns, ".2f")),
    ("power", "mW", lambda r: _num(r.power_mw, ".3f")),
    ("energy / MAC", "pJ", lambda r: _num(r.energy_per_mac_pj, ".3f")),
    ("throughput", "GMAC/s", lambda r: _num(r.throughput_gmacs, ".2f")),
    ("TOPS/W", "", lambda r: _num(r.tops_per_w, ".2f")),
    ("TOPS/mm&sup2;", "", lambda r: _num(r.tops_per_mm2, ".3f")),
    ("model area err", "", lambda r: _pct(r.model_area_err_pct)),
    ("model E err", "", lambda r: _pct(r.model_energy_err_pct)),
    ("DRC magic", "", lambda r: _num(r.drc_errors, "d")),
    ("DRC KLayout", "", lambda r: _num(r.klayout_drc_errors, "d")),
    ("LVS", "", lambda r: _num(r.lvs_errors, "d")),
    ("route", "", lambda r: f"<td>{E(r.route_attempt) if r.status == 'ok' and r.route_attempt else '&ndash;'}</td>"),
)


def _status_cell(r: PpaRow, notes: list[str]) -> str:
    kind, _, why = r.status.partition(":")
    if not why.strip():
        return f"<td>{E(kind)}</td>"
    notes.append(f"<li id=note{len(notes) + 1}><b>{E(r.id)}</b>: {E(r.status)}</li>")
    return f"<td>{E(kind)} <a href='#note{len(notes)}'>[{len(notes)}]</a></td>"


def _row_class(r: PpaRow) -> str:
    return E(r.status.split(":")[0].replace(" ", "-"))


def measured_section(rows: Sequence[PpaRow]) -> str:
    flow_rows = [r for r in rows if r.status != "model-only"]
    if not flow_rows:
        return "<p>No design has been through the flow yet: run <code>make ppa</code>.</p>"
    notes: list[str] = []
    head = "".join(f"<th>{name}" + (f"<br><span class=unit>{unit}</span>" if unit else "") + "</th>"
                   for name, unit, _ in MEASURED)
    body = []
    for r in flow_rows:
        status = _status_cell(r, notes)
        ok = r.status == "ok"
        cells = "".join(cell(r) for _, _, cell in MEASURED) if ok else \
            f"<td colspan={len(MEASURED)} class=na>not measured: see the note</td>"
        body.append(f"<tr class='{_row_class(r)}' data-design='{E(r.id)}'><td>{E(r.id)}</td>{status}{cells}</tr>")
    synth = [r for r in flow_rows if r.synth_area_um2 is not None or (r.status == "ok" and r.source == "post-synthesis")]
    synth_body = "\n".join(
        f"<tr><td>{E(r.id)}</td><td>{E(r.status.split(':')[0])}</td>"
        + (_num(r.synth_area_um2, ",.0f") + _num(r.synth_fmax_mhz, ".1f") + _num(r.synth_energy_per_mac_pj, ".3f")
           if r.synth_area_um2 is not None else _num(r.area_um2, ",.0f") + _num(r.fmax_mhz, ".1f")
           + _num(r.energy_per_mac_pj, ".3f")) + "</tr>" for r in synth)
    out = ("<h2>Measured designs</h2>\n<table id=measured><thead><tr><th>design</th><th>status</th>" + head
           + "</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>\n")
    if notes:
        out += "<ol class=notes>" + "".join(notes) + "</ol>\n"
    if needs_propagated_note(rows):
        out += f"<p class=note>{E(propagated_note(rows))}</p>\n"
    if synth_body:
        out += ("<h3>Post-synthesis numbers of the same designs</h3>\n<p class=note>Front end only (yosys netlist, "
                "OpenSTA without wires, gate-level simulation), also for a design whose back end failed.</p>\n"
                "<table id=synth><thead><tr><th>design</th><th>status</th><th>area<br><span class=unit>um&sup2;</span>"
                "</th><th>fmax (ss)<br><span class=unit>MHz</span></th><th>energy / MAC<br><span class=unit>pJ</span>"
                f"</th></tr></thead><tbody>\n{synth_body}\n</tbody></table>\n")
    return out


def model_section(rows: Sequence[PpaRow]) -> str:
    model = [r for r in rows if r.status == "model-only"]
    if not model:
        return ""
    body = "\n".join(
        f"<tr class=model-only data-design='{E(r.id)}'><td>{E(r.id)}</td>{_num(r.model_area_um2, ',.0f')}"
        f"{_num(r.model_energy_per_mac_pj, '.3f')}</tr>" for r in model)
    prov = model[0].provenance
    return ("<h2>Model-only estimates</h2>\n<p class=note>Widths the flow did not run: the calibrated model's "
            "post-route estimate (<code>reports.estimates</code>), not a measurement; drawn as hollow markers in the "
            f"plots.{(' ' + E(prov)) if prov else ''}</p>\n"
            "<table id=model><thead><tr><th>design</th><th>model area<br><span class=unit>um&sup2;</span></th>"
            "<th>model energy / MAC<br><span class=unit>pJ</span></th></tr></thead><tbody>\n"
            f"{body}\n</tbody></table>")


def _ordered_plots(plots: Sequence[Path]) -> list[Path]:
    pngs = [p for p in plots if p.suffix == ".png"]
    rank = {name: i for i, name in enumerate(PLOT_ORDER)}
    return sorted(pngs, key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def _figure(path: Path, out_dir: Path, caption: str) -> str:
    src = E(path.relative_to(out_dir).as_posix())
    return (f"<figure><a href='{src}'><img src='{src}' alt='{E(caption)}'></a>"
            f"<figcaption>{E(caption)}</figcaption></figure>")


CSS_FILE = Path(__file__).with_name("page.css")
"""The page's style sheet; every report folder gets a copy beside its index.html (linked, not inlined)."""


def render(rows: Sequence[PpaRow], plots: Sequence[Path], layouts: Sequence[tuple[str, Path]],
           meta: Mapping[str, Any], out_dir: Path, qnn: Mapping[str, Any] | None = None,
           dse: Mapping[str, Any] | None = None) -> str:
    """HTML text; image paths are written relative to ``out_dir``; ``qnn``, ``dse``: the contents of qnn.json and
    dse.json, if any."""
    figs = "\n".join(_figure(p, out_dir, p.stem.replace("_", " ")) for p in _ordered_plots(plots))
    lays = ("<div class='figs layouts'>" + "\n".join(_figure(p, out_dir, name) for name, p in layouts) + "</div>") \
        if layouts else "<p>No layout renders: run <code>make gds</code> (or <code>make ppa</code>) first.</p>"
    n_flow = sum(r.status != "model-only" for r in rows)
    n_ok = sum(r.status == "ok" for r in rows)
    meta_line = ", ".join(E(str(meta[k])) for k in ("made_utc", "flow") if meta.get(k))
    prov = "".join(f"<tr><th>{E(str(k))}</th><td>{E(str(v))}</td></tr>" for k, v in meta.items())
    units = "".join(f"<li><b>{E(k)}</b>: {E(v)}</li>" for k, v in UNITS.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>bitbranch PPA report</title>
<link rel=stylesheet href='page.css'></head><body>
<h1>bitbranch: {{-1,+1}}-encoded dot-product PEs against a conventional baseline on Sky130</h1>
<p class=meta>bitbranch {E(str(meta.get('commit', '')))}; {meta_line}; clock {E(str(meta.get('clock_ns', '')))} ns;
{n_ok} of {n_flow} flow designs measured. Provenance and units at the end.</p>
<h2>Encoded PE against the conventional baseline</h2>
{answer_section(rows)}
{qnn_section(qnn)}
{measured_section(rows)}
<p class=note>Rows whose flow failed, whose inputs changed since they were measured (stale), or that were never
run (missing) are shown in red without numbers and are not plotted. ppa.csv and ppa.json hold every column at
full precision.</p>
{model_section(rows)}
{dse_section(dse, out_dir)}
<h2>Plots</h2>
<div class=figs>
{figs}
</div>
<h2>Layouts</h2>
{lays}
<h2>Provenance</h2><table class=prov>{prov}</table>
<p>Units:</p><ul>{units}</ul>
</body></html>
"""
