"""Finished tool runs of an interrupted stage are reused on its rerun, and only when nothing they saw changed."""

from pathlib import Path

import pytest

from flow.pdk import Pdk
from flow.resume import stage_key
from flow.stage import FlowConfig, FlowContext, Stage, StageError, execute, run_tool
from model.spec import DesignSpec

# a tool that reads in.txt, writes out.txt and counts its own runs in a file outside its run directory
TOOL = 'echo run >> "$1"; tr a-z A-Z < in.txt > out.txt'


def _run(tmp_path: Path, key: str | None = "k1", **kw) -> Path:
    work = tmp_path / "work"
    with stage_key(key):
        return run_tool("route", "sh", ["sh", "-c", TOOL, "sh", str(tmp_path / "count")], work, cwd=work, **kw)


def _runs(tmp_path: Path) -> int:
    p = tmp_path / "count"
    return len(p.read_text().splitlines()) if p.is_file() else 0


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "in.txt").write_text("abc\n")
    return tmp_path / "work"


def test_identical_rerun_reuses_the_finished_run(tmp_path, work, capsys):
    _run(tmp_path)
    log = _run(tmp_path)
    assert _runs(tmp_path) == 1, "the second, identical run should have been reused"
    assert (work / "out.txt").read_text() == "ABC\n" and log.read_text().startswith("$ sh -c")
    assert "reusing its finished run" in capsys.readouterr().out


def test_changed_input_runs_again(tmp_path, work):
    _run(tmp_path)
    (work / "in.txt").write_text("xyz\n")
    _run(tmp_path)
    assert _runs(tmp_path) == 2 and (work / "out.txt").read_text() == "XYZ\n"


def test_touched_or_missing_output_runs_again(tmp_path, work):
    _run(tmp_path)
    (work / "out.txt").write_text("edited\n")
    _run(tmp_path)
    assert _runs(tmp_path) == 2 and (work / "out.txt").read_text() == "ABC\n"
    (work / "out.txt").unlink()
    _run(tmp_path)
    assert _runs(tmp_path) == 3


def test_other_stage_fingerprint_or_none_runs_again(tmp_path, work):
    _run(tmp_path, "k1")
    _run(tmp_path, "k2")  # the stage's inputs or tools changed
    assert _runs(tmp_path) == 2
    _run(tmp_path, None)  # outside a stage run (or --force): always runs, records nothing
    _run(tmp_path, None)
    assert _runs(tmp_path) == 4


def test_failed_run_is_not_recorded(tmp_path, work):
    with pytest.raises(StageError, match="status 4"), stage_key("k1"):
        run_tool("route", "sh", ["sh", "-c", f'echo run >> "{tmp_path / "count"}"; exit 4'], work, cwd=work)
    with pytest.raises(StageError, match="status 4"), stage_key("k1"):
        run_tool("route", "sh", ["sh", "-c", f'echo run >> "{tmp_path / "count"}"; exit 4'], work, cwd=work)
    assert _runs(tmp_path) == 2


def test_cpu_time_out_is_a_recorded_verdict(tmp_path, work):
    argv = ["sh", "-c", f'echo run >> "{tmp_path / "count"}"; while :; do :; done']
    for _ in range(2):
        with pytest.raises(StageError, match="timed out after 1 s of CPU time") as e, stage_key("k1"):
            run_tool("route", "busy", argv, work, timeout_s=30, cwd=work, cpu_limit_s=1)
        assert e.value.timed_out  # the replayed verdict too
    assert _runs(tmp_path) == 1  # the second call replays the verdict instead of burning another second
    with pytest.raises(StageError, match="timed out after 2 s"), stage_key("k1"):
        run_tool("route", "busy", argv, work, timeout_s=30, cwd=work, cpu_limit_s=2)  # another limit: runs
    assert _runs(tmp_path) == 2


class TwoTools(Stage):
    """First tool always works; the second fails while a flag file exists (an interruption stand-in)."""

    name, index, metric_names = "two", 1, ("two__ok",)

    def inputs(self, ctx):
        return [ctx.design_dir / "in.txt"]

    def outputs(self, ctx):
        return [self.dir(ctx) / "second.txt"]

    def run(self, ctx):
        d, count = self.dir(ctx), ctx.design_dir / "count"
        run_tool(self.name, "first", ["sh", "-c", f'echo first >> "{count}"; cat "{ctx.design_dir / "in.txt"}" > first.txt'],
                 d, cwd=d)
        run_tool(self.name, "second", ["sh", "-c", f'echo second >> "{count}"; test ! -e "{ctx.design_dir / "stop"}" && '
                                       "cp first.txt second.txt"], d, cwd=d)
        return {"two__ok": 1}


def test_a_stage_rerun_after_a_failure_resumes_after_its_last_finished_tool(tmp_path):
    ctx = FlowContext(DesignSpec(n=4), tmp_path / "build", Pdk(tmp_path / "nopdk", "test"), FlowConfig())
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("data\n")
    (ctx.design_dir / "stop").write_text("")
    with pytest.raises(StageError):
        execute(TwoTools(), ctx)
    (ctx.design_dir / "stop").unlink()
    assert not execute(TwoTools(), ctx).skipped
    assert (ctx.design_dir / "count").read_text().split() == ["first", "second", "second"]
    (ctx.design_dir / "in.txt").write_text("new\n")  # a changed input: a new fingerprint, nothing reused
    execute(TwoTools(), ctx)
    assert (ctx.design_dir / "count").read_text().split() == ["first", "second", "second", "first", "second"]
    assert (TwoTools().dir(ctx) / "second.txt").read_text() == "new\n"
    execute(TwoTools(), ctx, force=True)  # --force reruns every tool
    assert (ctx.design_dir / "count").read_text().split()[-2:] == ["first", "second"]
    assert len((ctx.design_dir / "count").read_text().split()) == 7


def test_logs_are_not_inputs(tmp_path, work):
    # a log left by an older run, or rewritten by a rerun of an earlier step, does not make this run look changed
    (work / "older_run.log").write_text("cpu time 12.3 s\n")
    _run(tmp_path)
    (work / "older_run.log").write_text("cpu time 12.9 s\n")
    _run(tmp_path)
    assert _runs(tmp_path) == 1
    (work / "notes.txt").write_text("a new file the run never saw\n")  # only files it saw count
    _run(tmp_path)
    assert _runs(tmp_path) == 1


def test_declared_reads_and_writes_narrow_the_record(tmp_path, work):
    # qrouter's case: later steps of the stage leave files in its directory (a GDS made from its DEF, the next
    # round's side file) that it never reads; with reads / writes declared, changing those does not void the record
    kw = {"reads": ["in.txt"], "writes": ["out.txt"]}
    (work / "later_step.gds").write_text("v1\n")
    _run(tmp_path, **kw)
    (work / "later_step.gds").write_text("v2: the repair step changed\n")
    _run(tmp_path, **kw)
    assert _runs(tmp_path) == 1
    (work / "in.txt").write_text("changed\n")  # a declared read changed: the tool runs
    _run(tmp_path, **kw)
    assert _runs(tmp_path) == 2
    (work / "out.txt").write_text("edited\n")  # a declared write changed: the tool runs
    _run(tmp_path, **kw)
    assert _runs(tmp_path) == 3
    _run(tmp_path)  # other declarations: another run identity
    assert _runs(tmp_path) == 4


class Coded(TwoTools):
    """TwoTools with other code (an edit after the tools, e.g. a new repair step) and config: same tool key."""

    def config(self, ctx):
        return {"recipe": "a new attempt order"}


    def run(self, ctx):
        out = super().run(ctx)
        (self.dir(ctx) / "extra.txt").write_text("post-processed\n")
        return out


Coded._source_digest = "the stage's import closure after an edit"  # set after __init_subclass__ hashed the file


def test_a_code_change_reuses_tool_runs_whose_files_are_unchanged(tmp_path):
    ctx = FlowContext(DesignSpec(n=4), tmp_path / "build", Pdk(tmp_path / "nopdk", "test"), FlowConfig())
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("data\n")
    execute(TwoTools(), ctx)
    assert TwoTools().fingerprint(ctx) != Coded().fingerprint(ctx)  # the stage reruns...
    assert TwoTools().tool_key(ctx) == Coded().tool_key(ctx)
    assert not execute(Coded(), ctx).skipped
    assert (ctx.design_dir / "count").read_text().split() == ["first", "second"]  # ...its tools do not
    assert (Coded().dir(ctx) / "extra.txt").is_file()


def _wait_for_pid(pidfile: Path, tries: int = 500) -> int | None:
    """The pid a tool's shell wrote to ``pidfile``, waiting up to ``tries`` x 10 ms for it."""
    import time

    for _ in range(tries):
        if pidfile.is_file() and pidfile.read_text().strip():
            return int(pidfile.read_text())
        time.sleep(0.01)
    return None


def _assert_gone(pid: int, what: str, tries: int = 300) -> None:
    """``pid`` is dead (gone, or a zombie until init reaps it) within ``tries`` x 10 ms; else kill it and fail."""
    import os
    import signal
    import time

    for _ in range(tries):
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"the tool's child {pid} outlived {what}")


def test_an_interrupted_tool_is_killed_with_its_children(tmp_path, work, monkeypatch):
    import subprocess

    pidfile = tmp_path / "child.pid"

    def interrupted(self, input=None, timeout=None):  # the SIGTERM handler's exception, raised during the wait
        _wait_for_pid(pidfile, 200)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_tool("route", "sh", ["sh", "-c", f'sleep 60 & echo $! > "{pidfile}"; wait'], work, cwd=work)
    _assert_gone(int(pidfile.read_text()), "the interruption", 200)


def _dies_with_its_sigkilled_parent(code: str, pidfile: Path, child: str, parent: str) -> None:
    """Run ``code`` in a Python process whose descendant writes its pid to ``pidfile``; SIGKILL that process (no
    clean-up runs) and check the descendant goes with it."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1])
    pid = _wait_for_pid(pidfile)
    assert pid is not None, f"the {child} never started"
    proc.kill()
    proc.wait()
    _assert_gone(pid, f"the SIGKILLed {parent}")


def test_a_tool_dies_with_the_flow_process_that_started_it(tmp_path, work):
    """A flow process that is SIGKILLed (a Dask worker ended with its cluster) runs no clean-up; the tool's guard
    kills the tool and what it started (qflow -> placement.sh -> graywolf ran on for 20 min, parented to init)."""
    pidfile = tmp_path / "grandchild.pid"
    code = ("from pathlib import Path; from flow.stage import run_tool; "
            f"run_tool('route', 'sh', ['sh', '-c', 'sleep 60 & echo $! > {pidfile}; wait'], Path('{work}'), cwd=Path('{work}'))")
    _dies_with_its_sigkilled_parent(code, pidfile, "tool", "flow process")


def test_a_sweeps_design_flow_dies_with_the_sweep_worker(tmp_path):
    """``make ppa`` runs each design's flow with ``run_guarded``: a stopped sweep (its Dask worker SIGKILLed) had left
    the design flows running on, parented to init, into the next sweep's build root."""
    pidfile = tmp_path / "flow.pid"
    code = f"from flow.stage import run_guarded; run_guarded(['sh', '-c', 'sleep 60 & echo $! > {pidfile}; wait'])"
    _dies_with_its_sigkilled_parent(code, pidfile, "design flow", "sweep worker")


def test_run_guarded_passes_the_exit_status_on(tmp_path):
    from flow.stage import run_guarded

    log = tmp_path / "out.log"
    with open(log, "w") as f:
        assert run_guarded(["sh", "-c", "echo hello; exit 3"], cwd=tmp_path, stdout=f) == 3
    assert log.read_text() == "hello\n"


def test_the_guard_passes_exit_status_and_signals_on(tmp_path, work):
    with pytest.raises(StageError, match="status 3"):
        run_tool("route", "sh", ["sh", "-c", "exit 3"], work, cwd=work)
    with pytest.raises(StageError, match="timed out after 1 s of CPU time"):
        run_tool("route", "busy", ["sh", "-c", "while :; do :; done"], work, timeout_s=30, cwd=work, cpu_limit_s=1)


def test_declared_writes_are_removed_before_a_real_run_only(tmp_path, work):
    kw = {"reads": ["in.txt"], "writes": ["out.txt"]}
    _run(tmp_path, **kw)
    _run(tmp_path, **kw)  # reused: out.txt stays as the run left it
    assert _runs(tmp_path) == 1 and (work / "out.txt").read_text() == "ABC\n"
    (work / "in.txt").write_text("xyz\n")
    with pytest.raises(StageError), stage_key("k1"):  # a real run that fails before writing: no stale out.txt left
        run_tool("route", "sh", ["sh", "-c", "exit 1"], work, cwd=work, **kw)
    assert not (work / "out.txt").exists()


def test_only_the_environment_a_caller_sets_identifies_a_run(tmp_path, work, monkeypatch):
    import os

    env = {**os.environ, "QFLOW_TECH_DIR": "/tech"}
    _run(tmp_path, env=env)
    monkeypatch.setenv("OLDPWD", "/somewhere/else")  # the inherited rest changed (another shell, a Dask worker)
    _run(tmp_path, env={**os.environ, "QFLOW_TECH_DIR": "/tech"})
    assert _runs(tmp_path) == 1
    _run(tmp_path, env={**os.environ, "QFLOW_TECH_DIR": "/other"})  # what the caller sets changed: runs
    assert _runs(tmp_path) == 2
