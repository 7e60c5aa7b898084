"""spec -> build/<id>/rtl/{*.v, manifest.json, <top>.core, <top>_tb.v}: deterministic, validated, written atomically.

The FuseSoC core and its smoke bench (``rtl.fusesoc``) are listed under the manifest's ``fusesoc`` key; the
bench is not one of the design's ``verilog_files``, which stay exactly the PE's modules."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from common.errors import BitbranchError
from common.lock import design_lock
from model.contract import check_manifest
from model.spec import DesignSpec
from rtl import archs, fusesoc
from rtl.check import module_names, parse_verilog
from rtl.design import ArchDesign
from rtl.verilog import GENERATOR

PYVERILOG_TABLES = ".pyverilog"
"""Folder under the build root where pyverilog's parser tables are cached."""


def design_for(spec: DesignSpec) -> ArchDesign:
    """The architecture's generated modules for a spec (pure: no files); the arch comes from the registry."""
    return archs.get(spec.arch).generate(spec)


def manifest_for(spec: DesignSpec, design: ArchDesign) -> dict[str, Any]:
    """The manifest: the contract keys, the spec, reset/clock facts, the pipeline and popcount numbers."""
    manifest: dict[str, Any] = {
        "top": design.top,
        "arch": spec.arch,
        "encoding": spec.encoding,
        "wbits": spec.wbits,
        "abits": spec.abits,
        "n": spec.n,
        "out_width": spec.out_width,
        "latency_cycles": design.latency_cycles,
        "initiation_interval": design.initiation_interval,
        "verilog_files": [m.filename for m in design.modules],
        "spec_id": spec.id,
        "spec": spec.to_dict(),
        "generator": GENERATOR,
        "reset": "sync",
        "reset_port": "rst_n",
        "reset_active": "low",
        "clock_port": "clk",
        "modules": [m.name for m in design.modules],
        "pipeline": design.pipeline,
        "fusesoc": {  # the FuseSoC CAPI2 core and its smoke bench, beside the Verilog (rtl/fusesoc.py)
            "core": fusesoc.core_filename(design.top),
            "vlnv": fusesoc.vlnv(spec),
            "testbench": f"{design.top}_tb.v",
            "targets": ["default", "lint", "sim"],
        },
    }
    manifest.update(design.extra)
    check_manifest(spec, manifest)
    return manifest


def render(spec: DesignSpec, table_dir: Path) -> dict[str, str]:
    """All files of the rtl folder as name -> text, each Verilog file checked with pyverilog."""
    design = design_for(spec)
    files: dict[str, str] = {}
    for mod in design.modules:
        ast = parse_verilog(mod.text, table_dir, label=mod.filename)
        names = module_names(ast)
        if names != [mod.name]:
            raise BitbranchError(f"generated {mod.filename} defines {names}, expected [{mod.name}] (generator bug)")
        files[mod.filename] = mod.text
    manifest = manifest_for(spec, design)
    rt = design.extra.get("runtime_precision")  # a run-time-precision PE: the smoke bench runs it at its maximum widths
    tie = "" if not rt else "".join(
        f", .{p}({d['width']}'d{d['valid'][1]})" for p, d in rt["ports"].items()) + f", .{rt['flag_port']}()"
    bench = fusesoc.smoke_bench(spec, design.top, design.latency_cycles, design.initiation_interval, tie)
    if module_names(parse_verilog(bench.text, table_dir, label=bench.filename)) != [bench.name]:
        raise BitbranchError(f"generated {bench.filename} does not define {bench.name} (generator bug)")
    files[bench.filename] = bench.text
    files[manifest["fusesoc"]["core"]] = fusesoc.core_text(
        spec, design.top, manifest["verilog_files"], bench.filename, archs.get(spec.arch).description)
    files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return files


def _same_content(folder: Path, files: dict[str, str]) -> bool:
    """True when folder holds exactly these files with these bytes."""
    if not folder.is_dir():
        return False
    present = {p.name for p in folder.iterdir()}
    if present != set(files):
        return False
    return all((folder / name).read_text() == text for name, text in files.items())


def generate(spec: DesignSpec, root: Path | str = "build") -> Path:
    """Write build/<id>/rtl/*.v and manifest.json (untouched if identical); return the manifest path."""
    root = Path(root)
    design_dir = spec.build_dir(root)
    rtl_dir = design_dir / "rtl"
    files = render(spec, root / PYVERILOG_TABLES)
    design_dir.mkdir(parents=True, exist_ok=True)
    with design_lock(design_dir):  # the design's one lock (common/lock.py), shared with verif and the flow
        if _same_content(rtl_dir, files):
            return rtl_dir / "manifest.json"
        tmp = Path(tempfile.mkdtemp(prefix=".rtl.tmp-", dir=design_dir))
        try:
            for name, text in files.items():
                (tmp / name).write_text(text)
            os.chmod(tmp, 0o755)
            if rtl_dir.exists():
                old = Path(tempfile.mkdtemp(prefix=".rtl.old-", dir=design_dir))
                os.rename(rtl_dir, old / "rtl")
                os.rename(tmp, rtl_dir)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, rtl_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return rtl_dir / "manifest.json"
