"""`python -m rtl <spec args>`: generate one PE and print its rtl folder."""

from __future__ import annotations

import argparse
from typing import Sequence

from common.cli import run_main
from model.cli import add_spec_arguments, spec_from_args
from rtl.generate import generate


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the spec, generate build/<id>/rtl/, print that folder."""
    p = argparse.ArgumentParser(prog="python -m rtl", description="Generate Verilog + manifest for one PE")
    add_spec_arguments(p)
    p.add_argument("--root", default="build", help="build root folder (default build)")
    ns = p.parse_args(argv)
    spec = spec_from_args(ns)
    manifest = generate(spec, ns.root)
    print(f"{manifest.parent}/")
    return 0


if __name__ == "__main__":
    run_main(main)
