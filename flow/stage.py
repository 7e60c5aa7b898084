"""Flow stages (modelled on OpenLane 2 Steps): declared inputs, outputs, config and metrics; logged tool runs.

Stable API (the back end builds on it):
- ``FlowConfig``: frozen knobs shared by every stage (clock, flow kind, activity source, dont-use extras).
- ``FlowContext(spec, root, pdk, config, flow=None)``: frozen; ``.design_dir`` (``build/<id>``), ``.flow_dir``,
  ``.metrics_path`` (``build/<id>/flow/metrics.json``), ``.rtl_dir``, ``.pdk_build_dir`` (``build/pdk``), ``.top``;
  ``.with_flow(flow)``; ``.path(artifact)`` / ``.paths(artifact)``: the file(s) of an artifact, from the stage of
  ``flow`` that produces it, or a primary input.
- ``Stage``: subclass with class attributes ``name``, ``tools`` (executables, for versions), ``metric_names``,
  ``consumes`` (artifact names it reads), ``produces`` ({artifact name: path in its folder, ``{top}`` = the
  design's top module}), ``sources`` (non-Python files its code reads: the Python code it runs is found from
  its module's imports, ``flow/sources.py``) and ``shared`` (True: the
  stage writes under ``build/pdk/``, for every design); override ``config(ctx)`` and ``run(ctx) -> dict`` (the
  metric values it measured). A stage reads its inputs as ``ctx.path(name)`` / ``ctx.paths(name)``, never by
  constructing another stage. ``inputs(ctx)`` (consumed files + sources) and ``outputs(ctx)`` (produced files)
  follow from the declarations and never write a file. ``stage.dir(ctx)`` is its folder ``flow/<nn>-<name>/``.
- ``Flow(name, stage_classes)``: a flow as data (the table is ``flow/flows.py``): checks that every consumed
  artifact is a primary input (``PRIMARY_INPUTS``: RTL manifest and sources, PDK files) or produced by an earlier
  stage, and numbers the per-design stages 01, 02, ... in order (shared stages have no number).
- ``run_tool(stage_name, tool, argv, stage_dir, timeout_s, cwd=None, env=None, stdin_text=None)``: runs one
  tool, logs to ``<stage_dir>/<tool>.log``, raises ``StageError`` on a missing tool, non-zero exit or timeout.
  Inside ``execute`` each finished run is recorded under the stage's ``tool_key`` (its fingerprint without its
  code and config), and reused when the stage reruns (after an interruption or a code change) and nothing the run read or
  wrote changed (``flow/resume.py``).
- ``StageError(stage, log_path, last_lines, reason)``: a ``BitbranchError`` whose str() is one line.
- ``execute(stage, ctx, force=False) -> StageResult``: skip when outputs exist and the stored hash of
  (input contents + config + tool versions + the stage's code: its module's import closure) matches; else run (``flow__status`` = ``running <stage>``, or
  ``failed at <stage>: ...`` if it raises), store the stage's metrics and their digest in ``<stage dir>/stamp.json``
  (read back through ``common.state``: a damaged stamp is one warning line and the stage reruns) and merge them
  (with provenance incl. ``metric_keys``) into the flow metrics file. A shared stage runs under ``build/pdk/.lock``.
- ``run_stages(stages, ctx, force=False)``: holds the design's lock (``common.lock``; a second command waits),
  starts a fresh metrics file, runs in order, and sets ``flow__status`` to ``ok`` only when every stamp is still the
  one this run made or found current and the file holds exactly the stamped values (``check_metrics``; the reports
  use the same check, so a hand-edited value shows as stale); ``failed at <stage>: ...`` on error, re-raised.
  ``run_flow(flow, ctx, force=False)`` runs a ``Flow`` with its artifacts resolved through ``ctx``.
- Fingerprints hash input paths relative to the build root (``build:``), the PDK root (``pdk:``) or the
  repository (``repo:``), so a build addressed by an absolute or a relative root has the same stamps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

from common.errors import BitbranchError
from common.files import atomic_write_json, json_safe, json_text
from common.lock import design_lock, folder_lock
from common.state import DamagedState, keys_of, load_state, note_damage
from common.tools import tool_version
from flow import librelane_metrics, resume
from flow import metrics as M
from flow.pdk import CORNERS, Pdk, file_digest, router_dont_use
from flow.sources import closure_digest
from model.contract import manifest_files, read_manifest
from model.spec import DesignSpec

REPO = Path(__file__).resolve().parents[1]

DEFAULT_CLOCK_NS = 10.0
"""Default clock period: 10 ns (100 MHz), recorded as ``clock__period`` in every metrics file."""

DEFAULT_TIMEOUT_S = 900.0

CLOCK_NS_MIN, CLOCK_NS_MAX = 0.1, 1e6
"""Clock periods the flow accepts: 0.1 ns (10 GHz, far beyond any sky130 cell) to 1 ms (1 kHz); outside it ABC's
delay target and the power numbers mean nothing, so such a period is refused up front."""


CONFIG_KEY = "flow__config"


class StageError(BitbranchError):
    """A stage's tool failed or timed out: names the stage, the log and the tool's last lines (one line)."""

    def __init__(self, stage: str, log_path: Path | str | None, last_lines: Sequence[str] = (), reason: str = "failed",
                 timed_out: bool = False):
        self.stage = stage
        self.log_path = Path(log_path) if log_path else None
        self.last_lines = tuple(last_lines)
        self.reason = reason
        self.timed_out = timed_out  # the tool ran out of its wall-clock or CPU time (not crashed, killed or missing)
        tail = " | ".join(line.strip() for line in self.last_lines if line.strip())
        msg = f"stage {stage} {reason}"
        if self.log_path:
            msg += f" (log: {self.log_path})"
        if tail:
            msg += f"; last lines: {tail}"
        super().__init__(msg)

    def __reduce__(self):  # picklable with its fields (a route attempt's process hands its error back)
        return (type(self), (self.stage, self.log_path, self.last_lines, self.reason, self.timed_out))


@dataclass(frozen=True)
class FlowConfig:
    """Flow knobs; everything that changes a result is here so the up-to-date hash sees it."""

    clock_ns: float = DEFAULT_CLOCK_NS
    flow: str = "local"
    vectors: int = 200
    seed: int = 1
    in_valid_duty: float = 1.0
    out_ready_duty: float = 1.0
    extra_dont_use: tuple[str, ...] = field(default_factory=router_dont_use)  # same cells for every stage
    timeout_s: float = DEFAULT_TIMEOUT_S
    run_bits: str = ""
    """Run-time widths 'mxk' of the gate-level stimulus (``--run-bits``, model.runtime); '' = the spec's widths."""

    def __post_init__(self) -> None:
        if not (isinstance(self.clock_ns, (int, float)) and self.clock_ns > 0):
            raise BitbranchError(f"clock period {self.clock_ns!r} ns must be a positive number, e.g. --clock-ns 10")
        if not CLOCK_NS_MIN <= self.clock_ns <= CLOCK_NS_MAX:
            raise BitbranchError(f"clock period {self.clock_ns:g} ns is outside {CLOCK_NS_MIN:g}..{CLOCK_NS_MAX:g} ns "
                                 f"(10 GHz..1 kHz), where the flow's numbers mean something: e.g. --clock-ns 10")
        if self.flow not in ("local", "openlane"):
            raise BitbranchError(f"unknown flow {self.flow!r}: choose local or openlane")
        if self.vectors < 1:
            raise BitbranchError(f"vectors={self.vectors} must be at least 1")
        for name in ("in_valid_duty", "out_ready_duty"):
            if not 0 < getattr(self, name) <= 1:
                raise BitbranchError(f"{name}={getattr(self, name)} must be in (0, 1]")


@dataclass(frozen=True)
class FlowContext:
    """What a stage needs: the design, the build root, the PDK and the flow config."""

    spec: DesignSpec
    root: Path
    pdk: Pdk
    config: FlowConfig = field(default_factory=FlowConfig)
    flow: "Flow | None" = field(default=None, compare=False, repr=False)

    @property
    def design_dir(self) -> Path:
        return self.spec.build_dir(self.root)

    @property
    def rtl_dir(self) -> Path:
        return self.design_dir / "rtl"

    @property
    def flow_dir(self) -> Path:
        return self.design_dir / "flow"

    @property
    def metrics_path(self) -> Path:
        return self.flow_dir / "metrics.json"

    @property
    def pdk_build_dir(self) -> Path:
        """Derived PDK files (filtered liberty, parsed caches), shared by every design."""
        return Path(self.root) / "pdk"

    @property
    def top(self) -> str:
        """The design's top module (from its RTL manifest)."""
        return read_manifest(self.rtl_dir / "manifest.json")["top"]

    def with_flow(self, flow: "Flow") -> "FlowContext":
        return dataclasses.replace(self, flow=flow)

    def artifact(self, name: str) -> tuple[Path, ...]:
        """The file(s) of artifact ``name``: produced by a stage of this context's flow, or a primary input."""
        if self.flow is not None and name in self.flow.producer:
            return self.flow.producer[name].produced(self)[name]
        if name in PRIMARY_INPUTS:
            return tuple(PRIMARY_INPUTS[name](self))
        where = f"flow {self.flow.name!r}" if self.flow is not None else "this context (no flow)"
        raise FlowError(f"no stage of {where} produces artifact {name!r}")

    def path(self, name: str) -> Path:
        """The one file of artifact ``name``."""
        files = self.artifact(name)
        if len(files) != 1:
            raise FlowError(f"artifact {name!r} is {len(files)} files, not one: use ctx.paths({name!r})")
        return files[0]

    def paths(self, name: str) -> list[Path]:
        return list(self.artifact(name))


class FlowError(BitbranchError):
    """A flow table that cannot run: an artifact nobody produces, a stage twice, ... (a bug in the table)."""


PRIMARY_INPUTS: dict[str, Callable[[FlowContext], Sequence[Path]]] = {
    "rtl_manifest": lambda ctx: (ctx.rtl_dir / "manifest.json",),
    "rtl_sources": lambda ctx: tuple(manifest_files(read_manifest(ctx.rtl_dir / "manifest.json"), ctx.rtl_dir)),
    **{f"pdk_liberty_{c}": (lambda ctx, c=c: (ctx.pdk.liberty(c),)) for c in CORNERS},
    "pdk_lef": lambda ctx: (ctx.pdk.lef,),
    "pdk_techlef": lambda ctx: (ctx.pdk.techlef,),
    "pdk_gds": lambda ctx: (ctx.pdk.gds,),
    "pdk_cdl": lambda ctx: (ctx.pdk.cdl,),
    "pdk_verilog_models": lambda ctx: tuple(ctx.pdk.verilog_models),
    "pdk_magic_tech": lambda ctx: (ctx.pdk.magic_tech,),
    "pdk_klayout_drc_deck": lambda ctx: (ctx.pdk.klayout_drc_deck,),
}
"""Artifacts no stage produces: the design's RTL (made by ``prepare``, i.e. ``rtl.generate``) and the PDK's files."""


@dataclass(frozen=True)
class StageResult:
    name: str
    metrics: dict[str, Any]
    skipped: bool
    fingerprint: str = ""  # of the stamp this run wrote or found current


def _last_lines(path: Path, n: int = 8) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


def descendants(pid: int, proc_root: Path = Path("/proc")) -> list[int]:
    """Every live descendant of ``pid`` (from ``/proc/<pid>/stat`` parent ids; empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    try:
        entries = [d for d in proc_root.iterdir() if d.name.isdigit()]
    except OSError:
        return []
    for d in entries:
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its descendants. Killing only the tool (as ``subprocess.run`` does on a time-out) left
    qflow's placement.sh and graywolf running for 20 more minutes, parented to init, after a placement time-out."""
    for p in [pid, *descendants(pid)]:  # collected before any dies: an orphan's parent becomes init
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


TOOL_GUARD = Path(__file__).with_name("toolguard.py")
"""Every tool runs under this guard: it dies with its process group when the flow process dies (``flow/toolguard.py``)."""


def guarded_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` run under the tool guard on behalf of this process (it dies when this process dies)."""
    return [sys.executable, str(TOOL_GUARD), str(os.getpid()), *(str(a) for a in argv)]


def _stop(proc: subprocess.Popen) -> None:
    """Kill the guard, its tool and all they started (its process group, and any descendant that left it), and reap."""
    kill_tree(proc.pid)  # the tool and what it started (qflow -> placement.sh -> graywolf)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the guard leads its own session: its pid is the group's id
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_guarded(argv: Sequence[str], cwd: Path | None = None, stdout: Any = None) -> int:
    """Run ``argv`` under the tool guard and return its exit status: a process (and all it starts) that dies with
    this one, SIGKILLed or not, and is killed with its tree on any exception here. ``make ppa`` runs each design's
    flow this way: a stopped sweep had left its design flows running on, parented to init, beside the next one."""
    with subprocess.Popen(guarded_argv(argv), cwd=cwd,
                          stdout=stdout, stderr=subprocess.STDOUT if stdout is not None else None,
                          start_new_session=True) as proc:
        try:
            return proc.wait()
        except BaseException:
            _stop(proc)
            raise


def run_tool(
    stage_name: str,
    tool: str,
    argv: Sequence[str],
    stage_dir: Path,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    log_name: str | None = None,
    cpu_limit_s: float | None = None,
    reads: Sequence[str] | None = None,
    writes: Sequence[str] | None = None,
) -> Path:
    """Run ``argv``; stdout+stderr go to ``<stage_dir>/<log_name or tool>.log``; returns the log path.

    ``cpu_limit_s`` caps the tool's CPU time (RLIMIT_CPU): unlike the wall-clock ``timeout_s`` it does not
    depend on what else the machine runs, so a long route stops at the same point under any load.
    ``reads`` / ``writes``: the files of the run directory the tool reads, and those it writes that later steps use
    (default: all of them); they narrow what a finished-run record checks (``flow/resume.py``), and ``writes`` are
    removed before a real run (not before a reused one), so a file left by an older run never passes for its output.
    Whatever ends the wait (a time-out, a signal turned exception) kills the tool and everything it started, never
    leaves it running; and the tool runs under ``flow/toolguard.py``, so it also dies when this process dies without
    any clean-up. A run that succeeds ends its log with its CPU time (``tool_cpu_s`` reads it back): a figure that,
    unlike the wall time, does not depend on what else the machine runs.
    """
    stage_dir.mkdir(parents=True, exist_ok=True)
    log = stage_dir / f"{log_name or tool}.log"
    exe = shutil.which(argv[0])
    if exe is None:
        log.write_text(f"$ {' '.join(argv)}\n{argv[0]}: not found on PATH\n")
        raise StageError(stage_name, log, [f"{argv[0]}: not found on PATH"], f"cannot run {tool}: install it (make debian-deps)")
    run = resume.ToolRun(tuple(str(a) for a in argv), Path(cwd) if cwd is not None else stage_dir, log, env, stdin_text,
                         cpu_limit_s, None if reads is None else tuple(reads), None if writes is None else tuple(writes))
    rec = resume.lookup(run)
    if rec is not None:  # this very run finished before (the stage was interrupted, or its code changed): reuse it
        print(f"[{stage_name}] {tool}: reusing its finished run, nothing it read or wrote has changed "
              f"({run.record_path()})", flush=True)
        if rec["outcome"] == "cpu_timeout":
            raise StageError(stage_name, log, _last_lines(log), rec["message"], timed_out=True)
        return log
    for rel in writes or ():  # a real run: an older file of the same name must never pass for this run's output
        (run.run_dir / rel).unlink(missing_ok=True)
    before = resume.begin(run)
    with open(log, "w") as f, scratch_env(argv, env) as run_env:
        f.write("$ " + " ".join(str(a) for a in argv) + "\n")
        f.flush()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        with subprocess.Popen(
            guarded_argv(argv),
            cwd=cwd,
            start_new_session=True,  # the guard's process group: the tool and all it starts
            env=run_env,
            stdin=subprocess.PIPE if stdin_text is not None else None,
            stdout=f,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=None if cpu_limit_s is None else functools.partial(_limit_cpu, cpu_limit_s),
        ) as proc:
            try:
                proc.communicate(input=stdin_text, timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _stop(proc)
                f.write(f"\n*** timed out after {timeout_s:g} s\n")
                f.flush()
                raise StageError(stage_name, log, _last_lines(log), f"{tool} timed out after {timeout_s:g} s",
                                 timed_out=True) from None
            except BaseException:
                # an interruption (SIGTERM/SIGINT as an exception): Popen.__exit__ would wait for the tool, and a
                # second signal would end that wait with the tool (a 30-min qrouter) running on, parented to init
                _stop(proc)
                raise
        if proc.returncode == 0:
            f.write(f"\n{CPU_LINE} {_children_cpu_s(usage):.1f} s\n")
    if cpu_limit_s is not None and proc.returncode == -signal.SIGXCPU:
        with open(log, "a") as f:
            f.write(f"\n*** timed out: CPU time limit {cpu_limit_s:g} s\n")
        message = f"{tool} timed out after {cpu_limit_s:g} s of CPU time"
        resume.finish(run, before, "cpu_timeout", message)  # load-independent: the same verdict on a rerun
        raise StageError(stage_name, log, _last_lines(log), message, timed_out=True)
    if proc.returncode != 0:
        raise StageError(stage_name, log, _last_lines(log), f"{tool} exited with status {proc.returncode}")
    resume.finish(run, before, "ok")
    return log


SCRATCH_PREFIX = "bitbranch-yosys-"
"""yosys's ABC pass makes ``$TMPDIR/yosys-abc-*`` and removes it only when yosys exits normally: every yosys run
gets its own ``$TMPDIR`` (``<system tmp>/bitbranch-yosys-<pid>-*``), removed after the run, and those of dead
processes (a SIGKILLed run) are removed before the next one."""


@contextlib.contextmanager
def scratch_env(argv: Sequence[str], env: Mapping[str, str] | None):
    """The environment a tool runs in: for yosys, a private ``TMPDIR`` removed afterwards; else ``env`` as is."""
    if Path(str(argv[0])).name != "yosys":
        yield None if env is None else dict(env)
        return
    base = Path(tempfile.gettempdir())
    for old in base.glob(SCRATCH_PREFIX + "*"):
        try:
            pid = int(old.name[len(SCRATCH_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            pass
    tmp = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
    try:
        yield {**(os.environ if env is None else env), "TMPDIR": tmp}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CPU_LINE = "*** CPU time of the tool and all it started:"
"""The last line of a successful tool run's log, with the seconds of CPU time (user + system) it took."""


def _children_cpu_s(before: resource.struct_rusage) -> float:
    """CPU seconds (user + system) of the child processes reaped since ``before`` (the tool, its guard and, reaped
    by them, whatever it started); the flow runs one tool at a time per process."""
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - before.ru_utime) + (now.ru_stime - before.ru_stime)


def tool_cpu_s(log_text: str) -> float | None:
    """The CPU seconds a successful tool run's log ends with (``run_tool``), None when it has none."""
    m = re.search(re.escape(CPU_LINE) + r" ([\d.]+) s\s*$", log_text)
    return float(m.group(1)) if m else None


def _limit_cpu(seconds: float) -> None:
    """In the child before exec: SIGXCPU at ``seconds`` of CPU time, SIGKILL 10 s later if it is ignored."""
    soft = max(1, int(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 10))


class Stage:
    """One flow step; subclasses declare what they read, write, depend on and measure."""

    name: ClassVar[str] = "stage"
    index: int = 0  # set by the Flow from the stage's position (folder ``<nn>-<name>``)
    tools: ClassVar[tuple[str, ...]] = ()
    metric_names: ClassVar[tuple[str, ...]] = ()
    consumes: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[Mapping[str, str | tuple[str, ...]]] = {}
    sources: ClassVar[tuple[Path, ...]] = ()
    shared: ClassVar[bool] = False
    _source_digest: ClassVar[str] = ""

    def dir(self, ctx: FlowContext) -> Path:
        return ctx.flow_dir / f"{self.index:02d}-{self.name}"

    def produced(self, ctx: FlowContext) -> dict[str, tuple[Path, ...]]:
        """Where each produced artifact is: ``produces`` resolved in the stage's folder (no file is touched)."""
        d = self.dir(ctx)
        top: list[str] = []

        def resolve(rel: str) -> Path:
            if "{top}" in rel:
                if not top:
                    top.append(ctx.top)
                rel = rel.replace("{top}", top[0])
            return Path(os.path.normpath(d / rel))

        return {k: tuple(resolve(r) for r in ((v,) if isinstance(v, str) else v)) for k, v in self.produces.items()}

    def inputs(self, ctx: FlowContext) -> Sequence[Path]:
        """Every file the stage reads: its consumed artifacts and its helper sources."""
        return [*(p for name in self.consumes for p in ctx.artifact(name)), *self.sources]

    def outputs(self, ctx: FlowContext) -> Sequence[Path]:
        return [p for files in self.produced(ctx).values() for p in files]

    def config(self, ctx: FlowContext) -> Mapping[str, Any]:
        """Config variables this stage depends on (hashed for the up-to-date check, kept as provenance)."""
        return {}

    def prepare(self, ctx: FlowContext) -> None:
        """Make the inputs exist (e.g. generate RTL) before they are hashed; default: nothing."""

    def run(self, ctx: FlowContext) -> dict[str, Any]:
        raise NotImplementedError

    def provenance(self, ctx: FlowContext) -> dict[str, Any]:
        return {
            "stage": self.name,
            "spec_id": ctx.spec.id,
            "pdk_root": str(ctx.pdk.root),
            "pdk_found_via": ctx.pdk.source,
            "clock_ns": ctx.config.clock_ns,
            "tools": {t: tool_version(t) for t in self.tools},
            "config": dict(self.config(ctx)),
        }

    def fingerprint(self, ctx: FlowContext) -> str:
        """Hash of the inputs' contents, the config, the tool versions and the stage's code (its import closure).

        Input paths are hashed relative to the build root, the PDK root or the repository (``portable_path``),
        so the same build has the same fingerprints whichever way its root is spelled."""
        h = hashlib.sha256()
        self._hash_inputs(h, ctx)
        h.update(json.dumps(json_safe(dict(self.config(ctx))), sort_keys=True).encode())
        h.update(json.dumps({t: tool_version(t) for t in self.tools}, sort_keys=True).encode())
        h.update(self.name.encode())
        h.update(type(self)._source_digest.encode())  # the stage's code and every module it imports
        return h.hexdigest()

    def tool_key(self, ctx: FlowContext) -> str:
        """The key finished tool runs are recorded under: the fingerprint without the stage's code and config, which
        reach a tool only through the files, argv, environment and stdin that each record checks itself
        (``flow/resume.py``): a new route recipe reuses every qrouter run it repeats."""
        h = hashlib.sha256(b"tool-key")
        self._hash_inputs(h, ctx)
        h.update(json.dumps({t: tool_version(t) for t in self.tools}, sort_keys=True).encode())
        h.update(self.name.encode())
        return h.hexdigest()

    def _hash_inputs(self, h: Any, ctx: FlowContext) -> None:
        """Feed each input's portable path and content digest (``<missing>`` for an absent one) to ``h``."""
        for p in self.inputs(ctx):
            h.update(portable_path(p, ctx).encode())
            h.update(file_digest(p).encode() if Path(p).is_file() else b"<missing>")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Hash the stage's code when it is loaded (the code that runs, even if a file is edited later): its module
        and every repository module that reaches through imports (``flow/sources.py``)."""
        super().__init_subclass__(**kwargs)
        src = inspect.getsourcefile(cls)
        cls._source_digest = closure_digest(Path(src)) if src else ""


def portable_path(p: Path | str, ctx: FlowContext) -> str:
    """``p`` as ``build:<relative to the build root>``, ``pdk:<relative to the PDK root>`` or
    ``repo:<relative to the repository>`` (else absolute): independent of how the root was spelled."""
    q = Path(os.path.abspath(p))
    for label, base in (("build", Path(ctx.root)), ("pdk", Path(ctx.pdk.root)), ("repo", REPO)):
        b = Path(os.path.abspath(base))
        if q == b or b in q.parents:
            return f"{label}:{q.relative_to(b).as_posix()}"
    return q.as_posix()


class Flow:
    """A flow as data: stage classes in run order. Checks at construction that every consumed artifact is a
    primary input or produced by an earlier stage (and produced once), and numbers the per-design stages."""

    def __init__(self, name: str, stage_classes: Sequence[type[Stage]]):
        self.name = name
        self.stages: list[Stage] = []
        self.producer: dict[str, Stage] = {}
        n = 0
        for cls in stage_classes:
            stage = cls()
            if any(s.name == stage.name for s in self.stages):
                raise FlowError(f"flow {name!r} lists stage {stage.name!r} twice")
            for a in stage.consumes:
                if a not in self.producer and a not in PRIMARY_INPUTS:
                    raise FlowError(f"flow {name!r}: stage {stage.name!r} consumes {a!r}, which is neither a primary "
                                    f"input nor produced by an earlier stage")
            for a in stage.produces:
                if a in self.producer or a in PRIMARY_INPUTS:
                    raise FlowError(f"flow {name!r}: artifact {a!r} of stage {stage.name!r} is already "
                                    f"{'a primary input' if a in PRIMARY_INPUTS else 'produced by ' + self.producer[a].name}")
                self.producer[a] = stage
            if not stage.shared:
                n += 1
                stage.index = n
            self.stages.append(stage)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise FlowError(f"flow {self.name!r} has no stage {name!r}")

    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def __repr__(self) -> str:
        return f"Flow({self.name!r}, {self.names()})"


def _stamp_path(stage: Stage, ctx: FlowContext) -> Path:
    return stage.dir(ctx) / "stamp.json"


STAMP_SHAPE = keys_of({"fingerprint": str, "metrics": dict})


def metrics_digest(values: Mapping[str, Any]) -> str:
    """sha256 of a stage's metric values as JSON (what its stamp records, so an edited value shows)."""
    return hashlib.sha256(json_text(values).encode()).hexdigest()


def read_stamp(stage: Stage, ctx: FlowContext) -> dict[str, Any] | None:
    """The stage's stamp through the state loader: None when missing or damaged (one warning line; the stage
    reruns), including metric values that no longer match the digest stored with them."""
    path = _stamp_path(stage, ctx)
    data = load_state(path, "stamp", STAMP_SHAPE, then="the stage reruns")
    if data is not None and "metrics_sha256" in data and data["metrics_sha256"] != metrics_digest(data["metrics"]):
        note_damage(DamagedState(path, "its metric values do not match their digest (edited by hand?)"), "stamp",
                    "the stage reruns")
        return None
    return data


def current_stamp(stage: Stage, ctx: FlowContext) -> dict[str, Any] | None:
    """The stamp when the stage is up to date (outputs present, fingerprint matching), else None."""
    if not _stamp_path(stage, ctx).is_file() or not all(Path(p).is_file() for p in stage.outputs(ctx)):
        return None
    data = read_stamp(stage, ctx)
    if data is None or data["fingerprint"] != stage.fingerprint(ctx):
        return None
    return data


def is_up_to_date(stage: Stage, ctx: FlowContext) -> bool:
    return current_stamp(stage, ctx) is not None


def stamp_metrics(stage: Stage, ctx: FlowContext) -> dict[str, Any]:
    """The metrics the stage's last finished run recorded with its stamp ({} when it has none)."""
    data = read_stamp(stage, ctx)
    return dict(data["metrics"]) if data is not None else {}


def execute(stage: Stage, ctx: FlowContext, force: bool = False) -> StageResult:
    """Run one stage unless up to date; either way merge its metrics into the flow metrics file.

    A shared stage (``build/pdk/``) runs under the lock of that folder, so two designs never write it at once."""
    with folder_lock(ctx.pdk_build_dir) if stage.shared else contextlib.nullcontext():
        return _execute(stage, ctx, force)


def _execute(stage: Stage, ctx: FlowContext, force: bool) -> StageResult:
    stage.prepare(ctx)
    missing = [Path(p) for p in stage.inputs(ctx) if not Path(p).is_file()]
    if missing:
        pdk = Path(os.path.abspath(ctx.pdk.root))
        hint = (f" (the PDK at {ctx.pdk.root} is incomplete: install the complete sky130A {ctx.pdk.lib_dir.name} "
                f"library, e.g. `ciel enable`, or point PDK_ROOT at a complete copy)"
                if any(pdk in Path(os.path.abspath(p)).parents for p in missing) else "")
        raise StageError(stage.name, None, [], f"is missing its inputs: {', '.join(map(str, missing))}{hint}")
    stamp = _stamp_path(stage, ctx)
    data = None if force else current_stamp(stage, ctx)
    if data is not None:
        values, skipped, fingerprint = data["metrics"], True, data["fingerprint"]
    else:
        stamp.unlink(missing_ok=True)
        # hashed before the run: an edit to the code or inputs while it runs must not pass for what ran
        fingerprint = stage.fingerprint(ctx)
        stage.dir(ctx).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        M.set_status(ctx.metrics_path, f"running {stage.name}")
        try:
            # tool runs are recorded under the tool key, so a killed run of this stage resumes, and a rerun after a
            # code change reuses every tool run whose files are unchanged (flow/resume.py)
            with resume.stage_key(None if force else stage.tool_key(ctx)):
                values = stage.run(ctx)
        except BaseException as e:
            msg = str(e).split(";")[0] if isinstance(e, BitbranchError) else type(e).__name__
            M.set_status(ctx.metrics_path, f"failed at {stage.name}: {msg}")
            raise
        # a declared name also covers its __corner:<c> variants, and a declared family "x__rule" its "x__rule:<r>" keys
        undeclared = sorted(k for k in values if not any(k == m or k.startswith((m + "__corner:", m + ":"))
                                                         for m in stage.metric_names))
        if undeclared:
            raise StageError(stage.name, None, [], f"wrote undeclared metrics {', '.join(undeclared)} (a bug)")
        wall_s = round(time.monotonic() - t0, 2)
        print(f"[{stage.name}] done in {wall_s:.1f} s -> {stage.dir(ctx)}")
        values = json.loads(json_text(values))  # as a reader will see them (NaN -> null)
        # wall_s: how long the run that made these outputs took (bench/flow_stages.py reads it; not hashed)
        atomic_write_json(stamp, {"fingerprint": fingerprint, "metrics": values, "metrics_sha256": metrics_digest(values),
                                  "wall_s": wall_s})
        skipped = False
    prov = {**stage.provenance(ctx), "metric_keys": sorted(values)}
    M.merge_metrics(ctx.metrics_path, values, prov, stage.name)
    if skipped:
        print(f"[{stage.name}] up to date ({stage.dir(ctx)})")
    return StageResult(stage.name, dict(values), skipped, fingerprint)


def config_summary(cfg: FlowConfig) -> dict[str, Any]:
    """What a metrics file was made with, in a form a reader can compare with the current defaults."""
    d = config_dict(cfg)
    cells = d.pop("extra_dont_use")
    d.pop("timeout_s")
    d["dont_use_sha256"] = hashlib.sha256("\n".join(sorted(cells)).encode()).hexdigest()[:16]
    return d


def start_metrics(ctx: FlowContext, first_stage: str) -> None:
    """Begin a fresh metrics file for this run: it will hold exactly the stages of this command.

    Nothing from an earlier command (another clock, pre-route numbers after a routed run, a stage
    this command does not run) can survive into it and pass for current. ``flow__config`` records the
    flow configuration, so a reader can tell results made under another one (e.g. another cell set).
    """
    atomic_write_json(ctx.metrics_path, {M.STATUS_KEY: f"running {first_stage}", CONFIG_KEY: config_summary(ctx.config)})
    librelane_metrics.clear(ctx.root, ctx.spec.id, ctx.flow_dir)  # they described the previous, complete run


def run_stages(stages: Sequence[Stage], ctx: FlowContext, force: bool = False) -> list[StageResult]:
    """Run stages in order into a fresh metrics file; it says ``ok`` only when all of them finished.

    Up-to-date stages are not rerun but still contribute their stored metrics, so the file is complete. The whole
    run holds the design's lock (``build/<id>/.lock``): a second command on the design waits for it. Before ``ok``
    is written, every stage's stamp must still be the one this run made or found current, and the metrics file must
    hold exactly the values those stamps record (``check_metrics``).
    """
    with design_lock(ctx.design_dir):
        start_metrics(ctx, stages[0].name if stages else "nothing")
        results = []
        for stage in stages:
            M.set_status(ctx.metrics_path, f"running {stage.name}")
            try:
                results.append(execute(stage, ctx, force=force))
            except BaseException as e:
                msg = str(e).split(";")[0] if isinstance(e, BitbranchError) else type(e).__name__
                M.set_status(ctx.metrics_path, f"failed at {stage.name}: {msg}")
                raise
        try:
            changed = [r.name for s, r in zip(stages, results)
                       if (d := read_stamp(s, ctx)) is None or d["fingerprint"] != r.fingerprint]
            if changed:
                raise StageError(changed[0], None, [], "changed while the flow ran (its stamp is not the one this run "
                                 "made or checked): rerun the command")
            problem = check_metrics(stages, ctx, M.read_metrics(ctx.metrics_path))
            if problem:
                raise StageError("flow", ctx.metrics_path, [], f"metrics file is not what the stages measured: {problem}")
        except BaseException as e:
            M.set_status(ctx.metrics_path, f"failed at the final check: {str(e).split(';')[0]}")
            raise
        M.set_status(ctx.metrics_path, "ok")
        librelane_metrics.export(M.read_metrics(ctx.metrics_path), ctx.root, ctx.spec.id, ctx.flow_dir)
    return results


BOOKKEEPING_KEYS = (M.STATUS_KEY, CONFIG_KEY, M.PROVENANCE_KEY)


def stamped_metrics(stages: Sequence[Stage], ctx: FlowContext) -> dict[str, Any] | None:
    """The metric values the stages' stamps record, later stages overriding earlier ones (as a run merges them);
    None when a stamp is missing or damaged."""
    out: dict[str, Any] = {}
    for stage in stages:
        data = read_stamp(stage, ctx)
        if data is None:
            return None
        out.update(data["metrics"])
    return out


def check_metrics(stages: Sequence[Stage], ctx: FlowContext, metrics: Mapping[str, Any]) -> str | None:
    """Why ``metrics`` is not exactly what ``stages`` recorded in their stamps (None: it is): a stage missing from
    its provenance or an extra one, a value differing from its stamp's (e.g. edited by hand), an extra key."""
    names = {s.name for s in stages}
    recorded = set(metrics.get(M.PROVENANCE_KEY) or {}) if isinstance(metrics.get(M.PROVENANCE_KEY), Mapping) else set()
    if recorded != names:
        parts = [f"{', '.join(sorted(names - recorded))} missing" if names - recorded else "",
                 f"{', '.join(sorted(recorded - names))} not of this flow" if recorded - names else ""]
        return "stages " + "; ".join(p for p in parts if p)
    expected = stamped_metrics(stages, ctx)
    if expected is None:
        return "a stage stamp is missing or damaged"
    differ = sorted(k for k in expected if metrics.get(k, _ABSENT) != expected[k])
    extra = sorted(k for k in metrics if k not in expected and k not in BOOKKEEPING_KEYS)
    if differ:
        return f"{', '.join(differ[:4])}{' ...' if len(differ) > 4 else ''} differ from the stage stamps"
    if extra:
        return f"{', '.join(extra[:4])}{' ...' if len(extra) > 4 else ''} recorded by no stage"
    return None


_ABSENT = object()


def run_flow(flow: Flow, ctx: FlowContext, force: bool = False) -> list[StageResult]:
    """Run every stage of ``flow``, its artifacts resolved through ``ctx``."""
    return run_stages(flow.stages, ctx.with_flow(flow), force=force)


def config_dict(cfg: FlowConfig) -> dict[str, Any]:
    return asdict(cfg)
