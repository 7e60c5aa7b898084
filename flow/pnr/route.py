"""qrouter 1.4.71 detailed routing: the run script, the failed-net count, and DRC boxes -> obstructions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from flow.pnr import defparse

KEEPOUT = "qrouter::drc met1 -0.06 -0.06"
"""The met1 route-to-via keep-out (without it magic finds ~130 met1 boxes on a W2A2 route)."""
KEEPOUT_OFF = "qrouter::drc met1 -0.06 0"
"""The keep-out off, for stage 1 and the stage-2 ladder of a late keep-out route (``script(keepout_late=True)``)."""
ROUTER_SETTINGS = ("via stack 2", KEEPOUT)
"""Keep via stacks at 2 and tighten the met1 route-to-via keep-out."""

MAGIC_LAYER = {"Metal1": "met1", "Metal2": "met2", "Metal3": "met3", "Metal4": "met4"}


@dataclass(frozen=True)
class RouteResult:
    failed_nets: int
    wirelength_um: float | None
    failed_names: tuple[str, ...] = ()  # the nets qrouter lists after "Final: Failed net routes: N", each once


CLEANUP_ROUNDS = 1
"""qrouter's stage-3 clean-up rounds (its ``standard_route`` runs 2). On parallel W2A2 N=32 one round left the same
route quality (0 failed nets, 0 shorts, the same 16 magic boxes, wire length +0.04%) and saved the second round
(about 100 s of a 450 s qrouter run)."""


def route_proc(cleanup_rounds: int = CLEANUP_ROUNDS, before_stage3: str = "") -> str:
    """Tcl proc ``bb_route``: qrouter 1.4.71's ``qrouter::standard_route`` (stage 1, the stage-2 rip-up ladder,
    stage-3 clean-up, write DEF / failed nets / RC) with ``cleanup_rounds`` stage-3 rounds instead of its fixed 2;
    ``before_stage3``: a command run once before the stage-3 rounds (the late keep-out switches itself on there)."""
    if cleanup_rounds < 0:
        raise ValueError(f"cleanup_rounds must be >= 0, not {cleanup_rounds}")
    late = f"        {before_stage3}\n" if before_stage3 else ""
    return f"""proc bb_route {{deffile rcfile}} {{
    set result [stage1]
    if {{$result > 0}} {{
        set msize 10
        while {{$msize <= 100}} {{
            set lastresult $result
            set result [stage2 mask $msize effort 10]
            if {{!$result}} {{break}}
            if {{$result > $lastresult}} {{
                set result [stage2 mask [expr {{$msize + 80}}] effort 20]
                if {{!$result}} {{break}}
                if {{$result < 5}} {{set result [stage2 mask none effort 50]}}
                if {{!$result}} {{break}}
            }}
            incr msize 10
        }}
    }}
    if {{$result > 0}} {{
        set esize 20
        while {{$esize <= 100}} {{
            set result [stage2 mask none effort $esize]
            if {{!$result}} {{break}}
            incr esize 20
        }}
    }}
    if {{$result < 10}} {{
{late}        for {{set k 0}} {{$k < {cleanup_rounds}}} {{incr k}} {{
            puts stdout "*** Running stage3 routing, round [expr {{$k + 1}}] of {cleanup_rounds}"
            set result [stage3]
            set i 0
            while {{$result > 0 && $i < 5}} {{
                set result [stage2 mask none]
                incr i
            }}
        }}
    }}
    cleanup all
    write_def $deffile
    if {{$result > 0}} {{write_failed fail.out}}
    write_delays $rcfile
}}
"""


STAGE_TIMING = """foreach bb_cmd {stage1 stage2 stage3} {
    rename $bb_cmd _bb_$bb_cmd
    proc $bb_cmd {args} [string map [list @CMD@ $bb_cmd] {
        set t0 [clock milliseconds]
        set r [uplevel 1 [linsert $args 0 _bb_@CMD@]]
        puts stdout "bb_stage @CMD@ [expr {[clock milliseconds] - $t0}] ms -> $r : $args"
        flush stdout
        return $r
    }]
}"""
"""Tcl that wraps qrouter's ``stage1``/``stage2``/``stage3`` so each call logs one ``bb_stage`` line (wall ms, failed
nets after it, its options) for ``stage_times``. The wrapped command runs unchanged: on parallel W2A2 N=32 the routed
DEF came out byte-identical with and without it."""

STAGE_LINE = re.compile(r"^bb_stage (stage[123]) (\d+) ms -> (-?\d+) :[ ]?(.*)$", re.M)


@dataclass(frozen=True)
class StageTime:
    """One qrouter stage call from the log: ``stage`` (stage1/2/3), its options, wall seconds, failed nets after."""

    stage: str
    options: str
    seconds: float
    failed: int


def stage_times(log: str) -> list[StageTime]:
    """The ``bb_stage`` lines of a qrouter log written by a ``script`` run, in call order."""
    return [StageTime(m.group(1), m.group(4).strip(), int(m.group(2)) / 1000, int(m.group(3)))
            for m in STAGE_LINE.finditer(log)]


def stage_summary(times: Iterable[StageTime]) -> dict[str, float]:
    """Wall seconds per stage (stage1/stage2/stage3, summed over calls) and the number of stage-2 calls."""
    out = {"stage1_s": 0.0, "stage2_s": 0.0, "stage3_s": 0.0, "stage2_calls": 0}
    for t in times:
        out[f"{t.stage}_s"] = round(out[f"{t.stage}_s"] + t.seconds, 3)
        if t.stage == "stage2":
            out["stage2_calls"] += 1
    return out


ROUTER_LEF = re.compile(r"(?m)^read_lef\s+\S+_router\.lef$")
"""The qflow head's line that reads the derived router LEF (``tech.PnrTech.router_lef``)."""


def script(qflow_cfg: str, unrouted_def: str, routed_def: str, sources: Iterable[str],
           cleanup_rounds: int = CLEANUP_ROUNDS, keepout_late: bool = False, router_lef: str | None = None) -> str:
    """qflow's qrouter script head (LEFs, layers, power nets, edge obstructions) + our settings, sources, the stage
    timing wrappers (``STAGE_TIMING``) and route procedure (``route_proc``).

    ``keepout_late``: the met1 keep-out (``KEEPOUT``) off for stage 1 and the ladder and on from stage 3: qrouter sets
    its route-to-via blockages when it writes a route back (``maze.c`` ``writeback_segment``), so it then acts on the
    clean-up only and every net gets a route, at the price of met1.2 pads the pad edits (``padfix``) take on.
    ``router_lef``: a LEF read in place of the head's router LEF (the halo LEF of ``flow/pnr/halo.py``)."""
    head = []
    for line in qflow_cfg.splitlines():
        if line.startswith("read_def"):
            break
        if line.startswith(("qrouter::drc", "source", "via stack")):
            continue
        head.append(line)
    if router_lef is not None:
        swapped = [ROUTER_LEF.sub(f"read_lef {router_lef}", line) for line in head]
        if sum(a != b for a, b in zip(head, swapped)) != 1:
            raise ValueError("the qrouter head reads no *_router.lef (or more than one) to replace")
        head = swapped
    rc = routed_def.rsplit(".", 1)[0] + ".rc"
    settings = [KEEPOUT_OFF if (keepout_late and s == KEEPOUT) else s for s in ROUTER_SETTINGS]
    tail = [*settings, *(f"source {s}" for s in sources), STAGE_TIMING, f"read_def {unrouted_def}",
            route_proc(cleanup_rounds, KEEPOUT if keepout_late else "").rstrip("\n"),
            f"bb_route {routed_def} {rc}", "quit"]
    return "\n".join(head + tail) + "\n"


def parse_log(log: str) -> RouteResult:
    """Failed nets from qrouter's 'Final:' line (a missing line counts as failure, never as success)."""
    m = re.search(r"Final: (No failed routes|Failed net routes: (\d+))", log)
    if not m:
        failed = 1_000_000
    else:
        failed = 0 if m.group(1).startswith("No") else int(m.group(2))
    names: list[str] = []
    lst = re.search(r"Final: Failed net routes: \d+\s*\nList of failed nets follows:\n((?:[ \t]+\S+[^\n]*\n?)*)", log)
    if lst:  # one line per failed route: a net that failed twice is listed twice, and named once here
        names = list(dict.fromkeys(line.strip() for line in lst.group(1).splitlines() if line.strip()))
    return RouteResult(failed, None, tuple(names))


def def_wirelength_um(def_text: str) -> float:
    """Total routed wire length (um) of the regular NETS section: sum of segment lengths between points."""
    units = defparse.def_units(def_text)
    nets = defparse.section(def_text, "NETS")
    total = 0
    if not nets:
        return 0.0
    for seg in re.finditer(r"(?:ROUTED|NEW) \S+ ((?:\( [-\d*]+ [-\d*]+(?: [-\d]+)? \) ?)+)", nets.group(1)):
        pts = re.findall(r"\( ([-\d*]+) ([-\d*]+)", seg.group(1))
        px = py = None
        for xs, ys in pts:
            x = px if xs == "*" else int(xs)
            y = py if ys == "*" else int(ys)
            if px is not None:
                total += abs(x - px) + abs(y - py)
            px, py = x, y
    return round(total / units, 3)


def spacing_boxes(drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]]
                  ) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(qrouter layer, box um) of every magic metal spacing box (met1..met4), in order: the boxes a re-route or an
    edit of the route can act on."""
    return [(MAGIC_LAYER[m.group(1)], box) for why, box in drc_boxes
            if (m := re.match(r"(Metal\d)", why)) and m.group(1) in MAGIC_LAYER and "spacing" in why]


def drc_obstructions(drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]], grow_um: float = 0.02,
                     skip_met1: bool = False) -> list[str]:
    """Each remaining metal spacing box (um) becomes a small qrouter obstruction on its layer (touching merged)."""
    by_layer: dict[str, list[list[float]]] = {}
    for layer, (x1, y1, x2, y2) in spacing_boxes(drc_boxes):
        if skip_met1 and layer == "met1":
            continue
        by_layer.setdefault(layer, []).append([x1, y1, x2, y2])
    out = []
    for layer, boxes in sorted(by_layer.items()):
        merged = True
        while merged:
            merged = False
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    a, b = boxes[i], boxes[j]
                    if a[0] <= b[2] + 0.01 and b[0] <= a[2] + 0.01 and a[1] <= b[3] + 0.01 and b[1] <= a[3] + 0.01:
                        boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                        del boxes[j]
                        merged = True
                        break
                if merged:
                    break
        out += [f"obstruction {x1 - grow_um:.3f} {y1 - grow_um:.3f} {x2 + grow_um:.3f} {y2 + grow_um:.3f} {layer}"
                for x1, y1, x2, y2 in sorted(boxes)]
    return out


def via_sites(def_text: str, prefix: str) -> list[tuple[float, float]]:
    """(x, y) um of every via of the DEF's NETS section whose name starts with ``prefix`` (qrouter writes a via after
    the last point of its segment), in file order."""
    units = defparse.def_units(def_text)
    nets = defparse.section(def_text, "NETS")
    out = []
    for seg in re.finditer(r"(?:ROUTED|NEW) \S+ ((?:\( [-\d*]+ [-\d*]+(?: [-\d]+)? \) ?)+)(\S+)?",
                           nets.group(1) if nets else ""):
        if not (seg.group(2) or "").startswith(prefix):
            continue
        px = py = None
        for xs, ys in re.findall(r"\( ([-\d*]+) ([-\d*]+)", seg.group(1)):
            px, py = (px if xs == "*" else int(xs)), (py if ys == "*" else int(ys))
        out.append((px / units, py / units))
    return out


def via_site_obstructions(def_text: str, drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]],
                          reach_um: float = 0.17, half_um: float = 0.01, spare_taps: bool = False) -> list[str]:
    """Point obstructions on met1 for the pin-access retry, which obstructs no met1 box: for every M1M2 via of the
    routed DEF whose met1 pad (at most 0.16 um from its centre) reaches a magic met1 spacing box, its grid point and
    the one a met1 row (the DEF's met1 ``TRACKS Y`` step) further from the box.

    qrouter 1.4.71 reserves the neighbours of a via on its upper layer only (``writeback_segment``), so an M1M2 via's
    met1 pad may land one row (0.34 um) from another net's L1M1 pin tap, 0.095 um apart (met1.2 at a ``nand2_1`` A
    pin on parallel_twos_w1a1_n32 and baseline_twos_w1a1_n32). A box obstruction there also covers the pin's only tap
    and cuts its net off. The second point: qrouter may write a via one row off the grid point it routed it on (on
    parallel_twos_w1a1_n32 the via at y 17.68 on an I/O pin's row, its met2 from 17.34, see "Same-net gaps at edge
    pins"); an obstruction on the written point alone left that route unchanged, the two points moved the via.

    ``spare_taps``: no point where the DEF has an L1M1 via (a pin tap): an M1M2 via stacked on its own net's tap
    is that pin's access, and a point there cut the net off (parallel_twos_w1a1_n32, keep-out late: the re-route
    left ``u_branch_0_0.wp[30]`` unrouted, its via at (21.16, 61.54) sat on its tap). The late keep-out's re-routes
    use it; the pin-access retry of the full keep-out keeps the points it had."""
    units = defparse.def_units(def_text)
    pitch = re.search(r"^TRACKS Y \S+ DO \d+ STEP ([\d.]+) LAYER met1 ;", def_text, re.M)
    row = float(pitch.group(1)) / units if pitch else 0.34
    boxes = [b for layer, b in spacing_boxes(drc_boxes) if layer == "met1"]
    out: list[str] = []
    taps = {(round(x, 3), round(y, 3)) for x, y in via_sites(def_text, "L1M1")} if spare_taps else set()
    for x, y in dict.fromkeys(via_sites(def_text, "M1M2")):
        near = [b for b in boxes if max(b[0] - x, x - b[2]) <= reach_um and max(b[1] - y, y - b[3]) <= reach_um]
        if not near:
            continue
        away = -row if sum((b[1] + b[3]) / 2 - y for b in near) > 0 else row
        for py in (y, y + away):
            if (round(x, 3), round(py, 3)) in taps:
                continue
            line = f"obstruction {x - half_um:.3f} {py - half_um:.3f} {x + half_um:.3f} {py + half_um:.3f} met1"
            if line not in out:
                out.append(line)
    return out


def tap_site_obstructions(def_text: str, drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]],
                          reach_um: float = 0.17, half_um: float = 0.01) -> list[str]:
    """Point obstructions on met1 at the pin taps (L1M1 vias) beside a magic met1 spacing box, a via stacked on the tap
    or not: the next route has to reach that pin at another of its grid points. The caller keeps each pin's last free
    point (``halo.spare_access``): an obstruction there cuts the net off.

    For what ``via_site_obstructions(spare_taps=True)`` leaves alone: two taps of different nets a row apart in one
    column (mcon.2 and met1.2; the pad edits cannot move either, both sit on their pins). On baseline_w4a4_n32 (keep-out
    late, one re-route) the only site left: ``_2526_``'s tap at (31.28, 129.20) under ``_2527_``'s tap and via at
    (31.28, 129.54); on parallel_w3a3_n32 ``xor2_1``'s A tap (its pin's only point) under its B tap, which carries B's
    via up (B has three more points)."""
    boxes = [b for layer, b in spacing_boxes(drc_boxes) if layer == "met1"]
    out: list[str] = []
    for x, y in dict.fromkeys(via_sites(def_text, "L1M1")):
        if any(max(b[0] - x, x - b[2]) <= reach_um and max(b[1] - y, y - b[3]) <= reach_um for b in boxes):
            out.append(f"obstruction {x - half_um:.3f} {y - half_um:.3f} {x + half_um:.3f} {y + half_um:.3f} met1")
    return out


OFFTRACK_LAYERS = ("met3",)
"""Layers whose off-track rows ``offtrack_obstructions`` blocks. qrouter 1.4.71 routes met3 (LEF pitch 0.68) on the
0.34 met1 grid and blocks only the grid points off-track in both x and y (``create_obstructions_from_variable_pitch``),
so via2/via3 pads can land on an off-track row; a pad there sits 0.34 (one grid row) and 0.46 (one column) from
another net's on-track pad or wire end, diagonally, which qrouter never checks (it blocks only the four orthogonal
neighbours of a via): 0.01-0.15 um apart where met3.2 wants 0.3. On parallel W3A3 N=32 (be2 sweep) every met3.2
marker pair had a via on an off-track row, and the stacked via2+via3 islands there were the met3.6 (min-area) markers
the repair could not extend."""


def tracks_of(def_text: str, axis: str) -> dict[str, tuple[int, int, int]]:
    """{layer: (start, count, step)} in DEF units of the DEF's ``TRACKS`` lines of ``axis`` (X or Y)."""
    return {lay: (int(float(a)), int(n), int(float(st))) for a, n, st, lay in
            re.findall(rf"^TRACKS {axis} (-?[\d.]+) DO (\d+) STEP ([\d.]+) LAYER (\S+) ;", def_text, re.M)}


def routing_grid(def_text: str, axis: str, tracks: dict[str, tuple[int, int, int]] | None = None
                 ) -> tuple[int, int, int] | None:
    """(start, count, step) of the finest ``TRACKS`` of ``axis``: qrouter routes every layer on that grid.
    ``tracks``: ``tracks_of(def_text, axis)`` when the caller has it already."""
    tracks = tracks_of(def_text, axis) if tracks is None else tracks
    return min(tracks.values(), key=lambda t: t[2]) if tracks else None


def offtrack_obstructions(def_text: str, layers: Iterable[str] = OFFTRACK_LAYERS, half_um: float = 0.01) -> str:
    """qrouter ``obstruction`` lines, one thin stripe across the die on every row of the routing grid (the finest
    horizontal ``TRACKS Y``) that is not a ``TRACKS Y`` track of ``layer``: no wire or via of that layer on those
    rows. qrouter grows a user obstruction by half the route width only (0.15 on met3), so a stripe +-``half_um``
    on a row blocks that row and leaves the rows 0.34 above and below free."""
    units = defparse.def_units(def_text)
    x1, _y1, x2, _y2 = (int(v) for v in re.search(r"DIEAREA \( (-?\d+) (-?\d+) \) \( (-?\d+) (-?\d+) \)",
                                                    def_text).groups())
    tracks = tracks_of(def_text, "Y")
    if not tracks:
        return ""
    g0, gn, gstep = routing_grid(def_text, "Y", tracks)
    rows = [g0 + k * gstep for k in range(gn)]
    out = []
    for layer in layers:
        if layer not in tracks:
            continue
        t0, _tn, tstep = tracks[layer]
        out += [f"obstruction {x1 / units - 0.5:.3f} {y / units - half_um:.3f} {x2 / units + 0.5:.3f} "
                f"{y / units + half_um:.3f} {layer}" for y in rows if round(y - t0) % round(tstep)]
    return "\n".join(out) + ("\n" if out else "")


SNAP_MAX_UM = 0.1
"""Largest off-grid offset of a via that ``snap_offset_vias`` moves back (qrouter's offsets seen: 0.045-0.095 um)."""
SNAP_REACH_UM = 0.25
"""A via is snapped when a spacing box on one of its metals lies this close to its centre (its pad's half size and
a little more)."""


def via_metals(def_text: str) -> dict[str, set[str]]:
    """The metal layers (met1..met5) of every via of the DEF's VIAS section."""
    return {name: {lay for lay, _rect in rects if lay.startswith("met")} for name, rects in defparse.vias(def_text).items()}


_SEGMENT = re.compile(r"^(\s*(?:\+ ROUTED|NEW) \S+(?: \d+)? )((?:\( [-\d*]+ [-\d*]+(?: -?\d+)? \) ?)+)(\S+)(\s*)$")


def snap_offset_vias(def_text: str, drc_boxes: Iterable[tuple[str, tuple[float, float, float, float]]],
                     reach_um: float = SNAP_REACH_UM, max_um: float = SNAP_MAX_UM) -> tuple[str, list[tuple[str, float, float]]]:
    """Move back onto the routing grid every via of the NETS section that qrouter wrote off it (by at most
    ``max_um``) and whose centre lies within ``reach_um`` of a magic spacing box on one of its metals; returns the
    new DEF and (via, x, y um) of each via moved. L1M1 vias are left alone (they land on cell pins, off the grid by
    design; the GDS repair nudges their pads).

    qrouter 1.4.71 offsets a via at a pin's tap point towards the pin, and the whole via stack there with it; the
    offset pad may then sit closer to another net's via than the spacing rule: on serial_twos_w4a4_n32 an M2M3 via
    0.095 um off its met2 track, 0.095 um from another net's M1M2 pad (met2.2), and one 0.055 um off its met3 track,
    0.295 um from another net's met3 (met3.2); the feedback re-routes (obstructions) left both. The segment that ends
    in the via gets one or two points more, so its wire still reaches the old position; on the via's other layer the
    moved pad still covers the old position (offsets up to 0.1 um, pads 0.26 um and up). Whether a move helps is for
    the DRC run on the result to say: the route stage keeps it only when it ranks better.
    """
    gx, gy = routing_grid(def_text, "X"), routing_grid(def_text, "Y")
    nets = defparse.section(def_text, "NETS")
    if gx is None or gy is None or nets is None:
        return def_text, []
    units = defparse.def_units(def_text)
    metals = via_metals(def_text)
    boxes = spacing_boxes(drc_boxes)
    limit = int(round(max_um * units))

    def nearest(v: int, grid: tuple[int, int, int]) -> int:
        start, _n, step = grid
        return start + round((v - start) / step) * step

    moved: list[tuple[str, float, float]] = []
    lines = nets.group(1).split("\n")
    for i, line in enumerate(lines):
        m = _SEGMENT.match(line)
        if not m or m.group(3) not in metals or m.group(3).startswith("L1M1"):
            continue
        x = y = None
        for xs, ys in re.findall(r"\( ([-\d*]+) ([-\d*]+)", m.group(2)):
            x, y = (x if xs == "*" else int(xs)), (y if ys == "*" else int(ys))
        if x is None or y is None:
            continue
        nx, ny = nearest(x, gx), nearest(y, gy)
        if (nx, ny) == (x, y) or abs(nx - x) > limit or abs(ny - y) > limit:
            continue
        ux, uy = x / units, y / units
        if not any(lay in metals[m.group(3)] and max(b[0] - ux, ux - b[2], b[1] - uy, uy - b[3]) <= reach_um
                   for lay, b in boxes):
            continue
        extra = (f"( {nx} * ) " if nx != x else "") + (f"( * {ny} ) " if ny != y else "")
        pts = m.group(2) if m.group(2).endswith(" ") else m.group(2) + " "
        lines[i] = f"{m.group(1)}{pts}{extra}{m.group(3)}{m.group(4)}"
        moved.append((m.group(3), nx / units, ny / units))
    if not moved:
        return def_text, []
    return def_text[:nets.start(1)] + "\n".join(lines) + def_text[nets.end(1):], moved


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
