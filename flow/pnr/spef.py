"""Per-net routed wire capacitance from the routed DEF (tech-LEF area + edge caps) and a lumped-C SPEF.

Each routed segment of width w and length l on a layer adds CPERSQDIST*w*l + EDGECAPACITANCE*2*l (pF);
vias and coupling are not modelled, resistance is left out (lumped C only). Good enough for wire load in
OpenSTA and for switching power; stated as such in the provenance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flow.pnr import defparse


@dataclass(frozen=True)
class LayerRC:
    width_um: float
    c_area_pf_per_um2: float
    c_edge_pf_per_um: float


def layer_caps(techlef_text: str) -> dict[str, LayerRC]:
    """Routing-layer default width and capacitance per unit area / edge length from the tech LEF."""
    out = {}
    for m in re.finditer(r"^LAYER (\S+)\n(.*?)^END \1", techlef_text, re.M | re.S):
        body = m.group(2)
        if not re.search(r"TYPE ROUTING", body):
            continue
        w = re.search(r"^\s*WIDTH ([\d.]+) ;", body, re.M)
        ca = re.search(r"CAPACITANCE CPERSQDIST ([\d.Ee+-]+)", body)
        ce = re.search(r"EDGECAPACITANCE ([\d.Ee+-]+)", body)
        if w and ca and ce:
            out[m.group(1)] = LayerRC(float(w.group(1)), float(ca.group(1)), float(ce.group(1)))
    return out


def net_wire_caps(def_text: str, caps: dict[str, LayerRC]) -> dict[str, float]:
    """Wire capacitance (pF) of every regular net in a routed DEF."""
    units = defparse.def_units(def_text)
    out: dict[str, float] = {}
    for name, blk in defparse.section_blocks(def_text, "NETS"):
        total = 0.0
        for seg in re.finditer(r"(?:ROUTED|NEW) (\S+) ((?:\( [-\d*]+ [-\d*]+(?: [-\d]+)? \) ?)+)", blk):
            rc = caps.get(seg.group(1))
            if rc is None:
                continue
            px = py = None
            for xs, ys in re.findall(r"\( ([-\d*]+) ([-\d*]+)", seg.group(2)):
                x = px if xs == "*" else int(xs)
                y = py if ys == "*" else int(ys)
                if px is not None:
                    length = (abs(x - px) + abs(y - py)) / units
                    total += rc.c_area_pf_per_um2 * rc.width_um * length + rc.c_edge_pf_per_um * 2 * length
                px, py = x, y
        out[name] = total
    return out


def def_connections(def_text: str) -> dict[str, list[tuple[str, str]]]:
    """(instance, pin) pairs of every net; ports appear as ('PIN', port)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, blk in defparse.section_blocks(def_text, "NETS"):
        out[name] = re.findall(r"\( (\S+) (\S+) \)", blk.split("+ ROUTED")[0])
    return out


def spef_text(top: str, def_text: str, caps_pf: dict[str, float]) -> str:
    """SPEF with one lumped ground capacitance per net (*C_UNIT 1 PF), names escaped for OpenSTA."""
    conns = def_connections(def_text)
    esc = lambda s: re.sub(r"([\[\]/])", r"\\\1", s)  # noqa: E731
    lines = ['*SPEF "IEEE 1481-1998"', f'*DESIGN "{top}"', '*DATE "-"', '*VENDOR "bitbranch"', '*PROGRAM "flow.pnr.spef"',
             '*VERSION "1"', '*DESIGN_FLOW "NETLIST_TYPE_VERILOG"', "*DIVIDER /", "*DELIMITER :", "*BUS_DELIMITER [ ]",
             "*T_UNIT 1 NS", "*C_UNIT 1 PF", "*R_UNIT 1 OHM", "*L_UNIT 1 HENRY", ""]
    for net in sorted(caps_pf):
        c = caps_pf[net]
        is_port = any(inst == "PIN" for inst, _ in conns.get(net, []))
        lines.append(f"*D_NET {net if is_port else esc(net)} {c:.6g}")  # port bits are bus bits: a[3]
        lines.append("*CONN")
        nodes = [pin if inst == "PIN" else f"{esc(inst)}:{pin}" for inst, pin in conns.get(net, [])]
        lines += [f"*{'P' if ':' not in n else 'I'} {n} B" for n in nodes]
        # lumped: the whole wire cap sits on the net's first pin (no R, so every pin sees the same node)
        lines += ["*CAP", f"1 {nodes[0] if nodes else esc(net)} {c:.6g}", "*END", ""]
    return "\n".join(lines) + "\n"


def routed_verilog(top: str, def_text: str, lef_text: str, ports: dict[str, str]) -> str:
    """Structural Verilog of the routed design read back from the DEF (logic cells only, one wire per net).

    ``ports`` maps port bit name (e.g. ``a[3]``) to 'input'/'output'; buses are rebuilt from the bit names.
    """
    pin_dirs = {}
    for m in re.finditer(r"^MACRO (\S+)\n(.*?)^END \1", lef_text, re.M | re.S):
        pin_dirs[m.group(1)] = re.findall(r"^\s*PIN (\S+)\n\s*(?:ANTENNA\S* [^\n]*\n\s*)*DIRECTION", m.group(2), re.M)
    comps = re.findall(r"^- (\S+) (\S+) \+ (?:PLACED|FIXED)",
                       re.search(r"COMPONENTS \d+ ;(.*?)END COMPONENTS", def_text, re.S).group(1), re.M)
    conns = def_connections(def_text)
    by_pin: dict[tuple[str, str], str] = {}
    for net, cs in conns.items():
        for inst, pin in cs:
            by_pin[(inst, pin)] = net
    buses: dict[str, list[int]] = {}
    for bit, _ in ports.items():
        m = re.fullmatch(r"(.+)\[(\d+)\]", bit)
        if m:
            buses.setdefault(m.group(1), []).append(int(m.group(2)))
        else:
            buses.setdefault(bit, [])
    decl = []
    for name, idx in buses.items():
        d = ports.get(f"{name}[{idx[0]}]" if idx else name, "input")
        decl.append(f"  {d} {'[' + str(max(idx)) + ':' + str(min(idx)) + '] ' if idx else ''}{name};")
    port_bits = set(ports)
    wire = lambda n: n if n in port_bits and "[" not in n else (n if n in port_bits else "\\" + n + " ")  # noqa: E731
    wires = sorted(n for n in conns if n not in port_bits)
    body = [f"module {top} ({', '.join(buses)});", *decl, *(f"  wire \\{w} ;" for w in wires)]
    for inst, master in comps:
        if any(k in master for k in ("__fill_", "__tapvpwrvgnd", "__decap_", "__diode_")):
            continue
        pins = [p for p in pin_dirs.get(master, []) if p not in ("VPWR", "VGND", "VPB", "VNB")]
        conn = ", ".join(f".{p}({wire(by_pin[(inst, p)])})" for p in pins if (inst, p) in by_pin)
        body.append(f"  {master} \\{inst} ({conn});")
    body.append("endmodule")
    return "\n".join(body) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
