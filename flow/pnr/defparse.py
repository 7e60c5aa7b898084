"""Reading a DEF's parts: its units and its sections (``NETS``, ``SPECIALNETS``, ``VIAS``) and their entries.

A leaf module (regular expressions only) that every stage reading or editing a DEF shares, so a change to what one
stage does with a DEF (the route stage's short check, say) does not change the others' fingerprints.
"""

from __future__ import annotations

import re


def section(def_text: str, sec: str) -> re.Match | None:
    """The DEF section ``sec`` (``NETS``, ``SPECIALNETS``, ``VIAS``): group 1 is its body, from the line after
    ``sec n ;`` up to ``END sec`` (its span, to edit it in place)."""
    return re.search(rf"\n{sec} \d+ ;\n(.*?)END {sec}", def_text, re.S)


def def_units(def_text: str) -> int:
    """DEF database units per micron (``UNITS DISTANCE MICRONS``)."""
    return int(re.search(r"UNITS DISTANCE MICRONS (\d+)", def_text).group(1))


def vias(text: str, scale: int = 1) -> dict[str, list[tuple[str, tuple[int, int, int, int]]]]:
    """{via: [(layer, rect)]} of the DEF's VIAS section, rects in DEF units times ``scale``."""
    out: dict[str, list[tuple[str, tuple[int, int, int, int]]]] = {}
    vb = section(text, "VIAS")
    for blk in re.split(r"(?m)^- ", vb.group(1))[1:] if vb else ():
        out[blk.split()[0]] = [(lay, (int(a) * scale, int(b) * scale, int(c) * scale, int(d) * scale)) for lay, a, b, c, d
                               in re.findall(r"RECT (\S+) \( (-?\d+) (-?\d+) \) \( (-?\d+) (-?\d+) \)", blk)]
    return out


def def_scale(def_text: str) -> int:
    """Nanometres per DEF database unit (``UNITS DISTANCE MICRONS``)."""
    return 1000 // def_units(def_text)


def section_blocks(def_text: str, sec: str) -> list[tuple[str, str]]:
    """(net, its text) for every ``- net ...`` entry of the DEF section ``sec`` (``NETS``, ``SPECIALNETS``)."""
    m = section(def_text, sec)
    return [(blk.split()[0], blk) for blk in re.split(r"(?m)^- ", m.group(1))[1:]] if m else []
