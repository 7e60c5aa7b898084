"""Harden once, tile K times: can a routed block be reused as a LEF macro and the top still be DRC and LVS clean?

Usage: python bench/macro_tile.py [--copies K [K ...]] [--root DIR] [--block-root DIR]

What it measures, for each K (default 2): qrouter's failed nets and CPU seconds on a top level that holds K copies of
the routed block parallel_w1a1_n32 plus a few glue cells, the magic DRC boxes of the top GDS (by rule) and the netgen
LVS result, as one summary line.

How:
1. The block comes from the project's own flow (``python -m flow gds --arch parallel --bits 1 --n 32``, built under
   ``<block-root>`` when its routed DEF is not there yet): routed DEF, GDS (magic DRC 0, LVS match).
2. Abstract (klayout, from the block GDS): the macro outline is the die grown to hold every metal shape of the block
   (qrouter's pin jogs and a few routes leave the die by up to 1.1 um), snapped to the met4 x met3 pitch. Within 1 um
   of the die edge and out to the outline (the edge band) each metal's real geometry is written: the polygon under a
   pin's label, clipped to the band, is its PORT, everything else is OBS; inside the band one OBS rectangle per layer
   (li1..met4) covers the block. The top router thus keeps its spacing to the block's real metal at the edges and
   never routes over the block.
3. Top DEF, written here: K blocks FIXED side by side (origins on the met4 x met3 grid, so the block pins are on the
   top's tracks), 20.24 um channels, one row of glue cells below them (and2_1: in_valid gated by en[k] per copy,
   in_ready and out_valid AND-ed over the copies), the rest of that row fill and well taps. Shared inputs (clk,
   rst_n, out_ready, w[*]) go to every copy; a[*] and y[*] are per copy (c<k>_a[i], c<k>_y[i]). Top pins sit on the
   north and south die edges on met2. Power: each block's met4 VPWR/VGND stripe continues down to the glue row (DEF
   SPECIALNETS) and drops onto that row's rail with the block's own via stack (M1M2/M2M3/M3M4_PR_post); the row's
   rails, continuous through fill cells, join the copies.
4. qrouter 1.4 with the flow's settings (flow.pnr.route: ``via stack 2``, ``qrouter::drc met1 -0.06 -0.06``, li1
   blocked over the whole die, off-track met3 rows blocked), one pin per line in NETS.
5. GDS: klayout writes the top routing and glue cells from the DEF without the blocks (flow.pnr.gds), the block GDS
   goes in as a subcell at the offset its outline implies (klayout's DEF reader ignores a LEF ORIGIN), then the flow's
   LVS-neutral repair (flow.pnr.repair) on top-level shapes, with the block ports counted as metal of the top nets
   they join: its same-net gap fill then closes a route qrouter ended short of a macro port without writing a stub
   (K=2: an M1M2 via 0.10 um from a clk port; 4 met2.2 boxes and a split clk net in LVS without it).
6. magic full DRC of the top (boxes in the top cell: interactions of block, routing and glue; the block alone is
   DRC-clean), the KLayout sky130 deck on the whole top GDS (flow.pnr.klayout_drc: feol, beol, offgrid; skipped with
   the reason printed when the deck or Debian's klayout is missing), magic extraction with ``port makeall`` in the block cell too, netgen LVS against a hierarchical source:
   the block's own source netlist (flow.pnr.lvs) as a subcircuit, instantiated K times, plus the glue cells.

Writes everything under build/bench-macro-tile/ (or --root): block-build/ (the flow's build of the block, unless
--block-root names one), block/ (the macro LEF), k<K>/ (DEFs, qrouter script and log, GDS, DRC boxes, LVS files).
Deterministic: two runs from two separate block builds gave byte-identical LEF, routed DEFs and GDS.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.errors import BitbranchError  # noqa: E402
from common.measured import run_measured as run  # noqa: E402
from flow.netlist import parse_netlist  # noqa: E402
from flow.pdk import PdkError, find_pdk  # noqa: E402
from flow.pnr import defedit, defparse, gds, klayout_drc, lvs, magic, repair, route, tech  # noqa: E402

OUT = ROOT / "build" / "bench-macro-tile"
ARCH, BITS, N = "parallel", 1, 32
BLOCK = f"bb_{ARCH}_w{BITS}a{BITS}_n{N}"
LIB = "sky130_fd_sc_hd__"
U = 200  # DEF units per um
NM = 1000  # GDS database units per um
SITE, ROW_H = 0.46, 2.72
GX, GY = 0.92, 0.68  # met4 x pitch, met3 y pitch: block origins on this grid keep every layer's tracks aligned
BAND_UM = 1.0  # edge band of the abstract: real geometry from this far inside the die out to the outline
CHANNEL_UM = 20.24  # between blocks and at the die's west and east (22 met4 pitches)
SOUTH_UM, NORTH_UM = 16.0, 16.0  # routing space between the glue row and the blocks, and above the blocks
ROW_Y = 5.61  # glue row origin (0.17 + 16 x 0.34: cell pins on the met1 tracks)
TAP_EVERY = 26  # sites between well taps in the glue row (about 12 um; latch-up wants <= 15 um to a tap)
METALS = {"li1": 67, "met1": 68, "met2": 69, "met3": 70, "met4": 71}
AND2 = f"{LIB}and2_1"
FILLS = ((8, f"{LIB}fill_8"), (4, f"{LIB}fill_4"), (2, f"{LIB}fill_2"), (1, f"{LIB}fill_1"))
TAP = f"{LIB}tapvpwrvgnd_1"
TOOLS = ("qrouter", "magic", "netgen-lvs")


class Fail(BitbranchError):
    """A step that cannot go on: printed as one ``error:`` line."""


# ---------------------------------------------------------------------------------------------------- the block
def build_block(block_root: Path) -> Path:
    """The flow's route stage output folder of the block, built with the project's flow when missing."""
    route_dir = block_root / f"{ARCH}_w{BITS}a{BITS}_n{N}" / "flow" / "06-route"
    if not (route_dir / "routed.def").is_file() or not (route_dir / f"{BLOCK}.gds").is_file():
        block_root.mkdir(parents=True, exist_ok=True)
        print(f"[macro-tile] building the block with the flow under {block_root} (1-2 min)", flush=True)
        env = {**os.environ, "BITBRANCH_ROUTE_JOBS": "1"}
        argv = [sys.executable, "-m", "flow", "gds", "--arch", ARCH, "--bits", str(BITS), "--n", str(N),
                "--root", str(block_root)]
        with (block_root / "flow.log").open("w") as fo:
            p = subprocess.run(argv, cwd=ROOT, env=env, stdout=fo, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if p.returncode != 0 or not (route_dir / "routed.def").is_file():
            raise Fail(f"the flow did not build the block (log {block_root / 'flow.log'})")
    return route_dir


def def_pins(def_text: str) -> dict[str, tuple[str, float, float]]:
    """{pin: (layer, x um, y um)} of a DEF's PINS section."""
    body = defparse.section(def_text, "PINS").group(1)
    return {m.group(1): (m.group(2), int(m.group(3)) / U, int(m.group(4)) / U) for m in
            re.finditer(r"^- (\S+) \+ NET \S+.*?LAYER (\S+) .*?(?:PLACED|FIXED) \( (-?\d+) (-?\d+) \)", body, re.S | re.M)}


def stripes(def_text: str) -> dict[str, tuple[float, float]]:
    """{VPWR/VGND: (x um, width um)} of the block's met4 power stripe (one each)."""
    out = {}
    for net, blk in defparse.section_blocks(def_text, "SPECIALNETS"):
        m = re.search(r"met4 (\d+) \( (-?\d+) -?\d+ \) \( \* -?\d+ \)", blk)
        if net in ("VPWR", "VGND") and m:
            out[net] = (int(m.group(2)) / U, int(m.group(1)) / U)
    if set(out) != {"VPWR", "VGND"}:
        raise Fail("the block DEF has no met4 VPWR and VGND stripe")
    return out


def directions(netlist: Path) -> dict[str, str]:
    """{port bit: INPUT/OUTPUT} of the block's synthesized netlist (flow.netlist's parser)."""
    return {bit: kind.upper() for bit, kind in parse_netlist(netlist.read_text()).ports.items()}


def abstract(block_gds: Path, def_text: str, dirs: dict[str, str]) -> tuple[str, tuple[int, int, int, int], dict]:
    """The macro LEF text, its outline (x1, y1, x2, y2 in nm, block GDS coordinates) and each signal pin's port
    {pin: (layer, [polygons, nm, block GDS coordinates])}; see the module docstring."""
    import klayout.db as db

    ly = db.Layout()
    ly.read(str(block_gds))
    cell = ly.cell(BLOCK)
    if cell is None:
        raise Fail(f"no cell {BLOCK} in {block_gds}")
    d = defedit.die(def_text)
    die = db.Box(*(v * NM // d.units for v in (d.x1, d.y1, d.x2, d.y2)))
    metal = {n: db.Region(cell.begin_shapes_rec(ly.layer(g, 20))).merged() for n, g in METALS.items()}
    bb = die
    for r in metal.values():
        bb = bb + r.bbox()
    gx, gy, sx, sy = round(GX * NM), round(GY * NM), round(SITE * NM), round(0.34 * NM)
    x1, y1 = bb.left // gx * gx, bb.bottom // gy * gy
    x2, y2 = x1 - (-(bb.right - x1) // sx) * sx, y1 - (-(bb.top - y1) // sy) * sy
    outline = db.Box(x1, y1, x2, y2)
    inner = die.enlarged(-round(BAND_UM * NM), -round(BAND_UM * NM))
    band = db.Region(outline) - db.Region(inner)
    pins = def_pins(def_text)
    ports: dict[str, list] = {}
    port_metal: dict[str, db.Region] = {n: db.Region() for n in METALS}
    for name, (layer, px, py) in pins.items():
        if name in ("VPWR", "VGND"):
            continue
        p = db.Point(round(px * NM), round(py * NM))
        poly = metal[layer].interacting(db.Region(db.Box(p.x - 1, p.y - 1, p.x + 1, p.y + 1))) & band
        if poly.is_empty():
            raise Fail(f"no {layer} metal under the block pin {name} at ({px}, {py})")
        ports[name] = [(layer, poly)]
        port_metal[layer] += poly

    def rects(region) -> list[tuple[float, float, float, float]]:
        out = []
        for poly in region.merged().each():
            for t in poly.decompose_trapezoids(0):
                b = t.bbox()
                out.append(((b.left - x1) / NM, (b.bottom - y1) / NM, (b.right - x1) / NM, (b.top - y1) / NM))
        return sorted(out)

    def rect_lines(layer: str, rs, indent: str) -> list[str]:
        return [f"{indent}LAYER {layer} ;"] + [f"{indent}  RECT {a:.3f} {b:.3f} {c:.3f} {e:.3f} ;" for a, b, c, e in rs]

    lines = ["VERSION 5.7 ;", 'BUSBITCHARS "<>" ;', 'DIVIDERCHAR "/" ;', f"MACRO {BLOCK}", "  CLASS BLOCK ;",
             f"  FOREIGN {BLOCK} {-x1 / NM:.3f} {-y1 / NM:.3f} ;", "  ORIGIN 0 0 ;",
             f"  SIZE {(x2 - x1) / NM:.3f} BY {(y2 - y1) / NM:.3f} ;", "  SYMMETRY X Y ;"]
    for name in sorted(ports):
        lines += [f"  PIN {name}", f"    DIRECTION {dirs.get(name, 'INOUT')} ;",
                  "    USE SIGNAL ;", "    PORT"]
        for layer, poly in ports[name]:
            lines += rect_lines(layer, rects(poly), "      ")
        lines += ["    END", f"  END {name}"]
    for net, (sx_um, w_um) in stripes(def_text).items():
        s = db.Region(db.Box(round((sx_um - w_um / 2) * NM), die.bottom, round((sx_um + w_um / 2) * NM), die.top))
        lines += [f"  PIN {net}", "    DIRECTION INOUT ;", f"    USE {'POWER' if net == 'VPWR' else 'GROUND'} ;",
                  "    PORT", *rect_lines("met4", rects(s), "      "), "    END", f"  END {net}"]
    lines.append("  OBS")
    lines += rect_lines("li1", rects(db.Region(outline)), "    ")
    for layer in ("met1", "met2", "met3", "met4"):
        obs = db.Region(inner) + ((metal[layer] & band) - port_metal[layer])
        lines += rect_lines(layer, rects(obs), "    ")
    lines += ["  END", f"END {BLOCK}", "", "END LIBRARY", ""]
    return "\n".join(lines), (x1, y1, x2, y2), {n: (v[0][0], list(v[0][1].each())) for n, v in ports.items()}


# ---------------------------------------------------------------------------------------------------- the top
def snap(v: float, step: float) -> float:
    return round(round(v / step) * step, 3)


def top_def(k: int, def_text: str, outline: tuple[int, int, int, int], cell_sizes: dict[str, tuple[float, float]]
            ) -> tuple[str, dict]:
    """The unrouted top DEF and what the GDS and LVS steps need (block origins, nets, glue cells)."""
    x1, y1, x2, y2 = (v / NM for v in outline)
    bw, bh = x2 - x1, y2 - y1
    pins = {n: p for n, p in def_pins(def_text).items() if n not in ("VPWR", "VGND")}
    d = defedit.die(def_text)
    die_x1, die_y1, die_x2, die_y2 = (d.um(v) for v in (d.x1, d.y1, d.x2, d.y2))
    block_y = snap(ROW_Y + ROW_H + SOUTH_UM, GY)  # outline bottom of every block
    pitch = snap(bw + CHANNEL_UM + GX / 2 - 0.001, GX)  # rounded up to the met4 pitch
    xs = [round(CHANNEL_UM + i * pitch, 3) for i in range(k)]  # outline left of each block
    width = snap(xs[-1] + bw + CHANNEL_UM + GX / 2 - 0.001, GX)
    height = snap(block_y + bh + NORTH_UM + GY / 2 - 0.001, GY)
    origins = [(round(x - x1, 3), round(block_y - y1, 3)) for x in xs]  # block GDS (0, 0) in the top

    # nets: name -> list of (instance, pin); "PIN" for top pins
    nets: dict[str, list[tuple[str, str]]] = {}
    top_pin_want: dict[str, tuple[str, float]] = {}  # top pin -> (side N/S, wanted x)

    def side_x(i: int, pin: str) -> tuple[str, float]:
        layer, px, py = pins[pin]
        ox, oy = origins[i]
        if layer == "met2":
            return ("S" if py < (die_y1 + die_y2) / 2 else "N"), ox + px
        west = px < (die_x1 + die_x2) / 2
        x = xs[i] - CHANNEL_UM / 2 if west else xs[i] + bw + CHANNEL_UM / 2
        return ("S" if py < (die_y1 + die_y2) / 2 else "N"), x

    shared = [p for p in pins if p in ("clk", "rst_n", "out_ready") or p.startswith("w[")]
    for p in shared:
        nets[p] = [("PIN", p)] + [(f"blk{i}", p) for i in range(k)]
        top_pin_want[p] = side_x(0, p)
    for i in range(k):
        for p in pins:
            if p.startswith(("a[", "y[")):
                name = f"c{i}_{p}"
                nets[name] = [("PIN", name), (f"blk{i}", p)]
                top_pin_want[name] = side_x(i, p)
    glue: list[tuple[str, float]] = []  # (instance, wanted x) of the and2 cells
    for i in range(k):
        ox = origins[i][0]
        g = f"g_iv{i}"
        glue.append((g, ox + pins["in_valid"][1] - 3.0))
        nets.setdefault("in_valid", [("PIN", "in_valid")]).append((g, "A"))
        nets[f"en[{i}]"] = [("PIN", f"en[{i}]"), (g, "B")]
        nets[f"iv_{i}"] = [(g, "X"), (f"blk{i}", "in_valid")]
        top_pin_want[f"en[{i}]"] = ("S", ox + pins["in_valid"][1] - 6.0)
    top_pin_want["in_valid"] = ("S", origins[0][0] + pins["in_valid"][1] - 8.0)
    for sig, dx in (("in_ready", 8.0), ("out_valid", 14.0)):
        prev = f"{sig}_0"
        nets[prev] = [("blk0", sig)]
        for i in range(1, k):
            g = f"g_{sig}{i}"
            glue.append((g, origins[i][0] + pins["in_valid"][1] - 3.0 - dx))
            out = sig if i == k - 1 else f"{sig}_{i}"
            nets[prev].append((g, "A"))
            nets[out] = [(g, "X")]
            nets.setdefault(f"{sig}_b{i}", []).extend([(f"blk{i}", sig), (g, "B")])
            prev = out
        if k == 1:
            nets[sig] = nets.pop(prev)
        nets[sig].append(("PIN", sig))
        top_pin_want[sig] = ("S", origins[-1][0] + pins["in_valid"][1] - 3.0 - dx - 4.0)

    # top pins on free met2 columns, two columns apart, as near as possible to where they are wanted
    taken: dict[str, set[int]] = {"N": set(), "S": set()}
    ncol = round(width / SITE)
    top_pins: dict[str, tuple[float, float]] = {}
    for name, (side, want) in sorted(top_pin_want.items(), key=lambda kv: (kv[1][1], kv[0])):
        c0 = min(max(round(want / SITE), 4), ncol - 4)
        for d in range(ncol):
            for c in (c0 - d, c0 + d):
                if 4 <= c <= ncol - 4 and not taken[side] & {c - 1, c, c + 1}:
                    break
            else:
                continue
            break
        taken[side].add(c)
        top_pins[name] = (round(c * SITE, 3), 0.0 if side == "S" else height)

    # the glue row: and2 cells where wanted, taps, fill
    nsite = round((width - SITE) / SITE)
    used: dict[int, tuple[str, str, int]] = {}  # first site -> (instance, master, sites)
    occupied: set[int] = set()
    st = stripes(def_text)
    keep_clear = [(ox + sx - w / 2 - 1.0, ox + sx + w / 2 + 1.0) for ox, _ in origins for sx, w in st.values()]
    a2 = round(cell_sizes[AND2][0] / SITE)
    for inst, want in sorted(glue, key=lambda g: g[1]):
        s0 = round((want - SITE / 2) / SITE)
        for d in range(nsite):
            ok = None
            for s in (s0 + d, s0 - d):
                xa, xb = SITE / 2 + s * SITE, SITE / 2 + (s + a2) * SITE
                if (0 <= s and s + a2 <= nsite and not occupied & set(range(s - 1, s + a2 + 1))
                        and all(xb < lo or xa > hi for lo, hi in keep_clear)):
                    ok = s
                    break
            if ok is not None:
                break
        used[ok] = (inst, AND2, a2)
        occupied |= set(range(ok, ok + a2))
    s, ntap, nfill = 0, 0, 0
    last_tap = -TAP_EVERY
    while s < nsite:
        if s in used:
            s += used[s][2]
            continue
        if s - last_tap >= TAP_EVERY or s == 0:
            used[s] = (f"tap_{ntap}", TAP, 1)
            ntap += 1
            last_tap = s
            s += 1
            continue
        free = 0
        while s + free < nsite and s + free not in used and free < 8 and s + free - last_tap < TAP_EVERY:
            free += 1
        w, master = next((w, m) for w, m in FILLS if w <= free)
        used[s] = (f"fill_{nfill}", master, w)
        nfill += 1
        s += w
    comps = [f"- blk{i} {BLOCK} + FIXED ( {round((origins[i][0] + x1) * U)} {round(block_y * U)} ) N ;"
             for i in range(k)]
    comps += [f"- {inst} {m} + FIXED ( {round((SITE / 2 + s0 * SITE) * U)} {round(ROW_Y * U)} ) N ;"
              for s0, (inst, m, _w) in sorted(used.items())]

    pin_lines = []
    for name, (x, y) in sorted(top_pins.items()):
        d = "OUTPUT" if name.startswith(("in_ready", "out_valid")) or "_y[" in name else "INPUT"
        pin_lines += [f"- {name} + NET {name} + DIRECTION {d}", "  + LAYER met2 ( -14 -14 ) ( 14 14 )",
                      f"  + PLACED ( {round(x * U)} {round(y * U)} ) N ;"]
    # power: stripes down to the glue row's rail of their net, the block's via stack on the rail
    vias = defparse.section(def_text, "VIAS").group(1)
    via_defs = [b for b in re.split(r"(?m)^(?=- )", vias) if re.match(r"- M(1M2|2M3|3M4)_PR_post\s", b)]
    rail = {"VGND": ROW_Y, "VPWR": ROW_Y + ROW_H}
    special = []
    for net in ("VPWR", "VGND"):
        sx, w = st[net]
        segs = []
        for ox, oy in origins:
            x = round((ox + sx) * U)
            ry = round(rail[net] * U)
            top_y = round((oy + die_y1 + 1.0) * U)
            segs.append(f"met4 {round(w * U)} ( {x} {ry - 68} ) ( * {top_y} )")
            segs += [f"met1 64 ( {x} {ry} ) ( * * ) M1M2_PR_post", f"met2 74 ( {x} {ry} ) ( * * ) M2M3_PR_post",
                     f"met3 66 ( {x} {ry} ) ( * * ) M3M4_PR_post"]
        special.append(f"- {net}\n+ FIXED " + "\n  NEW ".join(segs) + "\n ;")
        x0 = round((origins[0][0] + sx) * U)
        pin_lines += [f"- {net} + NET {net} + DIRECTION INOUT + USE {'POWER' if net == 'VPWR' else 'GROUND'}",
                      f"  + LAYER met4 ( {-round(w * U / 2)} -34 ) ( {round(w * U / 2)} 34 )",
                      f"  + FIXED ( {x0} {round(rail[net] * U)} ) N ;"]
    net_lines = []
    for name in sorted(nets):
        conn = nets[name]
        if len(conn) < 2:
            raise Fail(f"internal: net {name} has one connection")
        net_lines.append(f"- {name}\n" + "\n".join(f"  ( {i} {p} )" for i, p in conn) + " ;")
    w_u, h_u = round(width * U), round(height * U)
    text = "\n".join([
        "VERSION 5.6 ;", "NAMESCASESENSITIVE ON ;", 'DIVIDERCHAR "/" ;', 'BUSBITCHARS "<>" ;',
        f"DESIGN tile_k{k} ;", f"UNITS DISTANCE MICRONS {U} ;", "",
        f"DIEAREA ( 0 0 ) ( {w_u} {h_u} ) ;", "",
        f"TRACKS X 0 DO {w_u // 92 + 1} STEP 92 LAYER li1 ;", f"TRACKS Y 0 DO {h_u // 68 + 1} STEP 68 LAYER met1 ;",
        f"TRACKS X 0 DO {w_u // 92 + 1} STEP 92 LAYER met2 ;", f"TRACKS Y 0 DO {h_u // 136 + 1} STEP 136 LAYER met3 ;",
        f"TRACKS X 0 DO {w_u // 184 + 1} STEP 184 LAYER met4 ;", "",
        f"VIAS {len(via_defs)} ;", "".join(via_defs).rstrip("\n"), "END VIAS", "",
        f"COMPONENTS {len(comps)} ;", *comps, "END COMPONENTS", "",
        f"PINS {len(top_pins) + 2} ;", *pin_lines, "END PINS", "",
        f"NETS {len(nets)} ;", *net_lines, "END NETS", "",
        f"SPECIALNETS {len(special)} ;", *special, "END SPECIALNETS", "END DESIGN", ""])
    info = {"origins": origins, "nets": nets, "glue": [g for g, _ in glue], "width": width, "height": height,
            "top_pins": sorted(top_pins), "fills": nfill, "taps": ntap}
    return text, info


def router_obstructions(def_text: str) -> str:
    """li1 blocked over the whole die (the flow blocks it over its rows; here the channels too)."""
    d = defedit.die(def_text)
    x1, y1, x2, y2 = (d.um(v) for v in (d.x1, d.y1, d.x2, d.y2))
    return f"obstruction {x1:.3f} {y1:.3f} {x2:.3f} {y2:.3f} li1\n"


def qrouter_head(t: tech.PnrTech, macro_lef: Path) -> str:
    return "\n".join(["verbose 1", f"read_lef {t.pdk.techlef}", f"read_lef {t.router_lef}", f"read_lef {macro_lef}",
                      "catch {layers 5}", "vdd VPWR,VPB", "gnd VGND,VNB", ""])


def build_gds(t: tech.PnrTech, routed: Path, block_gds: Path, origins: list[tuple[float, float]], top: str,
              work: Path) -> Path:
    """Top GDS: klayout's DEF -> GDS of the routed top without the blocks, the block GDS placed at each origin."""
    import klayout.db as db

    text = routed.read_text()
    comp = re.search(r"COMPONENTS (\d+) ;\n(.*?)END COMPONENTS", text, re.S)
    kept = [line for line in comp.group(2).splitlines() if not re.match(rf"^- blk\d+ {BLOCK} ", line)]
    text = text[:comp.start()] + f"COMPONENTS {len(kept)} ;\n" + "\n".join(kept) + "\nEND COMPONENTS" + text[comp.end():]
    text = re.sub(r"\( blk\d+ \S+ \)", "", text)
    kdef = work / "routed_noblock.def"
    kdef.write_text(text)
    raw = work / "raw_noblock.gds"
    gds.def_to_gds(t, kdef, raw, top)
    ly = db.Layout()
    ly.read(str(raw))
    blk = db.Layout()
    blk.read(str(block_gds))
    for c in blk.each_cell():  # cells both layouts hold (std cells, vias) must be the same to be shared
        mine = ly.cell(c.name)
        if mine is not None and c.name != BLOCK:
            for li in blk.layer_indexes():
                info = blk.get_info(li)
                other = ly.find_layer(info)
                a = db.Region(c.begin_shapes_rec(li))
                b = db.Region(mine.begin_shapes_rec(other)) if other is not None else db.Region()
                if not (a ^ b).is_empty():
                    raise Fail(f"cell {c.name} differs between the top and the block GDS")
    opt = db.LoadLayoutOptions()
    opt.cell_conflict_resolution = db.LoadLayoutOptions.CellConflictResolution.SkipNewCell
    ly.read(str(block_gds), opt)
    topc = ly.cell(top)
    bc = ly.cell(BLOCK)
    for ox, oy in origins:
        topc.insert(db.CellInstArray(bc.cell_index(), db.Trans(round(ox * NM), round(oy * NM))))
    out = work / "raw.gds"
    so = db.SaveLayoutOptions()
    so.gds2_write_timestamps = False
    ly.write(str(out), so)
    return out


def source_netlist(t: tech.PnrTech, block_def: str, info: dict, top: str) -> str:
    """Hierarchical LVS source: the block's source subcircuit, the top with K blocks and the glue cells."""
    blk_text, _unc = lvs.source_spice(block_def, t.lvs_spice, BLOCK)
    sub = re.search(rf"(?ms)^\.subckt {re.escape(BLOCK)} .*?^\.ends {re.escape(BLOCK)}$", blk_text).group(0)
    bports = sub.split("\n", 1)[0].split()[2:]
    cdl = t.lvs_spice.read_text().replace("\n+", " ")
    and2_ports = re.search(rf"(?im)^\.subckt\s+{AND2}\s+(.*)$", cdl).group(1).split()
    conn: dict[tuple[str, str], str] = {}
    for net, pins in info["nets"].items():
        for inst, pin in pins:
            conn[(inst, pin)] = net
    lines = [f"* LVS source for {top}: {len(info['origins'])} x {BLOCK} + glue", f".include {t.lvs_spice}", sub,
             f".subckt {top} VGND VPWR " + " ".join(info["top_pins"])]
    for i in range(len(info["origins"])):
        inst = f"blk{i}"
        nodes = [p if p in ("VPWR", "VGND") else conn.get((inst, p), f"{inst}_{p}_nc") for p in bports]
        lines.append(f"X{inst} " + " ".join(nodes) + f" {BLOCK}")
    for g in info["glue"]:
        nodes = [lvs.POWER[p] if p in lvs.POWER else conn[(g, p)] for p in and2_ports]
        lines.append(f"X{g} " + " ".join(nodes) + f" {AND2}")
    lines += [f".ends {top}", ".end", ""]
    return "\n".join(lines)


def port_metal(info: dict, ports: dict) -> dict[str, dict[str, list]]:
    """{layer: {net: [polygons, nm, top coordinates]}}: the block ports each top net connects to."""
    import klayout.db as db

    out: dict[str, dict[str, list]] = {}
    for net, conns in info["nets"].items():
        for inst, pin in conns:
            m = re.fullmatch(r"blk(\d+)", inst)
            if not m:
                continue
            ox, oy = info["origins"][int(m.group(1))]
            layer, polys = ports[pin]
            move = db.Trans(round(ox * NM), round(oy * NM))
            out.setdefault(layer, {}).setdefault(net, []).extend(p.transformed(move) for p in polys)
    return out


def tile(k: int, t: tech.PnrTech, route_dir: Path, outline: tuple[int, int, int, int], ports: dict,
         root: Path) -> str:
    """One K: top DEF, qrouter, GDS, repair, magic DRC, extraction, netgen; returns the summary line."""
    work = root / f"k{k}"
    work.mkdir(parents=True, exist_ok=True)
    top = f"tile_k{k}"
    block_def = (route_dir / "routed.def").read_text()
    macro_lef = root / "block" / f"{BLOCK}.lef"
    sizes = defedit.lef_macro_sizes(t.router_lef.read_text())
    text, info = top_def(k, block_def, outline, sizes)
    (work / "unrouted.def").write_text(text)
    (work / "li1_obs.tcl").write_text(router_obstructions(text))
    (work / "track_obs.tcl").write_text(route.offtrack_obstructions(text))
    cfg = route.script(qrouter_head(t, macro_lef), "unrouted.def", "routed.def", ["li1_obs.tcl", "track_obs.tcl"])
    (work / "route.cfg").write_text(cfg)
    wall_q, cpu_q = run(["qrouter", "-nog", "-s", "route.cfg"], work, work / "qrouter.log")
    log = (work / "qrouter.log").read_text(errors="replace")
    res = route.parse_log(log)
    routed = work / "routed.def"
    if not routed.is_file():
        raise Fail(f"qrouter wrote no routed DEF (log {work / 'qrouter.log'})")
    n_routed = len(re.findall(r"^\+ ROUTED", defparse.section(routed.read_text(), "NETS").group(1), re.M))
    if n_routed < len(info["nets"]):  # the one-pin-per-line trap: no routes and still "No failed routes"
        res = route.RouteResult(max(res.failed_nets, len(info["nets"]) - n_routed), None, res.failed_names)
    t0 = time.monotonic()
    raw = build_gds(t, routed, route_dir / f"{BLOCK}.gds", info["origins"], top, work)
    fixed = work / f"{top}.gds"
    # the flow's repair, with the block ports as metal of the nets they join: its same-net gap fill then bridges a
    # route qrouter ended short of a macro port (it writes no stub there: an open that LVS sees)
    trims, shapes = repair.patched_metal(routed.read_text())
    for layer, per in port_metal(info, ports).items():
        for net, polys in per.items():
            shapes.setdefault(layer, {}).setdefault(net, []).extend(polys)
    reps = repair.repair(raw, fixed, routed, patched=(trims, shapes))
    wall_gds = time.monotonic() - t0
    (work / "drc.tcl").write_text(magic.script(t.magic_tech, fixed.resolve(), top, (work / "drc").resolve()))
    wall_drc, cpu_drc = run(["magic", "-dnull", "-noconsole", str((work / "drc.tcl").resolve())], work,
                            work / "drc.magic.log")
    mlog = (work / "drc.magic.log").read_text(errors="replace")
    total = re.search(r"DRC_TOTAL = (\d+)", mlog)
    if "DRC_BOXES" not in mlog:
        raise Fail(f"magic reported no DRC count (log {work / 'drc.magic.log'})")
    boxes = magic.read_drc(work / "drc.drc.txt")
    by_rule = magic.summarise(boxes)
    kl_rules: dict[str, int] | None = None
    wall_kl = 0.0
    if klayout_drc.why_unusable(t.pdk.klayout_drc_deck) is None:
        report = (work / "klayout_drc.xml").resolve()
        wall_kl, _cpu = run(klayout_drc.argv(t.pdk.klayout_drc_deck, fixed.resolve(), top, report, 1), work,
                            work / "klayout_drc.log")
        if not report.is_file():
            raise Fail(f"KLayout DRC wrote no report (log {work / 'klayout_drc.log'})")
        kl_rules = klayout_drc.parse_report(report.read_text(errors="replace"))
    ext = magic.extract_script(t.magic_tech, fixed.resolve(), top, (work / "extract").resolve())
    ext = ext.replace(f"load {top}\n", f"load {BLOCK}\ncatch {{port makeall}}\nload {top}\n", 1)
    (work / "extract.tcl").write_text(ext)
    wall_ext, cpu_ext = run(["magic", "-dnull", "-noconsole", str((work / "extract.tcl").resolve())], work,
                            work / "extract.magic.log")
    (work / "source.spice").write_text(source_netlist(t, block_def, info, top))
    wall_lvs, cpu_lvs = run(["netgen-lvs", "-batch", "lvs", f"extract.spice {top}", f"source.spice {top}",
                             str(t.netgen_setup), "lvs.rpt"], work, work / "netgen.log")
    rpt = work / "lvs.rpt"
    lv = lvs.parse_result((work / "netgen.log").read_text(errors="replace"),
                          rpt.read_text(errors="replace") if rpt.is_file() else "")
    with (work / "drc_boxes.txt").open("w") as fo:
        for why, b in boxes:
            fo.write(f"{why}\t{' '.join(f'{v:.3f}' for v in b)}\n")
    rules = ", ".join(f"{re.sub(r' .*', '', why)} x{n}" for why, n in by_rule.items()) or "-"
    print(f"[macro-tile] K={k}: die {info['width']:.2f} x {info['height']:.2f} um, {len(info['nets'])} nets, "
          f"{len(info['glue'])} glue and2 + {info['taps']} taps + {info['fills']} fills; repairs "
          f"{ {n: v for n, v in reps.items() if v} }; wall s: qrouter {wall_q:.1f}, gds+repair {wall_gds:.1f}, "
          f"drc {wall_drc:.1f} (cpu {cpu_drc:.1f}), klayout drc {wall_kl:.1f}, extract {wall_ext:.1f} (cpu {cpu_ext:.1f}), netgen {wall_lvs:.1f} "
          f"(cpu {cpu_lvs:.1f})", flush=True)
    failed = res.failed_nets
    kl_text = ("skipped (" + str(klayout_drc.why_unusable(t.pdk.klayout_drc_deck)) + ")" if kl_rules is None else
               f"{sum(kl_rules.values())} [{', '.join(f'{r} x{n}' for r, n in kl_rules.items()) or '-'}]")
    return (f"K={k} failed_nets={failed}{' (' + ','.join(res.failed_names[:6]) + ')' if res.failed_names else ''} "
            f"qrouter_cpu_s={cpu_q:.1f} magic_drc_boxes={len(boxes)}"
            f"{'' if total is None else f' (magic total {total.group(1)})'} [{rules}] klayout_drc="
            f"{kl_text} lvs={'match' if lv.match else 'MISMATCH'}"
            f" ({lv.summary})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--copies", type=int, nargs="+", default=[2], help="copies of the block in the top (default 2)")
    ap.add_argument("--root", type=Path, default=OUT, help="output folder (default build/bench-macro-tile)")
    ap.add_argument("--block-root", type=Path, default=None,
                    help="flow build root of the block (default <root>/block-build; built there when missing)")
    args = ap.parse_args(argv)
    try:
        missing = [tool for tool in TOOLS if shutil.which(tool) is None]
        if missing:
            raise Fail(f"{', '.join(missing)} not on PATH (install the Debian packages: make debian-deps)")
        try:
            import klayout.db  # noqa: F401
        except ImportError:
            raise Fail("the klayout Python module is missing (pip install klayout)") from None
        if any(k < 1 for k in args.copies):
            raise Fail("--copies must be at least 1")
        try:
            pdk = find_pdk()
        except PdkError as e:
            raise Fail(str(e)) from None
        root = args.root.resolve()
        block_root = (args.block_root or root / "block-build").resolve()
        route_dir = build_block(block_root)
        t = tech.PnrTech(tech.tech_dir(block_root), pdk)
        for f in (t.router_lef, t.magic_tech, t.netgen_setup, t.lvs_spice, t.klayout_map):
            if not f.is_file():
                raise Fail(f"derived tech file {f} is missing (run the flow on {block_root} again)")
        block_def = (route_dir / "routed.def").read_text()
        netlist = route_dir.parent / "01-synth" / f"{BLOCK}.nl.v"
        lef, outline, ports = abstract(route_dir / f"{BLOCK}.gds", block_def, directions(netlist) if netlist.is_file() else {})
        (root / "block").mkdir(parents=True, exist_ok=True)
        (root / "block" / f"{BLOCK}.lef").write_text(lef)
        print(f"[macro-tile] abstract: outline {(outline[2] - outline[0]) / NM:.2f} x {(outline[3] - outline[1]) / NM:.2f} um "
              f"from ({outline[0] / NM:.2f}, {outline[1] / NM:.2f}), {lef.count('  PIN ')} pins", flush=True)
        lines = [tile(k, t, route_dir, outline, ports, root) for k in args.copies]
    except BitbranchError as e:  # Fail, or a tool that did not run (common.measured.run_measured)
        print(f"error: {e}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
