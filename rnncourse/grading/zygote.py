"""A zygote: one process that has nbgrader imported and forks a fresh child per submission.

Importing nbgrader, nbconvert and jupyter_client takes seconds; forking a process that already
has them takes milliseconds. The runner (or each Dask worker) starts one zygote with
``python -m rnncourse.grading.zygote``; the zygote is single-threaded, so ``fork`` is safe
there (it is not in the runner, which has threads). The protocol is one line per message:

- runner -> zygote: ``RUN <id> <task file> <result file> <scratch dir>``
- zygote -> runner: ``PID <id> <pid>`` when the child starts, ``EXIT <id> <status>`` when it
  ends (``status`` as from ``waitpid``).

Every child asks the OS to be killed when the zygote dies, and the zygote exits (killing its
children) when its standard input closes, i.e. when the runner exits or is killed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field


def _send(out, line: str) -> bool:
    """Write one protocol line; False when the runner is gone."""
    try:
        out.write(line + "\n")
        return True
    except (BrokenPipeError, OSError):
        return False


def serve() -> None:
    """The zygote's main loop (runs in the zygote process)."""
    from rnncourse.grading import worker

    for name in worker.PRELOAD:
        importlib.import_module(name)
    with contextlib.suppress(Exception):  # an optimisation only
        worker.warm_up()
    children: dict[int, str] = {}
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # nothing else may write to the protocol stream
    buffer = b""
    eof = False
    while not eof or children:
        if eof:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        ready, _, _ = select.select([] if eof else [0], [], [], 0.05)
        if ready:
            chunk = os.read(0, 65536)
            eof = not chunk
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                parts = line.decode().split(" ")
                if len(parts) == 5 and parts[0] == "RUN":
                    _, ident, task, result, scratch = parts
                    pid = os.fork()
                    if pid == 0:
                        out.close()
                        devnull = os.open(os.devnull, os.O_RDONLY)
                        os.dup2(devnull, 0)
                        code = 0
                        try:
                            worker._child_main(task, result, scratch)
                        except BaseException:
                            code = 1
                        finally:
                            os._exit(code)
                    children[pid] = ident
                    eof = eof or not _send(out, f"PID {ident} {pid}")
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            ident = children.pop(pid, None)
            if ident is not None and not eof:
                eof = not _send(out, f"EXIT {ident} {status}")


@dataclass
class _Job:
    started: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    pid: int = 0
    status: int | None = None


class Zygote:
    """The runner's handle on a zygote process (thread-safe)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "rnncourse.grading.zygote"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
        )
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}
        self._counter = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            parts = raw.decode().split()
            if len(parts) != 3:
                continue
            kind, ident, value = parts
            job = self._jobs.get(ident)
            if job is None:
                continue
            if kind == "PID":
                job.pid = int(value)
                job.started.set()
            elif kind == "EXIT":
                job.status = int(value)
                job.done.set()
        for job in list(self._jobs.values()):  # the zygote is gone
            job.started.set()
            job.done.set()

    def alive(self) -> bool:
        return self._proc.poll() is None

    def run(self, task: str, result: str, scratch: str, timeout: float) -> tuple[int | None, bool]:
        """Run one child; return ``(exit code or -signal or None, timed out)``."""
        with self._lock:
            self._counter += 1
            ident = str(self._counter)
            job = self._jobs[ident] = _Job()
            assert self._proc.stdin is not None
            self._proc.stdin.write(f"RUN {ident} {task} {result} {scratch}\n".encode())
            self._proc.stdin.flush()
        try:
            job.started.wait()
            timed_out = not job.done.wait(timeout)
            if timed_out and job.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(job.pid, signal.SIGKILL)
                job.done.wait(30)
            status = job.status
            if status is None:
                return None, timed_out
            if os.WIFSIGNALED(status):
                return -os.WTERMSIG(status), timed_out
            return os.WEXITSTATUS(status), timed_out
        finally:
            self._jobs.pop(ident, None)

    def close(self) -> None:
        """Stop the zygote; its running children are killed."""
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_shared: Zygote | None = None
_shared_lock = threading.Lock()


def shared() -> Zygote:
    """The zygote of this process, started on first use (restarted if it died)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive():
            _shared = Zygote()
        return _shared


def close_shared() -> None:
    """Stop this process's zygote, if any."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


if __name__ == "__main__":
    serve()
