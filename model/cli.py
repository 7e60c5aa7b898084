"""Shared command-line plumbing: spec variables in, one-line errors out."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Callable, Sequence

from model.spec import DesignSpec, spec_from_vars


class BitbranchError(Exception):
    """An error the user can fix; the CLI prints its message in one line, without a traceback."""


class Interrupted(BitbranchError):
    """The process was asked to stop (SIGTERM, SIGHUP): raised where it is, so the running stage records
    ``failed at <stage>: interrupted by ...`` instead of leaving ``running <stage>`` behind."""


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}; rerun the same command to resume")


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


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> None:
    """Run a CLI entry point; known errors become one 'error: ...' line and exit status 2."""
    from model.contract import ManifestError
    from model.spec import SpecError

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)
    try:
        code = main(argv)
    except (SpecError, ManifestError, BitbranchError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
