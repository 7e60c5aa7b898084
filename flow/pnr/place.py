"""One placement: qflow placement (graywolf) of the synthesized netlist at an attempt's density and seed (with
optional fanout buffering), then DEF legalisation and well taps.

A helper, not a stage: the place stage runs the first attempt, the route stage the fallback attempts; both list
this module among their sources and consume what it reads (``PLACE_CONSUMES``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from common import quote
from flow.pnr import defedit, tech
from flow.pnr.common import PNR, Attempt, pnr_tech
from flow.stage import FlowContext, StageError, run_tool

FANOUT_TOOL = "/usr/lib/qflow/bin/blifFanout"

PLACE_CONSUMES: tuple[str, ...] = ("rtl_manifest", "rtl_sources", "netlist", "liberty_tt", "pnr_tech")
"""The artifacts ``place`` reads."""


def place(stage: str, ctx: FlowContext, attempt: Attempt, work: Path) -> tuple[str, str, dict[str, Any]]:
    """One placement for ``attempt`` in ``work`` (tool runs logged as ``stage``); returns (legal DEF, qrouter cfg
    head, info)."""
    t = pnr_tech(ctx)
    top = ctx.top
    for sub in ("source", "synthesis", "layout", "log"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    for f in ctx.paths("rtl_sources"):
        (work / "source" / f.name).write_text(f.read_text())
    lib = ctx.path("liberty_tt").resolve()
    blif = (work / "synthesis" / f"{top}.blif").resolve()
    run_tool(stage, "yosys", ["yosys", "-q", "-p",
             f"read_liberty -lib {quote.yosys(lib)}; read_verilog {quote.yosys(ctx.path('netlist').resolve())}; "
             f"hierarchy -top {top}; write_blif -gates -impltf -buf sky130_fd_sc_hd__buf_2 A X {quote.yosys(blif)}"],
             work, ctx.config.timeout_s,
             log_name="blif")
    if attempt.buffered:
        buffer_fanout(stage, ctx, blif, lib, work)
    (work / "project_vars.sh").write_text(f"#!/usr/bin/tcsh -f\nset initial_density = {attempt.density}\n")
    par = (t.qflow_dir / tech.QFLOW_TECH / f"{tech.QFLOW_TECH}.par").read_text()
    (work / "layout" / f"{top}.par").write_text(
        re.sub(r"(?m)^\*random\.seed.*$", f"*random.seed          : {attempt.seed}", par))
    env = {**os.environ, "QFLOW_TECH_DIR": str(t.qflow_dir)}
    log = run_tool(stage, "qflow", ["qflow", "-T", tech.QFLOW_TECH, "place", top], work, ctx.config.timeout_s,
                   cwd=work, env=env, log_name=f"qflow-place-seed{attempt.seed}")
    unrouted = work / "layout" / f"{top}_unroute.def"
    if not unrouted.is_file():
        place_log = work / "log" / "place.log"
        tail = place_log.read_text(errors="replace").splitlines()[-8:] if place_log.is_file() else []
        raise StageError(stage, place_log, tail, f"graywolf/qflow wrote no placement (see also {log})")
    legal, info = defedit.legalise(unrouted.read_text(), PNR.tap_um)
    cfg = defedit.with_edge_obstructions((work / "layout" / f"{top}.cfg").read_text(), legal)
    return legal, cfg, {**info, "attempt": attempt.as_list()}


def buffer_fanout(stage: str, ctx: FlowContext, blif: Path, lib: Path, work: Path) -> None:
    """qflow's blifFanout until nothing changes: buffers high-fanout nets (e.g. enables, clock); the front end's
    yosys netlist has no fanout repair. Buffering only (``-f``): its load balancing also resized drivers, and one
    of the sizes it chose, ``a21boi_2``, has a layout netgen cannot match to its own CDL (parallel_w3a3_n32 LVS 1)."""
    tool = FANOUT_TOOL if Path(FANOUT_TOOL).is_file() else "blifFanout"
    for k in range(8):
        src = blif.with_name(f"fanout_in{k}.blif")
        blif.replace(src)
        log = run_tool(stage, "blifFanout", [tool, "-f", "-l", "200", "-c", "20", "-s", "nullstring", "-p", str(lib),
                       "-b", "sky130_fd_sc_hd__buf_2", "-i", "A", "-o", "X", str(src), str(blif)],
                       work, ctx.config.timeout_s, log_name=f"blifFanout{k}")
        m = re.search(r"Number of gates changed: (\d+)", log.read_text(errors="replace"))
        if not blif.is_file():
            raise StageError(stage, log, log.read_text(errors="replace").splitlines()[-6:], "blifFanout wrote no BLIF")
        if not m or int(m.group(1)) == 0:
            return
