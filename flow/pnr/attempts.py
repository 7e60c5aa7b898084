"""Placement attempts side by side: which attempt wins, and running them in parallel processes.

The route stage tries a recipe of placements (``PnrConfig.attempts``) in order until one routes without a failed
net; a qrouter time-out (its CPU limit, load-independent) skips the later attempts at that density. ``decide``
is that rule as a pure function of the outcomes known so far, so the winner is always **the first clean attempt in
recipe order** (never the first to finish) and does not depend on timing or on how many attempts ran at once.

``run_in_order`` runs the attempts ``decide`` may still need, up to ``jobs`` at a time, each in a forked process of
its own session (so its tools can be stopped with it), speculatively ahead of the first undecided one and at a
lower CPU priority than it (``SPECULATIVE_NICE``, so speculation costs the deciding attempt little on a busy
machine): an attempt whose result can no longer matter (a clean one earlier in the recipe, or a time-out at its density earlier
in the recipe) is stopped. With ``jobs=1`` it runs them one after another in this process, like a loop would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Mapping, Sequence

from common.errors import BitbranchError
from flow.stage import descendants
from flow.toolguard import autogroup_nice


@dataclass(frozen=True)
class Outcome:
    """What one attempt's first route gave: failed nets (0 = clean), or ``timed_out``; ``error``: it raised;
    ``dirty``: complete, but what the attempt itself does after its route (a late keep-out's pad edits and re-routes)
    left DRC boxes or shorts: not clean, so a later attempt may still win (the stage keeps the best complete round
    when none does)."""

    failed_nets: int
    timed_out: bool = False
    error: BaseException | None = None
    dirty: bool = False

    @property
    def clean(self) -> bool:
        return self.error is None and self.failed_nets == 0 and not self.timed_out and not self.dirty


@dataclass(frozen=True)
class Decision:
    """``winner``: index of the winning attempt (None: none yet, or none at all when ``pending`` is empty);
    ``pending``: attempts whose outcome may still matter, in recipe order; ``considered``: attempts the rule has
    looked at so far, in order (the rounds a sequential loop would have run)."""

    winner: int | None
    pending: tuple[int, ...]
    considered: tuple[int, ...]
    error: int | None = None  # an attempt that raised and was needed: its error is the stage's


def decide(densities: Sequence[float], outcomes: Mapping[int, Outcome]) -> Decision:
    """The first clean attempt in recipe order, skipping the attempts at a density where an earlier attempt timed
    out; ``pending`` holds the attempts still worth running (all undecided ones up to the first known clean one)."""
    too_dense: set[float] = set()
    pending: list[int] = []
    considered: list[int] = []
    for i, density in enumerate(densities):
        if density in too_dense:
            continue
        if i not in outcomes:
            pending.append(i)
            continue
        o = outcomes[i]
        if not pending:
            considered.append(i)
            if o.error is not None:
                return Decision(None, (), tuple(considered), error=i)
        if o.clean:
            if not pending:
                return Decision(i, (), tuple(considered))
            break  # a clean attempt: nothing after it can win, unless an earlier one times out at its density
        if o.timed_out:
            too_dense.add(density)
    return Decision(None, tuple(pending), tuple(considered))


SPECULATIVE_NICE = 10
"""Niceness of an attempt started ahead of an undecided earlier one: on a machine busy with other work the attempt
that decides runs first; it gets its priority back (as root) when it becomes the first undecided attempt."""


def _child(conn: Any, fn: Callable[[int], Any], i: int, lock: Any, want: Any) -> None:
    os.setsid()  # own process group and session: stopping the attempt stops the tools it started
    with lock:  # before any tool starts: the niceness the parent wants for this attempt now (``want``, which it
        _priority(os.getpid(), want.value, group=False)  # sets before the start and changes under the lock)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # stopped means stopped (the parent handles interruptions)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(("ok", fn(i)))
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent, which decides
        try:
            conn.send(("error", e))
        except Exception:  # an exception that does not pickle
            conn.send(("error", BitbranchError(f"{type(e).__name__}: {e} ({traceback.format_exc(limit=3)})")))
    finally:
        conn.close()


def _priority(pid: int, nice: int, group: bool) -> None:
    """Set the niceness of an attempt's process and of its session's scheduler group (``autogroup_nice``); with
    ``group``, of every process it started too, and of the scheduler groups of the tools among them (each tool runs
    in a session of its own under ``flow/toolguard.py``, which started it at the attempt's niceness: a qrouter run
    that began while its attempt was speculative would otherwise keep that priority after the attempt came to
    decide). Raising a priority needs root, so without it an attempt just keeps its lower one."""
    for p in [pid, *(descendants(pid) if group else ())]:
        try:
            os.setpriority(os.PRIO_PROCESS, p, nice)
        except OSError:
            pass
        autogroup_nice(p, nice)  # only where p leads its own session (the attempt, a tool guard)


def _renice(lock: Any, pid: int, nice: int, group: bool, want: Any) -> None:
    """``_priority`` and the attempt's wanted niceness ``want`` (what its ``_child`` applies if it has not started
    yet), holding ``lock``; after 5 s without it (a child stopped inside its few lines), anyway."""
    got = lock.acquire(timeout=5)
    try:
        want.value = nice
        _priority(pid, nice, group)
    finally:
        if got:
            lock.release()


def _stop(proc: multiprocessing.process.BaseProcess) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    proc.join(5)
    if proc.is_alive():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.join()


def run_in_order(densities: Sequence[float], run: Callable[[int], Any], outcome: Callable[[Any], Outcome],
                 jobs: int, log: Callable[[str], None] = print) -> tuple[Decision, dict[int, Any]]:
    """Run attempts (``run(i)`` -> a picklable result, ``outcome(result)`` -> its ``Outcome``) until ``decide``
    settles; returns the decision and the results of the attempts it considered. Raises the error of an
    attempt the decision needed."""
    outcomes: dict[int, Outcome] = {}
    results: dict[int, Any] = {}
    def settled() -> tuple[Decision, bool]:
        """The decision so far, and whether it is final (raises the error of an attempt it needed)."""
        d = decide(densities, outcomes)
        if d.error is not None:
            raise outcomes[d.error].error  # type: ignore[misc]
        return d, d.winner is not None or not d.pending

    if jobs <= 1:
        while True:
            d, final = settled()
            if final:
                return d, {i: results[i] for i in d.considered}
            i = d.pending[0]
            try:
                results[i] = run(i)
                outcomes[i] = outcome(results[i])
            except BitbranchError as e:
                outcomes[i] = Outcome(-1, error=e)
    ctx = multiprocessing.get_context("fork")
    running: dict[int, tuple[multiprocessing.process.BaseProcess, Any]] = {}
    wants: dict[int, Any] = {}  # each started attempt's wanted niceness, shared with its process
    base = os.getpriority(os.PRIO_PROCESS, 0)
    lock = ctx.Lock()  # orders the parent's re-nicing against a starting child's session setup (``_child``)
    try:
        while True:
            d, final = settled()
            if final:
                return d, {i: results[i] for i in d.considered}
            for i in [i for i in running if i not in d.pending]:  # can no longer matter
                proc, conn = running.pop(i)
                log(f"attempt {i}: stopped (an earlier attempt in the recipe decides)")
                _stop(proc)
                conn.close()
            first = d.pending[0]
            if first in running and wants[first].value != base:  # now it decides: back to the parent's priority
                _renice(lock, running[first][0].pid, base, group=True, want=wants[first])
            for i in d.pending:
                if len(running) >= jobs:
                    break
                if i not in running:
                    parent, child = ctx.Pipe(duplex=False)
                    # the child lowers its own priority before it starts a tool: set by the parent afterwards, a
                    # tool could start at the parent's priority and keep it (its own session and scheduler group)
                    wants[i] = ctx.Value("i", base if i == first else min(19, base + SPECULATIVE_NICE), lock=False)
                    proc = ctx.Process(target=_child, args=(child, run, i, lock, wants[i]), daemon=False)
                    proc.start()
                    child.close()
                    running[i] = (proc, parent)
            ready = wait([conn for _, conn in running.values()])
            for i in [i for i, (_, conn) in running.items() if conn in ready]:
                proc, conn = running.pop(i)
                try:
                    kind, value = conn.recv()
                except EOFError:  # the process died without a word (killed from outside, out of memory)
                    kind, value = "error", BitbranchError(f"attempt {i}: its process ended without a result "
                                                          f"(exit code {proc.exitcode})")
                conn.close()
                proc.join()
                if kind == "ok":
                    results[i] = value
                    outcomes[i] = outcome(value)
                else:
                    outcomes[i] = Outcome(-1, error=value)
    finally:
        for proc, conn in running.values():
            _stop(proc)
            conn.close()
