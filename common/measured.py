"""Run a tool and measure it (wall and CPU time) for the benchmark scripts.

Kept out of ``common/tools.py`` on purpose: every flow stage imports that module, so its text is part of every stage's
fingerprint (``flow/sources.py``), and a helper only the benches use must not re-run the sweep when it changes."""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

from common.errors import BitbranchError


class ToolTimedOut(BitbranchError):
    """``run_measured``'s tool did not finish within its time-out (a result to report, not always an error)."""


def run_measured(argv: list[str], cwd: Path, log: Path, timeout: float = 3600) -> tuple[float, float]:
    """Run a tool with stdin closed and its output in ``log``; returns (wall s, CPU s of it and its children).
    A missing tool, a time-out (``ToolTimedOut``) or a non-zero exit is a ``BitbranchError`` naming the tool (and the
    log)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with log.open("w") as fo:
        try:
            p = subprocess.run(argv, cwd=cwd, stdout=fo, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               timeout=timeout)
        except FileNotFoundError:
            raise BitbranchError(f"{argv[0]} is not on PATH") from None
        except subprocess.TimeoutExpired:
            raise ToolTimedOut(f"{argv[0]} timed out after {timeout:.0f} s (log {log})") from None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise BitbranchError(f"{argv[0]} exited with {p.returncode} (log {log})")
    return time.monotonic() - t0, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
