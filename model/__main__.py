"""`python -m model spec <spec args>`: resolve the spec variables and print the design and its ports."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from common.cli import run_main
from model.cli import add_spec_arguments, spec_from_args


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("spec", help="print the resolved design spec, its id and port widths as JSON")
    add_spec_arguments(sp)
    ns = p.parse_args(argv)
    spec = spec_from_args(ns)
    info = dict(
        id=spec.id,
        spec=spec.to_dict(),
        ports=dict(w=spec.w_width, a=spec.a_width, y=spec.out_width),
        y_range=[-spec.y_max, spec.y_max],
        build_dir=str(spec.build_dir()),
    )
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    run_main(main)
