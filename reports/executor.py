"""The one executor of every sweep (``make ppa``, ``make demo``, ``make dse``): Dask distributed.

By default a ``LocalCluster`` on this machine (one worker process per core, one thread each: every task is a
single-threaded flow or model run, and a worker process that dies takes only its own task down); with
``DASK_SCHEDULER=tcp://host:8786`` (or ``--scheduler``) an existing scheduler and its workers instead (a cluster
started by hand, by dask-jobqueue's ``SLURMCluster``, on Kubernetes, ...). Dask reruns the task of a worker that
died on another worker (its nanny starts a new one); the tasks are idempotent (the flow's stage stamps), so a rerun
costs only the unfinished stage. Progress is one line per finished task; the dashboard address is printed first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, TypeVar

from common.errors import BitbranchError

SCHEDULER_ENV = "DASK_SCHEDULER"
CONNECT_TIMEOUT_S = 5.0
"""How long to try an existing scheduler before saying it is unreachable (the issue's bound is 10 s)."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where tasks run: ``scheduler`` (an address; None: a LocalCluster of ``workers`` processes, default the
    cores) and how long to try reaching it."""

    scheduler: str | None = None
    workers: int | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S

    @staticmethod
    def from_env(scheduler: str | None = None, workers: int | None = None) -> "ExecutorConfig":
        """A flag wins over ``$DASK_SCHEDULER``; blank means a local cluster."""
        addr = (scheduler or "").strip() or os.environ.get(SCHEDULER_ENV, "").strip() or None
        return ExecutorConfig(scheduler=addr, workers=workers)

    def describe(self) -> str:
        if self.scheduler:
            return f"Dask scheduler {self.scheduler}"
        return f"Dask LocalCluster, {self.workers or default_workers()} worker process(es) x 1 thread"


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _quiet_logs() -> None:
    """Dask's INFO chatter (worker start/stop, heartbeats) would bury the progress lines; warnings stay."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                 "distributed.core", "distributed.comm", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.ERROR)


def probe(address: str, timeout_s: float) -> None:
    """Fail at once (OSError) when nothing listens at a ``tcp://host:port`` address: Dask's client would keep
    retrying a refused connection until its timeout. Other protocols are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    try:
        u = urlsplit(address)
        host, port = u.hostname, u.port
    except ValueError as e:
        raise ValueError(f"not a tcp://host:port address ({e})") from None
    if not host or not port:
        raise ValueError("not a tcp://host:port address")
    with socket.create_connection((host, port), timeout=timeout_s):
        pass


@contextlib.contextmanager
def open_client(cfg: ExecutorConfig, say: Callable[[str], None] = print) -> Iterator[Any]:
    """A connected ``distributed.Client`` for the block; an unreachable scheduler is one BitbranchError naming
    its address, raised within ``cfg.connect_timeout_s`` (plus Dask's own start-up)."""
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise BitbranchError("Dask distributed is not installed: run `make deps` (or .venv/bin/pip install "
                             "'dask[distributed]')") from None
    _quiet_logs()
    if cfg.scheduler:
        try:
            probe(cfg.scheduler, cfg.connect_timeout_s)
            client = Client(cfg.scheduler, timeout=cfg.connect_timeout_s)
        except Exception as e:  # refused, unresolvable, timed out, or something else answering (not a scheduler)
            reason = str(e).splitlines()[0] if str(e).strip() else type(e).__name__
            raise BitbranchError(f"cannot reach the Dask scheduler at {cfg.scheduler} ({SCHEDULER_ENV} or --scheduler)"
                                 f" within {cfg.connect_timeout_s:g} s: {reason[:160]}") from None
        try:
            say(f"executor: {cfg.describe()}; dashboard {client.dashboard_link}")
            yield client
        finally:
            client.close()
        return
    n = cfg.workers or default_workers()
    # processes, not threads: a task that crashes its interpreter (or is killed) is rerun elsewhere; port 0 for the
    # scheduler and the dashboard, so two sweeps on one machine never collide
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, scheduler_port=0, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        say(f"executor: {cfg.describe()}; dashboard {client.dashboard_link}")
        yield client


@dataclass(frozen=True)
class Done:
    """One finished task: its index in the submitted order, its result, and the wall time since submission."""

    index: int
    result: Any
    seconds: float


def run_all(client: Any, fn: Callable[..., R], items: Sequence[T], keys: Sequence[str],
            progress: Callable[[Done, int, int], None] | None = None, args: Sequence[Any] = ()) -> list[R]:
    """``fn(item, *args)`` for every item on the cluster, results in ``items`` order; ``progress(done, i, total)``
    after each task. ``keys`` name the tasks (the dashboard shows them); a task that raised raises here (the
    sweeps' tasks catch their own failures and return them as failed rows)."""
    from distributed import as_completed

    if len(keys) != len(items):
        raise ValueError("one key per item")
    t0 = time.monotonic()
    futures = [client.submit(fn, item, *args, key=key, pure=False) for item, key in zip(items, keys)]
    index = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    for i, fut in enumerate(as_completed(futures), 1):
        k = index[fut.key]
        results[k] = fut.result()
        if progress is not None:
            progress(Done(k, results[k], time.monotonic() - t0), i, len(items))
    return results
