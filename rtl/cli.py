"""The spec's command-line arguments: the Makefile's spec variables in, a validated DesignSpec out.

Every CLI (``python -m rtl``, ``verif``, ``flow``) reads its spec here, so the arch is resolved through the
architecture registry (``rtl.archs``) before the program does anything: an unknown arch is one error line.
"""

from __future__ import annotations

import argparse

from model.spec import DesignSpec, spec_from_vars
from rtl import archs


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The Makefile's spec variables: BITS, WBITS, ABITS, N, ARCH (blank = default)."""
    p.add_argument("--arch", default=None, help=f"{' | '.join(archs.names())} (default {DesignSpec().arch})")
    p.add_argument("--bits", default=None, help="sets both WBITS and ABITS (default 2)")
    p.add_argument("--wbits", default=None, help="weight bits, overrides --bits")
    p.add_argument("--abits", default=None, help="activation bits, overrides --bits")
    p.add_argument("--n", default=None, help="vector length N (default 32)")
    p.add_argument("--popcount", default=None, help="popcount tree style: dadda | wallace")


def spec_from_args(ns: argparse.Namespace) -> DesignSpec:
    """The spec the arguments name, its arch checked against the registry first (SpecError otherwise)."""
    if ns.arch is not None and str(ns.arch).strip():
        archs.get(ns.arch)  # an unknown arch is reported as such, whatever else is wrong with the spec
    return archs.registered(spec_from_vars(
        arch=ns.arch, bits=ns.bits, wbits=ns.wbits, abits=ns.abits, n=ns.n, popcount=ns.popcount
    ))
