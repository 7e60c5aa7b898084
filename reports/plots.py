"""PPA comparison plots (matplotlib, PNG + SVG): encoded archs against the baseline, grouped by encoding.

Only rows with status ``ok`` are plotted as measurements (stale, failed or missing rows never are); post-route and
post-synthesis rows are separate series; model estimates (model-only rows, and the model columns of a design the
flow has not measured yet) are drawn hollow and labelled as estimates. Each encoding (model.encodings: {-1,+1}
encoded pm1, {0,1} bit-plane twos) gets its own panel, with the conventional baseline of its value set in it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from model import encodings  # noqa: E402
from reports.table import PpaRow  # noqa: E402
from rtl import archs  # noqa: E402


def arch_styles() -> list[tuple[str, archs.Style]]:
    """(arch, style) of every registered architecture, in registry order: each one is drawn, none skipped."""
    return [(name, archs.get(name).style) for name in archs.names()]


def _unregistered(rows: Sequence[PpaRow]) -> None:
    """A row whose arch the registry does not know would be dropped from every plot: refuse it loudly instead."""
    unknown = sorted({r.arch for r in rows} - set(archs.names()))
    if unknown:
        archs.get(unknown[0])  # SpecError: unknown arch ...: choose one of ...

# SVG text stays text and files stay byte-stable run to run
matplotlib.rcParams.update({"svg.hashsalt": "bitbranch", "svg.fonttype": "none", "path.simplify": True})


def _save(fig, out: Path, stem: str, footnote: str) -> list[Path]:
    fig.text(0.01, 0.005, footnote, fontsize=6, color="#555555", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=120)
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


SERIES = (  # (label, row filter, line style, filled marker)
    ("post-route", lambda r: r.status == "ok" and r.source == "post-route", "-", True),
    ("post-synthesis", lambda r: r.status == "ok" and r.source != "post-route", "--", True),
    ("model estimate", lambda r: r.status != "ok" and r.model_area_um2 is not None, ":", False),
)
"""Post-route and post-synthesis numbers are different measurements (routed wires or a wire-load model):
they are drawn as separate series, never joined into one line."""


def _symmetric(rows: Sequence[PpaRow], keep: Callable[[PpaRow], bool]) -> list[PpaRow]:
    return sorted((r for r in rows if keep(r) and r.wbits == r.abits), key=lambda r: (r.arch, r.wbits))


def row_encodings(rows: Sequence[PpaRow]) -> list[str]:
    """The encodings of the rows, in registry order (one panel each; the default alone when there are no rows)."""
    present = {r.encoding for r in rows}
    return [e for e in encodings.names() if e in present] or [encodings.DEFAULT]


def _panels(n: int, width: float, height: float):
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), sharey=True, squeeze=False)
    return fig, list(axes[0])


def _versus_bits(rows, out, stem, title, ylabel, value: Callable[[PpaRow], float | None], footnote, logy=False):
    encs = row_encodings(rows)
    fig, axes = _panels(len(encs), 5.2, 3.6)
    for ax, enc in zip(axes, encs):
        mine = [r for r in rows if r.encoding == enc]
        for kind, keep, line, filled in SERIES:
            for arch, style in arch_styles():
                pts = [(r.wbits, value(r)) for r in _symmetric(mine, keep) if r.arch == arch and value(r) is not None]
                if not pts:
                    continue
                xs, ys = zip(*pts)
                ax.plot(xs, ys, label=f"{style.label} ({kind})", linestyle=line,
                        markerfacecolor=None if filled else "none", color=style.color, marker=style.marker)
        ax.set_title(f"{title}: {encodings.get(enc).label} ({enc})" if len(encs) > 1 else title, fontsize=9)
        ax.set_xlabel("bits (WBITS = ABITS)")
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
        else:
            ax.text(0.5, 0.5, "no current data", ha="center", va="center", transform=ax.transAxes)
    axes[0].set_ylabel(ylabel)
    return _save(fig, out, stem, footnote)


def adp(r: PpaRow) -> float | None:
    """Area-delay product per dot product: area x (II / fmax), um^2 * ns."""
    if r.area_um2 is None or not r.fmax_mhz or not r.initiation_interval:
        return None
    return r.area_um2 * r.initiation_interval * 1e3 / r.fmax_mhz


def throughput_per_area(r: PpaRow) -> float | None:
    """GMAC/s per mm^2."""
    if not r.throughput_gmacs or not r.area_um2:
        return None
    return r.throughput_gmacs / (r.area_um2 * 1e-6)


def pareto(rows: Sequence[PpaRow], out: Path, footnote: str) -> list[Path]:
    """Energy per MAC against throughput per area, one panel per encoding; lower right is better."""
    encs = row_encodings(rows)
    fig, axes = _panels(len(encs), 5.6, 4.0)
    for ax, enc in zip(axes, encs):
        for arch, style in arch_styles():
            for kind, keep, _line, _filled in SERIES[:2]:  # the measured series; post-synthesis points hollow
                sel = [r for r in rows if keep(r) and r.encoding == enc and r.arch == arch and r.energy_per_mac_pj
                       and throughput_per_area(r)]
                if not sel:
                    continue
                ax.scatter([throughput_per_area(r) for r in sel], [r.energy_per_mac_pj for r in sel],
                           label=f"{style.label} ({kind})", facecolors=style.color if kind == "post-route" else "none",
                           edgecolors=style.color, marker=style.marker)
                for r in sel:
                    ax.annotate(f"W{r.wbits}A{r.abits}", (throughput_per_area(r), r.energy_per_mac_pj), fontsize=6,
                                xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("throughput per area (GMAC/s/mm$^2$, at fmax)")
        ax.set_title("Energy vs throughput density (lower right is better)"
                     + (f"\n{encodings.get(enc).label} ({enc})" if len(encs) > 1 else ""), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no current data", ha="center", va="center", transform=ax.transAxes)
    axes[0].set_ylabel("energy per MAC (pJ)")
    return _save(fig, out, "pareto_energy_vs_throughput_density", footnote)


def model_vs_flow(rows: Sequence[PpaRow], out: Path, footnote: str) -> list[Path]:
    """The model's estimates against the flow's numbers, area and energy side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.6))
    for ax, (flow_key, model_key, label) in zip(
        axes,
        [("area_um2", "model_area_um2", "area (um$^2$)"), ("energy_per_mac_pj", "model_energy_per_mac_pj", "energy per MAC (pJ)")],
    ):
        vals = []
        for enc in row_encodings(rows):
            for arch, style in arch_styles():
                pts = [(getattr(r, flow_key), getattr(r, model_key)) for r in rows
                       if r.status == "ok" and r.encoding == enc and r.arch == arch and getattr(r, flow_key)
                       and getattr(r, model_key)]
                if pts:  # the default encoding filled, any other hollow
                    xs, ys = zip(*pts)
                    vals += list(xs) + list(ys)
                    own = enc == encodings.DEFAULT
                    ax.scatter(xs, ys, label=style.label if own else f"{style.label} ({enc})", marker=style.marker,
                               facecolors=style.color if own else "none", edgecolors=style.color)
        if vals:
            lo, hi = min(vals) * 0.8, max(vals) * 1.25
            ax.plot([lo, hi], [lo, hi], color="#888888", linewidth=0.8, label="model = flow")
            ax.plot([lo, hi], [lo * 1.1, hi * 1.1], color="#bbbbbb", linewidth=0.6, linestyle="--", label="+-10%")
            ax.plot([lo, hi], [lo * 0.9, hi * 0.9], color="#bbbbbb", linewidth=0.6, linestyle="--")
            ax.set_xscale("log")
            ax.set_yscale("log")
        else:
            ax.text(0.5, 0.5, "no design with both\nflow and model numbers", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel(f"flow {label}")
        ax.set_ylabel(f"model {label}")
        ax.grid(True, which="both", alpha=0.3)
        if vals:
            ax.legend(fontsize=7)
    fig.suptitle("Cycle-model estimate against the flow")
    return _save(fig, out, "model_vs_flow", footnote)


def all_plots(rows: Sequence[PpaRow], out: Path | str, footnote: str) -> list[Path]:
    """Every comparison plot, one series per registered architecture; returns the files written."""
    _unregistered(rows)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    paths += _versus_bits(rows, out, "area_vs_bits", "Cell area", "area (um$^2$)", lambda r: r.area_um2 or r.model_area_um2, footnote, logy=True)
    paths += _versus_bits(rows, out, "fmax_vs_bits", "Maximum clock (worst corner)", "fmax (MHz)", lambda r: r.fmax_mhz, footnote)
    paths += _versus_bits(rows, out, "energy_per_mac_vs_bits", "Energy per MAC", "energy per MAC (pJ)",
                          lambda r: r.energy_per_mac_pj or r.model_energy_per_mac_pj, footnote, logy=True)
    paths += _versus_bits(rows, out, "adp_vs_bits", "Area-delay product per dot product", "area x II/fmax (um$^2$ ns)", adp, footnote, logy=True)
    paths += pareto(rows, out, footnote)
    paths += model_vs_flow(rows, out, footnote)
    return paths
