"""`make qnn`: accuracy of the {-1,+1}-encoded digits MLP against bit width, written to reports/.

Usage: python -m model.qnn [--seeds 0,1,2] [--epochs 60] [--hidden 128] [--rtl-images 8] [--build build] [--out reports]
Runs layer 1 of the W2/A2 network on the generated RTL for a few test images (cocotb, icarus),
then the sweep; prints the provenance and the table; writes reports/qnn.{csv,json,md,png,svg}.
"""

from __future__ import annotations

import argparse
import time
from typing import Sequence

from common.cli import run_main
from common.errors import BitbranchError
from model.qnn_data import load_split
from model.qnn_rtl import check_layer1_on_rtl
from model.qnn_sweep import SweepConfig, run_sweep

DEFAULT_RTL_IMAGES = 8
RTL_WIDTHS = (2, 2)  # the trained config whose layer 1 runs on the RTL


def _int_arg(name: str, text: str | None, default: int, minimum: int = 1) -> int:
    """An integer option of at least ``minimum`` (blank = default), or one clear error."""
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BitbranchError(f"--{name} must be an integer, got {text!r}") from None
    if value < minimum:
        raise BitbranchError(f"--{name} must be at least {minimum}, got {value}")
    return value


def _seeds_arg(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if text is None or text.strip() == "":
        return default
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise BitbranchError(f"--seeds must be comma-separated integers such as 0,1,2, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise BitbranchError(f"--seeds must be distinct non-negative integers such as 0,1,2, got {text!r}")
    return seeds


def config_from_args(ns: argparse.Namespace) -> SweepConfig:
    d = SweepConfig()
    return SweepConfig(
        seeds=_seeds_arg(ns.seeds, d.seeds),
        epochs=_int_arg("epochs", ns.epochs, d.epochs),
        hidden=_int_arg("hidden", ns.hidden, d.hidden),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.qnn", description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default=None, help="comma-separated training seeds (default 0,1,2)")
    p.add_argument("--epochs", default=None, help="training epochs per run (default 60)")
    p.add_argument("--hidden", default=None, help="hidden width (default 128)")
    p.add_argument("--rtl-images", default=None,
                   help="test images whose layer 1 runs on the generated RTL (default 8, 0 = skip)")
    p.add_argument("--build", default="build", help="build root for the RTL run (default build)")
    p.add_argument("--out", default="reports", help="folder for qnn.{csv,json,md,png,svg} (default reports)")
    ns = p.parse_args(argv)
    config = config_from_args(ns)

    from reports.qnn import provenance, rtl_sentence, to_markdown, write_reports

    rtl_images = _int_arg("rtl-images", ns.rtl_images, DEFAULT_RTL_IMAGES, minimum=0)

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
