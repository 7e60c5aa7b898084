"""Command-line plumbing shared by every entry point: integer options, one-line errors, stop signals."""

from __future__ import annotations

import errno
import signal
import sys
from typing import Callable, Sequence

from common.errors import BitbranchError, Interrupted


def parse_int(text: object, name: str, lo: int | None = None, hi: int | None = None,
              default: int | None = None) -> int:
    """An integer option: blank (or None) gives ``default``; junk, bools and out-of-range values one clear error."""
    if text is None or (isinstance(text, str) and text.strip() == ""):
        if default is None:
            raise BitbranchError(f"{name} is required (an integer)")
        return default
    if isinstance(text, bool) or isinstance(text, float):
        raise BitbranchError(f"{name} must be an integer, got {text!r}")
    try:
        value = int(text.strip()) if isinstance(text, str) else int(text)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise BitbranchError(f"{name} must be an integer, got {text!r}") from None
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise BitbranchError(f"{name}={value} is out of range: use {lo}..{hi}")
    if lo is not None and value < lo:
        raise BitbranchError(f"{name} must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise BitbranchError(f"{name} must be at most {hi}, got {value}")
    return value


def int_list(text: str, name: str, lo: int | None = None, hi: int | None = None) -> list[int]:
    """A comma list of integers such as ``1,2,3,4``, each checked like :func:`parse_int`."""
    items = [s for s in str(text).split(",") if s.strip()]
    if not items:
        raise BitbranchError(f"{name} takes a comma list of integers such as 1,2,3,4, got {text!r}")
    return [parse_int(s, name, lo, hi) for s in items]


FIXES = {
    errno.EACCES: "make it writable (chmod u+w) or choose another build folder (--root / BUILD_ROOT)",
    errno.EPERM: "make it writable (chmod u+w) or choose another build folder (--root / BUILD_ROOT)",
    errno.EROFS: "the file system is read-only: choose a build folder on a writable one (--root / BUILD_ROOT)",
    errno.ENOSPC: "the disk is full: free space (e.g. rm -rf build/<old designs>) or choose another build folder",
    errno.EDQUOT: "the disk quota is used up: free space or choose another build folder",
}


def environment_fault(e: OSError) -> str | None:
    """One line for a fault of the machine rather than of bitbranch (read-only or full build folder), naming the
    file and the fix; None for any other OSError (a bug: its traceback is kept)."""
    if e.errno not in FIXES:
        return None
    where = e.filename if e.filename is not None else "a file"
    return f"cannot write {where}: {e.strerror}; {FIXES[e.errno]}"


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(f"interrupted by {signal.Signals(signum).name}; rerun the same command to resume")


def run_main(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> None:
    """Run a CLI entry point; known errors become one 'error: ...' line and exit status 2."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)
    try:
        code = main(argv)
    except BitbranchError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        line = environment_fault(e)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)
