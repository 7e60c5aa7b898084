"""When qrouter applies the met1 route-to-via keep-out, and what each choice costs (#17).

Usage: python bench/route_keepout.py [--root DIR] [--design NAME] [--modes full,late,late-halo] [--timeout-s S]
                                    [--feedback K]

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
(boxes by rule); for ``late`` and ``late-halo`` then the pad edits of ``flow.pnr.padfix`` at those boxes (rotated taps
turned flat, M1M2 vias and taps moved off their row by what the spacing lacks) and magic DRC again; while boxes remain,
up to ``--feedback`` re-routes (default 1) with a point obstruction at each M1M2 via beside them, each followed by the
pad edits; KLayout DRC and the flow's LVS of the last edited layout. qrouter sets its route-to-via blockages when it
writes a route back, so a keep-out switched on late does not act on the routes already made (``maze.c``
``writeback_segment``): ``late`` trades failed nets for met1.2 boxes. Writes under build/bench-route-keepout/.
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
from flow.pnr import defedit, gds, halo, klayout_drc, lvs, magic, netcheck, padfix, repair, route, tech  # noqa: E402

OUT = ROOT / "build" / "bench-route-keepout"
DEFAULT_DESIGN = ("parallel", 2, 32, "pm1")
MODES = ("full", "late", "late-halo")


class Fail(BitbranchError):
    """A step that cannot go on: printed as one ``error:`` line."""


def script_for(mode: str, head: str, lef_path: Path | None, extra_sources: tuple[str, ...] = ()) -> str:
    """The flow's qrouter script (``route.script``) with the keep-out of ``mode`` (and the halo LEF in place of the
    router LEF)."""
    try:
        return route.script(head, "unrouted.def", "routed.def", ["rail_obs.tcl", "track_obs.tcl", *extra_sources],
                            keepout_late=mode != "full", router_lef=None if lef_path is None else str(lef_path))
    except ValueError as e:
        raise Fail(str(e)) from None


def rule_name(why: str) -> str:
    """magic's rule id in parentheses (``met1.2``), or its whole message."""
    m = re.search(r"\(([^()]+)\)\s*$", why)
    return m.group(1) if m else why


def one_mode(mode: str, t: tech.PnrTech, deck: Path, legal: str, head: str, top: str, root: Path,
             timeout_s: float, feedback: int = 1) -> str:
    """Route ``legal`` in ``mode``; for ``late``/``late-halo`` then the pad edits and, while boxes remain, up to
    ``feedback`` re-routes with point obstructions at the M1M2 vias beside them (``route.via_site_obstructions``, as
    the flow's pin-access retry places them) and the route's shorts (``netcheck``, as the flow's feedback obstructs
    them), each followed by the pad edits again. One line per route."""
    work = root / mode
    lef_path = None
    extra = ""
    if mode == "late-halo":
        try:
            halo.check_grid(legal)
        except halo.OffGrid as e:
            raise Fail(str(e)) from None
        text, n = halo.halo_lef(t.router_lef.read_text())
        work.mkdir(parents=True, exist_ok=True)
        lef_path = (work / "router_halo.lef").resolve()
        lef_path.write_text(text)
        extra = f" halo_obs={n}"
    lines: list[str] = []
    obs: list[str] = []
    pins = halo.net_pin_shapes(legal, t.router_lef.read_text())
    for k in range(1 + (feedback if mode != "full" else 0)):
        rnd = work if k == 0 else work / f"feedback{k}"
        rnd.mkdir(parents=True, exist_ok=True)
        (rnd / "unrouted.def").write_text(legal)
        (rnd / "rail_obs.tcl").write_text(defedit.rail_obstructions(legal))
        (rnd / "track_obs.tcl").write_text(route.offtrack_obstructions(legal))
        (rnd / "feedback_obs.tcl").write_text("".join(f"{o}\n" for o in obs))
        (rnd / "route.cfg").write_text(script_for(mode, head, lef_path, ("feedback_obs.tcl",)))
        for f in (rnd / "routed.def", rnd / "fail.out"):
            f.unlink(missing_ok=True)
        head_txt = f"{mode:10s}" if k == 0 else f"{'':10s} feedback {k} ({len(obs)} point obstructions):"
        try:
            _wall, cpu = run(["qrouter", "-nog", "-s", "route.cfg"], rnd, rnd / "qrouter.log", timeout=timeout_s)
        except ToolTimedOut:
            lines.append(f"{head_txt} qrouter timed out after {timeout_s:.0f} s wall{extra}")
            break
        res = route.parse_log((rnd / "qrouter.log").read_text(errors="replace"))
        line = f"{head_txt} failed_nets={res.failed_nets} qrouter_cpu_s={cpu:.0f}{extra if k == 0 else ''}"
        routed = rnd / "routed.def"
        if res.failed_nets or not routed.is_file():
            lines.append(line + " (incomplete: not checked)")
            break
        boxes, shorts = check_layout(t, rnd, top)
        line += f" shorts={len(shorts)} magic_drc_boxes={len(boxes)} [{drc_rules(boxes)}]"
        if mode == "full":
            lines.append(line)
            break
        text = routed.read_text()
        fixed_def, fx = padfix.fix_pads(text, boxes, pins=pins)
        fix = rnd / "padfix"
        fix.mkdir(exist_ok=True)
        (fix / "routed.def").write_text(fixed_def)
        left, _shorts = check_layout(t, fix, top)
        line += (f"; padfix ({fx.unrotated_stacked} stacked and {fx.unrotated_boxed} boxed taps unrotated, {fx.moved} "
                 f"vias and {fx.taps_moved} taps moved, {fx.taps_kept} kept on their pins): magic_drc_boxes={len(left)} [{drc_rules(left)}]")
        if not (left or shorts) or k == feedback:
            lines.append(line + f" klayout={klayout_check(deck, fix, top)} lvs={lvs_check(t, fix, top)}")
            break
        lines.append(line)
        more = [o for o in netcheck.obstructions(shorts) + route.via_site_obstructions(text, left, spare_taps=True)
                if o not in obs]
        if not more:
            lines.append(f"{'':10s} no short and no M1M2 via beside the boxes left: no feedback re-route")
            break
        obs += more
    return "\n".join(lines)


def klayout_check(deck: Path, work: Path, top: str) -> str:
    """The flow's second DRC deck (``flow.pnr.klayout_drc``) on ``work/<top>.gds``: its item count and rules."""
    why = klayout_drc.why_unusable(deck)
    if why:
        return f"not-run ({why})"
    rpt = work / "drc.lyrdb"
    run(klayout_drc.argv(deck, (work / f"{top}.gds").resolve(), top, rpt.resolve(), 2), work, work / "klayout.log", 3600)
    counts = klayout_drc.parse_report(rpt.read_text(errors="replace"))
    return f"{sum(counts.values())}" + (f" [{', '.join(f'{k} {v}' for k, v in counts.items())}]" if counts else "")


def drc_rules(boxes: list[tuple[str, tuple[float, float, float, float]]]) -> str:
    """``rule count, ...`` of magic boxes, or ``-``."""
    return ", ".join(f"{rule_name(k)} {v}" for k, v in magic.summarise(boxes).items()) or "-"


def check_layout(t: tech.PnrTech, work: Path, top: str) -> tuple[list[tuple[str, tuple[float, float, float, float]]],
                                                                  list[tuple[str, netcheck.Box]]]:
    """The flow's GDS and repair of ``work/routed.def``, then magic DRC, and the DEF's different-net shorts
    (``netcheck``, with the patches the repair built once); returns (boxes, shorts)."""
    routed = work / "routed.def"
    raw, fixed = work / "raw.gds", work / f"{top}.gds"
    text = routed.read_text()
    patched = repair.patched_metal(text)
    gds.def_to_gds(t, routed, raw, top)
    repair.repair(raw, fixed, routed, patched=patched)
    (work / "drc.tcl").write_text(magic.script(t.magic_tech, fixed.resolve(), top, (work / "drc").resolve()))
    run(["magic", "-dnull", "-noconsole", str((work / "drc.tcl").resolve())], work, work / "drc.magic.log", 3600)
    if "DRC_BOXES" not in (work / "drc.magic.log").read_text(errors="replace"):
        raise Fail(f"magic reported no DRC count (log {work / 'drc.magic.log'})")
    return magic.read_drc(work / "drc.drc.txt"), netcheck.shorts(text, patched[1])


def lvs_check(t: tech.PnrTech, work: Path, top: str) -> str:
    """The flow's LVS (magic extraction, netgen against the routed DEF's connectivity) of ``work/<top>.gds``:
    ``match`` or the number of errors."""
    (work / "extract.tcl").write_text(magic.extract_script(t.magic_tech, (work / f"{top}.gds").resolve(), top,
                                                           (work / "extract").resolve()))
    run(["magic", "-dnull", "-noconsole", str((work / "extract.tcl").resolve())], work, work / "extract.log", 3600)
    src, _unconnected = lvs.source_spice((work / "routed.def").read_text(), t.lvs_spice, top)
    (work / "source.spice").write_text(src)
    run(["netgen-lvs", "-batch", "lvs", f"extract.spice {top}", f"source.spice {top}", str(t.netgen_setup),
         "lvs.rpt"], work, work / "netgen.log", 3600)
    rpt = work / "lvs.rpt"
    res = lvs.parse_result((work / "netgen.log").read_text(errors="replace"),
                           rpt.read_text(errors="replace") if rpt.is_file() else "")
    return "match" if res.match and not res.errors else f"{res.errors}_errors"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=OUT / "flow", help="flow build root holding the design")
    ap.add_argument("--design", default=None, help="design folder under --root (default parallel_w2a2_n32)")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma list of {', '.join(MODES)}")
    ap.add_argument("--timeout-s", type=float, default=7200.0, help="wall-clock limit of one qrouter run (s)")
    ap.add_argument("--feedback", type=int, default=1,
                    help="late modes: re-routes with obstructions at the boxes the pad edits leave (default 1)")
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
            print(one_mode(mode, t, pdk.klayout_drc_deck, legal, head, top.group(1), OUT / design, args.timeout_s,
                           max(0, args.feedback)), flush=True)
    except BitbranchError as e:  # Fail, or a tool that did not run (common.measured.run_measured)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
