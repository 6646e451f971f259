"""The judge's side of the student process: start it in the sandbox, run cells, call functions.

:class:`StudentProcess` starts :mod:`rnncourse.judge.server` in the grading sandbox with two
pipes (requests in, replies out; :mod:`rnncourse.exercise.wire` frames), sends it the
notebook's code cells that are not tests, then calls the learner's functions with a deadline
per request. The process sees only its own scratch folder and the allow-listed Python view of
:mod:`rnncourse.judge.view`; it has no network, its own PID namespace, no capabilities and the
resource limits of :class:`rnncourse.grading.job.Limits`.

Everything that comes back is the learner's answer and is decoded without unpickling.
Failures are typed: :class:`LearnerError` (the learner's code raised), :class:`StudentTimeoutError`
(a request ran past its deadline; the process is killed), :class:`StudentCrashedError` (the process
died: memory or CPU limit, ``os._exit``, a crash) and :class:`ProtocolViolationError` (a reply that
breaks the protocol). :class:`RemoteStudent` adapts the process to the interface the tests use
(:class:`rnncourse.exercise.tester.Student`), turning these into test failures.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnncourse.exercise import wire
from rnncourse.exercise.tester import CheckError, Returned
from rnncourse.grading import sandbox
from rnncourse.judge import view as views

_SERVER_FILES = {
    "launch.py": sandbox.LAUNCHER,
    "server.py": Path(__file__).with_name("server.py"),
    "wire.py": Path(wire.__file__),
    "library.py": Path(wire.__file__).with_name("library.py"),
}
#: Largest reply accepted from the student process.
MAX_REPLY_BYTES = 64 * 1024**2
_SIGNALS = {
    signal.SIGXCPU: "it ran out of CPU time",
    signal.SIGKILL: "it was killed (the memory or time limit)",
    signal.SIGSEGV: "it crashed (segmentation fault)",
    signal.SIGABRT: "it aborted",
    signal.SIGXFSZ: "it wrote a file larger than the limit",
}


class StudentError(Exception):
    """Something went wrong in the student process."""


class LearnerError(StudentError):
    """The learner's code raised; ``type``, ``message`` and ``traceback`` say what."""

    def __init__(self, info: dict) -> None:
        self.type = str(info.get("type", "Exception"))[:200]
        self.message = str(info.get("message", ""))[:4000]
        self.traceback = str(info.get("traceback", ""))[-8000:]
        super().__init__(f"{self.type}: {self.message}")


class StudentTimeoutError(StudentError):
    """A request ran past its deadline; the process was killed."""


class StudentCrashedError(StudentError):
    """The process died or closed the channel."""


class ProtocolViolationError(StudentError):
    """A reply broke the protocol (malformed, too large, wrong kind)."""


@dataclass
class CellRun:
    """One code cell as the student process ran it."""

    ok: bool
    stdout: str = ""
    stderr: str = ""
    error: dict | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class ProcessLimits:
    """Limits of one student process.

    Attributes:
        memory_bytes: ``RLIMIT_AS``.
        cpu_seconds: ``RLIMIT_CPU`` over the process's life.
        file_bytes: ``RLIMIT_FSIZE``.
        processes: ``RLIMIT_NPROC``.
        start_timeout: seconds to start and answer the first request.
    """

    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 600
    file_bytes: int = 64 * 1024**2
    processes: int = 256
    start_timeout: float = 60.0


@dataclass
class StudentProcess:
    """A running student process; see the module docstring.

    Args:
        root: a fresh scratch folder for this process (created here).
        view: what it may import.
        mode: the sandbox (``"bwrap"``, ``"unshare"`` or ``"none"``, already resolved).
        limits: resource limits.
        data_files: ``{relative path: bytes}`` put in its working folder.
    """

    root: Path
    view: views.StudentView
    mode: str
    limits: ProcessLimits = field(default_factory=ProcessLimits)
    data_files: dict[str, bytes] = field(default_factory=dict)
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _req: int = field(default=-1, init=False, repr=False)
    _rep: int = field(default=-1, init=False, repr=False)
    death: str = field(default="", init=False)

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the process (it waits for requests)."""
        dirs = sandbox.KernelDirs(self.root)
        dirs.create()
        for name, source in _SERVER_FILES.items():
            shutil.copyfile(source, dirs.run / name)
        for relative, data in self.data_files.items():
            target = (dirs.work / relative).resolve()
            if dirs.work.resolve() not in target.parents:
                continue  # never outside the working folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        command = self._command(dirs, req_r, rep_w)
        env = sandbox.kernel_env(dirs, {})
        log = open(self.root / "process.log", "wb")  # noqa: SIM115 - closed below
        try:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                pass_fds=(req_r, rep_w), start_new_session=True, cwd=str(dirs.work))
        finally:
            log.close()
            os.close(req_r)
            os.close(rep_w)
        self._req, self._rep = req_w, rep_r
        self.death = ""
        self._request({"op": "ping"}, timeout=self.limits.start_timeout)

    def _command(self, dirs: sandbox.KernelDirs, req_fd: int, rep_fd: int) -> list[str]:
        python, _ = views.interpreter()
        if self.mode == "bwrap":
            sites = [views.SITE_MOUNT]
        else:
            sites = [str(views.site_packages()), str(views.course_package().parent)]
        inner = [python, "-I", "-S", str(dirs.run / "server.py"), str(req_fd), str(rep_fd),
                 *sites]
        limits = {"as": self.limits.memory_bytes, "cpu": self.limits.cpu_seconds,
                  "fsize": self.limits.file_bytes, "nproc": self.limits.processes, "core": 0}
        plan = sandbox.SandboxPlan(self.mode, dirs, limits,
                                   hide=[*self.view.hidden_paths(), *views.base_site_packages(),
                                         *views.private_paths()],
                                   launcher=dirs.run / "launch.py")
        if self.mode != "bwrap":
            return plan.wrap(inner)
        return plan.wrap_with(self._bwrap_view(dirs), inner)

    def _bwrap_view(self, dirs: sandbox.KernelDirs) -> list[str]:
        _, prefixes = views.interpreter()
        args = [*sandbox.bwrap_base_args()]
        for prefix in prefixes:
            args += ["--ro-bind", prefix, prefix]
        for site in views.base_site_packages():
            if os.path.isdir(site):
                args += ["--tmpfs", site]
        args += ["--tmpfs", "/sandbox"]
        for source, target in self.view.site_binds():
            args += ["--ro-bind", source, target]
        root = str(dirs.root)
        args += ["--bind", root, root, "--chdir", str(dirs.work)]
        return args

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Stop the process and everything it started.

        Nothing in it is needed any more, so it is killed at once (``SIGKILL`` to its
        session): asking it to exit and waiting cost 0.1 s of every notebook.
        """
        if self._proc is None:
            return
        self._kill()
        self._cleanup()

    def _kill(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=10)

    def _cleanup(self) -> None:
        for fd in (self._req, self._rep):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._req = self._rep = -1
        if self._proc is not None and self._proc.poll() is None:
            self._kill()

    def _why_dead(self) -> str:
        if self._proc is None:
            return "it was not started"
        code = self._proc.poll()
        if code is None:
            return "it closed the channel"
        if code < 0:
            return _SIGNALS.get(-code, f"it was killed by signal {-code}")
        if code >= 128 and code - 128 in _SIGNALS:  # bwrap reports the child's signal so
            return _SIGNALS[code - 128]
        return f"it exited with status {code}"

    # --- requests ------------------------------------------------------------------------

    def _request(self, header: dict, blobs: list[bytes] = (), *,
                 timeout: float) -> tuple[dict, list[bytes]]:
        if not self.alive:
            raise StudentCrashedError(self.death or self._why_dead())
        deadline = time.monotonic() + timeout

        def wait() -> None:
            remaining = deadline - time.monotonic()
            ready = select.select([self._rep], [], [], max(0.0, remaining))[0] if remaining > 0 \
                else []
            if not ready:
                self._kill()
                self.death = f"a request took longer than {timeout:g} s"
                self._cleanup()
                raise StudentTimeoutError(self.death)

        try:
            wire.write_frame(self._req, header, list(blobs))
            reply, reply_blobs = wire.read_frame(self._rep, wait, MAX_REPLY_BYTES)
        except (BrokenPipeError, EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self.death = self._why_dead()
            self._cleanup()
            raise StudentCrashedError(self.death) from None
        except wire.WireError as error:
            self._kill()
            self._cleanup()
            raise ProtocolViolationError(str(error)) from None
        if not isinstance(reply, dict) or "ok" not in reply:
            raise ProtocolViolationError("a reply without a status")
        return reply, reply_blobs

    def exec_cell(self, source: str, timeout: float) -> CellRun:
        """Run one code cell; the learner's errors are reported, not raised."""
        reply, _ = self._request({"op": "exec", "source": source}, timeout=timeout)
        return CellRun(ok=bool(reply.get("ok")), stdout=str(reply.get("stdout", ""))[:1 << 20],
                       stderr=str(reply.get("stderr", ""))[:1 << 20],
                       error=reply.get("error") if isinstance(reply.get("error"), dict) else None,
                       seconds=float(reply.get("seconds", 0.0) or 0.0))

    def _value_request(self, header: dict, values: dict[str, Any], timeout: float,
                       tensor=None) -> tuple[Any, dict]:
        encoder = wire.Encoder()
        for key, value in values.items():
            header[key] = encoder.encode(value)
        reply, blobs = self._request(header, encoder.blobs, timeout=timeout)
        if not reply["ok"]:
            error = reply.get("error")
            raise LearnerError(error if isinstance(error, dict) else {})
        decoder = wire.Decoder(blobs, tensor=tensor)
        try:
            value = decoder.decode(reply.get("value"))
            after = decoder.decode(reply["args_after"]) if "args_after" in reply else None
        except (wire.WireError, ValueError, TypeError) as error:
            raise ProtocolViolationError(f"undecodable reply: {error}") from None
        return value, {"args_after": after, "stdout": str(reply.get("stdout", ""))[:1 << 20]}

    def call(self, name: str, args: tuple, kwargs: dict, *, timeout: float,
             tensor=None) -> Returned:
        """Call the notebook's function ``name``; in-place changes come back in
        ``args_after``."""
        value, extra = self._value_request({"op": "call", "name": name, "return_args": True},
                                           {"args": list(args), "kwargs": dict(kwargs)},
                                           timeout, tensor)
        after = extra["args_after"]
        return Returned(value, tuple(after) if isinstance(after, list) else args)

    def call_object(self, target: wire.Ref, args: tuple, kwargs: dict, *, timeout: float,
                    tensor=None) -> Returned:
        """Call an object that lives in the student process."""
        value, extra = self._value_request(
            {"op": "call_object", "return_args": True},
            {"target": target, "args": list(args), "kwargs": dict(kwargs)}, timeout, tensor)
        after = extra["args_after"]
        return Returned(value, tuple(after) if isinstance(after, list) else args)

    def get(self, name: str, *, timeout: float, tensor=None) -> Any:
        """The value of the notebook's variable ``name``."""
        return self._value_request({"op": "get", "name": name}, {}, timeout, tensor)[0]

    def state(self, target: wire.Ref, *, timeout: float, tensor=None) -> dict:
        """Weights and layers of a torch module in the student process."""
        return self._value_request({"op": "state"}, {"target": target}, timeout, tensor)[0]

    def load_state(self, target: wire.Ref, state: dict, *, timeout: float) -> None:
        """Load weights into a torch module in the student process."""
        self._value_request({"op": "load_state"}, {"target": target, "state": state}, timeout)


class RemoteStudent:
    """:class:`rnncourse.exercise.tester.Student` over a :class:`StudentProcess`.

    The learner's exceptions, timeouts and crashes become test failures whose message names
    the function; a dead process stays dead for the rest of the test (the engine restarts it
    for the next test).

    Args:
        process: the running student process.
        call_timeout: seconds per call.
    """

    def __init__(self, process: StudentProcess, call_timeout: float) -> None:
        self.process = process
        self.timeout = call_timeout
        self._tensor = None

    def _to_tensor(self):
        if self._tensor is None:
            import torch

            self._tensor = torch.from_numpy
        return self._tensor

    def _guard(self, what: str, action):
        try:
            return action()
        except LearnerError as error:
            raise CheckError(f"{what} raised {error.type}: {error.message}"[:2000]) from None
        except StudentTimeoutError:
            raise CheckError(f"{what} did not finish within {self.timeout:g} s: look for an "
                          "endless loop, or work that grows too fast with the sizes") from None
        except StudentCrashedError as error:
            raise CheckError(f"the notebook's process died while running {what}: {error}") from None
        except ProtocolViolationError as error:
            raise CheckError(f"{what} returned something that cannot be checked: {error}") from None

    def call(self, name: str, args: tuple, kwargs: dict) -> Returned:
        return self._guard(name, lambda: self.process.call(
            name, args, kwargs, timeout=self.timeout, tensor=self._to_tensor()))

    def call_object(self, target: Any, args: tuple, kwargs: dict) -> Returned:
        return self._guard(f"calling {target!r}", lambda: self.process.call_object(
            target, args, kwargs, timeout=self.timeout, tensor=self._to_tensor()))

    def get(self, name: str) -> Any:
        return self._guard(name, lambda: self.process.get(
            name, timeout=self.timeout, tensor=self._to_tensor()))

    def function(self, name: str, **params: Any) -> wire.FunctionSpec:
        return wire.FunctionSpec(name, params)

    def optimizer(self, name: str, module: Any, **kwargs: Any) -> wire.NewOptimizer:
        return wire.NewOptimizer(name, module, kwargs)

    def state(self, module: Any) -> dict:
        return self._guard("reading the model's weights", lambda: self.process.state(
            module, timeout=self.timeout, tensor=self._to_tensor()))

    def load_state(self, module: Any, state: dict) -> None:
        self._guard("loading weights into the model", lambda: self.process.load_state(
            module, state, timeout=self.timeout))
