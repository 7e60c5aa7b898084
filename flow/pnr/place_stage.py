"""Stage 10-place: qflow placement (graywolf) of the synthesized netlist, then DEF legalisation and well taps."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from common.files import atomic_write_json, atomic_write_text
from common.tools import debian_version
from flow.pnr import defedit, tech
from flow.pnr.common import PNR, Attempt, pnr_tech, tech_inputs, top_of
from flow.stage import FlowContext, Stage, StageError, run_tool
from flow.synth import SynthStage
from model.contract import manifest_files, read_manifest

FANOUT_TOOL = "/usr/lib/qflow/bin/blifFanout"

class PlaceStage(Stage):
    """qflow placement (graywolf) of the netlist with the first attempt's density and seed, then legalisation.

    The route stage re-places with the later attempts when routing fails; this stage is the first one.
    """

    name = "place"
    index = 10
    tools = ("yosys", "qflow")
    metric_names = ("place__tap__worst_distance__um", "place__taps__count")

    def placed_def(self, ctx: FlowContext) -> Path:
        return self.dir(ctx) / "placed.def"

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [SynthStage().netlist(ctx), SynthStage().liberty(ctx), *tech_inputs(ctx, "defedit")]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [self.placed_def(ctx), self.dir(ctx) / "qrouter_head.cfg", self.dir(ctx) / "rail_obs.tcl"]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"attempt": PNR.attempts[0].as_list(), "tap_um": PNR.tap_um, "qflow_tech": tech.QFLOW_TECH,
                "fanout_buffering": "qflow blifFanout -l 200 -c 20, buf_2 (fallback)",
                "graywolf_debian_version": debian_version("graywolf")}

    def place(self, ctx: FlowContext, attempt: Attempt, work: Path) -> tuple[str, str, dict[str, Any]]:
        """One placement for ``attempt`` in ``work``; returns (legal DEF, qrouter cfg head, info)."""
        t = pnr_tech(ctx)
        top = top_of(ctx)
        for sub in ("source", "synthesis", "layout", "log"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        for f in manifest_files(read_manifest(ctx.rtl_dir / "manifest.json"), ctx.rtl_dir):
            (work / "source" / f.name).write_text(f.read_text())
        lib = SynthStage().liberty(ctx).resolve()
        blif = (work / "synthesis" / f"{top}.blif").resolve()
        run_tool(self.name, "yosys", ["yosys", "-q", "-p",
                 f"read_liberty -lib {lib}; read_verilog {SynthStage().netlist(ctx).resolve()}; hierarchy -top {top}; "
                 f"write_blif -gates -impltf -buf sky130_fd_sc_hd__buf_2 A X {blif}"], work, ctx.config.timeout_s,
                 log_name="blif")
        if attempt.buffered:
            self.buffer_fanout(ctx, blif, lib, work)
        (work / "project_vars.sh").write_text(f"#!/usr/bin/tcsh -f\nset initial_density = {attempt.density}\n")
        par = (t.qflow_dir / tech.QFLOW_TECH / f"{tech.QFLOW_TECH}.par").read_text()
        (work / "layout" / f"{top}.par").write_text(
            re.sub(r"(?m)^\*random\.seed.*$", f"*random.seed          : {attempt.seed}", par))
        env = {**os.environ, "QFLOW_TECH_DIR": str(t.qflow_dir)}
        log = run_tool(self.name, "qflow", ["qflow", "-T", tech.QFLOW_TECH, "place", top], work, ctx.config.timeout_s,
                       cwd=work, env=env, log_name=f"qflow-place-seed{attempt.seed}")
        unrouted = work / "layout" / f"{top}_unroute.def"
        if not unrouted.is_file():
            place_log = work / "log" / "place.log"
            tail = place_log.read_text(errors="replace").splitlines()[-8:] if place_log.is_file() else []
            raise StageError(self.name, place_log, tail, f"graywolf/qflow wrote no placement (see also {log})")
        legal, info = defedit.legalise(unrouted.read_text(), PNR.tap_um)
        return legal, (work / "layout" / f"{top}.cfg").read_text(), {**info, "attempt": attempt.as_list()}

    def buffer_fanout(self, ctx: FlowContext, blif: Path, lib: Path, work: Path) -> None:
        """qflow's blifFanout until nothing changes: buffers high-fanout nets (e.g. enables, clock) and resizes
        drivers, as qflow's own synthesis would; the front end's yosys netlist has no fanout repair."""
        tool = FANOUT_TOOL if Path(FANOUT_TOOL).is_file() else "blifFanout"
        for k in range(8):
            src = blif.with_name(f"fanout_in{k}.blif")
            blif.replace(src)
            log = run_tool(self.name, "blifFanout", [tool, "-l", "200", "-c", "20", "-s", "nullstring", "-p", str(lib),
                           "-b", "sky130_fd_sc_hd__buf_2", "-i", "A", "-o", "X", str(src), str(blif)],
                           work, ctx.config.timeout_s, log_name=f"blifFanout{k}")
            m = re.search(r"Number of gates changed: (\d+)", log.read_text(errors="replace"))
            if not blif.is_file():
                raise StageError(self.name, log, log.read_text(errors="replace").splitlines()[-6:], "blifFanout wrote no BLIF")
            if not m or int(m.group(1)) == 0:
                return

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        d = self.dir(ctx)
        first = PNR.attempts[0]
        legal, cfg, info = self.place(ctx, first, d / first.name)
        atomic_write_text(self.placed_def(ctx), legal)
        atomic_write_text(d / "qrouter_head.cfg", cfg)
        atomic_write_text(d / "rail_obs.tcl", defedit.rail_obstructions(legal))
        atomic_write_json(d / "place.json", info)
        return {"place__tap__worst_distance__um": info["worst_tap_um"], "place__taps__count": info["taps"]}
