"""LVS with netgen: source netlist from the routed DEF's connectivity + the cell SPICE, result parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flow.pnr import defparse

POWER = {"VPWR": "VPWR", "VPB": "VPWR", "VGND": "VGND", "VNB": "VGND"}


def source_spice(def_text: str, cell_spice: Path, top: str) -> tuple[str, int]:
    """SPICE of the placed netlist (fillers skipped, bodies tied to rails); returns (text, unconnected pins)."""
    cdl = cell_spice.read_text().replace("\n+", " ")
    ports = {m.group(1): m.group(2).split() for m in re.finditer(r"(?im)^\.subckt\s+(\S+)\s+(.*)$", cdl)}
    comps = re.findall(r"^- (\S+) (\S+) \+ (?:PLACED|FIXED)",
                       re.search(r"COMPONENTS \d+ ;(.*?)END COMPONENTS", def_text, re.S).group(1), re.M)
    pins = re.findall(r"^- (\S+) \+ NET (\S+)", re.search(r"PINS \d+ ;(.*?)END PINS", def_text, re.S).group(1), re.M)
    conn: dict[tuple[str, str], str] = {}
    for name, blk in defparse.section_blocks(def_text, "NETS"):
        for inst, pin in re.findall(r"\( (\S+) (\S+) \)", blk.split("+ ROUTED")[0]):
            if inst != "PIN":
                conn[(inst, pin)] = name
    port_nets = sorted({n for _, n in pins} | {"VPWR", "VGND"})
    out = [f"* LVS source for {top}: routed DEF connectivity + {cell_spice.name}", f".include {cell_spice}",
           f".subckt {top} " + " ".join(port_nets)]
    unconnected = 0
    for inst, master in comps:
        if "__fill_" in master:
            continue
        if master not in ports:
            raise ValueError(f"cell {master} has no SPICE subcircuit in {cell_spice}")
        nets_ = []
        for p in ports[master]:
            if p in POWER:
                nets_.append(POWER[p])
            elif (inst, p) in conn:
                nets_.append(conn[(inst, p)])
            else:
                unconnected += 1
                nets_.append(f"{inst}_{p}_nc")
        out.append(f"X{inst} " + " ".join(nets_) + f" {master}")
    out += [f".ends {top}", ".end"]
    return "\n".join(out) + "\n", unconnected


@dataclass(frozen=True)
class LvsResult:
    match: bool
    errors: int
    summary: str


def disconnected_pins(log_text: str) -> tuple[int, int]:
    """Disconnected pins netgen lists for the top circuits (the last 'Contents of circuit 1' and '2' blocks, circuit 1
    the layout): (layout, source)."""
    found = {}
    for block in re.split(r"Contents of circuit ", log_text)[1:]:
        m = re.match(r"([12]):", block)
        n = re.search(r"Circuit contains \d+ nets(?:, and (\d+) disconnected pins?)?\.", block)
        if m and n:
            found[m.group(1)] = int(n.group(1) or 0)
    return found.get("1", 0), found.get("2", 0)


def parse_result(log_text: str, report_text: str) -> LvsResult:
    """Match only when netgen says the top circuits match and the layout has no more disconnected pins than the
    source; the error count is netgen's mismatch count, or the extra disconnected layout pins. netgen matches a
    layout whose I/O pin is cut off its net (an open at the pin): serial_w3a3_n32 before the same-net gap repair,
    "Circuits match uniquely." with "909 nets, and 2 disconnected pins" in the layout only."""
    final = re.findall(r"(Circuits match uniquely\.|Circuits match correctly\.|Netlists do not match\.|Netlists match[^\n]*)",
                       log_text + "\n" + report_text)
    top_line = final[-1] if final else "no netgen result"
    match = top_line.startswith("Circuits match") or top_line.startswith("Netlists match")
    errs = 0
    if not match:
        m = re.findall(r"Final result:\s*(.*)", report_text)
        devs = re.findall(r"Number of devices:\s*(\d+)\s*\|\s*Number of devices:\s*(\d+)", report_text)
        nets = re.findall(r"Number of nets:\s*(\d+)\s*\|\s*Number of nets:\s*(\d+)", report_text)
        errs = sum(abs(int(a) - int(b)) for a, b in devs[-1:] + nets[-1:]) or 1
        top_line = m[-1] if m else top_line
    if match:
        lay, src = disconnected_pins(log_text)
        if lay > src:
            return LvsResult(False, lay - src, f"{top_line.rstrip('.')}, but {lay - src} layout pin(s) disconnected")
    return LvsResult(match, errs, top_line)
