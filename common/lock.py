"""Advisory file locks (``fcntl.flock``): one writer per design folder, one per shared folder (``build/pdk``).

Every command that writes under ``build/<id>/`` holds ``design_lock(root, id)`` (the file ``build/<id>/.lock``)
while it writes; the shared stages hold ``folder_lock(build/pdk)``. A second command on the same design waits,
printing once who holds it (pid and command line, written into the lock file by the holder). A reader (the report)
takes the lock shared and without waiting (``wait=False``): a design being written is reported as busy, never
read half-written.

The locks are re-entrant within a process (a flow run regenerating RTL takes the same design lock again) and are
inherited by child processes: the holder lists its locks in ``$BITBRANCH_HELD_LOCKS``, and a child that finds a
listed lock taken (by its parent, which waits for it) goes on instead of waiting for itself.

The lock is advisory: it orders bitbranch commands, not other programs. The kernel drops it when the holder
dies, even by SIGKILL, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from common.errors import BitbranchError

LOCK_NAME = ".lock"
HELD_ENV = "BITBRANCH_HELD_LOCKS"

_mutex = threading.RLock()
_held: dict[str, list] = {}  # real path -> [fd, depth, shared]


class LockBusy(BitbranchError):
    """The lock is held by another command and the caller asked not to wait."""

    def __init__(self, path: Path, holder: str):
        self.path, self.holder = path, holder
        super().__init__(f"{path.parent} is in use by {holder or 'another command'}")


def holder_of(path: Path | str) -> str:
    """Who holds a lock, as its holder wrote it (``pid N: command``); '' when unknown."""
    try:
        return Path(path).read_text(errors="replace").strip().splitlines()[0][:200]
    except (OSError, IndexError):
        return ""


def _inherited(key: str) -> bool:
    return key in os.environ.get(HELD_ENV, "").split(os.pathsep)


def _set_env(keys: list[str]) -> None:
    if keys:
        os.environ[HELD_ENV] = os.pathsep.join(keys)
    else:
        os.environ.pop(HELD_ENV, None)


def _open(path: Path, shared: bool) -> int | None:
    """The lock file's descriptor; None for a shared (reading) lock in a folder nobody can write."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if shared and e.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
            try:
                return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None  # a read-only folder without a lock file: nobody can be writing it
        from common.cli import FIXES

        fix = FIXES.get(e.errno, f"make {path.parent} writable (or choose another build folder with --root / BUILD_ROOT)")
        raise BitbranchError(f"cannot create the lock file {path}: {e.strerror}; {fix}") from None


@contextlib.contextmanager
def locked(path: Path | str, shared: bool = False, wait: bool = True,
           say: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the advisory lock ``path`` for the block (exclusive unless ``shared``).

    Taken by another process: wait (printing one line through ``say``, default stderr) or, with ``wait=False``,
    raise ``LockBusy``. Re-entrant within the process; a lock held by the parent process counts as held."""
    path = Path(path)
    key = os.path.realpath(path)
    with _mutex:
        if key in _held:
            _held[key][1] += 1
            entry = _held[key]
            try:
                yield
            finally:
                with _mutex:
                    entry[1] -= 1
                    if entry[1] == 0:
                        _release(key)
            return
    fd = _open(path, shared)
    if fd is None:
        yield
        return
    op = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except BlockingIOError:
        if _inherited(key):  # our parent holds it and waits for us
            os.close(fd)
            yield
            return
        if not wait:
            os.close(fd)
            raise LockBusy(path, holder_of(path)) from None
        t0 = time.monotonic()
        (say or _stderr)(f"waiting for {path.parent}: in use by {holder_of(path) or 'another command'} "
                         f"(Ctrl-C to stop waiting)")
        try:
            fcntl.flock(fd, op)
        except BaseException:
            os.close(fd)
            raise
        (say or _stderr)(f"got {path.parent} after {time.monotonic() - t0:.0f} s")
    if not shared:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}: {_command()[:180]}\n".encode(errors="replace"), 0)
        except OSError:
            pass  # who holds it is a courtesy for the waiter's message
    with _mutex:
        _held[key] = [fd, 1, shared]
        _set_env(list(_held))
    try:
        yield
    finally:
        with _mutex:
            _held[key][1] -= 1
            if _held[key][1] == 0:
                _release(key)


def _release(key: str) -> None:
    fd = _held.pop(key)[0]
    _set_env(list(_held))
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _command() -> str:
    """This process's command line as the user typed it (``python -m flow gds ...`` rather than a path)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):
        argv[0] = f"python -m {Path(argv[0]).parent.name}"
    return " ".join(argv)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def folder_lock(folder: Path | str, shared: bool = False, wait: bool = True) -> contextlib.AbstractContextManager:
    """The lock of a folder (its ``.lock`` file), e.g. ``build/pdk`` for the shared stages."""
    return locked(Path(folder) / LOCK_NAME, shared=shared, wait=wait)


def design_lock(design_dir: Path | str, shared: bool = False, wait: bool = True) -> contextlib.AbstractContextManager:
    """The lock of one design's folder ``build/<id>/``: held by every command that writes under it."""
    return folder_lock(design_dir, shared=shared, wait=wait)
