"""Where submissions are graded: a local pool of processes or a Dask cluster, one interface.

Both are :class:`concurrent.futures.Executor` objects: a :class:`LocalPool` (a
``ProcessPoolExecutor`` whose workers are forked from multiprocessing's fork server, which
imported and warmed up the grading stack once, :mod:`rnncourse.grading.preloaded`) and Dask's
own ``Client.get_executor()``, which runs the same function on the cluster's workers.
:class:`Workers` wraps either with what the runner needs beyond ``submit``:

- :meth:`Workers.start` starts the fork server at once (it warms up while the runner plans
  the run);
- :meth:`Workers.restart` after a local worker died (a broken pool is replaced; Dask
  reschedules a dead worker's tasks by itself);
- :meth:`Workers.abandon` for a task past its deadline: locally the pool's processes are
  killed (the other tasks in flight are retried), on Dask the future is cancelled;
- :meth:`Workers.close` ends *this run's* work only: the local pool, or this client's futures
  and connection. A shared Dask cluster and other runs' tasks are never touched.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

#: Tasks a local worker process grades before it is replaced (bounds any slow leak).
TASKS_PER_WORKER = 100
#: What multiprocessing's fork server imports once before it forks the first worker: torch,
#: nbgrader and nbconvert imported and warmed up (5 s of CPU that each worker paid before).
FORK_SERVER_PRELOAD = ["rnncourse.grading.preloaded"]


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORK_SERVER_PRELOAD)
    return context


def _exit_when_readable(fd: int) -> None:
    select.select([fd], [], [])
    os._exit(1)


def _preload(runner_pid: int) -> None:
    """A local worker's start: die with the runner and with the fork server, then warm up
    (nothing is left to do unless the fork server's warm-up failed).

    The worker's parent is the fork server, which lives as long as any worker does, so the
    runner's end is watched directly (a pidfd becomes readable when the process exits): a
    runner killed mid-run leaves no worker behind.
    """
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the fork server died before the line above ran
        os._exit(1)
    try:
        runner = os.pidfd_open(runner_pid)
    except ProcessLookupError:  # the runner is gone already
        os._exit(1)
    threading.Thread(target=_exit_when_readable, args=(runner,), daemon=True,
                     name="exit-with-the-runner").start()
    from rnncourse.grading.submission import preload

    preload()


class LocalPool:
    """A pool of ``jobs`` worker processes that each grade one submission at a time."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=_context(),
                                   initializer=_preload, initargs=(os.getpid(),),
                                   max_tasks_per_child=TASKS_PER_WORKER)

    def restart(self) -> None:
        self.kill()
        self.pool = self._new()

    def kill(self) -> None:
        """Stop every worker process now (their tasks fail with ``BrokenProcessPool``)."""
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        for process in processes:
            with contextlib.suppress(OSError):
                process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)


class Workers:
    """The runner's view of its executor; see the module docstring.

    Args:
        jobs: local worker processes (ignored with ``scheduler``).
        scheduler: address of a Dask scheduler (``tcp://...`` or ``tls://...``).
        security: a ``distributed.Security`` for ``tls://`` (certificates), or ``None``.
    """

    def __init__(self, jobs: int | None = None, scheduler: str | None = None,
                 security: Any = None) -> None:
        self.scheduler = scheduler
        self._closed = False
        self._client = None
        self._local: LocalPool | None = None
        if scheduler:
            from distributed import Client

            self._client = Client(scheduler, security=security, set_as_default=False)
            self._executor: Executor = self._client.get_executor(pure=False)
            self.slots = max(1, sum(self._client.nthreads().values()))
        else:
            self._local = LocalPool(jobs or os.cpu_count() or 1)
            self._executor = self._local.pool
            self.slots = self._local.jobs

    def start(self) -> None:
        """Start the local pool's fork server now, without waiting for its warm-up (nothing
        to do on Dask)."""
        if self._local is not None:  # its pool set the server's preload list already
            from multiprocessing import forkserver

            forkserver.ensure_running()

    @property
    def where(self) -> str:
        return f"Dask at {self.scheduler}" if self.scheduler else f"{self.slots} local workers"

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor.submit(fn, *args)

    def restart(self) -> None:
        """Replace a broken local pool (a worker died); nothing to do on Dask."""
        if self._local is not None:
            self._local.restart()
            self._executor = self._local.pool

    def abandon(self, future: Future) -> None:
        """Give up on a task past its deadline (locally this kills the pool's processes)."""
        if self._local is not None:
            self._local.kill()
            self._local.pool = self._local._new()
            self._executor = self._local.pool
        else:
            future.cancel()

    def close(self) -> None:
        """End this run's work only (see the module docstring); closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        if self._local is not None:
            # every result is in (or the run is over): an idle worker has nothing to finish,
            # and a graceful exit of a process holding torch took a second
            self._local.kill()
        else:
            with contextlib.suppress(Exception):
                self._executor.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(Exception):
                self._client.close()
