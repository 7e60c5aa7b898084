"""Read the flat structural Verilog yosys writes: ports, cell instances (pin -> net bit) and net aliases.

Bits are named ``name`` or ``name[i]`` (escaped identifiers lose their backslash); ``assign a = b;``
aliases are merged so every electrical net has one canonical name (``Netlist.canon``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ID = r"(?:\\\S+|[A-Za-z_][\w$]*)"
_BIT = rf"{_ID}(?:\s*\[\s*\d+\s*\])?"
_DECL = re.compile(rf"(?:^|(?<=;))\s*(input|output|inout|wire)\s+(?:\[\s*(\d+)\s*:\s*(\d+)\s*\]\s*)?({_ID})\s*;", re.M)
_INST = re.compile(rf"^\s*({_ID})\s+(?:#\(.*?\)\s*)?({_ID})\s*\((.*?)\)\s*;", re.M | re.S)
_PIN = re.compile(rf"\.({_ID})\s*\(\s*([^()]*?)\s*\)")
_ASSIGN = re.compile(rf"^\s*assign\s+({_BIT})\s*=\s*([^;]+?)\s*;", re.M)
_MODULE = re.compile(rf"^\s*module\s+({_ID})", re.M)
_CONST = re.compile(r"^\d+'[bB]([01xXzZ])$")


def bit_name(text: str) -> str:
    """Canonical spelling of a net bit: no escape backslash, no blanks (``\\a.b [3]`` -> ``a.b[3]``)."""
    text = text.strip()
    if text.startswith("\\"):
        m = re.match(r"\\(\S+)\s*(\[\s*\d+\s*\])?$", text)
        if m:
            return m[1] + (re.sub(r"\s+", "", m[2]) if m[2] else "")
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class Instance:
    name: str
    cell: str
    pins: dict[str, str]  # pin -> canonical net bit (or "1'b0"/"1'b1")


@dataclass
class Netlist:
    module: str
    ports: dict[str, str]  # port bit -> direction
    instances: list[Instance]
    alias: dict[str, str] = field(default_factory=dict)

    def canon(self, bit: str) -> str:
        while bit in self.alias:
            bit = self.alias[bit]
        return bit


def _expand(name: str, msb: str | None, lsb: str | None) -> list[str]:
    if msb is None:
        return [name]
    hi, lo = int(msb), int(lsb)
    step = 1 if hi >= lo else -1
    return [f"{name}[{i}]" for i in range(lo, hi + step, step)]


def parse_netlist(text: str) -> Netlist:
    """Parse one flat module (the first one) written by yosys ``write_verilog -noattr -noexpr``."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    mod = _MODULE.search(text)
    if not mod:
        raise ValueError("no module in netlist")
    body = text[mod.end(): text.find("endmodule", mod.end())]
    body = body[body.find(";") + 1:]  # drop the port list
    ports: dict[str, str] = {}
    for m in _DECL.finditer(body):
        kind, msb, lsb, name = m[1], m[2], m[3], bit_name(m[4])
        if kind != "wire":
            for b in _expand(name, msb, lsb):
                ports[b] = kind
    parent: dict[str, str] = {}

    def find(b: str) -> str:
        while b in parent:
            b = parent[b]
        return b

    for m in _ASSIGN.finditer(body):
        lhs, rhs = bit_name(m[1]), bit_name(m[2])
        if rhs.startswith("{"):
            raise ValueError(f"unsupported concatenation in assign: {m[0].strip()}")
        a, b = find(lhs), find(rhs)
        if a == b:
            continue
        # keep constants and ports as the representative name
        if _CONST.match(a) or (a in ports and not _CONST.match(b)):
            parent[b] = a
        else:
            parent[a] = b
    instances = []
    for m in _INST.finditer(body):
        cell, inst = bit_name(m[1]), bit_name(m[2])
        if cell in ("module", "assign", "input", "output", "wire", "inout", "reg"):
            continue
        pins = {bit_name(p[1]): find(bit_name(p[2])) for p in _PIN.finditer(m[3]) if p[2].strip()}
        instances.append(Instance(inst, cell, pins))
    alias = {k: find(k) for k in parent}
    return Netlist(bit_name(mod[1]), ports, instances, alias)
