"""Stage machinery: tool failures and timeouts name stage, log and last lines; up-to-date skipping; status."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.errors import BitbranchError
from flow.__main__ import main as flow_main
from flow.__main__ import parse_clock_ns
from flow.metrics import read_metrics
from flow.pdk import Pdk
from flow.stage import (
    FlowConfig,
    FlowContext,
    Stage,
    StageError,
    execute,
    run_stages,
    run_tool,
)
from model.spec import DesignSpec


def ctx_for(tmp_path: Path, **cfg) -> FlowContext:
    return FlowContext(DesignSpec(n=4), tmp_path / "build", Pdk(tmp_path / "nopdk", "test"), FlowConfig(**cfg))


def test_missing_tool(tmp_path):
    with pytest.raises(StageError) as e:
        run_tool("synth", "nosuchtool", ["bb-no-such-tool-xyz", "-v"], tmp_path / "s")
    assert isinstance(e.value, BitbranchError)
    assert "stage synth" in str(e.value) and "not found" in str(e.value)
    assert (tmp_path / "s" / "nosuchtool.log").is_file()


def test_failing_tool_reports_last_lines(tmp_path):
    with pytest.raises(StageError) as e:
        run_tool("sta", "sh", ["sh", "-c", "echo first; echo boom happened; exit 3"], tmp_path / "s")
    msg = str(e.value)
    assert "stage sta" in msg and "status 3" in msg and "boom happened" in msg
    assert str(tmp_path / "s" / "sh.log") in msg and "\n" not in msg
    assert e.value.log_path.read_text().startswith("$ sh -c")


def test_timeout_stops_what_the_tool_started(tmp_path):
    """A timed-out tool's children go with it (qflow's graywolf ran on for 20 minutes after a placement time-out)."""
    import os
    import time

    pidfile = tmp_path / "child.pid"
    with pytest.raises(StageError, match="timed out"):
        run_tool("place", "sh", ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"], tmp_path / "s", timeout_s=0.5)
    child = int(pidfile.read_text())
    for _ in range(50):  # SIGKILL is asynchronous; a zombie reaped by init disappears shortly
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        stat = open(f"/proc/{child}/stat").read()
        assert stat.rsplit(")", 1)[1].split()[0] == "Z", "the grandchild still runs"


def test_timeout(tmp_path):
    with pytest.raises(StageError, match="timed out after 0.3 s") as e:
        run_tool("power", "sleep", ["sleep", "5"], tmp_path / "s", timeout_s=0.3)
    assert e.value.timed_out


def test_only_a_time_out_is_flagged_as_one(tmp_path):
    """Callers tell a time-out from a crash by the flag, not by the wording of the message."""
    with pytest.raises(StageError, match="status 3") as e:
        run_tool("route", "sh", ["sh", "-c", "exit 3"], tmp_path / "s")
    assert not e.value.timed_out
    with pytest.raises(StageError, match="not found") as e:
        run_tool("route", "qrouter-missing", ["qrouter-missing"], tmp_path / "s")
    assert not e.value.timed_out
    import pickle

    flagged = pickle.loads(pickle.dumps(StageError("route", None, [], "x timed out", timed_out=True)))
    assert flagged.timed_out  # it crosses the process boundary of a side-by-side route attempt


class Copy(Stage):
    """Copies an input file; counts its runs in a side file."""

    name, index, metric_names = "copy", 1, ("copy__bytes",)

    def inputs(self, ctx):
        return [ctx.design_dir / "in.txt"]

    def outputs(self, ctx):
        return [self.dir(ctx) / "out.txt"]

    def config(self, ctx):
        return {"clock_ns": ctx.config.clock_ns}

    def run(self, ctx):
        data = (ctx.design_dir / "in.txt").read_text()
        (self.dir(ctx) / "out.txt").write_text(data)
        runs = self.dir(ctx) / "runs"
        runs.write_text(str(int(runs.read_text()) + 1 if runs.exists() else 1))
        return {"copy__bytes": len(data)}


class Fail(Stage):
    name, index = "fail", 2

    def run(self, ctx):
        return run_tool(self.name, "sh", ["sh", "-c", "echo kaputt; exit 1"], self.dir(ctx))


def test_up_to_date_skip_and_rerun(tmp_path):
    ctx = ctx_for(tmp_path)
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("abc")
    runs = lambda: int((Copy().dir(ctx) / "runs").read_text())  # noqa: E731
    assert not execute(Copy(), ctx).skipped
    assert execute(Copy(), ctx).skipped and runs() == 1
    (ctx.design_dir / "in.txt").write_text("abcd")  # input content changed
    r = execute(Copy(), ctx)
    assert not r.skipped and r.metrics == {"copy__bytes": 4} and runs() == 2
    assert not execute(Copy(), ctx_for(tmp_path, clock_ns=5.0)).skipped  # config changed
    (Copy().dir(ctx) / "out.txt").unlink()  # output missing
    assert not execute(Copy(), ctx_for(tmp_path, clock_ns=5.0)).skipped and runs() == 4
    assert Copy().dir(ctx).name == "01-copy"


def test_failure_leaves_incomplete_metrics(tmp_path):
    ctx = ctx_for(tmp_path)
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("abc")
    with pytest.raises(StageError, match="kaputt"):
        run_stages([Copy(), Fail()], ctx)
    m = read_metrics(ctx.metrics_path)
    assert m["flow__status"].startswith("failed at fail")
    assert m["copy__bytes"] == 3 and m["provenance"]["copy"]["spec_id"] == ctx.spec.id
    run_stages([Copy()], ctx)
    assert read_metrics(ctx.metrics_path)["flow__status"] == "ok"


def test_missing_input_is_a_stage_error(tmp_path):
    with pytest.raises(StageError, match="missing its inputs"):
        execute(Copy(), ctx_for(tmp_path))


def test_clock_parsing():
    assert parse_clock_ns("") == 10.0 and parse_clock_ns(None) == 10.0 and parse_clock_ns("2.5") == 2.5
    for bad in ("fast", "-1", "0", "nan"):
        with pytest.raises(BitbranchError, match="clock-ns"):
            parse_clock_ns(bad)
    with pytest.raises(BitbranchError):
        FlowConfig(clock_ns=-1)


def test_gds_without_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "flow.backend", None)
    with pytest.raises(BitbranchError, match="back end"):
        flow_main(["gds", "--n", "4"])


def test_cli_bad_spec_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "flow", "synth", "--bits", "x", "--root", str(tmp_path)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 2 and out.stderr.startswith("error:") and len(out.stderr.strip().splitlines()) == 1


def test_each_run_starts_a_fresh_metrics_file(tmp_path):
    ctx = ctx_for(tmp_path)
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("abc")
    run_stages([Copy()], ctx)
    m = read_metrics(ctx.metrics_path)
    m["route__wirelength"] = 123.0  # as if a longer (routed) run had written it
    ctx.metrics_path.write_text(json.dumps(m))
    run_stages([Copy()], ctx)  # up to date: not rerun, but its stored metrics come back
    m = read_metrics(ctx.metrics_path)
    assert "route__wirelength" not in m and "copy__bytes" in m and m["flow__status"] == "ok"


def test_metrics_from_another_clock_are_dropped(tmp_path):
    ctx = ctx_for(tmp_path)
    ctx.design_dir.mkdir(parents=True)
    (ctx.design_dir / "in.txt").write_text("abc")
    run_stages([Copy()], ctx)
    ctx5 = ctx_for(tmp_path, clock_ns=5.0)
    with pytest.raises(StageError):
        run_stages([Fail()], ctx5)
    m = read_metrics(ctx.metrics_path)
    assert "copy__bytes" not in m and "copy" not in m.get("provenance", {})
    assert m["flow__status"].startswith("failed at fail")


def test_cpu_limit_stops_a_busy_tool(tmp_path: Path) -> None:
    """A CPU-time cap ends a tool that spins, with a message saying which limit it hit."""
    argv = [sys.executable, "-c", "while True: pass"]
    with pytest.raises(StageError, match=r"timed out after 1 s of CPU time") as e:
        run_tool("route", "python", argv, tmp_path, timeout_s=60, cpu_limit_s=1)
    assert e.value.timed_out
    assert "CPU time limit 1 s" in (tmp_path / "python.log").read_text()


SLEEPY = """
import sys, time
from pathlib import Path
from flow.pdk import Pdk
from flow.stage import FlowConfig, FlowContext, Stage, run_stages
from common.cli import run_main
from model.spec import DesignSpec

class Sleepy(Stage):
    name, index = "sleepy", 1
    def run(self, ctx):
        print("started", flush=True)
        time.sleep(60)
        return {}

def main(argv):
    root = Path(sys.argv[1])
    run_stages([Sleepy()], FlowContext(DesignSpec(n=4), root, Pdk(root / "nopdk", "test"), FlowConfig()))
    return 0

run_main(main)
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_terminated_run_says_so_in_its_metrics(tmp_path, sig):
    import signal

    repo = Path(__file__).resolve().parents[1]
    script = tmp_path / "sleepy.py"  # a file: a stage's source file is part of its fingerprint
    script.write_text(SLEEPY)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.stdout.readline().strip() == "started"
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and f"error: interrupted by {sig}; rerun the same command to resume" in err, err
    assert "Traceback" not in err
    m = read_metrics(DesignSpec(n=4).build_dir(tmp_path) / "flow" / "metrics.json")
    assert m["flow__status"] == f"failed at sleepy: interrupted by {sig}"


def test_a_tool_runs_at_the_niceness_of_the_flow_that_started_it_scheduler_group_included():
    """A tool leads a session of its own (``flow/toolguard.py``), i.e. a scheduler group of its own under autogroup,
    which starts at niceness 0: the guard gives it the caller's niceness, so ``nice make ppa`` is nice."""
    import os
    import subprocess
    from pathlib import Path

    from flow.stage import guarded_argv

    if not Path("/proc/self/autogroup").is_file():
        pytest.skip("no autogroup scheduling on this kernel")
    nice = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 3)
    out = subprocess.run(guarded_argv(["cat", "/proc/self/autogroup"]), start_new_session=True, capture_output=True,
                         text=True, preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, nice)).stdout
    assert out.split()[-1] == str(nice), out


def test_a_successful_tool_run_ends_its_log_with_its_cpu_time(tmp_path):
    """The CPU time (load-independent, unlike the wall time) of the tool and what it started, read back from the log."""
    from flow.stage import run_tool, tool_cpu_s

    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nprint('done')"
    log = run_tool("s", "python3", ["python3", "-c", burn], tmp_path)
    text = log.read_text()
    assert "done" in text and 0.25 <= tool_cpu_s(text) < 5, text
    assert tool_cpu_s("no such line\n") is None
