"""Plots of a design-space exploration (PNG + SVG, byte-stable): Pareto fronts per encoding and architecture.

- ``dse_energy_vs_area``: energy per MAC against area, one panel per encoding, each arch's points and its front;
- ``dse_density_vs_energy``: throughput per area (TOPS/mm^2) against energy per MAC, the same way;
- ``dse_accuracy_vs_energy``: the digits MLP's test accuracy against energy per inference, every arch and encoding
  in one panel (filled markers: the first encoding, hollow: the others), the front joined, its knee marked.
Failed rows are never drawn; model-only rows are labelled as estimates in the title.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from reports.dse import DseRow, accuracy_front, accuracy_knee, pareto  # noqa: E402
from reports.plots import _save, arch_styles  # noqa: E402

PLAIN = FuncFormatter(lambda v, _pos: f"{v:g}")
"""Log axes labelled 200, 500, 1000 rather than 2 x 10^2."""
MINOR = FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:.0e}"[0] in "235" else "")
"""Minor ticks labelled at 2, 3 and 5 times a power of ten only, so labels never run into each other."""


def _plain(ax, axes: str = "xy") -> None:
    """Plain numbers on log axes; minor ticks labelled only when the axis spans less than two decades."""
    import math

    for name in axes:
        a, (lo, hi) = (ax.xaxis, ax.get_xlim()) if name == "x" else (ax.yaxis, ax.get_ylim())
        a.set_major_formatter(PLAIN)
        wide = lo > 0 and math.log10(hi / lo) >= 2
        a.set_minor_formatter(FuncFormatter(lambda v, _pos: "") if wide else MINOR)


def _source(rows: Sequence[DseRow]) -> str:
    kinds = {r.source for r in rows if r.measured}
    return "model estimates (not measured)" if kinds == {"model"} else "post-synthesis (yosys, OpenSTA, gate-level sim)"


def _panels(rows: Sequence[DseRow], out: Path, stem: str, footnote: str, x: Callable[[DseRow], float | None],
            y: Callable[[DseRow], float | None], minimise_y: bool, xlabel: str, ylabel: str, title: str) -> list[Path]:
    encs = list(dict.fromkeys(r.encoding for r in rows if r.measured))
    fig, axes = plt.subplots(1, max(1, len(encs)), figsize=(5.2 * max(1, len(encs)), 4.4), squeeze=False)
    for ax, enc in zip(axes[0], encs or [""]):
        for arch, st in arch_styles():
            sel = [r for r in rows if r.measured and r.encoding == enc and r.arch == arch and x(r) and y(r)]
            if not sel:
                continue
            ax.scatter([x(r) for r in sel], [y(r) for r in sel], color=st.color, marker=st.marker, s=22, alpha=0.45,
                       label=f"{st.label} ({len(sel)})")
            front = sorted(pareto(sel, lambda r: (x(r), y(r) if minimise_y else -y(r))), key=lambda r: x(r))
            ax.plot([x(r) for r in front], [y(r) for r in front], color=st.color, marker=st.marker, lw=1.4,
                    drawstyle="steps-post" if minimise_y else "steps-pre")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}: {enc}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        if ax.has_data():
            ax.legend(fontsize=7, title="points; line: Pareto front", title_fontsize=7)
            _plain(ax)
    fig.suptitle(_source(rows), fontsize=8)
    return _save(fig, out, stem, footnote)


def accuracy_plot(rows: Sequence[DseRow], out: Path, footnote: str) -> list[Path]:
    sel = [r for r in rows if r.measured and r.accuracy is not None and r.inference_energy_nj]
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    encs = list(dict.fromkeys(r.encoding for r in sel))
    for arch, st in arch_styles():
        for i, enc in enumerate(encs):
            pts = [r for r in sel if r.arch == arch and r.encoding == enc]
            if pts:
                ax.scatter([r.inference_energy_nj for r in pts], [100 * r.accuracy for r in pts], s=22, alpha=0.6,
                           marker=st.marker, edgecolors=st.color, facecolors=st.color if i == 0 else "none",
                           label=f"{st.label}, {enc}")
    front = sorted(accuracy_front(rows), key=lambda r: r.inference_energy_nj)
    if front:
        ax.plot([r.inference_energy_nj for r in front], [100 * r.accuracy for r in front], color="black", lw=1.2,
                ls="--", drawstyle="steps-post", label="Pareto front")
    k = accuracy_knee(rows)
    if k is not None:
        ax.scatter([k.inference_energy_nj], [100 * k.accuracy], s=160, facecolors="none", edgecolors="red", lw=1.6,
                   label=f"knee: {k.id}")
    ax.set_xscale("log")
    if ax.has_data():
        _plain(ax, "x")
    ax.set_xlabel("energy per inference on one PE (nJ): dot products + partial-sum accumulation")
    ax.set_ylabel("digits MLP test accuracy (%)")
    ax.set_title(f"Accuracy against energy per inference ({_source(rows)})", fontsize=9)
    ax.grid(True, which="both", alpha=0.25)
    if ax.has_data():
        ax.legend(fontsize=7, ncols=2)
    return _save(fig, out, "dse_accuracy_vs_energy", footnote)


def all_plots(rows: Sequence[DseRow], out: Path, footnote: str) -> list[Path]:
    """Every DSE plot under ``out`` (created); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    made = _panels(rows, out, "dse_energy_vs_area", footnote, lambda r: r.area_um2, lambda r: r.energy_per_mac_pj,
                   True, "area (um^2)", "energy per MAC (pJ)", "energy/MAC vs area")
    made += _panels(rows, out, "dse_density_vs_energy", footnote, lambda r: r.energy_per_mac_pj,
                    lambda r: r.tops_per_mm2, False, "energy per MAC (pJ)", "throughput per area (TOPS/mm^2)",
                    "throughput/area vs energy")
    made += accuracy_plot(rows, out, footnote)
    return made
