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
from typing import Mapping, Sequence

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


Rect = tuple[float, float, float, float]


def signal_pins(macro_body: str) -> dict[str, list[tuple[str, Rect]]]:
    """{pin: [(layer, rect um)]} of every signal pin (not power or ground) of one LEF macro's body."""
    out: dict[str, list[tuple[str, Rect]]] = {}
    for p in re.finditer(r"(?ms)^  PIN (\S+)\n(.*?)^  END \1\n", macro_body):
        if re.search(r"USE (POWER|GROUND)", p.group(2)):
            continue
        shapes = out.setdefault(p.group(1), [])
        layer = None
        for line in p.group(2).splitlines():
            s = line.split()
            if s[:1] == ["LAYER"]:
                layer = s[1]
            elif s[:1] == ["RECT"] and layer:
                shapes.append((layer, tuple(float(v) for v in s[1:5])))  # type: ignore[arg-type]
    return out


def pin_points(macro_body: str, offset: bool = False) -> dict[str, set[tuple[float, float]]]:
    """{signal pin: the cell-grid points inside its li1 shapes} of one LEF macro's body: where qrouter taps it.
    ``offset``: a pin with none gets the points within half a pitch of its shapes (where qrouter puts an offset tap).
    """
    out = {}
    for pin, shapes in signal_pins(macro_body).items():
        out[pin] = {q for layer, rect in shapes if layer == "li1" for q in grid_points(rect)}
        if offset and not out[pin]:
            out[pin] = {q for _, (x1, y1, x2, y2) in shapes
                        for q in grid_points((x1 - GRID_X, y1 - GRID_Y, x2 + GRID_X, y2 + GRID_Y))}
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
        points = set().union(*pin_points(body).values())
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


Pin = tuple[str, str]


def place_point(x: float, y: float, size: tuple[float, float], at: tuple[float, float], orient: str
                ) -> tuple[float, float] | None:
    """A point of a macro (um, N orientation) on the chip, for a cell placed at ``at`` (its lower left corner) in a
    row orientation (N, S, FN, FS); None for a rotated one (E, W, FE, FW), which the flow's placements never have."""
    w, h = size
    flips = {"N": (False, False), "S": (True, True), "FN": (True, False), "FS": (False, True)}
    if orient not in flips:
        return None
    fx, fy = flips[orient]
    return round(at[0] + (w - x if fx else x), 3), round(at[1] + (h - y if fy else y), 3)


def _macros(lef: str) -> dict[str, tuple[tuple[float, float], str]]:
    """{macro: (size um, its LEF body)} of every macro of the LEF with a SIZE."""
    out = {}
    for m in re.finditer(r"(?ms)^MACRO (\S+)\n(.*?)^END \1\n", lef):
        size = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", m.group(2))
        if size:
            out[m.group(1)] = ((float(size.group(1)), float(size.group(2))), m.group(2))
    return out


def _net_pins(def_text: str) -> list[tuple[str, str, str, str, tuple[float, float], str]]:
    """[(net, instance, pin, macro, the instance's lower left corner um, orientation)] of every cell pin the DEF's
    nets connect that the COMPONENTS section places."""
    units = defparse.def_units(def_text)
    comps = defparse.section(def_text, "COMPONENTS")
    placed = {name: (macro, (int(x) / units, int(y) / units), o) for name, macro, x, y, o in re.findall(
        r"^- (\S+) (\S+) \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \) (\S+)", comps.group(1) if comps else "", re.M)}
    return [(net, inst, pin, *placed[inst]) for net, blk in defparse.section_blocks(def_text, "NETS")
            for inst, pin in re.findall(r"\( (\S+) (\S+) \)", blk) if inst != "PIN" and inst in placed]


def access_points(def_text: str, lef: str) -> dict[Pin, frozenset[tuple[float, float]]]:
    """{(instance, pin): the chip grid points (um) where the router can tap it} for every cell pin a net of the DEF
    connects (``pin_points`` with the offset taps). A point obstruction on all of a pin's points cuts its net off."""
    macros = {name: (size, pin_points(body, offset=True)) for name, (size, body) in _macros(lef).items()}
    out: dict[Pin, frozenset[tuple[float, float]]] = {}
    for _net, inst, pin, macro, at, orient in _net_pins(def_text):
        if (inst, pin) in out:
            continue
        size, pins = macros.get(macro, ((0.0, 0.0), {}))
        pts = (place_point(x, y, size, at, orient) for x, y in pins.get(pin, ()))
        out[(inst, pin)] = frozenset(p for p in pts if p is not None)
    return out


def net_pin_shapes(def_text: str, lef: str, layer: str = "li1") -> dict[str, list[Rect]]:
    """{net: the chip rectangles (um) of ``layer`` of every cell pin it connects}: where a tap's pad may sit (a tap
    pad that leaves its pin's li1 makes li1 DRC or a via nudge in ``repair``)."""
    macros = {name: (size, signal_pins(body)) for name, (size, body) in _macros(lef).items()}
    out: dict[str, list[Rect]] = {}
    for net, _inst, pin, macro, at, orient in _net_pins(def_text):
        size, pins = macros.get(macro, ((0.0, 0.0), {}))
        for lay, (x1, y1, x2, y2) in pins.get(pin, ()):
            a, b = place_point(x1, y1, size, at, orient), place_point(x2, y2, size, at, orient)
            if lay == layer and a is not None and b is not None:
                out.setdefault(net, []).append((min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))
    return out


def spare_access(candidates: Sequence[str], obs: Sequence[str], access: Mapping[Pin, frozenset[tuple[float, float]]],
                 margin_um: float = 0.2) -> tuple[list[str], list[Pin]]:
    """The ``candidates`` (qrouter ``obstruction x1 y1 x2 y2 layer`` lines), in order, without those that would take
    the last free access point (``access_points``) of a pin, given the obstructions ``obs`` already in place and the
    candidates kept before; returns (kept, the pins spared). A li1/met1 obstruction covers the grid points within
    ``margin_um`` of it (a met1 point obstruction: its own grid point only, the next is 0.34 um away).

    Measured: on parallel_w3a3_n32 (keep-out late) the second re-route's point at (116.38, 134.64), one met1 row from
    a via beside a box, was the only grid point of ``xor2_1_463``'s A pin (li1 0.84-1.39 x 1.075-1.275 in the cell),
    so qrouter found 'no taps' for it and net ``_1223_`` failed."""
    by_point: dict[tuple[float, float], list[Pin]] = {}
    for pin, pts in access.items():
        for p in pts:
            by_point.setdefault(p, []).append(pin)

    def covered(line: str) -> set[tuple[float, float]]:
        s = line.split()
        if len(s) != 6 or s[0] != "obstruction" or s[5] not in ("li1", "met1"):
            return set()
        x1, y1, x2, y2 = (float(v) for v in s[1:5])
        return {p for p in by_point if x1 - margin_um <= p[0] <= x2 + margin_um
                and y1 - margin_um <= p[1] <= y2 + margin_um}

    free = {pin: set(pts) for pin, pts in access.items()}
    for line in obs:
        for p in covered(line):
            for pin in by_point[p]:
                free[pin].discard(p)
    kept: list[str] = []
    spared: list[Pin] = []
    for line in candidates:
        pts = covered(line)
        cut = sorted({pin for p in pts for pin in by_point[p] if free[pin] and free[pin] <= pts})
        if cut:
            spared += [c for c in cut if c not in spared]
            continue
        kept.append(line)
        for p in pts:
            for pin in by_point[p]:
                free[pin].discard(p)
    return kept, spared


OPEN = "__open"
"""Suffix of a macro's copy without the halo points (``open_lef``): the cells of a net the late route left failed
get it in the re-route's DEF (``open_cells``) and lose it again in the routed DEF (``close_cells``)."""


def net_cells(def_text: str, nets: Sequence[str]) -> list[str]:
    """The placed cells (instance names, in DEF order, once each) that the named nets of the NETS section connect."""
    wanted = set(nets)
    out: dict[str, None] = {}
    for name, blk in defparse.section_blocks(def_text, "NETS"):
        if name in wanted:
            out.update((inst, None) for inst, _pin in re.findall(r"\( (\S+) (\S+) \)", blk) if inst != "PIN")
    return list(out)


def open_cells(def_text: str, cells: Sequence[str]) -> tuple[str, list[str]]:
    """The DEF with each named cell's macro renamed to its ``OPEN`` copy; returns (DEF, the macros renamed, sorted)."""
    wanted, macros = set(cells), set()

    def one(m: re.Match) -> str:
        if m.group(2) not in wanted or m.group(3).endswith(OPEN):
            return m.group(0)
        macros.add(m.group(3))
        return f"{m.group(1)}{m.group(2)} {m.group(3)}{OPEN} "

    comps = defparse.section(def_text, "COMPONENTS")
    if comps is None:
        return def_text, []
    body = re.sub(r"(?m)^(- )(\S+) (\S+) ", one, comps.group(1))
    return def_text[:comps.start(1)] + body + def_text[comps.end(1):], sorted(macros)


def close_cells(def_text: str) -> str:
    """The DEF with every ``OPEN`` macro name of its COMPONENTS back to the library's (qrouter copies them through)."""
    comps = defparse.section(def_text, "COMPONENTS")
    if comps is None:
        return def_text
    body = re.sub(rf"(?m)^(- \S+ \S+){re.escape(OPEN)} ", r"\1 ", comps.group(1))
    return def_text[:comps.start(1)] + body + def_text[comps.end(1):]


def open_lef(halo_text: str, plain: str, macros: Sequence[str]) -> str:
    """The halo LEF with a copy of each named macro of the plain router LEF, as it is there (no halo points), under
    its ``OPEN`` name, before ``END LIBRARY``."""
    copies = []
    for name in macros:
        m = re.search(rf"(?ms)^MACRO {re.escape(name)}\n(.*?)^END {re.escape(name)}\n", plain)
        if m is None:
            raise ValueError(f"macro {name} is not in the router LEF")
        copies.append(f"MACRO {name}{OPEN}\n{m.group(1)}END {name}{OPEN}\n\n")
    at = halo_text.rfind("END LIBRARY")
    if at < 0:
        raise ValueError("the halo LEF has no END LIBRARY")
    return halo_text[:at] + "".join(copies) + halo_text[at:]
