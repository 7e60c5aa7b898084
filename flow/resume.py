"""Records of finished tool runs, so a stage that was killed, failed part-way or whose code changed reuses them.

A long stage (the route: several qrouter runs of 20-40 min each) that is interrupted would otherwise redo
every tool run, and so would one whose code changed after the tool runs (a new DRC repair step after qrouter).
While a stage runs, ``execute`` sets its tool key (``Stage.tool_key``: inputs and tool versions; not the stage's
code or config) as the current key; ``run_tool`` then records each finished run in ``<run dir>/.runs/`` with the
digests of the files the run read (``reads``, else every file in its run directory) before the run (inputs)
and of every file it created, changed or deleted (outputs, its log included). A later run reuses a record only
when all of these hold: the same tool key, the same argv, environment (what the caller set: ``env_delta``), stdin,
CPU limit, declared reads and writes, every output file (``writes`` when declared) still as the run left it, and
every input as the run found it. Anything else runs the tool.

Why the stage's code and config are not in the key: they reach a tool only through the files the code writes for
it, its argv, environment and stdin, and each of those is in the record. So an edit to a step after the router (or a
new attempt order in the recipe) re-runs the stage and reuses every router run it repeats, while an edit that
changes the router's script or DEF re-runs the router.

What is recorded: exit status 0, and a stop at the CPU-time limit (load-independent, so the same verdict on
a rerun). A wall-clock time-out or another non-zero exit is never recorded. ``--force`` disables reuse.

The contract this relies on: a tool reads only the stage's inputs, files named in its argv and files in its run
directory (the ``cwd`` of ``run_tool``, else the stage directory), and of those only ``reads`` when the caller
declares them; and no tool reads another run's log. Log files (``*.log``) are therefore never counted as inputs:
they carry run times that differ on every run, so the log of a rerun step (or an older, killed run's log left in
the directory) would otherwise make every later run in that directory look changed.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from common.files import atomic_write_text
from common.state import keys_of, load_state
from flow.pdk import file_digest

RECORD_DIR = ".runs"
RECORD_SHAPE = keys_of({"ident": dict, "outcome": str, "message": str, "inputs": dict, "outputs": dict})
_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar("bitbranch_stage_fingerprint", default=None)


@contextlib.contextmanager
def stage_key(key: str | None) -> Iterator[None]:
    """Tool runs inside this block are recorded (and reused) under ``key``; None turns both off."""
    token = _KEY.set(key)
    try:
        yield
    finally:
        _KEY.reset(token)


def snapshot(run_dir: Path) -> dict[str, str]:
    """Digest of every regular file under ``run_dir`` (records left out), by path relative to it."""
    out = {}
    for p in sorted(run_dir.rglob("*")):
        rel = p.relative_to(run_dir)
        if RECORD_DIR not in rel.parts and p.is_file():
            out[rel.as_posix()] = file_digest(p)
    return out


def env_delta(env: Mapping[str, str]) -> dict[str, str | None]:
    """What ``env`` sets or removes against the process environment: the part a caller chose. The inherited rest is
    left out, as it is for a tool run with ``env=None`` (qflow's ``{**os.environ, QFLOW_TECH_DIR: ...}`` differed on
    every invocation, by ``PWD``, ``OLDPWD`` and the Dask worker's variables, so its runs were never reused)."""
    out: dict[str, str | None] = {k: v for k, v in env.items() if os.environ.get(k) != v}
    out.update({k: None for k in os.environ if k not in env})
    return out


@dataclass(frozen=True)
class ToolRun:
    """One tool invocation as the record identifies it."""

    argv: Sequence[str]
    run_dir: Path
    log: Path
    env: Mapping[str, str] | None
    stdin_text: str | None
    cpu_limit_s: float | None
    reads: tuple[str, ...] | None = None  # the files of run_dir the tool reads; None: all of them
    writes: tuple[str, ...] | None = None  # the files of run_dir it writes that later steps use; None: all it changes

    def ident(self, key: str) -> dict[str, Any]:
        env = None if self.env is None else hashlib.sha256(json.dumps(env_delta(self.env), sort_keys=True).encode()
                                                           ).hexdigest()
        stdin = None if self.stdin_text is None else hashlib.sha256(self.stdin_text.encode()).hexdigest()
        return {"tool_key": key, "argv": [str(a) for a in self.argv], "env_sha256": env,
                "stdin_sha256": stdin, "cpu_limit_s": self.cpu_limit_s,
                "reads": None if self.reads is None else list(self.reads),
                "writes": None if self.writes is None else list(self.writes)}

    def record_path(self) -> Path:
        h = hashlib.sha256(json.dumps([str(a) for a in self.argv]).encode()).hexdigest()[:12]
        return self.run_dir / RECORD_DIR / f"{self.log.stem}-{h}.json"


def _is_log(rel: str) -> bool:
    return rel.endswith(".log")


def _current(run_dir: Path, rel: str) -> str | None:
    p = run_dir / rel
    return file_digest(p) if p.is_file() else None


def lookup(run: ToolRun) -> dict[str, Any] | None:
    """The record of an identical finished run whose outputs are still in place, else None."""
    key = _KEY.get()
    path = run.record_path()
    if key is None or not path.is_file():
        return None
    rec = load_state(path, "tool-run record", RECORD_SHAPE, then="the tool reruns")
    if rec is None or rec["ident"] != run.ident(key) or rec["outcome"] not in ("ok", "cpu_timeout"):
        return None
    outputs, inputs = rec["outputs"], rec["inputs"]
    if not all(isinstance(v, (str, type(None))) for v in (*outputs.values(), *inputs.values())):
        return None
    if any(_current(run.run_dir, rel) != dg for rel, dg in outputs.items()):
        return None
    if any(_current(run.run_dir, rel) != dg for rel, dg in inputs.items() if rel not in outputs and not _is_log(rel)):
        return None
    return rec


def begin(run: ToolRun) -> dict[str, str] | None:
    """The run directory's files before the tool runs (None when runs are not being recorded)."""
    return None if _KEY.get() is None else snapshot(run.run_dir)


def finish(run: ToolRun, before: dict[str, str] | None, outcome: str, message: str = "") -> None:
    """Record a finished run: ``outcome`` is ``ok`` or ``cpu_timeout`` (with the error ``message``)."""
    key = _KEY.get()
    if key is None or before is None:
        return
    after = snapshot(run.run_dir)
    if run.writes is None:
        outputs: dict[str, str | None] = {rel: dg for rel, dg in after.items() if before.get(rel) != dg}
        outputs.update({rel: None for rel in before if rel not in after})
    else:  # a side file the next run in the directory overwrites (qrouter's fail.out) must not void this record
        outputs = {rel: after.get(rel) for rel in run.writes}
    if run.log.is_file():  # the log may live outside the run directory
        try:
            outputs[run.log.relative_to(run.run_dir).as_posix()] = file_digest(run.log)
        except ValueError:
            pass
    inputs = ({rel: dg for rel, dg in before.items() if not _is_log(rel)} if run.reads is None
              else {rel: before.get(rel) for rel in run.reads})
    rec = {"ident": run.ident(key), "outcome": outcome, "message": message, "inputs": inputs, "outputs": outputs}
    atomic_write_text(run.record_path(), json.dumps(rec, indent=1, sort_keys=True) + "\n")
