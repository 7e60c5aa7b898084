"""The static report page ``reports/index.html``: table, plots and layout renders, opens from disk."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping, Sequence

from reports.table import COLUMNS, UNITS, PpaRow

SHOWN = ("id", "status", "source", "area_um2", "cells", "fmax_mhz", "power_mw", "energy_per_mac_pj",
         "throughput_gmacs", "tops_per_w", "tops_per_mm2", "weight_bits", "model_area_err_pct",
         "model_energy_err_pct", "drc_errors", "klayout_drc_errors", "lvs_errors")


def _cell(v: Any) -> str:
    if v is None:
        return "<td class=na>&ndash;</td>"
    if isinstance(v, float):
        return f"<td class=num>{v:.4g}</td>"
    if isinstance(v, int):
        return f"<td class=num>{v}</td>"
    return f"<td>{html.escape(str(v))}</td>"


def render(rows: Sequence[PpaRow], plots: Sequence[Path], layouts: Sequence[tuple[str, Path]],
           meta: Mapping[str, Any], out_dir: Path) -> str:
    """HTML text; image paths are written relative to ``out_dir``."""
    assert set(SHOWN) <= set(COLUMNS)
    head = "".join(f"<th title='{html.escape(UNITS.get(c, ''))}'>{html.escape(c)}</th>" for c in SHOWN)
    body = "\n".join(
        f"<tr class='{html.escape(r.status.split(':')[0].replace(' ', '-'))}'>" + "".join(_cell(getattr(r, c)) for c in SHOWN) + "</tr>"
        for r in rows
    )
    figs = "\n".join(
        f"<figure><img src='{html.escape(p.relative_to(out_dir).as_posix())}' alt='{html.escape(p.stem)}'>"
        f"<figcaption>{html.escape(p.stem.replace('_', ' '))}</figcaption></figure>"
        for p in plots if p.suffix == ".png"
    )
    lays = "\n".join(
        f"<figure><img src='{html.escape(p.relative_to(out_dir).as_posix())}' alt='{html.escape(name)}'>"
        f"<figcaption>{html.escape(name)}</figcaption></figure>"
        for name, p in layouts
    ) or "<p>No layout renders: run <code>make gds</code> (or <code>make ppa</code>) first.</p>"
    from reports.summary import ratios

    ratio_rows = "\n".join(
        f"<tr><td>{html.escape(q['arch'])} W{q['wbits']}A{q['abits']} N{q['n']}</td>{_cell(q['source'])}{_cell(q['area'])}"
        f"{_cell(q['energy_per_mac'])}{_cell(q['fmax'])}</tr>" for q in ratios(rows)
    ) or "<tr><td colspan=5>no arch has a measured baseline at the same widths yet</td></tr>"
    prov = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in meta.items())
    units = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in UNITS.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bitbranch PPA report</title>
<style>
body{{font-family:sans-serif;margin:1.5em;max-width:1400px}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px}} td.num{{text-align:right;font-family:monospace}}
td.na{{color:#999;text-align:center}} tr.stale td,tr.failed td,tr.incomplete td,tr.missing td{{background:#fff3f3;color:#a00}}
tr.model-only td{{background:#f6f6ff}} figure{{display:inline-block;margin:6px;vertical-align:top}}
figure img{{max-width:520px;border:1px solid #ddd}} figcaption{{font-size:12px;text-align:center}}
</style></head><body>
<h1>bitbranch: encoded {{-1,+1}} dot-product PEs vs a conventional baseline on Sky130</h1>
<p>Rows whose flow failed, whose inputs changed since they were measured (stale), or that were never run
(missing) are shown in red with blank numbers and are not plotted. Model-only rows are estimates, not measurements.
A design whose back end failed or is still running keeps its post-synthesis numbers (synth_* columns in
ppa.csv) when its front-end stages are up to date; ratios compare designs at the same stage only.</p>
<h2>Provenance</h2><table>{prov}</table>
<h2>PPA table</h2><table><tr>{head}</tr>
{body}
</table>
<p>Units:</p><ul>{units}</ul>
<h2>Encoded against the baseline (measured rows only)</h2>
<table><tr><th>design</th><th>measured</th><th>area ratio</th><th>energy/MAC ratio</th><th>fmax ratio</th></tr>
{ratio_rows}
</table>
<h2>Plots</h2>
{figs}
<h2>Layouts</h2>
{lays}
</body></html>
"""
