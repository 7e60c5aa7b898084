"""`make qnn` (``python -m reports.qnn``): accuracy of the encoded digits MLP against bit width, and its
writers: CSV, JSON, Markdown, and a PNG/SVG plot under reports/.

Usage: python -m reports.qnn [--seeds 0,1,2] [--epochs 60] [--hidden 128] [--rtl-images 8] [--build build] [--out reports]
Runs layer 1 of the W2/A2 network on the generated RTL for a few test images (cocotb, icarus),
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
        "network": f"MLP 64 -> {c.hidden} -> 10, batch norm, hard-tanh; both layers W-bit x A-bit encoded; "
                   "input pixels quantized to A bits",
        "training": f"Adam, lr {c.lr} decaying linearly to 0, {c.epochs} epochs, batch {c.batch}, "
                    "straight-through estimator (weights: identity, latent clipped to [-1,1]; activations: |h|<=1)",
        "quantized_accuracy_from": "integer network, layer products by model.encoding.branch_matmul "
                                   "(checked bit-exact against the integer dot product)",
        "seeds": list(c.seeds),
        "software": f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn {sklearn.__version__}",
        "command": "python -m reports.qnn (make qnn)",
    }


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


def to_json(result: SweepResult, rtl: RtlCheck | None = None) -> str:
    doc = {
        "provenance": provenance(result),
        "rows": [
            {"config": r.label, "wbits": r.wbits, "abits": r.abits, "mean": round(r.mean, 6),
             "std": round(r.std, 6), "min": round(r.lo, 6), "max": round(r.hi, 6),
             "per_seed": [round(a, 6) for a in r.accuracies]}
            for r in result.rows
        ],
        "runs": [
            {"config": r.label, "seed": r.seed, "test_accuracy": round(r.test_accuracy, 6),
             "train_accuracy": round(r.train_accuracy, 6), "branch_bit_exact": r.branch_bit_exact}
            for r in result.runs
        ],
        "rtl_layer_check": rtl_dict(rtl),
    }
    return json.dumps(doc, indent=2) + "\n"


def to_csv(result: SweepResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["config", "wbits", "abits", "test_acc_mean", "test_acc_std", "test_acc_min", "test_acc_max",
                "seeds", "n_test"])
    for r in result.rows:
        w.writerow([r.label, r.wbits if r.wbits is not None else "float", r.abits if r.abits is not None else "float",
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


def to_markdown(result: SweepResult, rtl: RtlCheck | None = None) -> str:
    """The table for the README, with its provenance underneath."""
    p = provenance(result)
    lines = [
        "| config | test accuracy (mean ± std) | min | max |",
        "|---|---|---|---|",
    ]
    for r in result.rows:
        lines.append(f"| {r.label} | {100 * r.mean:.2f} % ± {100 * r.std:.2f} | {100 * r.lo:.2f} % | {100 * r.hi:.2f} % |")
    lines += [
        "",
        f"Digits ({p['data']}), {p['n_train']} train / {p['n_test']} held-out test images, {p['split']}; "
        f"{p['network']}; {p['training']}; seeds {', '.join(map(str, p['seeds']))} (std over seeds, ddof=1). "
        f"Quantized accuracy: {p['quantized_accuracy_from']}. {p['software']}. Made by `{p['command']}`.",
        "",
        rtl_sentence(rtl),
        "",
    ]
    return "\n".join(lines)


def _plot(result: SweepResult) -> tuple[bytes, bytes]:
    """PNG and SVG of test accuracy against bit width (W=A line, W1/A2 and other points, float band)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "bitbranch-qnn"
    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    diag = [r for r in result.rows if r.wbits is not None and r.wbits == r.abits]
    other = [r for r in result.rows if r.wbits is not None and r.wbits != r.abits]
    base = [r for r in result.rows if r.wbits is None]
    if diag:
        ax.errorbar([r.wbits for r in diag], [100 * r.mean for r in diag], yerr=[100 * r.std for r in diag],
                    marker="o", capsize=3, label="W = A bits")
    for r in other:
        ax.errorbar([r.abits], [100 * r.mean], yerr=[100 * r.std], marker="s", capsize=3, linestyle="none",
                    label=f"{r.label} (x = A bits)")
    for r in base:
        ax.axhline(100 * r.mean, color="grey", linestyle="--", label="float baseline")
        ax.axhspan(100 * (r.mean - r.std), 100 * (r.mean + r.std), color="grey", alpha=0.15)
    bits = sorted({r.wbits for r in diag} | {r.abits for r in other})
    ax.set_xticks(bits)
    ax.set_xlabel("bit width")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Digits MLP 64-{result.config.hidden}-10, {len(result.config.seeds)} seeds, "
                 f"{result.n_test} test images")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return png.getvalue(), svg.getvalue()


def write_reports(result: SweepResult, out_dir: Path | str = "reports", rtl: RtlCheck | None = None) -> list[Path]:
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
RTL_WIDTHS = (2, 2)  # the trained config whose layer 1 runs on the RTL


def _seeds_arg(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if text is None or text.strip() == "":
        return default
    seeds = tuple(int_list(text, "--seeds", lo=0))
    if len(set(seeds)) != len(seeds):
        raise BitbranchError(f"--seeds must be distinct non-negative integers such as 0,1,2, got {text!r}")
    return seeds


def config_from_args(ns: argparse.Namespace) -> SweepConfig:
    d = SweepConfig()
    return SweepConfig(
        seeds=_seeds_arg(ns.seeds, d.seeds),
        epochs=parse_int(ns.epochs, "--epochs", lo=1, default=d.epochs),
        hidden=parse_int(ns.hidden, "--hidden", lo=1, default=d.hidden),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reports.qnn", description="make qnn: accuracy of the encoded digits MLP against bit width, written to reports/")
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

    print(f"qnn: digits MLP 64-{config.hidden}-10, widths "
          f"{', '.join('float' if w is None else f'W{w}/A{a}' for w, a in config.widths)}, "
          f"seeds {','.join(map(str, config.seeds))}, {config.epochs} epochs", flush=True)
    t0 = time.perf_counter()
    rtl = None
    if rtl_images:
        rtl_cfg = config.train_config(*RTL_WIDTHS, config.seeds[0])
        print(f"qnn: layer 1 of {rtl_cfg.label} seed {rtl_cfg.seed} on the generated RTL for {rtl_images} "
              "test images (cocotb, icarus)", flush=True)
        rtl = check_layer1_on_rtl(load_split(config.test_fraction, config.split_seed), rtl_cfg, rtl_images,
                                  build_root=ns.build)
        print(f"  {rtl_sentence(rtl)}", flush=True)
        if not (rtl.dots_equal and rtl.predictions_equal):
            raise BitbranchError("the RTL layer disagrees with the model (see above); nothing written")
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
