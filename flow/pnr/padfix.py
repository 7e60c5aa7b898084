"""Met1 pad edits of a routed DEF for a route made with qrouter's met1 keep-out switched on late (#17).

Without the keep-out in stages 1 and 2, qrouter puts an M1M2 via one met1 row (0.34 um) above or below another net's
pin tap (L1M1 via), 0.095 um apart where met1.2 wants 0.14; and a rotated tap pad (0.29 um tall) one row from another
net's wire leaves 0.125 um. Three edits, each local and each keeping the net's metal connected:

- a rotated tap under its own net's M1M2 via becomes the unrotated one (the via pad already encloses the contact);
- a rotated tap beside a met1 spacing box becomes the unrotated one (0.23 um tall, 0.29 wide);
- an M1M2 via beside a met1 spacing box (not on its own net's tap) moves along its met2 column, away from the other
  net's pad one row away (or from the boxes), by what the spacing lacks (0.045 um against a tap pad): written as a
  one-point segment of its own at the new place, the wires that ended at the old place still inside its pads;
- a via with other nets' taps a row above *and* below stays, and both taps move away from it instead (along their
  li1 pins, when nothing of a third net is a row beyond them), their met1 wires still inside their pads.

A tap moves only where its li1 pad stays inside its pin's li1 (``pins``): baseline W2A2 had a tap moved 0.045 um up
its pin to where the pad stuck out of the cell's li1; ``repair``'s via nudge pulled it back and kept both met1 pads,
and the union ended 0.125 um from the other net's via (8 met1.2 boxes).

No edit brings a pad within the spacing of another net's met1 wire that it kept the spacing from: a via whose move
would (a wire a row beyond, which the pad rules above do not see) stays, and the tap it would have moved away from
moves away from it instead, on the same conditions as above (parallel W2A2: one such move had made 8 met1.2 boxes
against the wire below and cost a whole re-route).

Whether the result is clean is for the DRC run on it to say: the route stage's late keep-out attempts run it after
each route (``RouteStage.late_rounds``), ``bench/route_keepout.py`` measures it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from flow.pnr import defparse, route

SPACING_UM = 0.14
"""met1.2: minimum met1 spacing (um)."""
WIDTH_UM = 0.14
"""met1.1: minimum met1 width (um), the width qrouter gives every met1 wire."""

_SEG = re.compile(r"((?:\+ ROUTED|NEW) (\S+) )((?:\( [-\d*]+ [-\d*]+(?: -?\d+)? \) ?)+)(\S+)")
_NET = re.compile(r"^- (\S+)")
_MET1 = re.compile(r"(?:\+ ROUTED|NEW) met1 ((?:\( [-\d*]+ [-\d*]+(?: -?\d+)? \) ?)+)")


@dataclass(frozen=True)
class PadFixes:
    """What ``fix_pads`` changed: rotated taps under their own via, rotated taps at boxes, vias moved, taps moved."""

    unrotated_stacked: int
    unrotated_boxed: int
    moved: int
    taps_moved: int = 0
    taps_kept: int = 0
    """Tap moves not made because the tap's li1 pad would leave its pin's li1."""


def _points(points: str) -> list[tuple[int, int]]:
    """The points of a DEF route segment (``*`` resolved)."""
    out, x, y = [], 0, 0
    for xs, ys in re.findall(r"\( ([-\d*]+) ([-\d*]+)", points):
        x, y = (x if xs == "*" else int(xs)), (y if ys == "*" else int(ys))
        out.append((x, y))
    return out


def _end_point(points: str) -> tuple[int, int]:
    """The last point of a DEF route segment (``*`` resolved)."""
    return (_points(points) or [(0, 0)])[-1]


def _met1_rects(def_text: str) -> dict[str, tuple[int, int, int, int]]:
    """{via: met1 rect in DEF units} for the DEF's L1M1 and M1M2 vias."""
    return {v: r for v, rects in defparse.vias(def_text).items() if v.startswith(("L1M1", "M1M2"))
            for lay, r in rects if lay == "met1"}


def _at(rect: tuple[int, int, int, int], x: int, y: int) -> tuple[int, int, int, int]:
    """A via's pad ``rect`` placed at (x, y)."""
    return rect[0] + x, rect[1] + y, rect[2] + x, rect[3] + y


def _met1_wires(lines: list[str], half_width: int) -> list[tuple[str, tuple[int, int, int, int]]]:
    """[(net, rect)] of every met1 wire of the NETS lines, ``half_width`` to each side and as far past its ends
    (DEF regular wiring)."""
    out, net = [], ""
    for line in lines:
        if m := _NET.match(line):
            net = m.group(1)
        for s in _MET1.finditer(line):
            pts = _points(s.group(1))
            out += [(net, (min(a[0], b[0]) - half_width, min(a[1], b[1]) - half_width,
                           max(a[0], b[0]) + half_width, max(a[1], b[1]) + half_width))
                    for a, b in zip(pts, pts[1:])]
    return out


def _crowds(wires: list[tuple[str, tuple[int, int, int, int]]], net: str, moved: tuple[int, int, int, int],
            before: tuple[int, int, int, int], space: int) -> bool:
    """Whether the pad ``moved`` comes within ``space`` of another net's met1 wire that the pad ``before`` kept
    ``space`` from."""
    def near(r: tuple[int, int, int, int], w: tuple[int, int, int, int]) -> bool:
        return max(w[0] - r[2], r[0] - w[2], w[1] - r[3], r[1] - w[3]) < space
    return any(n != net and near(moved, w) and not near(before, w) for n, w in wires)


def unrotated(def_text: str) -> dict[str, str]:
    """{L1M1 via with a tall met1 pad: the DEF's L1M1 via with the same contact and the pad turned flat}."""
    vias = defparse.vias(def_text)
    out = {}
    for v, rects in vias.items():
        if not v.startswith("L1M1"):
            continue
        m1 = [r for lay, r in rects if lay == "met1"]
        rest = sorted((lay, r) for lay, r in rects if lay != "met1")
        if len(m1) != 1 or (m1[0][3] - m1[0][1]) <= (m1[0][2] - m1[0][0]):
            continue
        x1, y1, x2, y2 = m1[0]
        flat = sorted(w for w, wr in vias.items() if w.startswith("L1M1")
                      and sorted((lay, r) for lay, r in wr if lay != "met1") == rest
                      and [r for lay, r in wr if lay == "met1"] == [(y1, x1, y2, x2)])
        if flat:  # the same name without "_R" when that one is flat (qrouter's names do not always say)
            out[v] = v.replace("_R_", "_") if v.replace("_R_", "_") in flat else flat[0]
    return out


def _pads(lines: list[str], rects: dict[str, tuple[int, int, int, int]]
          ) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """{(x, y): [(via, net)]} of every L1M1 and M1M2 via of the NETS lines."""
    pads: dict[tuple[int, int], list[tuple[str, str]]] = {}
    net = ""
    for line in lines:
        if m := _NET.match(line):
            net = m.group(1)
        for s in _SEG.finditer(line):
            if s.group(4) in rects:
                pads.setdefault(_end_point(s.group(3)), []).append((s.group(4), net))
    return pads


REACH_UM = 0.17
"""A pad is edited when a met1 box lies this close to its via's centre (the pad's half height and a little more)."""


def _covered(rect: tuple[int, int, int, int], shapes: Sequence[tuple[int, int, int, int]]) -> bool:
    """Whether the union of ``shapes`` covers ``rect`` (what is left of it after taking each shape away is empty)."""
    left = [rect]
    for sx1, sy1, sx2, sy2 in shapes:
        rest = []
        for x1, y1, x2, y2 in left:
            if sx1 >= x2 or sx2 <= x1 or sy1 >= y2 or sy2 <= y1:
                rest.append((x1, y1, x2, y2))
                continue
            if y1 < sy1:
                rest.append((x1, y1, x2, sy1))
            if sy2 < y2:
                rest.append((x1, sy2, x2, y2))
            my1, my2 = max(y1, sy1), min(y2, sy2)
            if x1 < sx1:
                rest.append((x1, my1, sx1, my2))
            if sx2 < x2:
                rest.append((sx2, my1, x2, my2))
        left = rest
    return not left


def fix_pads(def_text: str, drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]],
             reach_um: float = REACH_UM, pins: Mapping[str, Sequence[tuple[float, float, float, float]]] | None = None
             ) -> tuple[str, PadFixes]:
    """The routed DEF with the edits of the module docstring at the magic met1 spacing boxes ``drc_boxes``
    (why, box um); returns (DEF, counts). ``pins``: {net: li1 rects (um) of its cell pins}
    (``halo.net_pin_shapes``); without them no tap moves. A DEF without a NETS section, met1 tracks or L1M1/M1M2
    vias comes back as it is."""
    nets = defparse.section(def_text, "NETS")
    rows = route.tracks_of(def_text, "Y").get("met1")
    rects = _met1_rects(def_text)
    li1 = {v: r for v, rs in defparse.vias(def_text).items() if v.startswith("L1M1") for lay, r in rs if lay == "li1"}
    if nets is None or rows is None or not rects:
        return def_text, PadFixes(0, 0, 0)
    units, row = defparse.def_units(def_text), rows[2]
    space = round(SPACING_UM * units)
    turn = {v: w for v, w in unrotated(def_text).items() if w in rects}
    boxes = [b for lay, b in route.spacing_boxes(drc_boxes) if lay == "met1"]

    def boxed(x: int, y: int) -> list[tuple[float, float, float, float]]:
        ux, uy = x / units, y / units
        return [b for b in boxes if max(b[0] - ux, ux - b[2], b[1] - uy, uy - b[3]) <= reach_um]

    lines = nets.group(1).split("\n")
    pads = _pads(lines, rects)
    wires = _met1_wires(lines, half_width=round(WIDTH_UM * units / 2))
    # 1. rotated taps: under their own net's M1M2 via, or beside a box
    rotate: dict[tuple[int, int, str], bool] = {}  # -> stacked under its own via
    for (x, y), here in pads.items():
        for v, net in here:
            if v not in turn:
                continue
            if any(w.startswith("M1M2") and n == net for w, n in here):
                rotate[(x, y, net)] = True
            elif boxed(x, y):
                rotate[(x, y, net)] = False
    pads = {xy: [(turn[v] if (xy[0], xy[1], n) in rotate and v in turn else v, n) for v, n in here]
            for xy, here in pads.items()}

    def half(v: str, up: bool) -> int:
        r = rects[v]
        return r[3] if up else -r[1]

    tap = min((half(v, True) for v in rects if v.startswith("L1M1")), default=0)
    pin_li1 = {n: [tuple(round(c * units) for c in r) for r in rs] for n, rs in (pins or {}).items()}
    kept = set()

    def fits(tx: int, ty: int, owner: str, d: int) -> bool:
        """Whether every L1M1 pad of ``owner`` at (tx, ty) moved by ``d`` stays inside its pins' li1."""
        ok = not d or all(w in li1 and _covered(_at(li1[w], tx, ty + d), pin_li1.get(owner, []))
                 for w, n in pads[(tx, ty)] if n == owner and w.startswith("L1M1"))
        if not ok:
            kept.add((tx, ty, owner))
        return ok

    def away(x: int, y: int, net: str, v: str, sign: int) -> tuple[tuple[int, int, str], int] | None:
        """The move of the other net's tap a row above (``sign`` 1) or below (-1) the via ``v`` of ``net`` at (x, y)
        away from it by what the spacing lacks, as ((x, y, owner), shift); None where the pads there are not one
        net's taps, a third net's pad is a row beyond them, or the moved pads would crowd a wire or leave the pin."""
        at = (x, y + sign * row)
        side = [(w, n) for w, n in pads.get(at, []) if n != net]
        owners = {n for _w, n in side}
        beyond = {n for _w, n in pads.get((x, y + 2 * sign * row), [])}
        if len(owners) != 1 or not all(w.startswith("L1M1") for w, _n in side) or beyond - owners:
            return None
        owner = owners.pop()
        need = space - (row - half(v, sign > 0) - max(half(w, sign < 0) for w, _n in side))
        shift = sign * max(need, 0)
        if any(_crowds(wires, owner, _at(rects[w], at[0], at[1] + shift), _at(rects[w], *at), space)
               for w, _n in side) or not fits(at[0], at[1], owner, shift):
            return None
        return (at[0], at[1], owner), shift

    # 2. M1M2 vias beside a box, not on their own net's tap: away from the other net's pad a row off, or the boxes
    moves: dict[tuple[int, int, str], int] = {}
    tap_moves: dict[tuple[int, int, str], int] = {}
    for (x, y), here in pads.items():
        for v, net in here:
            if not v.startswith("M1M2") or any(w.startswith("L1M1") and n == net for w, n in here):
                continue
            near = boxed(x, y)
            if not near:
                continue
            above = [w for w, n in pads.get((x, y + row), []) if n != net]
            below = [w for w, n in pads.get((x, y - row), []) if n != net]
            if above and not below:
                need = space - (row - half(v, True) - max(half(w, False) for w in above))
                moves[(x, y, net)] = -max(need, 0)
            elif below and not above:
                need = space - (row - half(v, False) - max(half(w, True) for w in below))
                moves[(x, y, net)] = max(need, 0)
            elif above and below:  # between two other nets' pads: their taps move away instead, both or neither
                both = [away(x, y, net, v, 1), away(x, y, net, v, -1)]
                if None not in both:
                    tap_moves.update(m for m in both if m is not None)
            else:  # neither: a pad the DEF does not hold (a pin landing), kept as far as from a tap
                if sum((b[1] + b[3]) / 2 - y / units for b in near) > 0:
                    moves[(x, y, net)] = -max(space - (row - half(v, True) - tap), 0)
                else:
                    moves[(x, y, net)] = max(space - (row - half(v, False) - tap), 0)
    # a move that would bring a pad within the spacing of another net's met1 wire is not made; where the via would
    # have moved away from taps, those taps move away from the via instead (as between two taps above)
    for (x, y, net), d in list(moves.items()):
        v = next(w for w, n in pads[(x, y)] if n == net and w.startswith("M1M2"))
        if not d or not _crowds(wires, net, _at(rects[v], x, y + d), _at(rects[v], x, y), space):
            continue
        del moves[(x, y, net)]
        if (m := away(x, y, net, v, 1 if d < 0 else -1)) is not None:  # the taps on the side the via left
            tap_moves[m[0]] = m[1]
    moves = {k: d for k, d in moves.items() if d}
    tap_moves = {k: d for k, d in tap_moves.items() if d}

    net = ""
    for i, line in enumerate(lines):
        if m := _NET.match(line):
            net = m.group(1)

        def edit(s: re.Match) -> str:
            x, y = _end_point(s.group(3))
            v = s.group(4)
            if v in turn and (x, y, net) in rotate:
                v = turn[v]
            d = (moves if v.startswith("M1M2") else tap_moves if v.startswith("L1M1") else {}).get((x, y, net))
            if d is None:
                return s.group(1) + s.group(3) + v
            at = f"( {x} {y + d} ) {v}"
            if s.group(3).count("(") == 1:  # the via alone: it moves
                return s.group(1) + at
            return f"{s.group(1)}{s.group(3).rstrip()}\n  NEW {s.group(2)} {at}"  # a wire ending in it stays

        lines[i] = _SEG.sub(edit, line)
    text = def_text[:nets.start(1)] + "\n".join(lines) + def_text[nets.end(1):]
    stacked = sum(rotate.values())
    return text, PadFixes(stacked, len(rotate) - stacked, len(moves), len(tap_moves), len(kept - set(tap_moves)))
