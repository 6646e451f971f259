"""Checking your work in an exercise notebook, with or without torch.

A released notebook's set-up cell does::

    from rnncourse.exercise import Checker
    check = Checker("rnn_cell")

and each visible test cell calls ``check("test_rnn_step_forward")``: it runs the visible cases
of that test (:mod:`rnncourse.suites`) on the functions your notebook defines and compares
them with the answers of torch recorded when the assignment was released
(:mod:`rnncourse.exercise.replay`; ``fixtures/<assignment>.npz`` in this package). It prints
one line when everything agrees and raises :class:`~rnncourse.exercise.tester.CheckError` (an
``AssertionError``) whose first line says what is wrong when something does not.

In the instructor's source notebook the hidden part of a test cell calls
``check.hidden("test_rnn_step_forward")``: plain ``nbgrader autograde`` then runs the hidden
cases in the same kernel with live torch (see :mod:`rnncourse.judge.inkernel`).
"""

from __future__ import annotations

import importlib.util
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from rnncourse.exercise.tester import CheckError, InKernelStudent

__all__ = ["CheckError", "Checker", "fixtures_path"]


def fixtures_path(assignment: str) -> Path:
    """The recorded oracle answers of ``assignment`` shipped with this package."""
    return Path(str(resources.files(__package__) / "fixtures" / f"{assignment}.npz"))


def _notebook_namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - a plain Python session
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        return shell.user_ns
    return sys.modules["__main__"].__dict__


class Checker:
    """Runs the visible tests of one assignment in your notebook (see the module docstring).

    Args:
        assignment: the assignment's name, e.g. ``"rnn_cell"``.
        namespace: where your functions are (default: the notebook's namespace).
    """

    def __init__(self, assignment: str, namespace: dict[str, Any] | None = None) -> None:
        self.assignment = assignment
        self._namespace = namespace
        self._suite = None
        self._oracle = None

    @property
    def suite(self):
        """The assignment's tests (loaded on first use)."""
        if self._suite is None:
            from rnncourse import suites

            self._suite = suites.load(self.assignment, Path.cwd())
        return self._suite

    @property
    def namespace(self) -> dict[str, Any]:
        return self._namespace if self._namespace is not None else _notebook_namespace()

    def oracle(self):
        """The recorded answers (torch is used directly when the recording lacks one)."""
        if self._oracle is None:
            from rnncourse.exercise.replay import MissingAnswerError, Replay

            tensor = None
            if self.suite.uses_torch:
                import torch

                tensor = torch.from_numpy
            path = fixtures_path(self.assignment)
            replay = Replay(path, tensor=tensor) if path.is_file() else None

            def answer(name: str, **inputs: Any) -> Any:
                try:
                    if replay is None:
                        raise MissingAnswerError(f"no recorded answers for {self.assignment}")
                    return replay(name, **inputs)
                except MissingAnswerError:
                    if importlib.util.find_spec("torch") is None:
                        raise
                    from rnncourse.oracles import ask

                    return ask(name, **inputs)

            self._oracle = answer
        return self._oracle

    def __call__(self, grade_id: str) -> None:
        """Run the visible cases of ``grade_id``; print a line when they all pass."""
        from rnncourse.suites import run_cases

        spec = self.suite.tests[grade_id]
        student = InKernelStudent(self.namespace)
        passed = len(list(run_cases(spec, student, self.oracle(), spec.visible)))
        print(f"{grade_id}: passed ({spec.what}; {passed} visible case"
              f"{'s' if passed != 1 else ''})")

    def hidden(self, grade_id: str) -> None:
        """Run the hidden cases of ``grade_id`` in this kernel (instructor's notebook only)."""
        from rnncourse.judge.inkernel import run_hidden

        run_hidden(self.assignment, grade_id, self.namespace)
