"""The judge decides rnn_cell's tests outside the process that runs the learner's code.

The notebook here is the instructor's solution code (its answer cells) after a numpy-only
set-up cell; variants break one function. Hidden cases come from
``solutions/rnn_cell/hidden.py`` and are drawn per student.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnncourse.exercise import Checker
from rnncourse.exercise.tester import CheckError
from rnncourse.grading import sandbox
from rnncourse.judge.engine import (
    CodeCell,
    JudgeSettings,
    hidden_cases,
    hidden_rng,
    judge,
    load_hidden,
)
from rnncourse.judge.student import ProcessLimits
from rnncourse.suites import load

ROOT = Path(__file__).resolve().parents[1]
SUITE = load("rnn_cell")
HIDDEN = load_hidden(ROOT / "solutions" / "rnn_cell")
SETUP = """
import numpy as np


def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
"""
pytestmark = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                reason="bubblewrap is not available")


def solution_cells() -> dict[str, str]:
    """``{grade_id: source}`` of the solution notebook's answer cells."""
    nb = nbformat.read(ROOT / "solutions" / "rnn_cell" / "rnn_cell.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def notebook(**replace: str) -> list[CodeCell]:
    """The set-up, every answer cell (some replaced), then every test cell of the suite."""
    answers = {**solution_cells(), **replace}
    cells = [CodeCell(0, SETUP)]
    cells += [CodeCell(i + 1, source) for i, source in enumerate(answers.values())]
    cells += [CodeCell(100 + i, f'check("{gid}")', test=gid)
              for i, gid in enumerate(SUITE.tests)]
    return cells


def run(tmp_path: Path, cells: list[CodeCell], student: str = "alice", **settings):
    defaults = dict(mode="bwrap", secret=b"course secret", call_timeout=20.0,
                    limits=ProcessLimits(memory_bytes=2 * 1024**3))
    return judge(SUITE, HIDDEN, cells, student_id=student,
                 settings=JudgeSettings(**{**defaults, **settings}), root=tmp_path / student)


def test_the_solution_passes_every_test_with_its_hidden_cases(tmp_path: Path) -> None:
    verdict = run(tmp_path, notebook())
    assert set(verdict.tests) == set(SUITE.tests)
    failed = {gid: v.message for gid, v in verdict.tests.items() if not v.passed}
    assert not failed
    drawn = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "alice", b"course secret"))
    for gid, test in verdict.tests.items():
        assert test.cases == len(SUITE.tests[gid].visible) + len(drawn[gid]) > 1


def test_every_visible_case_is_also_judged() -> None:
    """The judge runs the suite's visible cases (the ones the learner's kernel checks)."""
    for spec in SUITE.tests.values():
        assert spec.visible, spec.grade_id
    drawn = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "bob", b"x"))
    assert set(drawn) == set(SUITE.tests), "every test has hidden cases"


def test_hidden_cases_are_per_student_and_reproducible() -> None:
    alice = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "alice", b"s"))
    again = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "alice", b"s"))
    bob = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "bob", b"s"))
    other_secret = hidden_cases(HIDDEN, hidden_rng("rnn_cell", "alice", b"t"))
    assert alice == again
    assert alice != bob and alice != other_secret


def test_a_wrong_function_fails_the_tests_that_use_it(tmp_path: Path) -> None:
    """A step forward without b_hh fails the forward tests and the gradient tests (which run
    the learner's own forward for its cache), never the gradient checker's."""
    source = solution_cells()["rnn_step_forward"].replace(
        "h_prev @ W_hh.T + b_hh", "h_prev @ W_hh.T")
    verdict = run(tmp_path, notebook(rnn_step_forward=source))
    failed = {gid for gid, v in verdict.tests.items() if not v.passed}
    assert failed == set(SUITE.tests) - {"test_numeric_gradient", "test_gradient_check"}
    message = verdict.tests["test_rnn_step_forward"].message
    assert message.startswith("h_next is wrong: h_next = tanh(")
    assert "N=3, D=4, H=5" in message.splitlines()[0]  # a visible case names itself


def test_a_hidden_case_failure_shows_no_input(tmp_path: Path) -> None:
    """Hard-coding the visible answer passes the visible case and fails a hidden one."""
    source = solution_cells()["rnn_step_forward"].replace(
        "    return h_next, cache",
        "    if x.shape != (3, 4):\n        h_next = h_next * 0\n    return h_next, cache")
    verdict = run(tmp_path, notebook(rnn_step_forward=source))
    test = verdict.tests["test_rnn_step_forward"]
    assert not test.passed and test.message.startswith("Hidden case 1 of 3: h_next is wrong")
    assert "N=" not in test.message and "seed" not in test.message


def test_the_oracle_and_torch_are_out_of_reach(tmp_path: Path) -> None:
    cheat = """
def rnn_step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    from rnncourse import reference
    return reference.rnn_step(x, h_prev, W_ih, W_hh, b_ih, b_hh), None
"""
    verdict = run(tmp_path, notebook(rnn_step_forward=cheat))
    message = verdict.tests["test_rnn_step_forward"].message
    assert message.startswith("rnn_step_forward raised ImportError: cannot import name 'reference'")


def test_an_endless_loop_costs_its_own_test_only(tmp_path: Path) -> None:
    loop = solution_cells()["numeric_gradient_impl"].replace(
        "    grad = np.zeros_like(x)\n", "    grad = np.zeros_like(x)\n    while True:\n"
        "        pass\n", 1)
    verdict = run(tmp_path, notebook(numeric_gradient_impl=loop), call_timeout=2.0)
    failed = {gid: v.message for gid, v in verdict.tests.items() if not v.passed}
    assert set(failed) == {"test_numeric_gradient", "test_gradient_check"}
    assert "did not finish within 2 s" in failed["test_numeric_gradient"]


def test_the_learners_kernel_checks_the_visible_cases_without_torch() -> None:
    """The Checker answers from the recorded fixtures; a wrong answer is explained."""
    namespace: dict = {}
    exec(SETUP, namespace)
    for source in solution_cells().values():
        exec(source, namespace)
    check = Checker("rnn_cell", namespace=namespace)
    for gid in SUITE.tests:
        check(gid)
    namespace["rnn_step_forward"] = lambda x, h_prev, W_ih, W_hh, b_ih, b_hh: (
        np.tanh(x @ W_ih.T + h_prev @ W_hh.T), None)
    with pytest.raises(CheckError, match=r"^h_next is wrong"):
        check("test_rnn_step_forward")
