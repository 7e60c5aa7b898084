"""Files derived from the Sky130 PDK for the local P&R tools, written under ``<build>/pdk/pnr/`` (never the repo).

qflow 1.3.17 ships no Sky130 tech, magic 8.3.105 refuses the PDK tech file (``requires magic-8.3.111``),
qrouter cannot reach some li1-only pins (dfxtp_4/D, dfxtp_1/D, fa_1/CIN: router-only met1 landings), and the PDK subset has no netgen setup: each gets a file here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from common import quote
from common.files import Under, atomic_write_text
from flow.pdk import ROUTER_DONT_USE_FILE, Pdk, router_dont_use

DONT_USE_FILE = ROUTER_DONT_USE_FILE
QFLOW_TECH = "sky130hd"

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Landing:
    """A router-only met1 landing on a pin qrouter cannot reach through li1: the LEF gets ``met1`` as an extra port
    of ``pin``, the GDS the real ``mcon`` (on the pin's li1) and ``met1`` behind it. Rectangles are in um in the
    cell's frame; each ``met1`` covers one met1 x li1-track grid point (x 0.23 + 0.46 k, y 0.17 + 0.34 m) with room
    for qrouter's tap test, is >= 0.14 um from the cell's own met1 and encloses its mcon by >= 0.03 all round and
    >= 0.06 on both sides in x or in y (m1.4, m1.5)."""

    cell: str
    pin: str
    mcon: Rect
    met1: Rect
    keepout: Rect | None = None  # router-only met1 obstruction beside the landing (not in the GDS)


LANDINGS: tuple[Landing, ...] = (
    # dfxtp_4/D: li1 1.44-1.72 x 1.065-1.665, under the met1 strap at y 1.755: grid point (1.61, 1.53)
    Landing("sky130_fd_sc_hd__dfxtp_4", "D", (1.495, 1.275, 1.665, 1.445), (1.435, 1.245, 1.725, 1.600)),
    # dfxtp_1/D: li1 1.37-1.65 x 0.715-1.665, its upper part under the met1 strap at y 1.415-1.645: grid point
    # (1.61, 1.19), 0.155 below the strap and 0.156 diagonally from its bulge at x <= 1.255
    Landing("sky130_fd_sc_hd__dfxtp_1", "D", (1.425, 1.105, 1.595, 1.275), (1.365, 1.075, 1.655, 1.305)),
    # fa_1/CIN: its li1 lies under fa_1's met1 A and B straps except for the tab at 5.155-5.405 x 1.685-1.955:
    # grid point (5.29, 1.87). Measured on routed PEs: qrouter finds no tap unless the landing reaches 0.205 above
    # the grid point (top 1.985 fails, 2.075 works); a landing starting at y 1.755 makes it drop a rotated via1
    # whose met1 comes 0.11 from the B strap (met1.2), one starting at 1.74 (0.14 from the strap) a flat one; the
    # right edge stays 0.165 from the via pad a B route may drop on the next track (x 5.75: at 5.45, met1.2)
    # keepout: in FN rows a B-net via1 dropped beside the landing's via came 0.095 from it (met1.2, magic and
    # KLayout, parallel_w1a1_n8_adder-fa); the router may put no met1 between the B strap and the landing
    Landing("sky130_fd_sc_hd__fa_1", "CIN", (5.195, 1.785, 5.365, 1.955), (4.970, 1.740, 5.425, 2.075),
            keepout=(5.425, 1.600, 5.700, 1.740)),
    # and4b_1/C: li1 2.025-2.295 x 0.42-1.695, fails in N and FN rows without it (bench/pin_access.py); grid point
    # (2.07, 1.19); the mcon at the pin's left edge and the met1 enclosing it by 0.03 in x, 0.06 in y, so the met1 ends
    # 0.16 from the via pad qrouter drops for D on column 2.53 (a landing to x 2.305 made D unreachable instead)
    Landing("sky130_fd_sc_hd__and4b_1", "C", (2.025, 1.105, 2.195, 1.275), (1.995, 1.045, 2.225, 1.335)),
)
"""The landings the router LEF and the GDS get (measured: docs in README "Pin access")."""

MCON_GDS, MET1_GDS = (67, 44), (68, 20)
GDS_PATCHES: dict[str, tuple[tuple[tuple[int, int], Rect], ...]] = {}
for _l in LANDINGS:
    GDS_PATCHES[_l.cell] = GDS_PATCHES.get(_l.cell, ()) + ((MCON_GDS, _l.mcon), (MET1_GDS, _l.met1))
"""(GDS layer, datatype) and rectangle of every shape the landings add, per cell (flow.pnr.gds places them)."""

DEVICE_MODELS = (
    "sky130_fd_pr__nfet_01v8",
    "sky130_fd_pr__pfet_01v8",
    "sky130_fd_pr__pfet_01v8_hvt",
    "sky130_fd_pr__nfet_01v8_lvt",
    "sky130_fd_pr__pfet_01v8_lvt",
)


@dataclass(frozen=True)
class PnrTech:
    """Paths of the derived tool files for one PDK."""

    dir: Path
    pdk: Pdk

    magic_tech = Under("dir", "sky130A_magic8305.tech")
    router_lef = Under("dir", "sky130_fd_sc_hd_router.lef")
    qflow_dir = Under("dir", "qflow")
    klayout_map = Under("dir", "sky130_lefdef.map")
    lvs_spice = Under("dir", "sky130_fd_sc_hd_lvs.spice")
    netgen_setup = Under("dir", "netgen_setup.tcl")


def write_if_changed(path: Path, text: str) -> Path:
    """Keep the file (and its mtime) when its content is already right: later stages stay up to date."""
    if not (path.is_file() and path.read_text() == text):
        atomic_write_text(path, text)
    return path


def dont_use_cells() -> tuple[str, ...]:
    """Cells the local back end cannot route or LVS-match; synthesis must exclude them."""
    return router_dont_use()


def magic_tech_text(pdk: Pdk) -> str:
    """The PDK's magic tech without the version guard magic 8.3.105 crashes on."""
    return "".join(l for l in pdk.magic_tech.read_text().splitlines(True) if l.strip() != "requires magic-8.3.111")


def router_lef_text(pdk: Pdk) -> str:
    """The cell LEF with each ``LANDINGS`` met1 rectangle as an extra port of its pin (its real geometry is
    patched into the GDS)."""
    s = pdk.lef.read_text()
    for land in LANDINGS:
        cell = re.escape(land.cell)
        m = re.search(rf"^MACRO {cell}\n.*?^END {cell}\n", s, re.M | re.S)
        if not m:
            continue
        body = m.group(0)
        x1, y1, x2, y2 = land.met1
        port = f"    PORT\n      LAYER met1 ;\n        RECT {x1:.6f} {y1:.6f} {x2:.6f} {y2:.6f} ;\n    END\n"
        pin = re.escape(land.pin)
        new = re.sub(rf"(  PIN {pin}\n.*?)(  END {pin}\n)", lambda p: p.group(1) + port + p.group(2), body, count=1,
                     flags=re.S)
        if land.keepout:
            k1, k2, k3, k4 = land.keepout
            obs = f"    LAYER met1 ;\n      RECT {k1:.6f} {k2:.6f} {k3:.6f} {k4:.6f} ;\n"
            new = new.replace("  OBS\n", "  OBS\n" + obs, 1)
        s = s.replace(body, new)
    return s


def klayout_map_text() -> str:
    """LEF/DEF layer -> GDS layer map for klayout (drawing layers; pin labels on the .label purpose)."""
    metals = [("li1", 67), ("met1", 68), ("met2", 69), ("met3", 70), ("met4", 71), ("met5", 72)]
    cuts = [("mcon", 67), ("via", 68), ("via2", 69), ("via3", 70), ("via4", 71)]
    out = [f"{m} NET,SPNET,PIN,VIA,LEFPIN,FILL {g} 20" for m, g in metals]
    out += [f"NAME {m}/PIN {g} 5" for m, g in metals]
    out += [f"{c} VIA,NET,SPNET {g} 44" for c, g in cuts]
    out.append("DIEAREA ALL 235 4")
    return "\n".join(out) + "\n"


def lvs_spice_text(pdk: Pdk) -> str:
    """The CDL as SPICE in magic's extracted device names (X sky130_fd_pr__*), w/l kept, m folded in."""
    txt = pdk.cdl.read_text().replace("\n+", " ")
    out = []
    for line in txt.split("\n"):
        m = re.match(r"^M(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$", line)
        if m:
            name, d, g, s_, b, model, params = m.groups()
            w = re.search(r"\bw=(\S+)", params).group(1)
            ln = re.search(r"\bl=(\S+)", params).group(1)
            mult = re.search(r"\bm=(\S+)", params)
            out.append(f"XM{name} {d} {g} {s_} {b} sky130_fd_pr__{model} w={w} l={ln}" + (f" m={mult.group(1)}" if mult else ""))
            continue
        r = re.match(r"^r(\S+)\s+(\S+)\s+(\S+)\s+short\s*$", line)
        if r:  # conb_1 tie: magic extracts the poly link as a generic poly resistor
            out.append(f"R{r.group(1)} {r.group(2)} {r.group(3)} sky130_fd_pr__res_generic_po w=0.48 l=0.045")
            continue
        out.append(line)
    return "\n".join(out)


def netgen_setup_text() -> str:
    """Minimal netgen setup: swap MOS source/drain, merge parallel devices, compare w/l with 1 % tolerance."""
    lines = ["# minimal sky130 setup for netgen-lvs (bitbranch)", "permute default", "property default"]
    for dev in DEVICE_MODELS:
        for c in (1, 2):
            lines += [
                f'catch {{permute "-circuit{c} {dev}" 1 3}}',
                f'catch {{property "-circuit{c} {dev}" parallel enable}}',
                f'catch {{property "-circuit{c} {dev}" tolerance {{w 0.01}} {{l 0.01}}}}',
                f'catch {{property "-circuit{c} {dev}" delete as ad ps pd mult sa sb sd nf perim area topography}}',
            ]
    for c in (1, 2):
        lines.append(f'catch {{permute "-circuit{c} sky130_fd_pr__res_generic_po" end_a end_b}}')
        lines.append(f'catch {{permute "-circuit{c} sky130_fd_pr__res_generic_po" 1 2}}')
        lines.append(f'catch {{property "-circuit{c} sky130_fd_pr__res_generic_po" delete w l}}')
    for c in (1, 2):
        lines.append(f'catch {{ignore class "-circuit{c} sky130_fd_sc_hd__tapvpwrvgnd_1"}}')
        for w in (1, 2, 4, 8):
            lines.append(f'catch {{ignore class "-circuit{c} sky130_fd_sc_hd__fill_{w}"}}')
        for w in (3, 4, 6, 8, 12):
            lines.append(f'catch {{ignore class "-circuit{c} sky130_fd_sc_hd__decap_{w}"}}')
    return "\n".join(lines) + "\n"


def graywolf_par_text() -> str:
    """GrayWolf parameters for sky130_fd_sc_hd (centimicrons); the seed line is set per run by place.py."""
    rules = """RULES
    layer li1  12.8 0.0001 vertical
    layer met1 0.125 0.0001 horizontal
    layer met2 0.125 0.0001 vertical
    layer met3 0.047 0.0001 horizontal
    layer met4 0.047 0.0001 vertical
    via mcon li1 met1
    via via  met1 met2
    via via2 met2 met3
    via via3 met3 met4
    width li1 17
    width met1 14
    width met2 14
    width met3 30
    width met4 30
    width mcon 17
    width via 15
    width via2 20
    width via3 20
    spacing li1 li1 29
    spacing met1 met1 20
    spacing met2 met2 32
    spacing met3 met3 38
    spacing met4 met4 62
    spacing mcon via 0
    spacing via via2 0
    spacing via2 via3 0
    overhang mcon li1 0
    overhang mcon met1 3
    overhang via met1 6
    overhang via met2 6
    overhang via2 met2 4
    overhang via2 met3 6
    overhang via3 met3 6
    overhang via3 met4 6
ENDRULES
"""
    opts = """
*vertical_wire_weight : 1.0
*vertical_path_weight : 1.0
*padspacing           : variable
*rowSep               : 0.0   0
*track.pitch          : 46
*graphics.wait        : off
*last_chance.wait     : off
*random.seed          : 1

TWMC*chip.aspect.ratio : 1.0

TWSC*feedThruWidth    : 46 layer 1
TWSC*do.global.route  : on
TWSC*ignore_feeds     : true
TWSC*call_row_evener  : true
TWSC*even_rows_maximally : true

GENR*row_to_tile_spacing: 1
GENR*flip_alternate_rows : 1
"""
    return "# GrayWolf parameters for sky130_fd_sc_hd (bitbranch)\n" + rules + opts


def qflow_sh_text(t: PnrTech, liberty: Path) -> str:
    """qflow 1.3.17 tech description (only the placement stage of qflow is used); paths quoted for tcsh."""
    d = t.pdk.lib_dir
    q = quote.tcsh
    return f"""#!/usr/bin/tcsh
# qflow tech for sky130_fd_sc_hd, generated by bitbranch flow/pnr/tech.py
set leffile={q(t.router_lef)}
set techleffile={q(t.pdk.techlef)}
set spicefile={q(t.pdk.cdl)}
set libertyfile={q(liberty)}
set flopcell=sky130_fd_sc_hd__dfxtp_4
set floppinout=Q
set floppinin=D
set floppinclk=CLK
set bufcell=sky130_fd_sc_hd__buf_2
set bufpin_in=A
set bufpin_out=X
set clkbufcell=sky130_fd_sc_hd__clkbuf_2
set clkbufpin_in=A
set clkbufpin_out=X
set inverter=sky130_fd_sc_hd__inv_2
set invertpin_in=A
set invertpin_out=Y
set norgate=sky130_fd_sc_hd__nor2_1
set norpin_in1=A
set norpin_in2=B
set norpin_out=Y
set nandgate=sky130_fd_sc_hd__nand2_1
set nandpin_in1=A
set nandpin_in2=B
set nandpin_out=Y
set fillcell=sky130_fd_sc_hd__fill_
set decapcell=sky130_fd_sc_hd__decap_
set gndnet="VGND,VNB"
set vddnet="VPWR,VPB"
set separator=""
set techfile=sky130A
set magicrc={q(t.qflow_dir / QFLOW_TECH / (QFLOW_TECH + '.magicrc'))}
set gdsfile={q(t.pdk.gds)}
set verilogfile={q(d / 'verilog' / 'sky130_fd_sc_hd.v')}
set postproc_options="-anchors"
set route_layers=5
set via_stacks="2"
set fanout_options="-l 200 -c 20"
set addspacers_options="-stripe 2.5 50.0 PG"
"""


def check_plain_paths(build_root: Path | str, pdk: Pdk) -> None:
    """Refuse, in one line, a build root or PDK whose path qflow and qrouter cannot carry (they paste paths into
    their own scripts unquoted: a space splits one, a backtick would run a command)."""
    quote.plain_path(Path(build_root).resolve(), "the build folder",
                     "use a build folder whose path has only letters, digits and _ . / + , @ % = : - (e.g. --root build)")
    quote.plain_path(pdk.root, "PDK_ROOT",
                     "install or copy the PDK to a path with only letters, digits and _ . / + , @ % = : - and point "
                     "PDK_ROOT at it")


def tech_dir(build_root: Path | str) -> Path:
    """Where the derived P&R files of a build are (absolute: qflow's tech file names them)."""
    return Path(build_root).resolve() / "pdk" / "pnr"


def files(t: PnrTech) -> tuple[Path, ...]:
    """Every file ``prepare`` writes."""
    q = t.qflow_dir / QFLOW_TECH
    return (t.magic_tech, t.router_lef, t.klayout_map, t.lvs_spice, t.netgen_setup,
            q / f"{QFLOW_TECH}.par", q / f"{QFLOW_TECH}.sh", q / f"{QFLOW_TECH}.magicrc")


def prepare(pdk: Pdk, build_root: Path, liberty: Path) -> PnrTech:
    """Write (or keep, when unchanged) every derived P&R file; returns their paths."""
    check_plain_paths(build_root, pdk)
    t = PnrTech(tech_dir(build_root), pdk)
    write_if_changed(t.magic_tech, magic_tech_text(pdk))
    write_if_changed(t.router_lef, router_lef_text(pdk))
    write_if_changed(t.klayout_map, klayout_map_text())
    write_if_changed(t.lvs_spice, lvs_spice_text(pdk))
    write_if_changed(t.netgen_setup, netgen_setup_text())
    q = t.qflow_dir / QFLOW_TECH
    write_if_changed(q / f"{QFLOW_TECH}.par", graywolf_par_text())
    write_if_changed(q / f"{QFLOW_TECH}.sh", qflow_sh_text(t, liberty))
    write_if_changed(q / f"{QFLOW_TECH}.magicrc", f"tech load {quote.tcl(t.magic_tech)} -noprompt\ndrc euclidean on\ndrc off\n")
    return t
