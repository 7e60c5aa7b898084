"""Synthesis stage: the PE's RTL to sky130_fd_sc_hd gates with yosys 0.23 (filtered liberty, no -dont_use).

Outputs under ``build/<id>/flow/01-synth/``: ``<top>.nl.v`` (flat gate netlist), ``synth.ys`` (the script),
``yosys.log``, ``stat.txt`` and ``cells.json`` (count and area per cell type, from the netlist and liberty).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from common import quote
from common.files import atomic_write_json, atomic_write_text
from flow.liberty import load_library
from flow.netlist import parse_netlist
from flow.pdk import is_dont_use
from flow.stage import SCRATCH_PREFIX, FlowContext, Stage, StageError, run_tool
from model.contract import ManifestError, check_manifest, read_manifest
from model.spec import DesignSpec
from rtl.generate import generate

TIE_CELL = "sky130_fd_sc_hd__conb_1"


def generator_inputs() -> list[Path]:
    """Source files of the RTL generator (every module under rtl/, the architectures in rtl/archs/ too, and the model
    it builds on): newer ones make a manifest stale. Regenerating is cheap and leaves identical files untouched."""
    repo = Path(__file__).resolve().parents[1]
    return sorted((repo / "rtl").rglob("*.py")) + sorted((repo / "model").rglob("*.py"))


def ensure_rtl(spec: DesignSpec, root: Path) -> dict[str, Any]:
    """The design's manifest, (re)generating the RTL when missing or older than the generator's sources."""
    manifest_path = spec.build_dir(root) / "rtl" / "manifest.json"
    newest = max((p.stat().st_mtime for p in generator_inputs() if p.is_file()), default=0.0)
    if not manifest_path.is_file() or manifest_path.stat().st_mtime < newest:
        generate(spec, root=str(root))
    try:
        manifest = read_manifest(manifest_path)
    except ManifestError as e:  # damaged: treated as absent, i.e. generated again
        print(f"warning: {e}: generating the RTL again", file=sys.stderr, flush=True)
        generate(spec, root=str(root))
        manifest = read_manifest(manifest_path)
    check_manifest(spec, manifest)
    return manifest


@contextlib.contextmanager
def abc_liberty(liberty: Path) -> Iterator[Path | None]:
    """The liberty path for yosys's ``abc`` pass: None (use the script's) when its absolute path is plain, else a
    link to it in a plain temporary folder. yosys hands ABC the absolute path unquoted, so a space or a quote in
    the build root would break it."""
    try:
        quote.plain_path(Path(liberty).resolve(), "liberty", "")
        yield None
        return
    except quote.UnsafePath:
        pass
    alias = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-lib-"))  # removed like yosys's scratch
    try:
        (alias / Path(liberty).name).symlink_to(Path(liberty).resolve())
        yield alias / Path(liberty).name
    finally:
        shutil.rmtree(alias, ignore_errors=True)


def yosys_script(top: str, verilog_files: Sequence[Path], liberty: Path, netlist: Path, stat: Path,
                 clock_ps: int, use_tie_cell: bool, abc_liberty: Path | None = None) -> str:
    """The yosys 0.23 script: generic synth, flop mapping, ABC with a delay target, constants, netlist.

    Paths are quoted for yosys (``common.quote.yosys``); the stage passes them relative to its folder, where yosys
    runs, because ABC cannot read a liberty whose path has a space even when quoted."""
    q = quote.yosys
    abc_lib = q(abc_liberty if abc_liberty is not None else liberty)
    liberty, netlist, stat = q(liberty), q(netlist), q(stat)  # type: ignore[assignment]
    reads = "\n".join(f"read_verilog -sv {q(f)}" for f in verilog_files)
    tie = f"hilomap -singleton -hicell {TIE_CELL} HI -locell {TIE_CELL} LO\n" if use_tie_cell else ""
    return (
        f"read_liberty -lib {liberty}\n"
        f"{reads}\n"
        f"hierarchy -check -top {top}\n"
        f"synth -flatten -top {top}\n"
        f"dfflibmap -liberty {liberty}\n"
        f"opt_clean\n"
        f"abc -D {clock_ps} -liberty {abc_lib}\n"
        f"setundef -zero\n"
        f"opt_clean -purge\n"
        f"{tie}"
        f"opt_clean -purge\n"
        f"check -assert\n"
        f"tee -o {stat} stat -liberty {liberty}\n"
        f"write_verilog -noattr -noexpr -nohex -nodec -defparam {netlist}\n"
    )


class SynthStage(Stage):
    """yosys: RTL -> flat sky130_fd_sc_hd netlist; writes cell count and area."""

    name = "synth"
    tools = ("yosys",)
    metric_names = ("design__instance__count", "design__instance__area", "clock__period",
                    "design__instance__count__sequential")
    consumes = ("rtl_manifest", "rtl_sources", "liberty_tt")
    produces = {"netlist": "{top}.nl.v", "synth_cells": "cells.json"}

    def prepare(self, ctx: FlowContext) -> None:
        ensure_rtl(ctx.spec, ctx.root)

    def _manifest(self, ctx: FlowContext) -> dict[str, Any]:
        return read_manifest(ctx.path("rtl_manifest"))

    def liberty(self, ctx: FlowContext) -> Path:
        return ctx.path("liberty_tt")

    def netlist(self, ctx: FlowContext) -> Path:
        return self.produced(ctx)["netlist"][0]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        return {"clock_ns": ctx.config.clock_ns, "extra_dont_use": list(ctx.config.extra_dont_use),
                "liberty_corner": "tt", "abc_delay_target_ps": round(ctx.config.clock_ns * 1000)}

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        m = self._manifest(ctx)
        d = self.dir(ctx)
        lib_path = self.liberty(ctx)
        use_tie = not is_dont_use(TIE_CELL, extra=ctx.config.extra_dont_use)
        d.mkdir(parents=True, exist_ok=True)
        here = d.resolve()

        def rel(p: Path) -> str:  # relative to the stage folder: no part of the build root's name gets in
            return os.path.relpath(Path(p).resolve(), here)

        with abc_liberty(lib_path) as abc_lib:
            script = yosys_script(m["top"], [Path(rel(p)) for p in ctx.paths("rtl_sources")], Path(rel(lib_path)),
                                  Path(rel(self.netlist(ctx))), Path("stat.txt"), round(ctx.config.clock_ns * 1000),
                                  use_tie, abc_lib)
            atomic_write_text(d / "synth.ys", script)
            run_tool(self.name, "yosys", ["yosys", "-q", "-l", "yosys.log", "-s", "synth.ys"],
                     d, ctx.config.timeout_s, cwd=d, log_name="yosys.stdout")
        lib = load_library(lib_path, ctx.pdk_build_dir / "cache")
        nl = parse_netlist(self.netlist(ctx).read_text())
        counts: dict[str, int] = {}
        for inst in nl.instances:
            counts[inst.cell] = counts.get(inst.cell, 0) + 1
        unknown = sorted(c for c in counts if c not in lib.cells)
        if unknown:
            raise StageError(self.name, d / "yosys.log", [], f"netlist uses cells missing from the liberty: {', '.join(unknown)}")
        by_type = {c: {"count": n, "area_um2": n * lib.cells[c].area} for c, n in sorted(counts.items())}
        area = sum(v["area_um2"] for v in by_type.values())
        yosys_area = parse_stat_area(d / "stat.txt")
        if yosys_area is not None and abs(yosys_area - area) > 1e-3 * max(area, 1.0):
            raise StageError(self.name, d / "stat.txt", [], f"area mismatch: yosys {yosys_area} vs netlist {area} um^2")
        atomic_write_json(d / "cells.json", {"cells": by_type, "area_um2": area, "count": sum(counts.values()),
                                             "liberty": str(lib_path), "yosys_stat_area_um2": yosys_area})
        seq = sum(n for c, n in counts.items() if lib.cells[c].is_sequential)
        return {"design__instance__count": sum(counts.values()), "design__instance__area": area,
                "design__instance__count__sequential": seq, "clock__period": ctx.config.clock_ns}


def parse_stat_area(path: Path) -> float | None:
    """Chip area from yosys ``stat -liberty`` output, or None when absent."""
    if not Path(path).is_file():
        return None
    m = re.findall(r"Chip area for (?:top )?module .*?:\s*([-+\d.eE]+)", Path(path).read_text())
    return float(m[-1]) if m else None
