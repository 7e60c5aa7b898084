"""Where the magic boxes of one route round sit, and what an edit could still do there (#17).

Usage: python bench/box_sites.py [ATTEMPT_DIR] [--tag r0] [--lef ROUTER_LEF] [--root build]

ATTEMPT_DIR is a route attempt's folder (``build/<id>/flow/06-route/<attempt>/``) holding ``unrouted.def``,
``routed_<tag>.def`` and the magic boxes of that round (``drc_<tag>_fast.drc.txt`` or ``drc_<tag>.drc.txt``). The
router LEF defaults to ``<build root>/pdk/pnr/sky130_fd_sc_hd_router.lef``. Without ATTEMPT_DIR: the late attempt of
parallel_w2a2_n32 under ``--root``, built with the flow first when it is not there (about 4 minutes).

The boxes are grouped into sites (boxes within ``JOIN_UM`` of each other). For each site one line: its rules, the
L1M1 taps and M1M2 vias of every net within ``NEAR_UM`` (net, via, position) and, for each tap, how far its li1 pad can
move up, down, west and east and stay on its pin's li1 (``padfix``'s condition for a tap move), then a class:

- ``taps a row apart``: two nets' taps in one column, one met1 row apart (mcon.2 and met1.2);
- ``tap and via a row apart``: a tap and another net's M1M2 via in one column, a row apart (what ``padfix`` edits,
  when the moves fit);
- ``vias a column apart``: two nets' M1M2 vias on one row, one met2 column apart;
- ``other``.

A diagnostic: it reads the route's files and changes nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.errors import BitbranchError  # noqa: E402
from flow.pnr import defparse, halo, magic, padfix, route  # noqa: E402

JOIN_UM = 0.3
"""Boxes closer than this (um) are one site."""
NEAR_UM = 0.3
"""Pads whose met1 lies this close to a site's boxes (um) are listed with it."""
DEFAULT_DESIGN = "parallel_w2a2_n32"
"""The design of a run without ATTEMPT_DIR (its late route's first round has a few hundred boxes)."""
STEP_UM = 0.005
"""The manufacturing grid: the step of the room search."""

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Pad:
    """An L1M1 tap or M1M2 via of a net at (x, y) um, with its met1 rectangle (um)."""

    net: str
    via: str
    x: float
    y: float
    met1: Box

    @property
    def tap(self) -> bool:
        return self.via.startswith("L1M1")


def _gap(a: Box, b: Box) -> float:
    """The larger of the x and y gaps between two rectangles (0 or less: they touch or overlap)."""
    return max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])


def sites(boxes: list[tuple[str, Box]], join_um: float = JOIN_UM) -> list[list[tuple[str, Box]]]:
    """The boxes grouped into sites: a box within ``join_um`` of a site's box joins it (transitively)."""
    groups: list[list[tuple[str, Box]]] = []
    for b in sorted(boxes, key=lambda wb: (wb[1][1], wb[1][0])):
        near = [g for g in groups if any(_gap(b[1], o[1]) < join_um for o in g)]
        merged = [b] + [x for g in near for x in g]
        groups = [g for g in groups if g not in near] + [merged]
    return [sorted(g, key=lambda wb: (wb[1][1], wb[1][0])) for g in groups]


def room(pad: Box, shapes: list[Box], step_um: float = STEP_UM, limit_um: float = 1.0) -> dict[str, float]:
    """How far (um, in steps of ``step_um``, at most ``limit_um``) the li1 rectangle ``pad`` can move up, down, west
    and east and stay covered by the union of ``shapes``; -1 when it is not covered where it is."""
    units = round(1 / step_um)

    def cov(dx: int, dy: int) -> bool:
        r = tuple(round(c * units) for c in pad)
        return padfix._covered((r[0] + dx, r[1] + dy, r[2] + dx, r[3] + dy),
                               [tuple(round(c * units) for c in s) for s in shapes])

    if not cov(0, 0):
        return {d: -1.0 for d in ("up", "down", "west", "east")}
    out = {}
    for name, (ux, uy) in {"up": (0, 1), "down": (0, -1), "west": (-1, 0), "east": (1, 0)}.items():
        k = 0
        while k < round(limit_um * units) and cov(ux * (k + 1), uy * (k + 1)):
            k += 1
        out[name] = round(k * step_um, 3)
    return out


def classify(pads: list[Pad], row_um: float, column_um: float) -> str:
    """The site's class (module docstring) from the pads near it."""
    def apart(a: Pad, b: Pad, dx: float, dy: float) -> bool:
        return a.net != b.net and abs(abs(a.x - b.x) - dx) < 1e-3 and abs(abs(a.y - b.y) - dy) < 1e-3
    taps = [p for p in pads if p.tap]
    vias = [p for p in pads if not p.tap]
    if any(apart(a, b, 0, row_um) for a in taps for b in taps):
        return "taps a row apart"
    if any(apart(a, b, 0, row_um) for a in taps for b in vias):
        return "tap and via a row apart"
    if any(apart(a, b, column_um, 0) for a in vias for b in vias):
        return "vias a column apart"
    return "other"


def all_pads(text: str) -> list[Pad]:
    """Every L1M1 and M1M2 pad of the routed DEF ``text``, in y, x order."""
    units = defparse.def_units(text)
    rects = padfix._met1_rects(text)
    nets = defparse.section(text, "NETS")
    out = [Pad(n, v, x / units, y / units, tuple(c / units for c in padfix._at(rects[v], x, y)))  # type: ignore[arg-type]
           for (x, y), here in padfix._pads(nets.group(1).split("\n") if nets else [], rects).items()
           for v, n in here]
    return sorted(out, key=lambda p: (p.y, p.x, p.net, p.via))


def site_pads(pads: list[Pad], site: list[tuple[str, Box]], near_um: float = NEAR_UM) -> list[Pad]:
    """The ``pads`` whose met1 lies within ``near_um`` of the site's boxes."""
    return [p for p in pads if any(_gap(p.met1, b) < near_um for _w, b in site)]


def report(attempt: Path, tag: str, lef_text: str) -> list[str]:
    """One line per site of round ``tag`` of the attempt folder, then the count per class."""
    routed = attempt / f"routed_{tag}.def"
    drc = next((f for f in (attempt / f"drc_{tag}_fast.drc.txt", attempt / f"drc_{tag}.drc.txt") if f.is_file()), None)
    placed = attempt / "unrouted.def"
    for f in (routed, placed):
        if not f.is_file():
            raise BitbranchError(f"{f} is missing: give a route attempt folder and one of its round tags (r0, r0p, ..)")
    if drc is None:
        raise BitbranchError(f"no magic boxes for round {tag} in {attempt} (drc_{tag}_fast.drc.txt or "
                             f"drc_{tag}.drc.txt): a clean round, or not checked")
    text = routed.read_text()
    units = defparse.def_units(text)
    rows, cols = route.tracks_of(text, "Y").get("met1"), route.tracks_of(text, "X").get("met2")
    if rows is None or cols is None:
        raise BitbranchError(f"{routed} has no met1 / met2 TRACKS")
    row_um, column_um = rows[2] / units, cols[2] / units
    li1 = {v: r for v, rs in defparse.vias(text).items() if v.startswith("L1M1") for lay, r in rs if lay == "li1"}
    pins = halo.net_pin_shapes(placed.read_text(), lef_text)
    boxes = [(why, box) for why, box in magic.read_drc(drc)]
    every = all_pads(text)
    lines, kinds = [], Counter()
    for site in sites(boxes):
        pads = site_pads(every, site)
        rules = {why.rsplit("(", 1)[-1].rstrip(")") for why, _b in site}
        kind = classify(pads, row_um, column_um)
        kinds[kind] += 1
        x1, y1 = min(b[0] for _w, b in site), min(b[1] for _w, b in site)
        x2, y2 = max(b[2] for _w, b in site), max(b[3] for _w, b in site)
        parts = []
        for p in pads:
            s = f"{p.net} {p.via} ({p.x:g}, {p.y:g})"
            if p.tap and p.via in li1:
                pad = tuple(c / units for c in padfix._at(li1[p.via], round(p.x * units), round(p.y * units)))
                r = room(pad, pins.get(p.net, []))  # type: ignore[arg-type]
                s += " off its pin" if r["up"] < 0 else " room " + " ".join(f"{d} {v:g}" for d, v in r.items())
            parts.append(s)
        lines.append(f"{kind}: ({x1:g}, {y1:g})-({x2:g}, {y2:g}) {len(site)} boxes [{', '.join(sorted(rules))}]; "
                     + "; ".join(parts))
    lines.append(f"{len(boxes)} boxes at {sum(kinds.values())} sites: "
                 + ", ".join(f"{k} {c}" for k, c in kinds.most_common()))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("attempt", type=Path, nargs="?", default=None,
                   help="a route attempt folder (build/<id>/flow/06-route/<attempt>; default: see --root)")
    p.add_argument("--tag", default="r0", help="the round: r0, r0p, r1, ... (default r0)")
    p.add_argument("--lef", type=Path, default=None, help="router LEF (default: <root>/pdk/pnr/ of the build root)")
    p.add_argument("--root", type=Path, default=ROOT / "build",
                   help="build root of the default design, parallel_w2a2_n32's late attempt (default build/)")
    a = p.parse_args(argv)
    try:
        if a.attempt is None:
            a.attempt = a.root / DEFAULT_DESIGN / "flow" / "06-route" / "d28-seed1-late"
            if not (a.attempt / f"routed_{a.tag}.def").is_file():
                print(f"[box-sites] building {DEFAULT_DESIGN} with the flow under {a.root} (about 4 min)", flush=True)
                subprocess.run([sys.executable, "-m", "flow", "gds", "--arch", "parallel", "--bits", "2", "--n", "32",
                                "--root", str(a.root)], cwd=ROOT, check=False,
                               stdout=subprocess.DEVNULL)
        lef = a.lef or a.attempt.resolve().parents[3] / "pdk" / "pnr" / "sky130_fd_sc_hd_router.lef"
        if not lef.is_file():
            raise BitbranchError(f"router LEF {lef} not found: give --lef")
        for line in report(a.attempt, a.tag, lef.read_text()):
            print(line)
    except BitbranchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
