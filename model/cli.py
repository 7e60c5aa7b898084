"""The spec's command-line arguments: the Makefile's spec variables in, a validated DesignSpec out."""

from __future__ import annotations

import argparse

from model.spec import DesignSpec, spec_from_vars


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The Makefile's spec variables: BITS, WBITS, ABITS, N, ARCH (blank = default)."""
    p.add_argument("--arch", default=None, help="parallel | serial | baseline (default parallel)")
    p.add_argument("--bits", default=None, help="sets both WBITS and ABITS (default 2)")
    p.add_argument("--wbits", default=None, help="weight bits, overrides --bits")
    p.add_argument("--abits", default=None, help="activation bits, overrides --bits")
    p.add_argument("--n", default=None, help="vector length N (default 32)")
    p.add_argument("--popcount", default=None, help="popcount tree style: dadda | wallace")


def spec_from_args(ns: argparse.Namespace) -> DesignSpec:
    return spec_from_vars(
        arch=ns.arch, bits=ns.bits, wbits=ns.wbits, abits=ns.abits, n=ns.n, popcount=ns.popcount
    )
