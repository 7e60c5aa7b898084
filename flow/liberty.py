"""A small, tolerant Liberty reader: what power and synthesis need (area, pin caps, leakage, power tables).

``parse_liberty(text) -> Library`` builds plain data; ``load_library(path, cache_dir)`` caches it as JSON.
``filter_liberty_text(text, drop)`` removes cells (yosys 0.23 has no -dont_use).
Units are the library's: time ns, capacitance pF, internal energy pJ (V^2 * pF), leakage nW for sky130.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from common.state import DamagedState, load_state, note_damage

_TOKEN = re.compile(
    r"""
     (?P<comment>/\*.*?\*/)
    |(?P<close>\})
    |(?P<group>(?P<gname>[A-Za-z_][\w.]*)\s*\((?P<gargs>[^)]*)\)\s*\{)
    |(?P<cattr>(?P<cname>[A-Za-z_][\w.]*)\s*\((?P<cargs>[^)]*)\)\s*;)
    |(?P<attr>(?P<aname>[A-Za-z_][\w.]*)\s*:\s*(?P<aval>"(?:[^"\\]|\\.)*"|[^;{}]*?)\s*;)
    """,
    re.S | re.X,
)


@dataclass
class Group:
    """A Liberty group: ``kind (name) { attrs; children }``."""

    kind: str
    name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    children: list["Group"] = field(default_factory=list)

    def find(self, kind: str) -> list["Group"]:
        return [c for c in self.children if c.kind == kind]


def _unquote(s: str) -> str:
    s = s.strip()
    return s[1:-1] if len(s) >= 2 and s[0] == '"' and s[-1] == '"' else s


def _numbers(s: str) -> list[float]:
    """Numbers in a Liberty list argument, e.g. ``"0.1, 0.2", \\ "0.3"``."""
    return [float(x) for x in re.findall(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", s)]


def parse_groups(text: str) -> Group:
    """Parse Liberty text into a tree of groups (unknown syntax is skipped, not fatal)."""
    root = Group("root", "")
    stack = [root]
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "group":
            g = Group(m["gname"], _unquote(m["gargs"]))
            stack[-1].children.append(g)
            stack.append(g)
        elif kind == "close":
            if len(stack) > 1:
                stack.pop()
        elif kind == "cattr":
            # complex attributes (index_1, values, ...): keep the raw argument text
            stack[-1].attrs[m["cname"]] = m["cargs"]
        elif kind == "attr":
            stack[-1].attrs[m["aname"]] = _unquote(m["aval"])
    return root


@dataclass(frozen=True)
class Table:
    """A 1-D (index_2 empty) or 2-D lookup table: values[i1][i2]."""

    index_1: tuple[float, ...]
    index_2: tuple[float, ...]
    values: tuple[tuple[float, ...], ...]

    def lookup(self, x1: float, x2: float = 0.0) -> float:
        """Bilinear interpolation (linear extrapolation outside the grid), as STA tools do."""
        if not self.index_2:
            return _interp(self.index_1, list(self.values[0]), x1)
        col = [_interp(self.index_2, list(row), x2) for row in self.values]
        return _interp(self.index_1, col, x1)

    def to_json(self) -> dict[str, Any]:
        return {"index_1": list(self.index_1), "index_2": list(self.index_2), "values": [list(r) for r in self.values]}

    @staticmethod
    def from_json(d: dict[str, Any]) -> "Table":
        return Table(tuple(d["index_1"]), tuple(d["index_2"]), tuple(tuple(r) for r in d["values"]))


def _interp(xs: tuple[float, ...] | list[float], ys: list[float], x: float) -> float:
    if len(xs) == 1 or len(ys) == 1:
        return ys[0]
    i = min(max(bisect.bisect_left(xs, x), 1), len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _table(g: Group) -> Table:
    i1 = tuple(_numbers(g.attrs.get("index_1", "")))
    i2 = tuple(_numbers(g.attrs.get("index_2", "")))
    flat = _numbers(g.attrs.get("values", ""))
    if i2:
        rows = tuple(tuple(flat[r * len(i2) : (r + 1) * len(i2)]) for r in range(len(i1)))
    else:
        rows = (tuple(flat),)
    return Table(i1, i2, rows)


@dataclass(frozen=True)
class PowerArc:
    """One internal_power group of a pin: energy per rise/fall transition (pJ); related pin may be ''."""

    related_pin: str
    when: str
    rise: Table | None
    fall: Table | None


@dataclass(frozen=True)
class Pin:
    name: str
    direction: str
    capacitance: float
    is_clock: bool
    power: tuple[PowerArc, ...]


@dataclass(frozen=True)
class Cell:
    name: str
    area: float
    leakage: float
    is_sequential: bool
    pins: dict[str, Pin]


@dataclass(frozen=True)
class Library:
    name: str
    voltage: float
    operating_conditions: str
    units: dict[str, str]
    cells: dict[str, Cell]
    wire_load: dict[str, Any]


def _pin(g: Group) -> Pin:
    arcs = []
    for ip in g.find("internal_power"):
        rise = next((_table(t) for t in ip.find("rise_power")), None)
        fall = next((_table(t) for t in ip.find("fall_power")), None)
        arcs.append(PowerArc(ip.attrs.get("related_pin", ""), ip.attrs.get("when", ""), rise, fall))
    return Pin(
        name=g.name,
        direction=g.attrs.get("direction", ""),
        capacitance=float(g.attrs.get("capacitance", 0.0) or 0.0),
        is_clock=g.attrs.get("clock", "false") == "true",
        power=tuple(arcs),
    )


def parse_liberty(text: str) -> Library:
    """Extract the library's voltage, units, wire-load model and per-cell area/leakage/pins/power tables."""
    root = parse_groups(text)
    libs = root.find("library")
    if not libs:
        raise ValueError("no library group in liberty text")
    lib = libs[0]
    voltage = float(lib.attrs.get("nom_voltage", 0.0) or 0.0)
    opcond = lib.attrs.get("default_operating_conditions", "")
    for oc in lib.find("operating_conditions"):
        if oc.name == opcond or not opcond:
            voltage = float(oc.attrs.get("voltage", voltage))
            opcond = oc.name
    wl_name = lib.attrs.get("default_wire_load", "")
    wire_load: dict[str, Any] = {}
    for wl in lib.find("wire_load"):
        if wl.name == wl_name:
            wire_load = {"name": wl.name, "capacitance": float(wl.attrs.get("capacitance", 0)),
                         "slope": float(wl.attrs.get("slope", 0)), "fanout_length": []}
    if wire_load:
        # fanout_length appears several times: re-scan the raw group text for all of them
        m = re.search(r'wire_load\s*\(\s*"?%s"?\s*\)\s*\{(.*?)\}' % re.escape(wl_name), text, re.S)
        if m:
            wire_load["fanout_length"] = [
                [int(a), float(b)] for a, b in re.findall(r"fanout_length\s*\(\s*(\d+)\s*,\s*([-+\d.eE]+)\s*\)", m[1])
            ]
    units = {k: _unquote(str(lib.attrs.get(k, ""))) for k in ("time_unit", "voltage_unit", "leakage_power_unit", "current_unit")}
    units["capacitive_load_unit"] = str(lib.attrs.get("capacitive_load_unit", "")).replace('"', "").replace(" ", "")
    cells = {}
    for c in lib.find("cell"):
        pins = {p.name: _pin(p) for p in c.find("pin")}
        for bus in c.find("bus"):
            for p in bus.find("pin"):
                pins[p.name] = _pin(p)
        cells[c.name] = Cell(
            name=c.name,
            area=float(c.attrs.get("area", 0.0) or 0.0),
            leakage=float(c.attrs.get("cell_leakage_power", 0.0) or 0.0),
            is_sequential=bool(c.find("ff") or c.find("latch")),
            pins=pins,
        )
    return Library(lib.name, voltage, opcond, units, cells, wire_load)


def library_to_json(lib: Library) -> dict[str, Any]:
    def arc(a: PowerArc) -> dict[str, Any]:
        return {"related_pin": a.related_pin, "when": a.when,
                "rise": a.rise.to_json() if a.rise else None, "fall": a.fall.to_json() if a.fall else None}

    return {
        "name": lib.name, "voltage": lib.voltage, "operating_conditions": lib.operating_conditions,
        "units": lib.units, "wire_load": lib.wire_load,
        "cells": {
            n: {"area": c.area, "leakage": c.leakage, "is_sequential": c.is_sequential,
                "pins": {p.name: {"direction": p.direction, "capacitance": p.capacitance, "is_clock": p.is_clock,
                                  "power": [arc(a) for a in p.power]} for p in c.pins.values()}}
            for n, c in sorted(lib.cells.items())
        },
    }


def library_from_json(d: dict[str, Any]) -> Library:
    def arc(a: dict[str, Any]) -> PowerArc:
        return PowerArc(a["related_pin"], a["when"],
                        Table.from_json(a["rise"]) if a["rise"] else None,
                        Table.from_json(a["fall"]) if a["fall"] else None)

    cells = {
        n: Cell(n, c["area"], c["leakage"], c["is_sequential"],
                {pn: Pin(pn, p["direction"], p["capacitance"], p["is_clock"], tuple(arc(a) for a in p["power"]))
                 for pn, p in c["pins"].items()})
        for n, c in d["cells"].items()
    }
    return Library(d["name"], d["voltage"], d["operating_conditions"], d["units"], cells, d["wire_load"])


def load_library(path: Path | str, cache_dir: Path | str) -> Library:
    """Parse a liberty file once; later calls read ``<cache_dir>/<name>.<hash>.json``."""
    from common.files import atomic_write_json

    path = Path(path)
    raw = path.read_bytes()
    key = hashlib.sha256(raw).hexdigest()[:16]
    cache = Path(cache_dir) / f"{path.stem}.{key}.json"
    data = load_state(cache, "liberty cache", then="the liberty is parsed again")
    if data is not None:
        try:
            return library_from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            note_damage(DamagedState(cache, f"wrong shape: {type(e).__name__} {e}"), "liberty cache",
                        "the liberty is parsed again")
    try:
        lib = parse_liberty(raw.decode(errors="replace"))
    except (ValueError, KeyError, IndexError) as e:
        from flow.pdk import damaged_liberty

        raise damaged_liberty(path, e) from None
    atomic_write_json(cache, library_to_json(lib))
    return lib


_CELL_START = re.compile(r'^[ \t]*cell\s*\(\s*"?([^")\s]+)"?\s*\)\s*\{', re.M)


def filter_liberty_text(text: str, drop: Callable[[str], bool]) -> tuple[str, list[str]]:
    """Remove every ``cell (name) { ... }`` group for which ``drop(name)``; returns (text, dropped names)."""
    out: list[str] = []
    dropped: list[str] = []
    pos = 0
    for m in _CELL_START.finditer(text):
        if m.start() < pos:
            continue
        depth, i = 0, m.end() - 1
        while True:
            j = min((k for k in (text.find("{", i), text.find("}", i)) if k >= 0), default=-1)
            if j < 0:
                raise ValueError(f"unbalanced braces in liberty cell {m[1]}")
            depth += 1 if text[j] == "{" else -1
            i = j + 1
            if depth == 0:
                break
        if drop(m[1]):
            out.append(text[pos : m.start()])
            dropped.append(m[1])
            pos = i
            # swallow the rest of the line after the closing brace
            if text.startswith("\n", pos):
                pos += 1
    out.append(text[pos:])
    return "".join(out), dropped
