"""The router LEF of the late keep-out: a met1 point obstruction on the grid rows next to each signal pin's taps.

With qrouter's met1 route-to-via keep-out switched on only for stage 3 (``route.script(keepout_late=True)``), the
router may put another net's M1M2 via one met1 row (0.34 um) from a pin's L1M1 tap, 0.095 um pad to pad (met1.2).
``halo_lef`` adds, in every macro of the router LEF, a 0.01 um met1 OBS on each grid point one row above or below a
signal pin's li1 grid point that is no pin's grid point itself: qrouter then keeps its vias off those points. An OBS
on a pin's own point would take that tap away (qrouter keeps a via's half width plus spacing clear of it).
The grid is the flow's placement grid (``GRID_X``/``GRID_Y``); ``check_grid`` refuses a placement off it.
"""

from __future__ import annotations

import re

from common.errors import BitbranchError
from flow.pnr import defparse, route

GRID_X, GRID_Y, PITCH_X, PITCH_Y = 0.23, 0.17, 0.46, 0.34
"""The routing grid inside a cell in N orientation (met2 columns, met1 rows) on the flow's placements: sites 0.46 um
wide and rows whose origin is half a met1 pitch below a track; ``check_grid`` verifies it on the DEF."""


class OffGrid(BitbranchError):
    """A placement whose cells do not sit on the grid ``halo_lef`` assumes."""


def grid_points(rect: tuple[float, float, float, float]) -> set[tuple[float, float]]:
    """The cell-grid points (``GRID_X``/``GRID_Y``) inside a rectangle, edges included."""
    x1, y1, x2, y2 = rect
    out = set()
    i = max(0, int((x1 - GRID_X) // PITCH_X))
    while GRID_X + i * PITCH_X <= x2 + 1e-6:
        x = GRID_X + i * PITCH_X
        j = max(0, int((y1 - GRID_Y) // PITCH_Y))
        while GRID_Y + j * PITCH_Y <= y2 + 1e-6:
            y = GRID_Y + j * PITCH_Y
            if x >= x1 - 1e-6 and y >= y1 - 1e-6:
                out.add((round(x, 3), round(y, 3)))
            j += 1
        i += 1
    return out


def halo_lef(lef: str) -> tuple[str, int]:
    """The LEF with the halo points of the module docstring in every macro; returns (LEF, number of OBS points)."""
    total = 0

    def one(m: re.Match) -> str:
        nonlocal total
        name, body = m.group(1), m.group(2)
        size = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", body)
        if not size:
            return m.group(0)
        height = float(size.group(2))
        points: set[tuple[float, float]] = set()
        for p in re.finditer(r"(?ms)^  PIN (\S+)\n(.*?)^  END \1\n", body):
            if re.search(r"USE (POWER|GROUND)", p.group(2)):
                continue
            layer = None
            for line in p.group(2).splitlines():
                s = line.split()
                if s[:1] == ["LAYER"]:
                    layer = s[1]
                elif s[:1] == ["RECT"] and layer == "li1":
                    points |= grid_points(tuple(float(v) for v in s[1:5]))  # type: ignore[arg-type]
        halo = sorted({(x, round(y + d, 3)) for x, y in points for d in (-PITCH_Y, PITCH_Y)} - points)
        halo = [(x, y) for x, y in halo if 0 < y < height]
        if not halo:
            return m.group(0)
        total += len(halo)
        rects = "".join(f"        RECT {x - 0.005:.3f} {y - 0.005:.3f} {x + 0.005:.3f} {y + 0.005:.3f} ;\n"
                        for x, y in halo)
        if re.search(r"(?m)^  OBS\n", body):
            body = re.sub(r"(?m)^  OBS\n", "  OBS\n      LAYER met1 ;\n" + rects, body, count=1)
        else:
            body += "  OBS\n      LAYER met1 ;\n" + rects + "  END\n"
        return f"MACRO {name}\n{body}END {name}\n"

    return re.sub(r"(?ms)^MACRO (\S+)\n(.*?)^END \1\n", one, lef), total


def check_grid(def_text: str) -> None:
    """Every placed cell's origin sits so that the cell grid (``GRID_X``, ``GRID_Y``) falls on the routing tracks;
    raises ``OffGrid`` naming the first cell that does not."""
    units = defparse.def_units(def_text)
    tx, ty = route.tracks_of(def_text, "X").get("met2"), route.tracks_of(def_text, "Y").get("met1")
    if not (tx and ty):
        raise OffGrid("the placed DEF has no met2 X / met1 Y TRACKS: the halo LEF's grid cannot be checked")
    body = defparse.section(def_text, "COMPONENTS")
    for name, x, y in re.findall(r"^- (\S+) \S+ \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", body.group(1) if body else "", re.M):
        gx = (int(x) + round(GRID_X * units) - tx[0]) % tx[2]
        gy = (int(y) + round(GRID_Y * units) - ty[0]) % ty[2]
        if gx or gy:
            raise OffGrid(f"cell {name} at ({x}, {y}) is off the grid the halo LEF assumes (met2 X / met1 Y tracks)")
