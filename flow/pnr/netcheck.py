"""Shorts between different nets in a routed DEF, found from the DEF alone (routes and vias, no cell geometry).

Neither DRC deck sees a short: magic and KLayout check geometry, and two nets' metal that touches is one
polygon to them. LVS finds it, minutes later, as a merged net. qrouter 1.4.71 makes such shorts: e.g. on
baseline_w2a2_n32 an M1M2 via of ``in_ready`` and an M2M3 via of ``qw_4[1]`` on adjacent met2 grid points
(0.34 um apart), whose 0.31 and 0.37 um tall met2 pads abut (the one LVS error of that design). This module
rebuilds each net's routed metal (wire paths with their width and half-width end extensions, via rectangles
from the DEF's VIAS) and reports every place where metal of two nets touches or overlaps, in a few seconds; the
route stage ranks a round with a short below any round without one and turns the shorts into obstructions
for the feedback re-route.
"""

from __future__ import annotations

import re
from typing import Iterable

from flow.pnr.defparse import def_scale, section_blocks, vias

LAYERS = ("li1", "met1", "met2", "met3", "met4", "met5")
WIDTH_UM = {"li1": 0.17, "met1": 0.14, "met2": 0.14, "met3": 0.30, "met4": 0.30, "met5": 1.60}
"""Default routing width of each layer (sky130 tech LEF), used when a DEF segment gives none."""

Box = tuple[float, float, float, float]


def net_shapes(def_text: str, skip_nets: Iterable[str] = ("VPWR", "VGND"),
               sections: Iterable[str] = ("NETS", "SPECIALNETS")) -> dict[str, dict[str, list]]:
    """{layer: {net: [klayout.db polygons/boxes in nm]}} of the routed metal of every net in ``sections``."""
    import klayout.db as db

    s = def_scale(def_text)
    vdefs = vias(def_text, s)
    skip = set(skip_nets)
    shapes: dict[str, dict[str, list]] = {}

    def add(layer: str, net: str, shape) -> None:
        if layer in WIDTH_UM:
            shapes.setdefault(layer, {}).setdefault(net, []).append(shape)

    for sec in sections:
        for net, blk in section_blocks(def_text, sec):
            parts = blk.split("+ ROUTED", 1)
            if net in skip or len(parts) < 2:
                continue
            for seg in re.split(r"\bNEW\b", parts[1]):
                mm = re.match(r"\s*(\S+)(?:\s+(\d+))?\s+(.*)", seg, re.S)
                if not mm:
                    continue
                layer, wdt, rest = mm.group(1), mm.group(2), mm.group(3)
                w = int(wdt) * s if wdt else int(round(WIDTH_UM.get(layer, 0.14) * 1000))
                pts, px, py, via = [], 0, 0, None
                for tok in re.finditer(r"\( ([-\d*]+) ([-\d*]+)(?: -?\d+)? \)|(\S+)", rest):
                    if tok.group(1) is not None:
                        px = px if tok.group(1) == "*" else int(tok.group(1)) * s
                        py = py if tok.group(2) == "*" else int(tok.group(2)) * s
                        pts.append(db.Point(px, py))
                    elif tok.group(3) in vdefs:
                        via = tok.group(3)
                if len(pts) >= 2:  # regular wiring extends half a width past its ends, special wiring does not
                    ext = 0 if sec == "SPECIALNETS" else w // 2
                    add(layer, net, db.Path(pts, w, ext, ext).polygon())
                elif len(pts) == 1 and via is None:
                    p = pts[0]
                    add(layer, net, db.Box(p.x - w // 2, p.y - w // 2, p.x + w // 2, p.y + w // 2))
                if via is not None and pts:
                    p = pts[-1]
                    for vl, (x1, y1, x2, y2) in vdefs[via]:
                        add(vl, net, db.Box(p.x + x1, p.y + y1, p.x + x2, p.y + y2))
    return shapes


def shorts(def_text: str, shapes: dict[str, dict[str, list]] | None = None) -> list[tuple[str, Box]]:
    """Every place where routed metal of two different nets touches or overlaps: (layer, box in um). ``shapes``:
    the nets' metal when not the DEF's as written (``repair.patched_metal``: qrouter's patches as the GDS has them)."""
    import klayout.db as db

    out: list[tuple[str, Box]] = []
    for layer, nets in sorted((net_shapes(def_text) if shapes is None else shapes).items()):
        grown = db.Region()
        grown.merged_semantics = False
        for polys in nets.values():
            for poly in db.Region(polys).merged().each():  # one net's metal: one set of polygons
                grown.insert(poly.sized(1))  # touching counts: grown by 1 nm, two nets then overlap
        for p in grown.merged(False, 2).each():  # covered by at least two polygons, i.e. two nets
            b = p.bbox()
            out.append((layer, (b.left / 1000, b.bottom / 1000, b.right / 1000, b.top / 1000)))
    return out


def obstructions(found: Iterable[tuple[str, Box]], grow_um: float = 0.1) -> list[str]:
    """qrouter obstructions over each short (li1 left alone: the router does not route on it)."""
    return [f"obstruction {x1 - grow_um:.3f} {y1 - grow_um:.3f} {x2 + grow_um:.3f} {y2 + grow_um:.3f} {layer}"
            for layer, (x1, y1, x2, y2) in found if layer != "li1"]
