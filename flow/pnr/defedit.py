"""Legalise a qflow/graywolf DEF for qrouter 1.4.71 (pure text -> text functions, each with a count).

snap components to the 0.46 um site grid, move I/O pins off the die edge and away from rails, widen the die
west and east so the side pins' vias land clear of the cells, turn fillers into well taps, drop the li1 part of
the power-stripe via stacks, and block li1 for the router.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass

from flow.pnr import defparse

SITE_UM = 0.46
ROW_UM = 2.72
FILLERS = {f"sky130_fd_sc_hd__fill_{w}": w for w in (1, 2, 4, 8)}
DECAPS = {f"sky130_fd_sc_hd__decap_{w}": w for w in (3, 4, 6, 8, 12)}
TAP = "sky130_fd_sc_hd__tapvpwrvgnd_1"
TAP_LIMIT_UM = 14.0
"""Farthest a row point may be from a tap before a decap cell is given up for one (``insert_taps``): the latch-up
rule LU.3 wants every P-diff within 15 um of an N-tap (magic checks it), less a margin for the tap's own width."""
MARGIN_SITES = 2
"""Sites added to the die on the west and on the east (0.92 um each side, a multiple of every vertical track pitch:
met2 0.46, met4 0.92). qflow's die ends half a pitch past the rows and its fence blocks met2 from the east pins to
the die edge, so an east pin's M1M2 via could only land on the rows' last met2 column, over the row-end cell, where
it came 0.095 um from another net's L1M1 pad on the next met1 track (baseline W2A2 N=32: all 52 magic boxes). With
the margin, the pins move out with the die edge and the met2 columns between the rows and the pin stay free."""
COMP_RE = re.compile(r"^- (\S+) (\S+) \+ (PLACED|FIXED) \( (-?\d+) (-?\d+) \) (\S+) ;$")


@dataclass(frozen=True)
class Die:
    units: int
    x1: int
    y1: int
    x2: int
    y2: int

    def um(self, v: int) -> float:
        return v / self.units


def lef_macro_sizes(lef_text: str) -> dict[str, tuple[float, float]]:
    """Width and height (um) of every MACRO in a cell LEF (sky130_fd_sc_hd has 5.44 um double-height cells)."""
    return {m.group(1): (float(m.group(2)), float(m.group(3))) for m in
            re.finditer(r"^MACRO (\S+)\n.*?SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", lef_text, re.M | re.S)}


def die(text: str) -> Die:
    units = defparse.def_units(text)
    box = [int(v) for v in re.search(r"DIEAREA \( (-?\d+) (-?\d+) \) \( (-?\d+) (-?\d+) \)", text).groups()]
    return Die(units, *box)


def _components(text: str) -> re.Match:
    return re.search(r"COMPONENTS (\d+) ;\n(.*?)END COMPONENTS", text, re.S)


def row_ys(text: str) -> list[int]:
    body = _components(text).group(2)
    return sorted({int(y) for y in re.findall(r"\+ (?:PLACED|FIXED) \( -?\d+ (-?\d+) \)", body)})


def snap_sites(text: str) -> tuple[str, int]:
    """Snap component x to the site grid (addspacers can leave a filler 1 DEF unit off, breaking abutment)."""
    d = die(text)
    site = round(SITE_UM * d.units)
    m = _components(text)
    xs = [int(x) for x in re.findall(r"\+ (?:PLACED|FIXED) \( (-?\d+) -?\d+ \)", m.group(2))]
    off = collections.Counter(x % site for x in xs).most_common(1)[0][0]
    moved = 0

    def snap(mm: re.Match) -> str:
        nonlocal moved
        x = int(mm.group(2))
        nx = off + round((x - off) / site) * site
        moved += nx != x
        return f"{mm.group(1)}( {nx} {mm.group(3)} )"

    body = re.sub(r"(\+ (?:PLACED|FIXED) )\( (-?\d+) (-?\d+) \)", snap, m.group(2))
    return text[: m.start(2)] + body + text[m.end(2) :], moved


def fix_pins(text: str, keep_um: float = 0.48, min_tracks: int = 2) -> tuple[str, int]:
    """Move met1 (west/east) pins one site inside, off rail tracks and >= min_tracks apart; met2 pins apart."""
    d = die(text)
    u = d.units
    cb = _components(text).group(2)
    ys = row_ys(text)
    cx = [int(v) for v in re.findall(r"\+ (?:PLACED|FIXED) \( (-?\d+) -?\d+ \)", cb)]
    rails = sorted(set(ys) | {y + round(ROW_UM * u) for y in ys})
    pb = re.search(r"PINS \d+ ;\n(.*?)END PINS", text, re.S)
    pins = re.findall(r"(- \S+ \+ NET \S+.*?;)", pb.group(1), re.S)
    body, moved = pb.group(1), 0
    for layer, axis in (("met1", "Y"), ("met2", "X")):
        tr = re.search(rf"TRACKS {axis} (-?[\d.]+) DO (\d+) STEP (\d+) LAYER {layer}", text)
        if not tr:
            continue
        t0, tn, ts = float(tr.group(1)), int(tr.group(2)), int(tr.group(3))
        lo, hi = (d.y1, d.y2) if axis == "Y" else (d.x1, d.x2)
        tracks = [round(t0 + i * ts) for i in range(tn) if lo + 2 * ts <= round(t0 + i * ts) <= hi - 2 * ts]
        if axis == "Y":
            tracks = [t for t in tracks if all(abs(t - r) >= keep_um * u for r in rails)]
        sides: dict[int, list[tuple[int, int, str]]] = {}
        for p in pins:
            m = re.search(rf"LAYER {layer} .*?\+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", p, re.S)
            if not m:
                continue
            x, y = int(m.group(1)), int(m.group(2))
            if axis == "Y":
                side = d.x1 + round(SITE_UM * u) if (cx and x < min(cx) and x > d.x1 + round(SITE_UM * u)) else x
                sides.setdefault(side, []).append((y, x, p))
            else:
                sides.setdefault(y, []).append((x, y, p))
        for side, lst in sides.items():
            taken: list[int] = []
            for pos, other, p in sorted(lst):
                cand = [t for t in tracks if all(abs(t - q) >= min_tracks * ts for q in taken)]
                npos = min(cand, key=lambda t: abs(t - pos)) if cand else pos
                taken.append(npos)
                old = f"( {other} {pos} )" if axis == "Y" else f"( {pos} {other} )"
                new = f"( {side} {npos} )" if axis == "Y" else f"( {npos} {side} )"
                if old != new:
                    body = body.replace(p, p.replace(old, new))
                    moved += 1
    return text[: pb.start(1)] + body + text[pb.end(1) :], moved


TRACKS_X_RE = re.compile(r"^TRACKS X (-?[\d.]+) DO (\d+) STEP (\d+) LAYER (\S+) ;$", re.M)


def _tracks_x(text: str) -> list[re.Match]:
    return list(TRACKS_X_RE.finditer(text))


def side_pins(text: str) -> tuple[list[int], list[int]]:
    """x (DEF units) of the met1 pins on the west and on the east half of the die (qflow puts met1 pins there)."""
    d = die(text)
    pb = re.search(r"PINS \d+ ;\n(.*?)END PINS", text, re.S)
    xs = [int(m.group(1)) for m in re.finditer(r"LAYER met1 [^;]*?\+ (?:PLACED|FIXED) \( (-?\d+) -?\d+ \)",
                                                 pb.group(1) if pb else "", re.S)]
    return [x for x in xs if 2 * x < d.x1 + d.x2], [x for x in xs if 2 * x >= d.x1 + d.x2]


def widen_die(text: str, sites: int = MARGIN_SITES) -> tuple[str, int]:
    """Move the west and east die edges ``sites`` sites outward, with the vertical tracks and the met1 side pins
    (which keep their distance to the edge); returns (text, pins moved). Rows, cells and y stay where they are."""
    d = die(text)
    s = sites * round(SITE_UM * d.units)
    for m in _tracks_x(text):
        if s % int(m.group(3)):
            raise ValueError(f"a {sites}-site margin is not a multiple of the {m.group(4)} pitch {m.group(3)}")
    if s == 0:
        return text, 0
    west, _east = side_pins(text)
    west_max = max(west, default=d.x1)
    text = text.replace(f"DIEAREA ( {d.x1} {d.y1} ) ( {d.x2} {d.y2} )",
                        f"DIEAREA ( {d.x1 - s} {d.y1} ) ( {d.x2 + s} {d.y2} )", 1)

    def track(m: re.Match) -> str:
        start, step = m.group(1), int(m.group(3))
        new = float(start) - s if "." in start else int(start) - s
        return f"TRACKS X {new} DO {int(m.group(2)) + 2 * s // step} STEP {step} LAYER {m.group(4)} ;"

    text = TRACKS_X_RE.sub(track, text)
    pb = re.search(r"PINS \d+ ;\n(.*?)END PINS", text, re.S)
    moved = 0

    def pin(m: re.Match) -> str:
        nonlocal moved
        x = int(m.group(2))
        moved += 1
        return f"{m.group(1)}( {x - s if x <= west_max else x + s} {m.group(3)} )"

    body = re.sub(r"(LAYER met1 [^;]*?\+ (?:PLACED|FIXED) )\( (-?\d+) (-?\d+) \)", pin, pb.group(1), flags=re.S)
    return text[: pb.start(1)] + body + text[pb.end(1) :], moved


def edge_obstructions(text: str) -> str:
    """qrouter ``obstruction`` lines fencing the die edge, as qflow's ``place2def.tcl`` writes them (li1 all round,
    met2/met4 west and east, met1/met3 south and north, each from the die edge plus a pitch), except that the west
    and east fences start half a met2 pitch past the side pins' column instead of at the rows: the pins keep no via
    on their label and the met2 columns between the rows and the pins are free for their vias."""
    d = die(text)
    u = d.units
    px = next((int(m.group(3)) for m in _tracks_x(text) if m.group(4) == "met2"), round(SITE_UM * u)) / u
    ty = re.search(r"^TRACKS Y -?[\d.]+ DO \d+ STEP (\d+) LAYER met1 ;$", text, re.M)
    py = int(ty.group(1)) / u if ty else 0.34
    ys = row_ys(text)
    west, east = side_pins(text)
    site = round(SITE_UM * u)
    xl, xh, yl, yh = d.um(d.x1) - px, d.um(d.x2) + px, d.um(d.y1) - py, d.um(d.y2) + py
    cyl, cyh = d.um(ys[0]) - px / 2, d.um(ys[-1]) + ROW_UM + py / 2  # qflow's core bottom uses the x half pitch
    bw = d.um(max(west, default=d.x1 + site)) + px / 2
    be = d.um(min(east, default=d.x2 - site)) - px / 2
    boxes = [(xl, cyh, xh, yh, "li1"), (xl, yl, xh, cyl, "li1"), (xl, yl, bw, yh, "li1"), (be, yl, xh, yh, "li1")]
    boxes += [b for lay in ("met2", "met4") for b in ((xl, cyl, bw, cyh, lay), (be, cyl, xh, cyh, lay))]
    boxes += [b for lay in ("met1", "met3") for b in ((bw, cyh, be, yh, lay), (bw, yl, be, cyl, lay))]
    return "".join(f"obstruction {x1:.3f} {y1:.3f} {x2:.3f} {y2:.3f} {lay}\n" for x1, y1, x2, y2, lay in boxes)


def with_edge_obstructions(cfg: str, def_text: str) -> str:
    """qflow's qrouter script with its die-edge obstruction lines replaced by ``edge_obstructions(def_text)``."""
    lines = cfg.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.startswith("obstruction ")), None)
    kept = [line for line in lines if not line.startswith("obstruction ")]
    if at is None:
        at = next((i for i, line in enumerate(kept) if line.startswith("read_def")), len(kept))
    return "".join(kept[:at]) + edge_obstructions(def_text) + "".join(kept[at:])


def insert_taps(text: str, max_um: float = 7.0, limit_um: float = TAP_LIMIT_UM) -> tuple[str, int, float]:
    """Turn fillers into tapvpwrvgnd_1 so every row point is near a tap; returns (text, taps, worst distance um).

    Taps go on fillers, each as far along as keeps ``max_um``; where no filler is that close, the next filler takes
    it, unless that leaves a point more than ``limit_um`` from a tap and a decap cell is close enough: the decap
    becomes the tap (and fill) instead. qflow fills the empty space of a low-density placement with decaps, e.g.
    0.2-20 um at the start of the top rows of parallel_twos_w3a3_n32 at 18 %: the first filler was 19.8 um in, and
    magic reported 70 LU.3 boxes on the decaps' P-diff.
    """
    d = die(text)
    u, site = d.units, round(SITE_UM * d.units)
    m = _components(text)
    lines = m.group(2).rstrip("\n").split("\n")
    comps = [COMP_RE.match(l.strip()) for l in lines]
    rows: dict[int, list[int]] = {}
    for i, c in enumerate(comps):
        if c:
            rows.setdefault(int(c.group(5)), []).append(i)
    chosen: set[int] = set()
    for y, idxs in rows.items():
        x0 = min(int(comps[i].group(4)) for i in idxs)
        x1 = max(int(comps[i].group(4)) for i in idxs) + site
        fills = sorted((i for i in idxs if comps[i].group(2) in FILLERS), key=lambda i: int(comps[i].group(4)))
        decaps = [i for i in idxs if comps[i].group(2) in DECAPS]
        covered = x0  # every x below this is within max_um of a tap
        last: int | None = None  # x of the row's last tap so far
        r, limit = round(max_um * u), round(limit_um * u)

        def xof(i: int) -> int:
            return int(comps[i].group(4))

        while covered < x1:
            free = [i for i in fills if i not in chosen and xof(i) >= covered - r]
            reach = [i for i in free if xof(i) <= covered + r]
            if reach:
                pick = max(reach, key=xof)
            else:
                nxt = min(free, key=xof) if free else None
                end = xof(nxt) if nxt is not None else x1  # how far the row goes without another tap
                worst = (end - last) // 2 if last is not None and nxt is not None else end - (x0 if last is None else last)
                near = [i for i in decaps if i not in chosen and covered - r <= xof(i) <= covered + r]
                if worst > limit and near:
                    pick = max(near, key=xof)
                elif nxt is not None:
                    pick = nxt
                else:
                    break
            chosen.add(pick)
            last = xof(pick)
            covered = last + site + r
    out, ntap = [], 0
    for i, (line, c) in enumerate(zip(lines, comps)):
        if not c:
            out.append(line)
            continue
        name, master, st, x, y, o = c.groups()
        if i not in chosen:
            out.append(f"- {name} {master} + {st} ( {x} {y} ) {o} ;")
            continue
        ntap += 1
        out.append(f"- TAP_{ntap} {TAP} + {st} ( {x} {y} ) {o} ;")
        xx, rest = int(x) + site, {**FILLERS, **DECAPS}[master] - 1
        k = 0
        for w in (4, 2, 1):
            while rest >= w:
                out.append(f"- {name}_r{k} sky130_fd_sc_hd__fill_{w} + {st} ( {xx} {y} ) {o} ;")
                xx += w * site
                rest -= w
                k += 1
    text2 = text[: m.start()] + f"COMPONENTS {sum(1 for l in out if l.startswith('- '))} ;\n" + "\n".join(out) + "\nEND COMPONENTS" + text[m.end() :]
    return text2, ntap, worst_tap_distance(text2)


def worst_tap_distance(text: str) -> float:
    """Largest distance (um) from any row point to the nearest tap in its row."""
    d = die(text)
    rows: dict[int, list[tuple[float, str]]] = {}
    for c in map(COMP_RE.match, (l.strip() for l in _components(text).group(2).split("\n"))):
        if c:
            rows.setdefault(int(c.group(5)), []).append((int(c.group(4)) / d.units, c.group(2)))
    worst = 0.0
    for cs in rows.values():
        xs = [x for x, _ in cs]
        taps = sorted(x + SITE_UM / 2 for x, m in cs if m == TAP)
        if not taps:
            w = max(xs) - min(xs)
        else:
            w = max([taps[0] - min(xs), max(xs) + SITE_UM - taps[-1]] + [(b - a) / 2 for a, b in zip(taps, taps[1:])])
        worst = max(worst, w)
    return round(worst, 3)


def strip_stripe_li1(text: str) -> tuple[str, int]:
    """Drop the li1->met1 vias of the power-stripe stacks: the cell rails already carry them (mcon spacing)."""
    m = re.search(r"(SPECIALNETS \d+ ;\n)(.*?)(END SPECIALNETS)", text, re.S)
    if not m:
        return text, 0
    out, removed = [], 0
    for net in re.split(r"(?m)^(?=- )", m.group(2)):
        if not net.strip():
            continue
        head, _, rest = net.partition("\n")
        if head.split()[1] not in ("VPWR", "VGND"):
            out.append(net)
            continue
        segs = re.findall(r"(?:\+ (?:FIXED|ROUTED|COVER)|NEW) (.*?)(?=\n\s*(?:NEW|\+|;)|\s*;)", rest, re.S)
        kept = []
        for sg in segs:
            if re.match(r"li1\b", sg.strip()) and "L1M1" in sg:
                removed += 1
                continue
            kept.append(sg.strip())
        extra = re.findall(r"\n\s*\+ USE \w+", rest)
        txt = head + "\n" + "".join(("+ FIXED " if i == 0 else "  NEW ") + sg + "\n" for i, sg in enumerate(kept))
        out.append(txt + "".join(e.strip() + "\n" for e in extra) + " ;\n")
    return text[: m.start(2)] + "".join(out) + text[m.end(2) :], removed


def rail_obstructions(text: str, half_um: float = 0.09) -> str:
    """qrouter 'obstruction' lines blocking li1 across the die and over every rail (qrouter shorts li1 rails).

    The block spans the whole die width, margins included (``widen_die``): li1 is for the cells' own pins only."""
    d = die(text)
    ys = row_ys(text)
    x1, x2 = d.um(d.x1), d.um(d.x2)
    lines = [f"obstruction {x1:.3f} {d.um(ys[0]) - 0.2:.3f} {x2:.3f} {d.um(ys[-1]) + ROW_UM + 0.2:.3f} li1"]
    rails = sorted({round(d.um(y), 3) for y in ys} | {round(d.um(y) + ROW_UM, 3) for y in ys})
    lines += [f"obstruction {x1:.3f} {r - half_um:.3f} {x2:.3f} {r + half_um:.3f} li1" for r in rails]
    return "\n".join(lines) + "\n"


def legalise(text: str, tap_um: float = 7.0) -> tuple[str, dict[str, float]]:
    """All DEF fixes in order; returns the new text and what was changed."""
    text, snapped = snap_sites(text)
    text, pins = fix_pins(text)
    text, widened = widen_die(text)
    text, taps, worst = insert_taps(text, tap_um)
    text, stripped = strip_stripe_li1(text)
    return text, {"snapped": snapped, "pins_moved": pins, "margin_pins_moved": widened, "taps": taps, "worst_tap_um": worst, "stripe_vias_removed": stripped}
