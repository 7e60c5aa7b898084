"""When qrouter applies the met1 route-to-via keep-out, and what each choice costs (#17).

Usage: python bench/route_keepout.py [--root DIR] [--design NAME] [--modes full,late,late-halo] [--timeout-s S]

Takes the flow's first placement of one design (its place stage output under ``--root``; for the default design,
parallel W2A2 N=32, the flow builds it there when missing, 1-2 min) and routes it with qrouter 1.4 in each mode,
with everything else as the flow's route stage has it (``flow.pnr.route.script``: rail and off-track obstructions,
via stack, the stage-2 ladder, one stage-3 round):

  full       the flow's setting, ``qrouter::drc met1 -0.06 -0.06`` from the start;
  late       the keep-out off (``-0.06 0``) for stage 1 and the ladder, on from stage 3;
  late-halo  late, with a router LEF that has a 0.01 um met1 obstruction one row above and below every grid point
             of a signal pin that is no pin's grid point (``halo_lef``): where another net's M1M2 via pad would sit
             0.095 um from a tap's pad.

Per mode one line: failed nets and qrouter CPU seconds; for a complete route, the flow's GDS, repair and magic DRC
(boxes by rule). qrouter sets its route-to-via blockages when it writes a route back, so a keep-out switched on
late does not act on the routes already made (``maze.c`` ``writeback_segment``): ``late`` trades failed nets for
met1.2 boxes. Writes under build/bench-route-keepout/.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.errors import BitbranchError  # noqa: E402
from common.measured import ToolTimedOut  # noqa: E402
from common.measured import run_measured as run  # noqa: E402
from flow.pdk import PdkError, find_pdk  # noqa: E402
from flow.pnr import defedit, defparse, gds, magic, repair, route, tech  # noqa: E402

OUT = ROOT / "build" / "bench-route-keepout"
DEFAULT_DESIGN = ("parallel", 2, 32, "pm1")
MODES = ("full", "late", "late-halo")
KEEPOUT_ON = "qrouter::drc met1 -0.06 -0.06"
KEEPOUT_OFF = "qrouter::drc met1 -0.06 0"
STAGE3 = "        for {set k 0}"
GRID_X, GRID_Y, PITCH_X, PITCH_Y = 0.23, 0.17, 0.46, 0.34
"""The routing grid inside a cell in N orientation (met2 columns, met1 rows) on the flow's placements: sites 0.46 um
wide and rows whose origin is half a met1 pitch below a track; ``check_grid`` verifies it on the DEF."""


class Fail(BitbranchError):
    """A step that cannot go on: printed as one ``error:`` line."""


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
    """The LEF with, in every macro, a 0.01 um met1 OBS on each grid point one row above or below a signal pin's li1
    grid point that is itself no pin's grid point (inside the cell); returns (LEF, number of OBS points). An OBS
    on a pin's own point would take that tap away (qrouter keeps a via's half width plus spacing clear)."""
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
    """Every placed cell's origin sits so that the cell grid (``GRID_X``, ``GRID_Y``) falls on the routing tracks."""
    units = defparse.def_units(def_text)
    tx, ty = route.tracks_of(def_text, "X").get("met2"), route.tracks_of(def_text, "Y").get("met1")
    if not (tx and ty):
        raise Fail("the placed DEF has no met2 X / met1 Y TRACKS")
    body = defparse.section(def_text, "COMPONENTS")
    for name, x, y in re.findall(r"^- (\S+) \S+ \+ (?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", body.group(1) if body else "", re.M):
        gx = (int(x) + round(GRID_X * units) - tx[0]) % tx[2]
        gy = (int(y) + round(GRID_Y * units) - ty[0]) % ty[2]
        if gx or gy:
            raise Fail(f"cell {name} at ({x}, {y}) is off the grid halo_lef assumes")


def script_for(mode: str, head: str, lef_path: Path | None) -> str:
    """The flow's qrouter script with the keep-out of ``mode`` (and the halo LEF in place of the router LEF)."""
    text = route.script(head, "unrouted.def", "routed.def", ["rail_obs.tcl", "track_obs.tcl"])
    if mode == "full":
        return text
    if text.count(KEEPOUT_ON) != 1 or text.count(STAGE3) != 1:
        raise Fail("flow.pnr.route.script changed: the keep-out setting or the stage-3 loop is not where the bench "
                   "edits them")
    text = text.replace(KEEPOUT_ON, KEEPOUT_OFF).replace(STAGE3, f"        {KEEPOUT_ON}\n{STAGE3}")
    if lef_path is not None:
        text, n = re.subn(r"(?m)^read_lef\s+\S+_router\.lef$", f"read_lef {lef_path}", text)
        if n != 1:
            raise Fail("the qrouter head reads no *_router.lef to replace")
    return text


def rule_name(why: str) -> str:
    """magic's rule id in parentheses (``met1.2``), or its whole message."""
    m = re.search(r"\(([^()]+)\)\s*$", why)
    return m.group(1) if m else why


def one_mode(mode: str, t: tech.PnrTech, legal: str, head: str, top: str, root: Path, timeout_s: float) -> str:
    work = root / mode
    work.mkdir(parents=True, exist_ok=True)
    (work / "unrouted.def").write_text(legal)
    (work / "rail_obs.tcl").write_text(defedit.rail_obstructions(legal))
    (work / "track_obs.tcl").write_text(route.offtrack_obstructions(legal))
    lef_path = None
    extra = ""
    if mode == "late-halo":
        check_grid(legal)
        text, n = halo_lef(t.router_lef.read_text())
        lef_path = (work / "router_halo.lef").resolve()
        lef_path.write_text(text)
        extra = f" halo_obs={n}"
    (work / "route.cfg").write_text(script_for(mode, head, lef_path))
    for f in (work / "routed.def", work / "fail.out"):
        f.unlink(missing_ok=True)
    try:
        _wall, cpu = run(["qrouter", "-nog", "-s", "route.cfg"], work, work / "qrouter.log", timeout=timeout_s)
    except ToolTimedOut:
        return f"{mode:10s} qrouter timed out after {timeout_s:.0f} s wall{extra}"
    res = route.parse_log((work / "qrouter.log").read_text(errors="replace"))
    line = f"{mode:10s} failed_nets={res.failed_nets} qrouter_cpu_s={cpu:.0f}{extra}"
    routed = work / "routed.def"
    if res.failed_nets or not routed.is_file():
        return line + " (incomplete: not checked)"
    raw, fixed = work / "raw.gds", work / f"{top}.gds"
    gds.def_to_gds(t, routed, raw, top)
    repair.repair(raw, fixed, routed, patched=repair.patched_metal(routed.read_text()))
    (work / "drc.tcl").write_text(magic.script(t.magic_tech, fixed.resolve(), top, (work / "drc").resolve()))
    run(["magic", "-dnull", "-noconsole", str((work / "drc.tcl").resolve())], work, work / "drc.magic.log", 3600)
    if "DRC_BOXES" not in (work / "drc.magic.log").read_text(errors="replace"):
        raise Fail(f"magic reported no DRC count (log {work / 'drc.magic.log'})")
    boxes = magic.read_drc(work / "drc.drc.txt")
    rules = ", ".join(f"{rule_name(k)} {v}" for k, v in magic.summarise(boxes).items()) or "-"
    return line + f" magic_drc_boxes={len(boxes)} [{rules}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=OUT / "flow", help="flow build root holding the design")
    ap.add_argument("--design", default=None, help="design folder under --root (default parallel_w2a2_n32)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma list of {', '.join(MODES)}")
    ap.add_argument("--timeout-s", type=float, default=7200.0, help="wall-clock limit of one qrouter run (s)")
    args = ap.parse_args()
    try:
        modes = [m for m in args.modes.split(",") if m]
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise Fail(f"unknown mode(s) {', '.join(bad) or '(none)'}; choose from {', '.join(MODES)}")
        try:
            pdk = find_pdk()
        except PdkError as e:
            raise Fail(str(e)) from None
        root = args.root.resolve()
        arch, bits, n, enc = DEFAULT_DESIGN
        design = args.design or f"{arch}_w{bits}a{bits}_n{n}"
        place = root / design / "flow" / "05-place"
        if not (place / "placed.def").is_file():
            if args.design:
                raise Fail(f"no placement at {place} (run the flow on that design with --root {root} first)")
            print(f"[route-keepout] building {design} with the flow under {root} (1-2 min)", flush=True)
            env = {**os.environ, "BITBRANCH_ROUTE_JOBS": "1"}
            subprocess.run([sys.executable, "-m", "flow", "gds", "--arch", arch, "--bits", str(bits), "--n", str(n),
                            "--encoding", enc, "--root", str(root)], cwd=ROOT, env=env, check=False,
                           stdout=subprocess.DEVNULL)
            if not (place / "placed.def").is_file():
                raise Fail(f"the flow left no placement at {place}")
        t = tech.PnrTech(tech.tech_dir(root), pdk)
        for f in (t.router_lef, t.magic_tech):
            if not f.is_file():
                raise Fail(f"derived tech file {f} is missing (run the flow with --root {root} again)")
        legal, head = (place / "placed.def").read_text(), (place / "qrouter_head.cfg").read_text()
        top = re.search(r"^DESIGN (\S+) ;", legal, re.M)
        if not top:
            raise Fail(f"{place / 'placed.def'} names no DESIGN")
        print(f"[route-keepout] {design}: first placement of the flow's recipe, qrouter "
              f"{(place / 'qrouter_head.cfg').name} head", flush=True)
        for mode in modes:
            print(one_mode(mode, t, legal, head, top.group(1), OUT / design, args.timeout_s), flush=True)
    except BitbranchError as e:  # Fail, or a tool that did not run (common.measured.run_measured)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
