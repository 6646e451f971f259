"""The judge: run a notebook's code in the student process, then decide each test cell.

:func:`judge` is the whole verdict for one notebook. It starts a :class:`StudentProcess`, sends
it the notebook's code cells in order except the test cells (their outputs are kept for the
feedback), then for every test cell runs that test's visible cases and the hidden cases drawn
for this student (:func:`hidden_rng`) with the live torch oracle (:func:`rnncourse.oracles.ask`)
and decides: all cases pass, full points; any fails, zero, with the first failure's message.
The test code, the expected values and the hidden cases exist only here, never in the student
process.

A test that kills the student process (an endless loop, a crash, the memory limit) fails with
that reason; the next test gets a fresh process that reruns the notebook's cells. A notebook
whose cells keep killing the process stops being retried after :data:`MAX_RESTARTS` restarts,
and its remaining tests fail with the reason.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from rnncourse.exercise.tester import CheckError
from rnncourse.judge.student import (
    CellRun,
    ProcessLimits,
    RemoteStudent,
    StudentCrashedError,
    StudentError,
    StudentProcess,
    StudentTimeoutError,
)
from rnncourse.judge.view import StudentView
from rnncourse.suites import Suite, run_cases

MAX_RESTARTS = 2


@dataclass(frozen=True)
class JudgeSettings:
    """How a notebook is judged.

    Attributes:
        mode: sandbox mode (resolved).
        limits: limits of the student process.
        cell_timeout: seconds per notebook cell in the student process.
        call_timeout: seconds per call of a learner's function.
        notebook_timeout: seconds for the whole notebook; tests not started by then fail.
        secret: what seeds this student's hidden cases (the course secret, or a seed derived
            from it).
    """

    mode: str
    limits: ProcessLimits = field(default_factory=ProcessLimits)
    cell_timeout: float = 240.0
    call_timeout: float = 60.0
    notebook_timeout: float = 1200.0
    secret: bytes = b""


@dataclass(frozen=True)
class TestVerdict:
    """The judge's decision on one test cell.

    Attributes:
        grade_id: the test cell.
        passed: every case passed.
        message: what the learner reads (a pass line, or the first failure).
        cases: how many cases were run (visible and hidden).
        seconds: time the test took.
    """

    grade_id: str
    passed: bool
    message: str
    cases: int
    seconds: float


@dataclass
class NotebookVerdict:
    """Everything the judge decided about one notebook."""

    cells: dict[int, CellRun] = field(default_factory=dict)
    tests: dict[str, TestVerdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CodeCell:
    """A code cell of the notebook: its index, source and, for a test cell, its grade_id."""

    index: int
    source: str
    test: str | None = None


def hidden_rng(assignment: str, student: str, secret: bytes) -> np.random.Generator:
    """The generator of one student's hidden cases: the same for a regrade, different for
    every student and assignment, unguessable without the course secret."""
    digest = hashlib.sha256(b"\0".join([secret, assignment.encode(), student.encode()]))
    return np.random.default_rng(int.from_bytes(digest.digest()[:16], "big"))


def load_hidden(source_dir: Path) -> ModuleType | None:
    """``hidden.py`` of an assignment's source folder (``None`` when it has none)."""
    path = Path(source_dir) / "hidden.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_hidden_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def hidden_cases(hidden: ModuleType | None, rng: np.random.Generator) -> dict[str, list]:
    """``{grade_id: [case, ...]}`` drawn by ``hidden.cases(rng)`` (empty without a module)."""
    if hidden is None:
        return {}
    return {grade_id: list(cases) for grade_id, cases in hidden.cases(rng).items()}


class _Session:
    """The student process of one notebook, restarted (cells rerun) when a test killed it."""

    def __init__(self, root: Path, view: StudentView, settings: JudgeSettings,
                 cells: Sequence[CodeCell], verdict: NotebookVerdict,
                 data_files: dict[str, bytes]) -> None:
        self.root, self.view, self.settings = root, view, settings
        self.cells = [c for c in cells if c.test is None]
        self.verdict = verdict
        self.data_files = data_files
        self.process: StudentProcess | None = None
        self.starts = 0
        self.broken = ""

    def ready(self) -> StudentProcess | None:
        """A live process with every cell run (``None`` once the notebook is given up on)."""
        if self.process is not None and self.process.alive:
            return self.process
        if self.broken:
            return None
        if self.starts > MAX_RESTARTS:
            self.broken = (f"the notebook's process died {self.starts} times; its remaining "
                           "tests were not run")
            self.verdict.notes.append(self.broken)
            return None
        self.starts += 1
        process = StudentProcess(self.root / f"p{self.starts}", self.view, self.settings.mode,
                                 self.settings.limits, self.data_files)
        try:
            process.start()
        except StudentError as error:
            self.broken = f"the notebook's process could not start: {error}"
            self.verdict.notes.append(self.broken)
            process.close()
            return None
        for cell in self.cells:
            earlier = self.verdict.cells.get(cell.index)
            if earlier is not None and earlier.error and earlier.error.get("type") in {
                    "Timeout", "Crash"}:
                continue  # a cell that timed out or killed the process once is not rerun
            try:
                run = process.exec_cell(cell.source, self.settings.cell_timeout)
            except (StudentTimeoutError, StudentCrashedError) as error:
                kind = "Timeout" if isinstance(error, StudentTimeoutError) else "Crash"
                self.verdict.cells[cell.index] = CellRun(
                    ok=False, error={"type": kind, "message": str(error)})
                self.verdict.notes.append(f"cell {cell.index}: {error}")
                process.close()
                return self.ready()
            except StudentError as error:
                self.verdict.cells[cell.index] = CellRun(
                    ok=False, error={"type": type(error).__name__, "message": str(error)})
                continue
            self.verdict.cells.setdefault(cell.index, run)
        self.process = process
        return process

    def close(self) -> None:
        if self.process is not None:
            self.process.close()


def judge(suite: Suite, hidden: ModuleType | None, cells: Sequence[CodeCell], *,
          student_id: str, settings: JudgeSettings, root: Path,
          data_files: dict[str, bytes] | None = None) -> NotebookVerdict:
    """Judge one notebook; see the module docstring.

    Args:
        suite: the assignment's tests.
        hidden: its ``hidden.py`` module (``None``: visible cases only).
        cells: the notebook's code cells in order (test cells carry their ``grade_id``).
        student_id: whose notebook (seeds the hidden cases).
        settings: sandbox, limits and the course secret.
        root: a scratch folder for the student process (created).
        data_files: files put in the student process's working folder.
    """
    from rnncourse.oracles import ask

    verdict = NotebookVerdict()
    view = StudentView(suite.packages, suite.course_files, suite.hide)
    drawn = hidden_cases(hidden, hidden_rng(suite.assignment, student_id, settings.secret))
    session = _Session(root, view, settings, cells, verdict, data_files or {})
    deadline = time.monotonic() + settings.notebook_timeout
    try:
        for cell in cells:
            if cell.test is None:
                continue
            if time.monotonic() > deadline:
                message = (f"not run: the notebook used up its {settings.notebook_timeout:g} s "
                           "before this test")
                verdict.tests[cell.test] = TestVerdict(cell.test, False, message, 0, 0.0)
                continue
            verdict.tests[cell.test] = _decide(suite, cell.test, drawn.get(cell.test, []),
                                               session, settings, ask, hidden)
    finally:
        session.close()
    return verdict


def _decide(suite: Suite, grade_id: str, hidden_list: list, session: _Session,
            settings: JudgeSettings, oracle, hidden: ModuleType | None) -> TestVerdict:
    started = time.monotonic()
    spec = suite.tests.get(grade_id)
    if spec is None:
        return TestVerdict(grade_id, False, f"no test is defined for {grade_id}", 0, 0.0)
    process = session.ready()
    if process is None:
        return TestVerdict(grade_id, False, session.broken, 0, time.monotonic() - started)
    student = RemoteStudent(process, settings.call_timeout)
    custom = getattr(hidden, "CHECKS", {}).get(grade_id) if hidden is not None else None
    ran = 0
    try:
        ran += len(list(run_cases(spec, student, oracle, spec.visible)))
        ran += len(list(run_cases(spec, student, oracle, hidden_list, hidden=True,
                                  check=custom)))
    except CheckError as failure:
        return TestVerdict(grade_id, False, str(failure), ran + 1, time.monotonic() - started)
    message = f"{grade_id}: passed ({spec.what}; {ran} case{'s' if ran != 1 else ''})"
    return TestVerdict(grade_id, True, message, ran, time.monotonic() - started)
