"""The tests of every assignment, written once (the visible part, public).

``rnncourse/suites/<assignment>.py`` defines ``SUITE``, a :class:`Suite`: for every test cell
(``grade_id``) one check function ``check(t, **case)`` and its visible cases. The hidden cases
live with the instructor's source, ``solutions/<assignment>/hidden.py`` (never released):
``cases(rng) -> {grade_id: [case, ...]}`` draws them from a generator seeded per student
(:mod:`rnncourse.judge.engine`). The same check function runs in the learner's kernel on the
visible cases (recorded oracle answers), in the judge on visible and hidden cases (live torch),
and in plain nbgrader (live torch, in-kernel); see :mod:`rnncourse.exercise.tester`.

The suite also says what the process that runs the learner's code may see during grading:
the Python distributions it needs (``packages``, with their dependencies) and the files of
the ``rnncourse`` package its set-up cells import (``course_files``). Nothing that computes a
graded quantity (the torch oracle, the numeric gradient, the reference models) may be listed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnncourse.exercise.tester import CheckError, Oracle, Student, Tester
from rnncourse.suites import rubric

Case = dict[str, Any]
Check = Callable[..., None]


@dataclass(frozen=True)
class TestSpec:
    """One test cell of an assignment.

    Attributes:
        grade_id: the nbgrader ``grade_id`` of the test cell.
        level: the kind of work it checks (:mod:`rnncourse.suites.rubric`).
        points: its points, from the rubric (the notebook's metadata must agree).
        what: one line: what the test checks.
        check: ``check(t, **case)``; raises :class:`CheckError` when the learner's code is wrong.
        visible: the visible cases (keyword arguments of ``check``).
    """

    grade_id: str
    level: str
    points: float
    what: str
    check: Check
    visible: tuple[Case, ...]


@dataclass
class Suite:
    """The tests of one assignment; see the module docstring."""

    assignment: str
    packages: tuple[str, ...] = ("numpy", "matplotlib", "ipython")
    course_files: tuple[str, ...] = ("__init__.py", "exercise")
    hide: tuple[str, ...] = ()
    tests: dict[str, TestSpec] = field(default_factory=dict)

    @property
    def uses_torch(self) -> bool:
        """True for a torch assignment (torch is among the learner's packages)."""
        return "torch" in self.packages

    def test(self, grade_id: str, *, level: str, what: str,
             visible: Iterable[Case]) -> Callable[[Check], Check]:
        """Register ``check`` as the test of ``grade_id`` (a decorator); its points come from
        the rubric's ``level``."""

        def register(check: Check) -> Check:
            if grade_id in self.tests:
                raise ValueError(f"{self.assignment}: two tests for {grade_id}")
            self.tests[grade_id] = TestSpec(grade_id, level, float(rubric.points(level)), what,
                                            check, tuple(dict(c) for c in visible))
            return check

        return register


def load(assignment: str, folder: Path | None = None) -> Suite:
    """The suite of ``assignment``: ``rnncourse.suites.<assignment>.SUITE``, else the
    ``SUITE`` of ``suite.py`` in ``folder`` (a course's own assignment keeps its suite beside
    its source notebook; nbgrader releases it with the notebook, it holds no hidden case)."""
    try:
        module = importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError as error:
        path = Path(folder) / "suite.py" if folder is not None else None
        if error.name != f"{__name__}.{assignment}" or path is None or not path.is_file():
            raise
        spec = importlib.util.spec_from_file_location(f"_suite_{assignment}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.SUITE


def case_label(case: Case) -> str:
    """``"N=3, D=4, H=5"``: a visible case as the learner sees it (seeds left out)."""
    shown = {k: v for k, v in case.items() if k != "seed" and isinstance(v, int | float | str)}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def run_cases(spec: TestSpec, student: Student, oracle: Oracle, cases: Iterable[Case], *,
              hidden: bool = False, check: Check | None = None) -> Iterator[int]:
    """Run ``cases`` of ``spec`` (yielding each index as it passes); the first failing case
    raises :class:`CheckError` (hidden cases are numbered, never shown)."""
    run = check or spec.check
    cases = list(cases)
    for index, case in enumerate(cases):
        label = f"hidden case {index + 1} of {len(cases)}" if hidden else case_label(case)
        tester = Tester(student, oracle, case=label, hidden=hidden)
        try:
            run(tester, **case)
        except CheckError as failure:
            if hidden:
                raise CheckError(f"Hidden case {index + 1} of {len(cases)}: {failure}") from None
            raise
        yield index
