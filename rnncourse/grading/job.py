"""The data that travels between the runner and the workers: settings, tasks and results.

Everything here is a plain frozen (or simple) dataclass of standard types, so it pickles
unchanged to a local worker process or to a Dask worker on another machine. Nothing travels
in module globals.

What a task carries (:class:`SubmissionTask`): the student's submitted files, the assignment's
source files (the ``hidden.py`` generator of hidden cases among them, but never the source
notebook), the template gradebook (the assignment's cells, hidden tests included), the
course's nbgrader configuration, this student's hidden-case seed (derived from the course
secret, which stays with the runner) and the :class:`GradingSettings`. What comes back
(:class:`SubmissionResult`): scores per cell, notes, and the autograded notebooks and feedback
as bytes, written to disk by the runner as soon as each result arrives.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
SUBMISSION_FAULT = "failed"  # the student's submission cannot be graded (its own fault)
GRADED = "graded"


def parse_size(text: str | int) -> int:
    """Parse ``"4G"``, ``"512M"``, ``"1.5GiB"`` or a plain number of bytes.

    >>> parse_size("2G")
    2147483648
    """
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M or a number of bytes)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission.

    Attributes:
        cell_timeout: seconds per notebook cell in the student process.
        call_timeout: seconds per call of a learner's function by the judge.
        notebook_timeout: seconds for a whole notebook (cells and tests).
        memory_bytes: address-space limit of the student process (``RLIMIT_AS``).
        cpu_seconds: CPU-time limit of the student process (``RLIMIT_CPU``).
        file_bytes: largest file the student process may write (``RLIMIT_FSIZE``).
        processes: process/thread limit (``RLIMIT_NPROC``).
        output_bytes: output kept per cell (the rest is dropped with a note).
        notebook_bytes: largest autograded notebook kept whole; above it outputs are cut and
            the report says so.
    """

    cell_timeout: float = 240.0
    call_timeout: float = 60.0
    notebook_timeout: float = 1200.0
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int = 1200
    file_bytes: int = 64 * 1024**2
    processes: int = 256
    output_bytes: int = 1024**2
    notebook_bytes: int = 16 * 1024**2

    def deadline(self, notebooks: int) -> float:
        """Wall-time limit of one submission in a worker (beyond it: an infrastructure fault)."""
        return self.notebook_timeout * max(1, notebooks) + 120.0


@dataclass(frozen=True)
class GradingSettings:
    """How every submission of a run is graded (the same in every worker).

    Attributes:
        limits: resource limits.
        sandbox: ``"bwrap"``, ``"unshare"`` or ``"none"`` (resolved by the runner).
        feedback: also write the feedback HTML (hidden tests removed).
    """

    limits: Limits = field(default_factory=Limits)
    sandbox: str = "bwrap"
    feedback: bool = True


@dataclass(frozen=True)
class SubmissionTask:
    """Everything needed to grade one submission, with no reference to the course's files.

    Attributes:
        assignment, student, course_id: who and what.
        key: the resume key (:func:`rnncourse.grading.runner.resume_key`).
        notebooks: the assignment's notebook names.
        files: the submission's files (relative path -> bytes).
        source_files: the assignment's non-notebook source files.
        template: the template gradebook (SQLite bytes).
        config: the course's nbgrader configuration (a plain dict).
        seed: this student's hidden-case seed.
        settings: how to grade.
        extension_minutes: the student's extension, for nbgrader's late penalty.
        timestamp: the submission time (ISO 8601) from ``timestamp.txt``, if any.
    """

    assignment: str
    student: str
    course_id: str
    key: str
    notebooks: tuple[str, ...]
    files: dict[str, bytes]
    source_files: dict[str, bytes]
    template: bytes
    config: dict
    seed: bytes
    settings: GradingSettings
    extension_minutes: float | None = None


@dataclass(frozen=True)
class CellGrade:
    """One graded cell of one notebook."""

    name: str
    kind: str  # "test", "manual" (a written answer) or "task"
    auto_score: float | None
    max_score: float
    needs_manual_grade: bool


@dataclass(frozen=True)
class NotebookResult:
    """The grades of one notebook and what the judge said about its tests."""

    name: str
    grades: tuple[CellGrade, ...]
    comments: tuple[tuple[str, str | None], ...]
    late_penalty: float | None
    failed_tests: dict[str, str]


@dataclass
class SubmissionResult:
    """What grading one submission produced.

    ``status`` is :data:`GRADED` or :data:`SUBMISSION_FAULT` (the submission itself cannot be
    graded: no valid notebook...). Faults of the machinery are never a result: the worker
    raises and the runner retries.
    """

    assignment: str
    student: str
    key: str
    status: str
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    timestamp: dt.datetime | None = None
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)

    def score(self) -> tuple[float, float]:
        """``(automatic score, automatic maximum)`` over the test cells."""
        got = total = 0.0
        for notebook in self.notebooks.values():
            for grade in notebook.grades:
                if grade.kind == "test":
                    got += grade.auto_score or 0.0
                    total += grade.max_score
        return got, total
