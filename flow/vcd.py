"""Streaming VCD reader: per-bit rise and fall counts of the variables in one scope, at timestep ends.

Only 0<->1 changes count (x/z transitions are ignored); several changes within one timestep count
as the net change between the values committed at the ends of consecutive timesteps (no zero-delay glitches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Toggles:
    """Per-bit (rises, falls) keyed by bit name (``name`` or ``name[i]``), and the dumped time window."""

    counts: dict[str, tuple[int, int]]
    start_time: int
    end_time: int
    timescale_s: float


_VAR = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+\[(\d+)(?::(\d+))?\])?\s+\$end")
_TS = re.compile(r"\$timescale\s+(\d+)\s*([munpf]?s)\s*\$end", re.S)
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def _bits(name: str, width: int, msb: str | None, lsb: str | None) -> list[str]:
    """Bit names of a variable, MSB first (the order of a VCD vector value)."""
    name = name[1:] if name.startswith("\\") else name
    if width == 1 and msb is None:
        return [name]
    hi = int(msb) if msb is not None else width - 1
    lo = int(lsb) if lsb is not None else (hi if msb is not None and width == 1 else hi - width + 1)
    step = -1 if hi >= lo else 1
    return [f"{name}[{i}]" for i in range(hi, lo + step, step)]


def count_toggles(path: Path | str, scope: str | None = None) -> Toggles:
    """Count toggles of every variable declared directly in ``scope`` (the last scope name; None = all)."""
    codes: dict[str, list[list[str]]] = {}
    timescale = 1e-9
    stack: list[str] = []
    committed: dict[str, str] = {}
    pending: dict[str, str] = {}
    rises: dict[str, list[int]] = {}
    falls: dict[str, list[int]] = {}
    start = end = None

    def commit() -> None:
        for code, val in pending.items():
            old = committed.get(code)
            committed[code] = val
            if old is None or code not in rises:
                continue
            r, f = rises[code], falls[code]
            n = len(r)
            if len(val) < n:  # VCD left-extends short vector values
                val = (val[0] if val[0] in "xz" else "0") * (n - len(val)) + val
            if len(old) < n:
                old = (old[0] if old[0] in "xz" else "0") * (n - len(old)) + old
            for i in range(n):
                a, b = old[i], val[i]
                if a != b:
                    if a == "0" and b == "1":
                        r[i] += 1
                    elif a == "1" and b == "0":
                        f[i] += 1
        pending.clear()

    with open(path) as fh:
        header = []
        for line in fh:
            header.append(line)
            if "$enddefinitions" in line:
                break
        text = "".join(header)
        m = _TS.search(text)
        if m:
            timescale = int(m[1]) * _UNITS[m[2]]
        for tok in re.finditer(r"\$scope\s+\S+\s+(\S+)\s+\$end|\$upscope\s+\$end|" + _VAR.pattern, text):
            s = tok[0]
            if s.startswith("$scope"):
                stack.append(tok[1])
            elif s.startswith("$upscope"):
                stack.pop()
            else:
                width, code, name, msb, lsb = int(tok[2]), tok[3], tok[4], tok[5], tok[6]
                if scope is None or (stack and stack[-1] == scope):
                    codes.setdefault(code, []).append(_bits(name, width, msb, lsb))
                    rises.setdefault(code, [0] * width)
                    falls.setdefault(code, [0] * width)
        for line in fh:
            c = line[0] if line else ""
            if c == "#":
                commit()
                t = int(line[1:])
                start = t if start is None else start
                end = t
            elif c in "01xzXZ":
                pending[line[1:].strip()] = c.lower()
            elif c in "bB":
                val, code = line[1:].split()
                pending[code] = val.lower()
            elif c == "$" or not line.strip():
                continue
        commit()
    counts: dict[str, tuple[int, int]] = {}
    for code, names in codes.items():
        r, f = rises[code], falls[code]
        for bitnames in names:
            for i, b in enumerate(bitnames):
                counts[b] = (r[i], f[i])
    return Toggles(counts, start or 0, end or 0, timescale)
