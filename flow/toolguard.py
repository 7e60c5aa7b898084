"""Run one tool so that it never outlives the flow process that started it (``run_tool`` starts every tool here).

A flow process can die without running any clean-up: a Dask worker of ``make ppa`` is ended with its cluster,
a job is SIGKILLed. Its qrouter (30 min) or qflow -> placement.sh -> graywolf then ran on, parented to init, and
could write into a folder that the resumed run was using. This guard runs in a session of its own (so the tool
and everything it starts share one process group) and asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``); on SIGTERM it kills the whole group. The tool's exit status is passed on as is, a
signal (SIGXCPU at the CPU-time limit) as that signal.

A session of its own is also a scheduler group of its own under Linux's autogroup (Debian's default), and a new
group starts at niceness 0: the guard gives its group the niceness it was started with (``autogroup_nice``), so a tool
of ``nice make ppa``, or of a route attempt run ahead at nice +10, does not take the CPU at full weight.

Usage: python toolguard.py <parent pid> <argv...>  (stdin, stdout and stderr are the tool's).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def _kill_group(*_: object) -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)  # the tool, what it started, and this guard


def autogroup_nice(pid: int, nice: int, proc: Path = Path("/proc")) -> bool:
    """Give the scheduler group of ``pid``'s session the niceness ``nice``, when ``pid`` leads its own session.

    Linux with ``kernel.sched_autogroup_enabled`` (Debian's default) shares the CPU between sessions first: a
    process's own niceness only ranks it inside its session, so a speculative route attempt (a session of its own,
    ``flow/pnr/attempts.py``) or a tool (this guard's session) at nice 10 took as much CPU as the deciding one.
    The group's niceness (``/proc/<pid>/autogroup``) is what ranks sessions. Returns whether it was set (False: not a
    session leader, no autogroup, not allowed).
    """
    try:
        if os.getsid(pid) != pid:  # never re-nice a session shared with the parent
            return False
        (proc / str(pid) / "autogroup").write_text(f"{nice}\n")
        return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    parent, cmd = int(argv[0]), argv[1:]
    signal.signal(signal.SIGTERM, _kill_group)
    signal.signal(signal.SIGHUP, _kill_group)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request took effect
        return 1
    nice = os.getpriority(os.PRIO_PROCESS, 0)
    if nice != 0:
        autogroup_nice(os.getpid(), nice)
    proc = subprocess.Popen(cmd)
    rc = proc.wait()
    if rc < 0:  # pass a signal on as the same signal, without a core file
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
