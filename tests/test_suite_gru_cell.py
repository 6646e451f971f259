"""gru_cell's suite: the judge (bwrap) and the learner's kernel agree with the solution, the
recorded fixtures are fresh, and a wrong answer is explained through the judge's channel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from rnncourse.exercise import Checker, fixtures_path
from rnncourse.exercise.replay import Recorder, save
from rnncourse.exercise.tester import InKernelStudent
from rnncourse.grading import sandbox
from rnncourse.judge.engine import (
    CodeCell,
    JudgeSettings,
    hidden_cases,
    hidden_rng,
    judge,
    load_hidden,
)
from rnncourse.judge.fixtures import solution_namespace
from rnncourse.judge.student import ProcessLimits
from rnncourse.oracles import ask
from rnncourse.suites import load, run_cases

NAME = "gru_cell"
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
SUITE = load(NAME)
HIDDEN = load_hidden(ROOT / "solutions" / NAME)
needs_bwrap = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                 reason="bubblewrap is not available")


def notebook_cells(edits: dict[str, tuple[str, str]] | None = None) -> list[CodeCell]:
    """The solution notebook's code cells in order (answer cells edited), test cells as
    ``check("<grade_id>")``."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata["nbgrader"]
        if cell.cell_type != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            cells.append(CodeCell(index, f'check("{meta["grade_id"]}")', test=meta["grade_id"]))
            continue
        source = cell.source
        if edits and meta["grade_id"] in edits:
            old, new = edits[meta["grade_id"]]
            assert source.count(old) == 1
            source = source.replace(old, new)
        cells.append(CodeCell(index, source))
    return cells


def run(tmp_path: Path, cells: list[CodeCell], student: str = "alice"):
    settings = JudgeSettings(mode="bwrap", secret=b"course secret", call_timeout=30.0,
                             limits=ProcessLimits(memory_bytes=2 * 1024**3))
    return judge(SUITE, HIDDEN, cells, student_id=student, settings=settings,
                 root=tmp_path / student)


@needs_bwrap
def test_the_solution_passes_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, notebook_cells())
    assert set(verdict.tests) == set(SUITE.tests)
    failed = {gid: v.message for gid, v in verdict.tests.items() if not v.passed}
    assert not failed
    assert not verdict.notes and all(c.ok for c in verdict.cells.values())
    drawn = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"course secret"))
    for gid, test in verdict.tests.items():
        assert test.cases == len(SUITE.tests[gid].visible) + len(drawn[gid]) > 1


@needs_bwrap
def test_the_judge_explains_by_probing_through_the_channel(tmp_path: Path) -> None:
    """b_hn added outside the reset gate (issue 15's example) is localised by rerunning the
    step on probe inputs in the student process; a stack of layers that reads twice the hidden
    state is localised by rerunning the count for one layer."""
    verdict = run(tmp_path, notebook_cells({
        "gru_step_forward": ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                             "n = np.tanh(ax[:, 2 * H:] + r * (hn - b_hh[2 * H:]) + b_hh[2 * H:])"),
        "parameter_counts": ("layer(gates, hidden_size)", "layer(gates, 2 * hidden_size)"),
    }))
    step = verdict.tests["test_gru_step_forward"].message
    assert step.startswith("Look at where b_hn enters: h_next matches torch whenever b_hh's n "
                           "block is zero (N=3, D=4, H=5)."), step
    assert verdict.tests["test_gru_backward_params"].message.startswith("Fix gru_forward first")
    counts = verdict.tests["test_parameter_counts"].message
    assert counts.startswith("Look at the layers after the first: the rnn count is right for one "
                             "layer, wrong for 2"), counts


def test_the_learners_kernel_and_the_fixtures_agree_with_the_solution(tmp_path: Path) -> None:
    """The solution passes every visible case in the learner's kernel, and the committed
    fixtures are exactly a fresh recording (explanations' questions included)."""
    namespace = solution_namespace(NOTEBOOK)
    recorder = Recorder(ask)
    student = InKernelStudent(namespace)
    for spec in SUITE.tests.values():
        assert len(list(run_cases(spec, student, recorder, spec.visible))) == len(spec.visible)
    fresh = tmp_path / f"{NAME}.npz"
    save(fresh, NAME, recorder.answers)
    assert fresh.read_bytes() == fixtures_path(NAME).read_bytes(), (
        f"run `rnncourse release {NAME}` and commit the fixtures")
    check = Checker(NAME, namespace=namespace)
    for grade_id in SUITE.tests:
        check(grade_id)


def test_points_follow_the_rubric_and_every_test_has_hidden_cases() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in nb.cells if c.metadata["nbgrader"].get("grade")
              and not c.metadata["nbgrader"].get("solution")}
    assert points == {gid: spec.points for gid, spec in SUITE.tests.items()}
    assert SUITE.tests["test_gru_backward_params"].level == "gated gradients"
    assert SUITE.tests["test_parameter_counts"].points == 1
    assert {c["num_layers"] for c in SUITE.tests["test_parameter_counts"].visible} == {1, 2}
    intro = nb.cells[0].source
    for gid, spec in SUITE.tests.items():
        assert f"| `{gid}` | {spec.what} | {int(spec.points)} |" in intro
    alice = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert set(alice) == set(SUITE.tests)
    assert alice == hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice != hidden_cases(HIDDEN, hidden_rng(NAME, "bob", b"s"))
    assert "torch" not in SUITE.packages and "oracles" not in SUITE.course_files
