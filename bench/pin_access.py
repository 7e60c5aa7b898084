"""Pin-access test: can qrouter, with the flow's real settings, reach every signal pin of some cells? (#16 item 2)

Usage: python bench/pin_access.py [CELL ...]   (default: fa_1 ha_1 dfxtp_1 dfxtp_4; names without the library prefix)
Each cell is placed once in every row orientation the flow's placements use (N and FN in even rows, FS and S in odd
rows), on the flow's site and track grid, with one sky130_fd_sc_hd__diode_2 per signal pin beside it; every pin is
wired to its diode. qrouter 1.4 routes that DEF with the flow's router LEF (flow/pnr/tech.py: landings included),
li1 blocked and the flow's settings (flow.pnr.route.ROUTER_SETTINGS). A (cell, pin, orientation) fails when qrouter
says its node "has no taps" or its net stays unrouted. Prints one line per cell; writes under build/bench-pin-access/.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.tools import tool_version  # noqa: E402
from flow.pdk import find_pdk  # noqa: E402
from flow.pnr import tech  # noqa: E402
from flow.pnr.route import ROUTER_SETTINGS, parse_log  # noqa: E402

OUT = ROOT / "build" / "bench-pin-access"
LIB = "sky130_fd_sc_hd__"
U = 200  # DEF units per um
SITE, ROW_H, PITCH_Y = 0.46, 2.72, 0.34
DIODE, DIODE_W = f"{LIB}diode_2", 0.92
ORIENTS = (("N", "FN"), ("FS", "S"))  # even rows, odd rows (qflow flips alternate rows)
DEFAULT_CELLS = ("fa_1", "ha_1", "dfxtp_1", "dfxtp_4")


def macros(lef: str) -> dict[str, tuple[float, list[str]]]:
    """Width and signal pins (no power, ground) of every macro of a LEF."""
    out = {}
    for m in re.finditer(r"^MACRO (\S+)\n(.*?)^END \1", lef, re.M | re.S):
        width = float(re.search(r"SIZE\s+([\d.]+)\s+BY", m[2])[1])
        pins = [p[1] for p in re.finditer(r"^  PIN (\S+)\n(.*?)^  END \1", m[2], re.M | re.S)
                if not re.search(r"USE (POWER|GROUND)", p[2])]
        out[m[1]] = (width, pins)
    return out


def test_def(cells: list[str], info: dict[str, tuple[float, list[str]]]) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """The DEF (one row pair per cell, one instance per orientation) and net name -> (cell, pin, orientation)."""
    comps, nets, owner = [], [], {}
    width = 0.0
    for r2, cell in enumerate(cells):
        w, pins = info[cell]
        for half, orients in enumerate(ORIENTS):
            row = 2 * r2 + half
            x = SITE / 2
            for o in orients:
                inst = f"{cell[len(LIB):]}_{o}"
                comps.append(f"- {inst} {cell} + PLACED ( {round(x * U)} {round((PITCH_Y / 2 + ROW_H * row) * U)} ) {o} ;")
                x += w + 2 * SITE
                for k, pin in enumerate(pins):
                    d = f"{inst}_d{k}"
                    comps.append(f"- {d} {DIODE} + PLACED ( {round(x * U)} {round((PITCH_Y / 2 + ROW_H * row) * U)} ) {o[-1] == 'S' and 'FS' or 'N'} ;")
                    x += DIODE_W + SITE
                    net = f"n_{inst}_{pin}"
                    # one pin per line: with both on the net's line qrouter 1.4.71 routes but writes no routes
                    # ("emit_routes(): Net ... cannot be found")
                    nets.append(f"- {net}\n  ( {inst} {pin} )\n  ( {d} DIODE ) ;")
                    owner[net] = (cell, pin, o)
                x += 2 * SITE
            width = max(width, x)
    die_w = (int(width / SITE) + 2) * SITE
    die_h = 2 * len(cells) * ROW_H + PITCH_Y
    text = "\n".join([
        "VERSION 5.6 ;", 'DIVIDERCHAR "/" ;', 'BUSBITCHARS "<>" ;', "DESIGN pin_access ;", f"UNITS DISTANCE MICRONS {U} ;",
        f"DIEAREA ( 0 0 ) ( {round(die_w * U)} {round(die_h * U)} ) ;",
        f"TRACKS X 0 DO {int(die_w / SITE) + 1} STEP {round(SITE * U)} LAYER li1 ;",
        f"TRACKS Y 0 DO {int(die_h / PITCH_Y) + 1} STEP {round(PITCH_Y * U)} LAYER met1 ;",
        f"TRACKS X 0 DO {int(die_w / SITE) + 1} STEP {round(SITE * U)} LAYER met2 ;",
        f"TRACKS Y 0 DO {int(die_h / (2 * PITCH_Y)) + 1} STEP {round(2 * PITCH_Y * U)} LAYER met3 ;",
        f"TRACKS X 0 DO {int(die_w / (2 * SITE)) + 1} STEP {round(2 * SITE * U)} LAYER met4 ;",
        f"COMPONENTS {len(comps)} ;", *comps, "END COMPONENTS",
        f"NETS {len(nets)} ;", *nets, "END NETS", "END DESIGN", "",
    ])
    return text, owner


def pin_access(names: list[str], out: Path = OUT) -> tuple[dict[str, list[str]], int]:
    """Route the test DEF of ``names``; returns each cell's failed "pin@orientation" list and qrouter's failed nets."""
    pdk = find_pdk()
    out.mkdir(parents=True, exist_ok=True)
    lef = out / "router.lef"
    lef.write_text(tech.router_lef_text(pdk))
    info = macros(lef.read_text())
    cells = [n if n.startswith(LIB) else LIB + n for n in names]
    unknown = [c for c in cells if c not in info]
    if unknown:
        raise SystemExit(f"error: not in the cell LEF: {', '.join(unknown)}")
    text, owner = test_def(cells, info)
    (out / "pin_access.def").write_text(text)
    die = re.search(r"DIEAREA \( 0 0 \) \( (\d+) (\d+) \)", text)
    w, h = int(die[1]) / U, int(die[2]) / U
    cfg = "\n".join([f"read_lef {pdk.techlef}", f"read_lef {lef}", "catch {layers 5}", "vdd VPWR,VPB", "gnd VGND,VNB",
                     f"obstruction 0 0 {w} {h} li1", *ROUTER_SETTINGS, "read_def pin_access.def",
                     "qrouter::standard_route routed.def false", "quit", ""])
    (out / "route.cfg").write_text(cfg)
    run = subprocess.run(["qrouter", "-nog", "-s", "route.cfg"], cwd=out, capture_output=True, text=True, timeout=600)
    log = run.stdout + run.stderr
    (out / "qrouter.log").write_text(log)
    failed: set[tuple[str, str, str]] = set()
    for m in re.finditer(r"Node (\S+)/(\S+) of net \"?(\S+?)\"? has no taps", log):
        if m[3] in owner and not re.search(r"_d\d+$", m[1]):  # a cell's pin, not its diode's
            failed.add(owner[m[3]])
    result = parse_log(log)
    failed |= {owner[n] for n in result.failed_names if n in owner}
    return {c[len(LIB):]: sorted(f"{pin}@{o}" for cc, pin, o in failed if cc == c) for c in cells}, result.failed_nets


def main() -> int:
    names = sys.argv[1:] or list(DEFAULT_CELLS)
    fails, failed_nets = pin_access(names)
    print(f"pin access, {tool_version('qrouter')}, flow router LEF + settings ({'; '.join(ROUTER_SETTINGS)}), "
          f"li1 blocked; orientations N FN FS S; failed nets {failed_nets}")
    info = macros(tech.router_lef_text(find_pdk()))
    for cell, bad in fails.items():
        print(f"  {cell:10} {len(info[LIB + cell][1])} pins x 4: " + (f"FAIL {', '.join(bad)}" if bad else "ok"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
