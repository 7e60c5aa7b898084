"""magic 8.3 DRC, or SPICE extraction, of the merged GDS (cell GDS read, fillers flattened); ``run_magic`` runs
the DRC for the route stage, ``run_extract`` the extraction for the LVS stage.

The DRC runs the sky130A deck's ``drc(full)`` variant, or its ``drc(fast)`` one (``STYLES``), which leaves out only
rules a router's metal rarely meets (metal holes met1.7/met2.7, spacing beside large metal met1.3a/met2.3a/met3.3c)
and device, well and pad rules (nwell.4, licon.16, HV, MiM, RDL): 10 s where full takes 39 s on parallel W2A2's late
route (303 boxes both). The route stage counts intermediate routes with it and always reports a full count.

The extraction is device and connectivity only (``extract no all``: no parasitic or coupling capacitance, no
resistance; LVS compares devices and nets, and the routed wire loads come from ``spef.py``) and runs no DRC (the
route stage checked the same GDS): on parallel W2A2 N=32 that took magic from 304 s to 16 s, same netgen result.
"""

from __future__ import annotations

import re
from pathlib import Path

from common import quote
from common.files import atomic_write_text
from flow.pnr import tech
from flow.stage import FlowContext, StageError, run_tool

DrcBox = tuple[str, tuple[float, float, float, float]]


def _load(tech: Path, gds: Path, top: str) -> str:
    """Tcl that loads ``top`` from the merged GDS (cells read-only, fillers flattened), ports made from labels."""
    tech, gds = quote.tcl(tech), quote.tcl(gds)  # type: ignore[assignment]
    return f"""tech load {tech} -noprompt
drc off
gds readonly true
gds flatglob *__fill_*
gds read {gds}
load {top}
select top cell
catch {{port makeall}}
"""


STYLES = ("full", "fast")  # the sky130A deck's DRC variants run here: sign-off and triage


def script(tech: Path, gds: Path, top: str, out_prefix: Path, style: str = "full") -> str:
    """Tcl for ``magic -dnull -noconsole``: DRC with the deck's ``drc(<style>)`` variant, writes <prefix>.drc.txt
    (why<TAB>x1 y1 x2 y2 in um). Paths are quoted for Tcl (``common.quote.tcl``)."""
    if style not in STYLES:
        raise ValueError(f"magic DRC style {style!r} is not one of {', '.join(STYLES)}")
    drc_txt = quote.tcl(f"{out_prefix}.drc.txt")
    return _load(tech, gds, top) + f"""drc style drc({style})
drc euclidean on
drc on
drc check
drc catchup
set um [cif scale out]
puts "DRC_TOTAL = [drc list count total]"
set fo [open {drc_txt} w]
set nb 0
foreach {{why boxes}} [drc listall why] {{
  foreach b $boxes {{
    set c {{}}
    foreach v $b {{ lappend c [format %.3f [expr {{$v * $um}}]] }}
    puts $fo "$why\\t[join $c {{ }}]"
    incr nb
  }}
}}
close $fo
puts "DRC_BOXES = $nb"
drc off
quit -noprompt
"""


def extract_script(tech: Path, gds: Path, top: str, out_prefix: Path) -> str:
    """Tcl for ``magic -dnull -noconsole``: devices and connectivity only (no parasitics, no DRC) to <prefix>.spice,
    hierarchical (each cell extracted once, ``ext2spice lvs``)."""
    spice = quote.tcl(f"{out_prefix}.spice")
    return _load(tech, gds, top) + f"""extract do local
extract no all
extract all
ext2spice lvs
ext2spice subcircuit top on
ext2spice -o {spice}
puts "EXTRACT_DONE"
quit -noprompt
"""


def read_drc(path: Path) -> list[DrcBox]:
    """Unique boxes written by ``script``: (rule text, (x1, y1, x2, y2) um); magic lists some boxes twice."""
    out: list[DrcBox] = []
    for line in path.read_text().splitlines():
        if "\t" not in line:
            continue
        why, box = line.rsplit("\t", 1)
        x1, y1, x2, y2 = (float(v) for v in box.split())
        out.append((why, (x1, y1, x2, y2)))
    return sorted(set(out))


def drc_count(log_text: str) -> int:
    """Magic's DRC_BOXES count from the run log (raises when magic never got that far)."""
    m = re.search(r"DRC_BOXES = (\d+)", log_text)
    if not m:
        raise ValueError("magic did not report a DRC count")
    return int(m.group(1))


def summarise(boxes: list[DrcBox]) -> dict[str, int]:
    """Count of boxes per rule, for the report."""
    counts: dict[str, int] = {}
    for why, _ in boxes:
        counts[why] = counts.get(why, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _run(stage: str, ctx: FlowContext, tcl_text: str, prefix: Path) -> tuple[Path, str]:
    tcl = prefix.with_suffix(".tcl")
    atomic_write_text(tcl, tcl_text)
    log = run_tool(stage, "magic", ["magic", "-dnull", "-noconsole", str(tcl.resolve())], prefix.parent,
                   ctx.config.timeout_s, cwd=prefix.parent, log_name=prefix.name + ".magic")
    return log, log.read_text(errors="replace")


def run_magic(stage: str, ctx: FlowContext, t: tech.PnrTech, gds_path: Path, top: str, prefix: Path,
              style: str = "full") -> int:
    """Magic DRC (``style``: ``STYLES``) of gds_path; returns the unique DRC box count (boxes in <prefix>.drc.txt)."""
    log, text = _run(stage, ctx, script(t.magic_tech, gds_path.resolve(), top, prefix.resolve(), style), prefix)
    try:
        drc_count(text)  # magic got to the end of its check
    except ValueError:
        raise StageError(stage, log, text.splitlines()[-8:], "magic reported no DRC count") from None
    return len(read_drc(prefix.with_name(prefix.name + ".drc.txt")))  # unique error boxes


def run_extract(stage: str, ctx: FlowContext, t: tech.PnrTech, gds_path: Path, top: str, prefix: Path) -> Path:
    """Magic SPICE extraction of gds_path for LVS; returns <prefix>.spice."""
    log, text = _run(stage, ctx, extract_script(t.magic_tech, gds_path.resolve(), top, prefix.resolve()), prefix)
    spice = prefix.with_name(prefix.name + ".spice")
    if "EXTRACT_DONE" not in text or not spice.is_file():
        raise StageError(stage, log, text.splitlines()[-8:], "magic extraction did not finish")
    return spice
