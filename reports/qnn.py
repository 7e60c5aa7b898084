"""`make qnn` (``python -m reports.qnn``): accuracy of the encoded digits MLP against bit width, per encoding, and
its writers: CSV, JSON, Markdown, and a PNG/SVG plot under reports/.

Usage: python -m reports.qnn [--encodings pm1,twos] [--seeds 0,1,2] [--epochs 60] [--hidden 128] [--rtl-images 8]
[--build build] [--out reports]
Runs layer 1 of each encoding's W2/A2 network on the generated RTL for a few test images (cocotb, icarus),
then the sweep; prints the provenance and the table.

Every file is written to a temporary name and renamed, so a failed run leaves no half file;
plots carry no date or random ids, so the same sweep gives byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from common.cli import int_list, parse_int, run_main
from common.errors import BitbranchError
from common.files import atomic_write_bytes
from model import encodings
from qnn.data import load_split
from qnn.on_rtl import RtlCheck, check_layer1_on_rtl
from qnn.sweep import SweepConfig, SweepResult, run_sweep

STEM = "qnn"


def provenance(result: SweepResult) -> dict[str, Any]:
    """What produced the numbers: data, split, network, schedule, seeds, software."""
    import sklearn

    c = result.config
    return {
        "data": result.source,
        "split": f"stratified train/test, test_fraction={c.test_fraction}, split_seed={c.split_seed}",
        "n_train": result.n_train,
        "n_test": result.n_test,
        "network": f"MLP 64 -> {c.hidden} -> 10, batch norm, activation clip; both layers W-bit x A-bit encoded; "
                   "input pixels quantized to A bits",
        "encodings": {name: _level_sets(name) for name in c.encodings},
        "training": f"Adam, lr {c.lr} decaying linearly to 0, {c.epochs} epochs, batch {c.batch}, "
                    "straight-through estimator (weights: identity, latent clipped to [-1,1]; activations: 1 inside the clip interval, 0 outside)",
        "quantized_accuracy_from": "integer network, layer products through each encoding's branch form "
                                   "(model.encodings: Encoding.branch_matmul, XNOR branches for pm1, AND for twos; "
                                   "checked bit-exact against the integer dot product)",
        "seeds": list(c.seeds),
        "software": f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}",
        "command": "python -m reports.qnn (make qnn)",
    }


def _level_sets(name: str) -> str:
    enc = encodings.get(name)
    if name == encodings.DEFAULT:
        return (f"{enc.label}: weights on the odd levels -(2^W-1)..2^W-1 times a fitted scale; activations hard-tanh "
                "to [-1, 1] on the odd A-bit levels; pixels in [-1, 1]")
    return (f"{enc.label}: weights on the two's-complement levels -2^(W-1)..2^(W-1)-1 times a fitted scale "
            "(at W=1: {-1, 0}); activations ReLU clipped to [0, 1] on the unsigned A-bit levels; pixels in [0, 1]")


def rtl_dict(rtl: RtlCheck | None) -> dict[str, Any] | None:
    """The RTL layer check as plain data (None when it was not run)."""
    if rtl is None:
        return None
    return {
        "layer": "layer 1 (64 -> hidden), weights and input pixels both encoded",
        "network": rtl.config, "spec_id": rtl.spec_id, "simulator": rtl.simulator,
        "test_images": rtl.images, "dot_products": rtl.dot_products, "cycles": rtl.cycles,
        "dots_bit_exact": rtl.dots_equal, "classifications_identical": rtl.predictions_equal,
    }


RtlChecks = Sequence[RtlCheck]


def to_json(result: SweepResult, rtl: RtlChecks = ()) -> str:
    doc = {
        "provenance": provenance(result),
        "rows": [
            {"encoding": r.encoding, "config": r.label, "wbits": r.wbits, "abits": r.abits, "mean": round(r.mean, 6),
             "std": round(r.std, 6), "min": round(r.lo, 6), "max": round(r.hi, 6),
             "per_seed": [round(a, 6) for a in r.accuracies]}
            for r in result.rows
        ],
        "runs": [
            {"encoding": r.encoding, "config": r.label, "seed": r.seed, "test_accuracy": round(r.test_accuracy, 6),
             "train_accuracy": round(r.train_accuracy, 6), "branch_bit_exact": r.branch_bit_exact}
            for r in result.runs
        ],
        "rtl_layer_checks": [rtl_dict(x) for x in rtl],
    }
    return json.dumps(doc, indent=2) + "\n"


def to_csv(result: SweepResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["encoding", "config", "wbits", "abits", "test_acc_mean", "test_acc_std", "test_acc_min", "test_acc_max",
                "seeds", "n_test"])
    for r in result.rows:
        w.writerow([r.encoding, r.label, r.wbits if r.wbits is not None else "float",
                    r.abits if r.abits is not None else "float",
                    f"{r.mean:.4f}", f"{r.std:.4f}", f"{r.lo:.4f}", f"{r.hi:.4f}",
                    " ".join(str(s) for s in result.config.seeds), result.n_test])
    return buf.getvalue()


def rtl_sentence(rtl: RtlCheck | None) -> str:
    """One line on the RTL layer run, or that it was not run."""
    if rtl is None:
        return "RTL layer check: not run (--rtl-images 0)."
    ok = rtl.dots_equal and rtl.predictions_equal
    return (f"RTL layer check ({rtl.config}): layer 1 of the first {rtl.images} test images, {rtl.dot_products} "
            f"dot products streamed through `{rtl.spec_id}` ({rtl.simulator}): outputs "
            f"{'bit-exact' if rtl.dots_equal else 'DIFFERENT'}, classifications "
            f"{'identical' if rtl.predictions_equal else 'DIFFERENT'}{'' if ok else ' (FAILED)'}.")


def _cell(r: Any) -> str:
    return f"{100 * r.mean:.2f} % ± {100 * r.std:.2f} ({100 * r.lo:.2f}–{100 * r.hi:.2f})"


def to_markdown(result: SweepResult, rtl: RtlChecks = ()) -> str:
    """The table for the README (one column per encoding: mean ± std over seeds, min–max), provenance underneath."""
    p = provenance(result)
    encs = list(result.config.encodings)
    by = {(r.encoding, r.wbits, r.abits): r for r in result.rows}
    head = [f"{encodings.get(e).label} (`{e}`)" for e in encs]
    diff = len(encs) == 2
    lines = [
        "| config | " + " | ".join(head) + (f" | {encs[1]} − {encs[0]} (points) |" if diff else " |"),
        "|---|" + "---|" * (len(encs) + (1 if diff else 0)),
    ]
    for w, a in result.config.widths:
        rows = [by.get((e, w, a)) for e in encs]
        label = next(r.label for r in rows if r is not None)
        cells = [_cell(r) if r is not None else "–" for r in rows]
        if diff:
            cells.append(f"{100 * (rows[1].mean - rows[0].mean):+.2f}" if None not in rows else "–")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Digits ({p['data']}), {p['n_train']} train / {p['n_test']} held-out test images, {p['split']}; "
        f"{p['network']}; {p['training']}; seeds {', '.join(map(str, p['seeds']))} (test accuracy, mean ± std over "
        "seeds with ddof=1, min–max in brackets). Level sets: "
        + "; ".join(f"`{e}`: {p['encodings'][e]}" for e in encs) + ". The float rows are each encoding's network "
        f"without quantizers (hard-tanh for pm1, clipped ReLU for twos). Quantized accuracy: "
        f"{p['quantized_accuracy_from']}. {p['software']}. Made by `{p['command']}`.",
        "",
        *([rtl_sentence(x) for x in rtl] or [rtl_sentence(None)]),
        "",
    ]
    return "\n".join(lines)


def _plot(result: SweepResult) -> tuple[bytes, bytes]:
    """PNG and SVG of test accuracy against bit width: per encoding a W=A line, W1/A2 and other points, a float band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "bitbranch-qnn"
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    bits: set[int] = set()
    encs = list(result.config.encodings)
    for k, enc in enumerate(encs):
        color, off = colors[k % len(colors)], 0.06 * (k - (len(encs) - 1) / 2)  # side by side, not on top
        mine = [r for r in result.rows if r.encoding == enc]
        diag = [r for r in mine if r.wbits is not None and r.wbits == r.abits]
        other = [r for r in mine if r.wbits is not None and r.wbits != r.abits]
        label = f"{encodings.get(enc).label} ({enc})"
        if diag:
            ax.errorbar([r.wbits + off for r in diag], [100 * r.mean for r in diag], yerr=[100 * r.std for r in diag],
                        marker="o", capsize=3, color=color, label=f"{label}, W = A bits")
        for r in other:
            ax.errorbar([r.abits + off], [100 * r.mean], yerr=[100 * r.std], marker="s", capsize=3, linestyle="none",
                        color=color, markerfacecolor="none", label=f"{label}, {r.label} (x = A bits)")
        for r in (r for r in mine if r.wbits is None):
            ax.axhline(100 * r.mean, color=color, linestyle="--", linewidth=0.8, label=f"{label}, float")
            ax.axhspan(100 * (r.mean - r.std), 100 * (r.mean + r.std), color=color, alpha=0.08)
        bits |= {r.wbits for r in diag} | {r.abits for r in other}
    bits = sorted(bits)
    ax.set_xticks(bits)
    ax.set_xlabel("bit width")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Digits MLP 64-{result.config.hidden}-10, {len(result.config.seeds)} seeds, "
                 f"{result.n_test} test images")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def write_reports(result: SweepResult, out_dir: Path | str = "reports", rtl: RtlChecks = ()) -> list[Path]:
    """Write qnn.csv, qnn.json, qnn.md, qnn.png, qnn.svg into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, svg = _plot(result)
    return [
        atomic_write_bytes(out / f"{STEM}.csv", to_csv(result).encode()),
        atomic_write_bytes(out / f"{STEM}.json", to_json(result, rtl).encode()),
        atomic_write_bytes(out / f"{STEM}.md", to_markdown(result, rtl).encode()),
        atomic_write_bytes(out / f"{STEM}.png", png),
        atomic_write_bytes(out / f"{STEM}.svg", svg),
    ]


DEFAULT_RTL_IMAGES = 8
RTL_WIDTHS = (2, 2)  # the trained config (of every encoding) whose layer 1 runs on the RTL


def _seeds_arg(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if text is None or text.strip() == "":
        return default
    seeds = tuple(int_list(text, "--seeds", lo=0))
    if len(set(seeds)) != len(seeds):
        raise BitbranchError(f"--seeds must be distinct non-negative integers such as 0,1,2, got {text!r}")
    return seeds


def _encodings_arg(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if text is None or text.strip() == "":
        return default
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    for name in names:
        try:
            encodings.get(name)
        except encodings.EncodingError as e:
            raise BitbranchError(str(e)) from None
    if not names or len(set(names)) != len(names):
        raise BitbranchError(f"--encodings must be distinct encodings such as pm1,twos, got {text!r}")
    return names


def config_from_args(ns: argparse.Namespace) -> SweepConfig:
    d = SweepConfig()
    return SweepConfig(
        encodings=_encodings_arg(ns.encodings, d.encodings),
        seeds=_seeds_arg(ns.seeds, d.seeds),
        epochs=parse_int(ns.epochs, "--epochs", lo=1, default=d.epochs),
        hidden=parse_int(ns.hidden, "--hidden", lo=1, default=d.hidden),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.qnn", description="make qnn: accuracy of the encoded digits MLP against bit width, written to reports/")
    p.add_argument("--encodings", default=None,
                   help=f"comma-separated encodings (default {','.join(encodings.names())})")
    p.add_argument("--seeds", default=None, help="comma-separated training seeds (default 0,1,2)")
    p.add_argument("--epochs", default=None, help="training epochs per run (default 60)")
    p.add_argument("--hidden", default=None, help="hidden width (default 128)")
    p.add_argument("--rtl-images", default=None,
                   help="test images whose layer 1 runs on the generated RTL (default 8, 0 = skip)")
    p.add_argument("--build", default="build", help="build root for the RTL run (default build)")
    p.add_argument("--out", default="reports", help="folder for qnn.{csv,json,md,png,svg} (default reports)")
    ns = p.parse_args(argv)
    config = config_from_args(ns)

    rtl_images = parse_int(ns.rtl_images, "--rtl-images", lo=0, default=DEFAULT_RTL_IMAGES)

    print(f"qnn: digits MLP 64-{config.hidden}-10, encodings {','.join(config.encodings)}, widths "
          f"{', '.join('float' if w is None else f'W{w}/A{a}' for w, a in config.widths)}, "
          f"seeds {','.join(map(str, config.seeds))}, {config.epochs} epochs", flush=True)
    t0 = time.perf_counter()
    rtl: list[RtlCheck] = []
    if rtl_images:
        for enc in config.encodings:
            rtl_cfg = config.train_config(*RTL_WIDTHS, config.seeds[0], enc)
            print(f"qnn: layer 1 of {enc} {rtl_cfg.label} seed {rtl_cfg.seed} on the generated RTL for {rtl_images} "
                  "test images (cocotb, icarus)", flush=True)
            check = check_layer1_on_rtl(load_split(config.test_fraction, config.split_seed), rtl_cfg, rtl_images,
                                        build_root=ns.build)
            print(f"  {rtl_sentence(check)}", flush=True)
            if not (check.dots_equal and check.predictions_equal):
                raise BitbranchError("the RTL layer disagrees with the model (see above); nothing written")
            rtl.append(check)
    else:
        print("qnn: RTL layer check SKIPPED (--rtl-images 0)", flush=True)
    result = run_sweep(config, log=lambda line: print(line, flush=True))
    for key, value in provenance(result).items():
        print(f"  {key}: {value}")
    print()
    print(to_markdown(result, rtl))
    paths = write_reports(result, ns.out, rtl)
    print(f"qnn: wrote {', '.join(str(x) for x in paths)} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    run_main(main)
