"""Reliability and security regressions (issue #20): concurrent runs, damaged state, hostile paths, environment
faults. Each test names the case of the README's reliability table it keeps fixed ("case N")."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from common import quote
from common.cli import run_main
from common.errors import BitbranchError
from common.files import atomic_output
from common.lock import LockBusy, design_lock, holder_of, locked
from common.state import load_state, read_state
from flow.metrics import read_metrics
from flow.pdk import Pdk, PdkError, derived_liberty
from flow.resume import stage_key
from flow.stage import (
    FlowConfig,
    FlowContext,
    Stage,
    StageError,
    check_metrics,
    execute,
    run_stages,
    run_tool,
    scratch_env,
)
from model.spec import DesignSpec

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def ctx_for(root: Path) -> FlowContext:
    return FlowContext(DesignSpec(n=4), root, Pdk(root / "nopdk", "test"), FlowConfig())


class Count(Stage):
    """Writes a file and a metric; counts its runs."""

    name, index, metric_names = "count", 1, ("count__runs", "count__value")

    def outputs(self, ctx):
        return [self.dir(ctx) / "out.txt"]

    def run(self, ctx):
        runs = self.dir(ctx) / "runs"
        n = int(runs.read_text()) + 1 if runs.exists() else 1
        runs.write_text(str(n))
        (self.dir(ctx) / "out.txt").write_text("x")
        return {"count__runs": n, "count__value": 1.5}


class Later(Stage):
    """A second stage; ``meddle`` lets a test change the first stage's stamp while the flow runs."""

    name, index, metric_names = "later", 2, ("later__value",)
    meddle = None

    def outputs(self, ctx):
        return [self.dir(ctx) / "out.txt"]

    def run(self, ctx):
        (self.dir(ctx) / "out.txt").write_text("y")
        if Later.meddle:
            Later.meddle(ctx)
        return {"later__value": 2}


def _python(code: str, *args: str, wait: bool = True, **kw):
    argv = [sys.executable, "-c", textwrap.dedent(code), *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # now: with the locks this process holds
    if wait:
        return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, **kw)
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


HOLD = """
import sys, time
from common.lock import design_lock
with design_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(design_dir: Path, seconds: float) -> subprocess.Popen:
    p = _python(HOLD, str(design_dir), str(seconds), wait=False)
    assert p.stdout.readline().strip() == "held"
    return p


# ---- case 1: two commands on one design at once -------------------------------------------------------------


def test_second_writer_waits_with_a_message(tmp_path):
    holder = _hold(tmp_path / "d", 1.5)
    said: list[str] = []
    t0 = time.monotonic()
    with locked(tmp_path / "d" / ".lock", say=said.append):
        waited = time.monotonic() - t0
    holder.wait()
    assert waited > 0.5
    assert said and "in use by pid" in said[0] and str(holder.pid) in said[0]


def test_lock_is_reentrant_and_inherited_by_children(tmp_path):
    d = tmp_path / "d"
    with design_lock(d):
        with design_lock(d):  # a flow run regenerating its RTL takes it again
            pass
        r = _python("""
            import sys
            from common.lock import design_lock
            with design_lock(sys.argv[1], wait=False):
                print("child ok")
            """, str(d))
        assert r.returncode == 0 and "child ok" in r.stdout, r.stderr
    assert "pid" in holder_of(d / ".lock")


def test_reader_does_not_wait_and_report_shows_busy(tmp_path):
    from reports.table import row_from_build

    spec = DesignSpec(n=4)
    holder = _hold(spec.build_dir(tmp_path), 3)
    try:
        with pytest.raises(LockBusy):
            with design_lock(spec.build_dir(tmp_path), shared=True, wait=False):
                pass
        row = row_from_build(spec, tmp_path)
        assert row.status.startswith("incomplete: being written by pid")
    finally:
        holder.kill()
        holder.wait()


def test_temporary_names_are_unique_per_process(tmp_path):
    out = tmp_path / "x.png"
    with atomic_output(out) as a, atomic_output(out) as b:
        assert a != b and a.suffix == b.suffix == ".png" and a.parent == out.parent
        a.write_text("a")
        b.write_text("b")
    assert out.read_text() == "a" and sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_shared_stage_runs_under_the_pdk_lock(tmp_path):
    class Shared(Count):
        name, shared = "shared", True

        def dir(self, ctx):
            return ctx.pdk_build_dir / "shared"

        def run(self, ctx):
            from common.lock import _held

            assert os.path.realpath(ctx.pdk_build_dir / ".lock") in _held
            return super().run(ctx)

    execute(Shared(), ctx_for(tmp_path / "build"))


@pytest.mark.slow
def test_two_flow_commands_at_once_give_one_result(tmp_path, pdk, need_tools):
    """Two `python -m flow synth` on one design at once: both end ok, the second waited, the metrics are those of
    a single run (the gds case is measured in the README: 5 of 5)."""
    need_tools("yosys")
    argv = [sys.executable, "-m", "flow", "synth", "--bits", "1", "--n", "4", "--root", str(tmp_path / "b")]
    procs = [subprocess.Popen(argv, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert not any("Traceback" in o for o in outs)
    assert sum("waiting for" in o for o in outs) == 1
    mpath = DesignSpec(arch="parallel", wbits=1, abits=1, n=4).build_dir(tmp_path / "b") / "flow" / "metrics.json"
    together = json.loads(mpath.read_text())
    single = subprocess.run(argv, cwd=REPO, env=ENV, capture_output=True, text=True)
    assert single.returncode == 0 and "[synth] up to date" in single.stdout
    again = json.loads(mpath.read_text())
    strip = lambda m: {k: v for k, v in m.items() if k != "provenance"}  # noqa: E731
    assert strip(together) == strip(again) and together["flow__status"] == "ok"


# ---- case 2: ok only for a complete, current run -----------------------------------------------------------


def test_ok_needs_every_stamp_of_this_run(tmp_path):
    ctx = ctx_for(tmp_path / "build")

    def meddle(c):
        (Count().dir(c) / "stamp.json").write_text(json.dumps({"fingerprint": "other", "metrics": {}}))

    Later.meddle = meddle
    try:
        with pytest.raises(StageError, match="changed while the flow ran"):
            run_stages([Count(), Later()], ctx)
    finally:
        Later.meddle = None
    assert read_metrics(ctx.metrics_path)["flow__status"].startswith("failed at the final check")


def test_metrics_must_match_the_stamps(tmp_path):
    ctx = ctx_for(tmp_path / "build")
    run_stages([Count(), Later()], ctx)
    m = read_metrics(ctx.metrics_path)
    assert m["flow__status"] == "ok" and check_metrics([Count(), Later()], ctx, m) is None
    assert "later missing" in check_metrics([Count(), Later()], ctx, {**m, "provenance": {"count": {}}})
    assert "differ from the stage stamps" in check_metrics([Count(), Later()], ctx, {**m, "count__value": 1.0})
    assert "recorded by no stage" in check_metrics([Count(), Later()], ctx, {**m, "design__instance__area": 1.0})


def test_hand_edited_stamp_value_reruns_the_stage(tmp_path, capsys):
    ctx = ctx_for(tmp_path / "build")
    execute(Count(), ctx)
    stamp = Count().dir(ctx) / "stamp.json"
    data = json.loads(stamp.read_text())
    data["metrics"]["count__value"] = 1.0
    stamp.write_text(json.dumps(data))
    r = execute(Count(), ctx)
    assert not r.skipped and r.metrics["count__runs"] == 2
    assert "do not match their digest" in capsys.readouterr().err


# ---- case 3: damaged state files -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["null", "[]", "", '{"fingerprint": ', '{"fingerprint": 3, "metrics": {}}'])
def test_damaged_stamp_reruns_the_stage(tmp_path, capsys, text):
    ctx = ctx_for(tmp_path / "build")
    execute(Count(), ctx)
    (Count().dir(ctx) / "stamp.json").write_text(text)
    for _ in range(2):  # once rerun, the stamp is good again
        execute(Count(), ctx)
    assert int((Count().dir(ctx) / "runs").read_text()) == 2
    err = capsys.readouterr().err
    assert "warning: stamp" in err and "is damaged" in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["null", "[]", "{}", "{", '{"ident": [], "outcome": "ok"}'])
def test_damaged_run_record_reruns_the_tool(tmp_path, text):
    work = tmp_path / "w"
    work.mkdir()
    argv = ["sh", "-c", 'echo run >> "$1"; echo x > out.txt', "sh", str(tmp_path / "count")]
    with stage_key("k"):
        run_tool("route", "sh", argv, work, cwd=work)
        for rec in (work / ".runs").glob("*.json"):
            rec.write_text(text)
        run_tool("route", "sh", argv, work, cwd=work)
    assert (tmp_path / "count").read_text().count("run") == 2


@pytest.mark.parametrize("text", ["null", "[]", "", "{\"flow__status\": "])
def test_damaged_metrics_file_is_started_afresh(tmp_path, text):
    ctx = ctx_for(tmp_path / "build")
    ctx.metrics_path.parent.mkdir(parents=True)
    ctx.metrics_path.write_text(text)
    assert read_metrics(ctx.metrics_path) == {}
    run_stages([Count()], ctx)
    assert read_metrics(ctx.metrics_path)["flow__status"] == "ok"


@pytest.mark.parametrize("which", ["manifest", "metrics"])
@pytest.mark.parametrize("text", ["null", "[]", "", "{\"top\": "])
def test_report_row_of_damaged_files_is_missing(tmp_path, capsys, which, text):
    from reports.table import row_from_build

    spec = DesignSpec(n=4)
    d = spec.build_dir(tmp_path)
    (d / "rtl").mkdir(parents=True)
    (d / "flow").mkdir(parents=True)
    (d / "rtl" / "manifest.json").write_text(json.dumps({"top": "t", "verilog_files": []}))
    (d / "flow" / "metrics.json").write_text(json.dumps({"flow__status": "ok"}))
    (d / ("rtl/manifest.json" if which == "manifest" else "flow/metrics.json")).write_text(text)
    row = row_from_build(spec, tmp_path, check_stamps=True)
    assert row.status == "missing"
    assert "is damaged" in capsys.readouterr().err


def test_state_loader_shapes(tmp_path):
    p = tmp_path / "s.json"
    assert read_state(p) is None
    for text in ("null", "[]", "1", "", "{"):
        p.write_text(text)
        assert load_state(p, "x", warn=lambda _m: None) is None
    p.write_text('{"a": 1}')
    assert read_state(p) == {"a": 1}


def test_damaged_manifest_is_generated_again(tmp_path, capsys):
    from flow.synth import ensure_rtl

    spec = DesignSpec(n=4)
    ensure_rtl(spec, tmp_path)
    mp = spec.build_dir(tmp_path) / "rtl" / "manifest.json"
    mp.write_text("null")
    assert ensure_rtl(spec, tmp_path)["n"] == 4
    assert "generating the RTL again" in capsys.readouterr().err


def test_damaged_liberty_cache_is_parsed_again(tmp_path, tt_liberty):
    from flow.liberty import load_library

    lib = load_library(tt_liberty, tmp_path)
    (cache,) = tmp_path.glob("*.json")
    cache.write_text('{"cells": null}')
    assert load_library(tt_liberty, tmp_path).cells.keys() == lib.cells.keys()


@pytest.mark.slow
def test_null_stamp_after_a_real_run(tmp_path, pdk, need_tools):
    """`echo null > <stage>/stamp.json` on a synthesized design: the report says stale (no traceback); the rerun
    warns in one line and reruns that stage only."""
    need_tools("yosys")
    from reports.table import row_from_build

    argv = [sys.executable, "-m", "flow", "synth", "--bits", "1", "--n", "4", "--root", str(tmp_path)]
    assert subprocess.run(argv, cwd=REPO, env=ENV, capture_output=True).returncode == 0
    spec = DesignSpec(arch="parallel", wbits=1, abits=1, n=4)
    (spec.build_dir(tmp_path) / "flow" / "01-synth" / "stamp.json").write_text("null")
    row = row_from_build(spec, tmp_path, check_stamps=True)
    assert row.status.startswith("stale: synth out of date")
    r = subprocess.run(argv, cwd=REPO, env=ENV, capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "warning: stamp" in r.stderr and "[synth] done" in r.stdout and "[liberty] up to date" in r.stdout
    # case 6a: a hand-edited metrics.json value shows as stale
    mp = spec.build_dir(tmp_path) / "flow" / "metrics.json"
    m = json.loads(mp.read_text())
    assert row_from_build(spec, tmp_path, check_stamps=True).status == "ok"
    mp.write_text(json.dumps({**m, "design__instance__area": 1.0}))
    status = row_from_build(spec, tmp_path, check_stamps=True).status
    assert status.startswith("stale: metrics.json: design__instance__area differ"), status


# ---- case 4: paths in generated scripts ----------------------------------------------------------------


def test_quoting_per_language():
    assert quote.tcl('/a b/$x[y]"{z}\\') == '"/a b/\\$x\\[y\\]\\"\\{z\\}\\\\"'
    assert quote.yosys("/a b'c/x.v") == "\"/a b'c/x.v\""
    assert quote.tcsh("/a b`touch x`$y") == "'/a b`touch x`$y'"
    for bad, f in (('/a"b', quote.yosys), ("/a'b", quote.tcsh), ("/a!b", quote.tcsh), ("/a\nb", quote.tcl)):
        with pytest.raises(quote.UnsafePath):
            f(bad)
    with pytest.raises(quote.UnsafePath, match="qflow"):
        quote.plain_path("/x/a b", "the build folder", "use another")


def test_tcl_quoted_path_reaches_tcl_unchanged(tmp_path):
    tclsh = shutil.which("tclsh")
    if tclsh is None:
        pytest.skip("no tclsh")
    odd = "/tmp/a b'c/$HOME/[exec touch x]/{q}\"\\z"
    out = subprocess.run([tclsh], input=f"puts {quote.tcl(odd)}\n", capture_output=True, text=True)
    assert out.stdout.rstrip("\n") == odd


def test_tcsh_qflow_tech_with_backticks_runs_nothing(tmp_path):
    """The qflow tech file, sourced by tcsh, with a PDK path holding a backtick command: nothing runs."""
    tcsh = shutil.which("tcsh")
    if tcsh is None:
        pytest.skip("no tcsh")
    from flow.pnr import tech

    marker = tmp_path / "pwned"
    pdk = Pdk(tmp_path / f"pdk`touch {marker}`", "test")
    t = tech.PnrTech(tmp_path / "pnr", pdk)
    sh = tmp_path / "tech.sh"
    sh.write_text(tech.qflow_sh_text(t, tmp_path / "lib`touch x`.lib"))
    out = subprocess.run([tcsh, "-f", "-c", f"source {sh}; echo $techleffile"], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0 and "`touch" in out.stdout
    assert not marker.exists()


def test_gds_refuses_a_root_or_pdk_qflow_cannot_carry(tmp_path, pdk):
    marker = tmp_path / "pwned"  # what the backticks would create, run in tmp_path
    odd_pdk = tmp_path / "pdk`touch pwned`"
    odd_pdk.mkdir()
    (odd_pdk / "sky130A").symlink_to(pdk.root / "sky130A")
    for root, env in ((tmp_path / "a b" / "build", ENV), (tmp_path / "b", {**ENV, "PDK_ROOT": str(odd_pdk)})):
        r = subprocess.run([sys.executable, "-m", "flow", "gds", "--bits", "1", "--n", "4", "--root", str(root)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and "qflow" in lines[0], r.stderr
        assert not (root / "parallel_w1a1_n4").exists()
    assert not marker.exists()


@pytest.mark.slow
def test_power_flow_under_a_root_with_a_space_and_a_quote(tmp_path, pdk, need_tools):
    """synth, sta, gate-level simulation and power under `.../a b'c/build`: the same numbers as under a plain root."""
    need_tools("yosys", "sta", "iverilog")
    results = []
    for root in (tmp_path / "a b'c" / "build", tmp_path / "plain"):
        r = subprocess.run([sys.executable, "-m", "flow", "power", "--bits", "1", "--n", "4", "--root", str(root)],
                           cwd=REPO, env=ENV, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        m = json.loads((DesignSpec(arch="parallel", wbits=1, abits=1, n=4).build_dir(root) / "flow" / "metrics.json")
                       .read_text())
        results.append({k: v for k, v in m.items() if k != "provenance"})
    assert results[0] == results[1] and results[0]["flow__status"] == "ok"


# ---- case 5: environment faults --------------------------------------------------------------------------


def _fake_pdk(tmp_path: Path, pdk: Pdk, corners: dict[str, str]) -> Path:
    """A PDK whose liberty files are ``corners`` ({corner: 'link' | 'truncate'}); everything else linked."""
    from flow.pdk import CORNERS

    root = tmp_path / "fakepdk"
    lib = Pdk(root, "").lib_dir
    for sub in (pdk.lib_dir.parent.parent, pdk.lib_dir.parent):  # sky130A/, libs.ref/
        rel = sub.relative_to(pdk.root)
        (root / rel).mkdir(parents=True, exist_ok=True)
        for child in sub.iterdir():
            if child.name not in ("libs.ref", pdk.lib_dir.name):
                (root / rel / child.name).symlink_to(child)
    lib.mkdir(parents=True)
    for child in pdk.lib_dir.iterdir():
        if child.name != "lib":
            (lib / child.name).symlink_to(child)
    (lib / "lib").mkdir()
    for c, how in corners.items():
        src, dst = pdk.liberty(c), lib / "lib" / pdk.liberty(c).name
        if how == "link":
            dst.symlink_to(src)
        else:
            dst.write_bytes(src.read_bytes()[: 400_000])
    assert set(corners) <= set(CORNERS)
    return root


def test_truncated_liberty_is_one_line(tmp_path, pdk):
    root = _fake_pdk(tmp_path, pdk, {"tt": "truncate", "ss": "link", "ff": "link"})
    with pytest.raises(PdkError, match="is damaged .*reinstall the PDK"):
        derived_liberty(Pdk(root, "test"), "tt", tmp_path / "b")
    r = subprocess.run([sys.executable, "-m", "flow", "synth", "--bits", "1", "--n", "4", "--root", str(tmp_path / "b")],
                       cwd=REPO, env={**ENV, "PDK_ROOT": str(root)}, capture_output=True, text=True, timeout=600)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and lines[-1].startswith("error:") and "Traceback" not in r.stderr, r.stderr
    assert "sky130_fd_sc_hd__tt_025C_1v80.lib" in lines[-1]


def test_pdk_with_only_the_tt_corner_is_one_line(tmp_path, pdk):
    root = _fake_pdk(tmp_path, pdk, {"tt": "link"})
    r = subprocess.run([sys.executable, "-m", "flow", "sta", "--bits", "1", "--n", "4", "--root", str(tmp_path / "b")],
                       cwd=REPO, env={**ENV, "PDK_ROOT": str(root)}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("error:") and "ss_n40C_1v40.lib" in line and "PDK" in line and "incomplete" in line


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_read_only_or_full_build_folder_is_one_line(capsys, code):
    def main(_argv):
        raise OSError(code, os.strerror(code), "build/parallel_w1a1_n4/flow/metrics.json")

    with pytest.raises(SystemExit) as e:
        run_main(main, [])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1
    assert err[0].startswith("error: cannot write build/parallel_w1a1_n4/flow/metrics.json")


def test_unwritable_lock_folder_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(BitbranchError, match="cannot create the lock file"):
        with design_lock(tmp_path / "file" / "design"):
            pass


# ---- case 6: the smaller ones ----------------------------------------------------------------------------


def test_verif_label_cannot_leave_the_design_folder(tmp_path):
    from verif.__main__ import main as verif_main

    for label in ("../../..", "a/b", ".."):
        with pytest.raises(BitbranchError, match="plain name"):
            verif_main(["--bits", "1", "--n", "4", "--root", str(tmp_path), "--netlist", "x.v", "--label", label])
    assert not (tmp_path / "verif").exists()


@pytest.mark.parametrize("clock", ["1e12", "1e-4", "0.01", "2e6"])
def test_clock_outside_the_physical_range_is_refused_up_front(tmp_path, clock):
    from flow.__main__ import main as flow_main

    with pytest.raises(BitbranchError, match="outside 0.1..1e\\+06 ns"):
        flow_main(["synth", "--bits", "1", "--n", "4", "--root", str(tmp_path), "--clock-ns", clock])
    with pytest.raises(BitbranchError, match="outside"):
        FlowConfig(clock_ns=float(clock))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("args, msg", [(["--jobs", "0"], "--jobs=0 is out of range"),
                                       (["--jobs", "x"], "--jobs must be an integer"),
                                       (["--model-bits-max", "99"], "--model-bits-max=99 is out of range: use 0..16"),
                                       (["--clock-ns", "1e12"], "outside")])
def test_report_options_are_checked(tmp_path, args, msg):
    from reports.__main__ import main as reports_main

    with pytest.raises(BitbranchError, match=msg):
        reports_main(["table", "--root", str(tmp_path / "b"), "--out", str(tmp_path / "r"), *args])
    assert not (tmp_path / "r").exists()


def test_large_spec_warns_with_an_estimate(capsys):
    from rtl.cli import size_warning

    assert size_warning(DesignSpec(wbits=2, abits=2, n=32)) is None
    msg = size_warning(DesignSpec(wbits=1, abits=16, n=65536))
    assert msg and "minutes" in msg and "parallel_w1a16_n65536" in msg


def test_deps_check_never_installs(tmp_path):
    """A missing tool: `scripts/deps.sh check` (what every make target but deps, debian-deps, demo and test runs) names the command to run and
    stops; it installs only under CI=true or when `make deps` asks."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for t in ("dirname", "sort", "dpkg", "id", "python3", "make", "apt-get"):
        if shutil.which(t):
            (fake / t).symlink_to(shutil.which(t))
    (fake / "apt-get").unlink(missing_ok=True)
    (fake / "apt-get").write_text(f"#!/bin/sh\ntouch {tmp_path}/apt-ran\n")
    (fake / "apt-get").chmod(0o755)
    env = {"PATH": str(fake), "HOME": str(tmp_path)}
    r = subprocess.run(["/bin/bash", str(REPO / "scripts" / "deps.sh"), "check"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 2 and "make deps" in r.stderr and "yosys" in r.stderr
    assert not (tmp_path / "apt-ran").exists()


def test_stale_yosys_scratch_folders_are_removed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    import tempfile

    stale = Path(tempfile.gettempdir()) / f"bitbranch-yosys-{dead.pid}-test"
    (stale / "yosys-abc-x").mkdir(parents=True)
    with scratch_env(["yosys"], None) as env:
        assert Path(env["TMPDIR"]).is_dir() and str(os.getpid()) in env["TMPDIR"]
        mine = Path(env["TMPDIR"])
    assert not stale.exists() and not mine.exists()
    with scratch_env(["sta"], {"A": "1"}) as env:
        assert env == {"A": "1"}
