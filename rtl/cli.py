"""The spec's command-line arguments: the Makefile's spec variables in, a validated DesignSpec out.

Every CLI (``python -m rtl``, ``verif``, ``flow``) reads its spec here, so the arch is resolved through the
architecture registry (``rtl.archs``) before the program does anything: an unknown arch is one error line.
"""

from __future__ import annotations

import argparse
import sys

from model import encodings
from model.spec import ADDER_MAPPINGS, DesignSpec, SpecError, spec_from_vars
from rtl import archs


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The Makefile's spec variables: BITS, WBITS, ABITS, N, ARCH, POPCOUNT, ADDER, ENCODING (blank = default)."""
    p.add_argument("--arch", default=None, help=f"{' | '.join(archs.names())} (default {DesignSpec().arch})")
    p.add_argument("--bits", default=None, help="sets both WBITS and ABITS (default 2)")
    p.add_argument("--wbits", default=None, help="weight bits, overrides --bits")
    p.add_argument("--abits", default=None, help="activation bits, overrides --bits")
    p.add_argument("--n", default=None, help="vector length N (default 32)")
    p.add_argument("--popcount", default=None, help="popcount tree style: dadda | wallace")
    p.add_argument("--adder", default=None,
                   help=f"adder mapping in synthesis: {' | '.join(ADDER_MAPPINGS)} (default {DesignSpec().adder})")
    p.add_argument("--encoding", default=None,
                   help=f"{' | '.join(encodings.names())} (default {encodings.DEFAULT}): how words are read "
                        "and how the product splits into branches")


def spec_from_args(ns: argparse.Namespace) -> DesignSpec:
    """The spec the arguments name, its arch checked against the registry first (SpecError otherwise); a spec
    whose RTL takes minutes to generate is announced with an estimate (``size_warning``) on stderr."""
    if ns.arch is not None and str(ns.arch).strip():
        archs.get(ns.arch)  # an unknown arch is reported as such, whatever else is wrong with the spec
    encoding_from_args(ns)
    spec = archs.registered(spec_from_vars(
        arch=ns.arch, bits=ns.bits, wbits=ns.wbits, abits=ns.abits, n=ns.n, popcount=ns.popcount,
        adder=getattr(ns, "adder", None), encoding=getattr(ns, "encoding", None),
    ))
    msg = size_warning(spec)
    if msg:
        print(msg, file=sys.stderr, flush=True)
    return spec


def encoding_from_args(ns: argparse.Namespace) -> str:
    """The --encoding of a command line (blank = the default), checked against the registry (SpecError naming the
    registered encodings otherwise)."""
    value = getattr(ns, "encoding", None)
    if value is None or not str(value).strip():
        return encodings.DEFAULT
    try:
        return encodings.get(str(value).strip()).name
    except encodings.EncodingError as e:
        raise SpecError(str(e)) from None


WARN_ABOVE_S = 30.0


def generation_seconds(spec: DesignSpec) -> float:
    """Rough time to generate and check a design's RTL, fitted on this project's machine (2 cores): parallel
    W1A1 N=4096 5 s, N=16384 42 s, W1A4 N=16384 53 s; it grows faster than N (the popcount trees and the
    pyverilog parse) and more slowly with the W*A branches."""
    branches = 1 if spec.arch == "serial" else spec.wbits * spec.abits
    return 42.0 * (spec.n / 16384) ** 1.4 * (1 + 0.08 * (branches - 1))


def size_warning(spec: DesignSpec) -> str | None:
    """A one-line warning for a spec whose RTL alone takes more than ``WARN_ABOVE_S`` to generate (None below)."""
    t = generation_seconds(spec)
    if t < WARN_ABOVE_S:
        return None
    when = f"{t / 60:.0f} minutes" if t >= 90 else f"{t:.0f} s"
    return (f"warning: {spec.id} is large (N={spec.n}, {spec.wbits}x{spec.abits} bits): generating its RTL takes "
            f"roughly {when}, synthesis and layout far longer (hours); Ctrl-C stops it, nothing is left half-written")
