"""nbgrader's ``Execute`` step with a sandboxed kernel, a guard and hard limits.

:class:`GuardedExecute` replaces nbgrader's :class:`~nbgrader.preprocessors.Execute` in the
``Autograde`` converter's ``autograde_preprocessors`` (everything else in the pipeline is
nbgrader's own). Compared with nbgrader it:

- starts the kernel through :class:`SandboxedKernelManager`: its own directory, scrubbed
  environment, rlimits and sandbox (:mod:`rnncourse.grading.sandbox`), ZeroMQ over Unix
  sockets, the guard (:mod:`rnncourse.grading.guard`) loaded before any cell;
- calls the guard around every locked instructor cell and fails a test cell (error output
  ``GradingIntegrityError``, so nbgrader scores it 0) when the code it called tampered with
  the comparison functions, the oracle or the instructor's helpers;
- keeps at most ``output_bytes`` of output per cell while the cell runs (an output flood
  cannot exhaust the grader's memory);
- enforces a per-notebook wall-time limit and, when the kernel dies (``os._exit``, a crash,
  the CPU limit) or stops answering, records why in the cell and marks every later cell
  "not executed" instead of failing the whole submission; the points already earned stay.

What happened is collected in :data:`EVENTS` for the worker's report.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute

from rnncourse.grading.sandbox import KernelDirs, SandboxPlan, kernel_env

GUARD_INSTALL = "__import__('rnncourse.grading.guard').grading.guard.install()"
_GUARD_CALL = "__import__('rnncourse.grading.guard').grading.guard.op({args})"
_SIGNALS = {
    signal.SIGXCPU: "the CPU-time limit was exceeded",
    signal.SIGKILL: "it was killed (memory or time limit, or os.kill)",
    signal.SIGSEGV: "it crashed (segmentation fault)",
    signal.SIGABRT: "it aborted",
    signal.SIGXFSZ: "it wrote a file larger than the limit",
}


@dataclass
class KernelSettings:
    """What the worker tells the kernel manager (one worker grades one submission)."""

    mode: str
    kernel_root: Path
    limits: dict[str, int]
    hide: list[str]
    ro_paths: list[str]
    pass_env: tuple[str, ...]
    guard_env: dict[str, str]
    output_bytes: int
    notebook_timeout: float
    pid_file: Path


@dataclass
class NotebookEvents:
    """What happened while one notebook ran, for the report."""

    notes: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    failed_tests: dict[str, str] = field(default_factory=dict)
    execute_seconds: float = 0.0
    kernel_start_seconds: float = 0.0


SETTINGS: KernelSettings | None = None
EVENTS: dict[str, NotebookEvents] = {}
_counter = iter(range(1, 10**6))


class SandboxedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that starts the kernel inside the configured sandbox."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)
        if SETTINGS is None:
            raise RuntimeError("rnncourse.grading.execute.SETTINGS is not configured")
        self.dirs = KernelDirs(SETTINGS.kernel_root / f"k{next(_counter)}")
        self.dirs.create()
        self.connection_file = str(self.dirs.run / "kernel.json")
        self.ip = str(self.dirs.run / "k")

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        settings = SETTINGS
        assert settings is not None
        source = Path(kw.get("cwd") or ".")
        # the kernel gets the assignment's other files, never the notebook being graded
        for path in source.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb":
                target = self.dirs.work / path.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        plan = SandboxPlan(
            mode=settings.mode,
            dirs=self.dirs,
            limits=settings.limits,
            hide=settings.hide,
            ro_paths=settings.ro_paths,
        )
        cmd = plan.wrap([*kernel_cmd, f"--IPKernelApp.exec_lines={GUARD_INSTALL}"])
        kw["env"] = kernel_env(self.dirs, settings.guard_env, settings.pass_env)
        kw["cwd"] = str(self.dirs.work)
        log = open(self.dirs.root / "kernel.log", "ab")  # noqa: SIM115 - the kernel keeps it
        kw["stdout"] = kw["stderr"] = log
        try:
            await super()._async_launch_kernel(cmd, **kw)
        finally:
            log.close()  # the child has its own copy
        with open(settings.pid_file, "a", encoding="utf-8") as handle:
            handle.write(f"{self.provisioner.pid}\n")  # type: ignore[union-attr]

    def log_tail(self, lines: int = 3) -> str:
        """The last lines the kernel process wrote to its stdout/stderr."""
        try:
            text = (self.dirs.root / "kernel.log").read_bytes()[-4000:].decode(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def exit_reason(self) -> str:
        """Why the kernel process ended, in words."""
        process = getattr(self.provisioner, "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "the kernel stopped responding"
        if code < 0 or code > 128:
            signum = -code if code < 0 else code - 128
            try:
                name = signal.Signals(signum).name
            except ValueError:
                name = f"signal {signum}"
            return f"the kernel died ({name}: {_SIGNALS.get(signum, 'killed by a signal')})"
        return f"the kernel exited with status {code} (os._exit, sys.exit in C code or a crash)"


def bound_names(source: str) -> list[str]:
    """Names a cell binds at top level (assignments, ``def``, ``class``, ``import``, ``for``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            return  # names inside a body are local
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return sorted(names)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


class GuardedExecute(Execute):
    """nbgrader's ``Execute`` with the sandboxed kernel, the guard and the limits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)

    # -- notebook level -----------------------------------------------------------------

    def preprocess(self, nb: NotebookNode, resources: dict, km: Any = None):
        name = resources.get("nbgrader", {}).get("notebook", "notebook")
        self._events = EVENTS.setdefault(name, NotebookEvents())
        self._stopped: str | None = None
        self._started = time.monotonic()
        self._kernel_ready: float | None = None
        self._out_used: dict[int, int] = {}
        self._out_cut: set[int] = set()
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            self._events.execute_seconds += time.monotonic() - self._started

    # -- cell level ---------------------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        budget = SETTINGS.output_bytes if SETTINGS else 1024**2
        used = self._out_used.get(cell_index, 0)
        size = len(json.dumps(msg.get("content", {}), default=str))
        if used + size > budget and msg["msg_type"] in {"stream", "display_data", "execute_result",
                                                         "update_display_data"}:
            if cell_index not in self._out_cut:
                self._out_cut.add(cell_index)
                self._events.notes.append(
                    f"cell {cell_index}: output beyond {budget} bytes was dropped"
                )
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=f"\n... output truncated by the grader "
                                              f"(more than {budget} bytes) ...\n"))
            return None
        self._out_used[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    async def _guard(self, phase: str, setup: bool = False, bound: list[str] | None = None):
        args = ", ".join([repr(phase), repr(setup), repr(bound or [])])
        expression = _GUARD_CALL.format(args=args)
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"guard": expression})
        deadline = time.monotonic() + 30
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CellTimeoutError("the kernel did not answer the grader's integrity check")
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=remaining)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                break
        result = msg["content"].get("user_expressions", {}).get("guard", {})
        if result.get("status") != "ok":
            return [f"integrity check failed: {result.get('ename', '')} {result.get('evalue', '')}"]
        try:
            text = ast.literal_eval(result["data"]["text/plain"])
            return list(json.loads(text)["tampered"])
        except (KeyError, ValueError, SyntaxError, TypeError):
            return ["integrity check returned an unexpected value"]

    def _skip(self, cell: NotebookNode, why: str) -> NotebookNode:
        cell.outputs = [_error("NotExecuted", why)]
        return cell

    async def _stop(self, cell: NotebookNode, cell_index: int, why: str) -> None:
        self._stopped = f"not executed: {why} (in cell {cell_index})"
        self._events.notes.append(f"cell {cell_index}: {why}; later cells were not executed")
        cell.outputs.append(_error("KernelDied", why))
        with contextlib.suppress(Exception):  # make sure nothing is left running
            await self.km.shutdown_kernel(now=True)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._kernel_ready is None:  # the kernel has started and answered kernel_info
            self._kernel_ready = time.monotonic()
            self._events.kernel_start_seconds += self._kernel_ready - self._started
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        if self._stopped:
            return self._skip(cell, self._stopped)
        limit = SETTINGS.notebook_timeout if SETTINGS else None
        if limit and time.monotonic() - self._kernel_ready > limit:
            why = f"the notebook time limit ({limit:.0f} s) was reached"
            self._stopped = f"not executed: {why}"
            self._events.notes.append(f"cell {cell_index}: {why}; it and later cells were not run")
            return self._skip(cell, self._stopped)

        meta = cell.metadata.get("nbgrader", {})
        instructor = bool(meta.get("locked")) and not meta.get("solution")
        test = utils.is_grade(cell) and not utils.is_solution(cell)
        grade_id = meta.get("grade_id", f"cell {cell_index}")
        try:
            if instructor:
                before = await self._guard("before")
                if before:
                    self._events.tampering.append(
                        f"before {grade_id}: restored {', '.join(before)}")
            cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
            if instructor:
                after = await self._guard("after", setup=not test,
                                          bound=bound_names(cell.source))
                if after:
                    self._events.tampering.append(
                        f"during {grade_id}: restored {', '.join(after)}")
                    if test:
                        cell.outputs.append(_error(
                            "GradingIntegrityError",
                            "code called by this test replaced " + ", ".join(after)
                            + "; the test cannot be trusted and scores 0",
                        ))
        except (DeadKernelError, asyncio.CancelledError):
            await self._stop(cell, cell_index, self.km.exit_reason())
        except CellTimeoutError:
            await self._stop(cell, cell_index, "the kernel stopped responding after a timeout")
            self._kill_kernel()
        if test:
            self._drop_injected_results(cell, grade_id)
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            if test:
                self._events.failed_tests[grade_id] = f"{output.ename}: {output.evalue}"[:500]
            elif output.ename in {"MemoryError", "CellTimeoutError"}:
                self._events.notes.append(f"cell {cell_index} ({grade_id}): {output.ename}")
            break
        return cell

    execute_cell = run_sync(async_execute_cell)

    def _drop_injected_results(self, cell: NotebookNode, grade_id: str) -> None:
        """Keep a test cell's ``execute_result`` only if its source can produce one.

        nbgrader gives partial credit from the first ``execute_result`` it meets, before it
        looks for errors; code under test can publish one (``get_ipython().displayhook(3)``)
        whether or not the test passes. A genuine partial-credit value is the value of the
        cell's last statement, an expression: so it is kept only when the source ends with
        an expression, it is the last output and the cell has no error.
        """
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        if not results:
            return
        failed = any(o.output_type == "error" or (o.output_type == "stream"
                                                  and o.get("name") == "stderr")
                     for o in cell.outputs)
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            body = []
        ends_with_expression = bool(body) and isinstance(body[-1], ast.Expr)
        genuine = ends_with_expression and not failed and cell.outputs[-1] is results[-1]
        keep = results[-1] if genuine else None
        dropped = [o for o in results if o is not keep]
        if dropped:
            cell.outputs = [o for o in cell.outputs
                            if o.output_type != "execute_result" or o is keep]
            self._events.tampering.append(
                f"during {grade_id}: dropped {len(dropped)} result(s) published by the code "
                "under test (they would have been read as partial credit)")

    def _kill_kernel(self) -> None:
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
