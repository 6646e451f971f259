"""Robustness of ``rnncourse grade`` against crafted rnn_cell submissions (one grading run).

All crafted submissions (tests/fixtures/grading/crafted.py) plus two honest students are graded
together once, with the strongest sandbox this machine offers, 2 jobs and short limits
(10 s per cell). Every test below reads that run: grading completes for everybody, nobody
gains points the honest version of their code does not earn, every failure has a reason,
feedback shows no hidden test, and a rerun skips or, forced, reproduces the same scores.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import nbformat
import pytest
from fixtures.grading import crafted
from nbgrader.api import Gradebook

from rnncourse.assignments import scratch_course
from rnncourse.grading import sandbox
from rnncourse.grading.runner import grade
from rnncourse.grading.settings import Limits, Options

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "rnn_cell" / "rnn_cell.ipynb"
HIDDEN_LINE = "enumerate([(1, 1, 1), (2, 3, 7), (6, 2, 3)], start=100)"
OPTIONS = Options(limits=Limits(cell_timeout=10, notebook_timeout=120, memory_bytes=2 * 1024**3))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SOURCE.exists(), reason="rnn_cell assignment not written yet"),
]


def scores(course: Path, assignment: str = "rnn_cell") -> dict[str, dict[str, float]]:
    """``{student: {grade_id: score}}`` read from the course gradebook."""
    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        for submission in gb.find_assignment(assignment).submissions:
            out[submission.student.id] = {
                g.name: float(g.score) for nb in submission.notebooks for g in nb.grades}
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, the run and the scores after grading every crafted submission once."""
    course = scratch_course(tmp_path_factory.mktemp("robust") / "course", ["rnn_cell"], ROOT)
    src = nbformat.read(SOURCE, as_version=4)
    for name, (builder, _, _) in crafted.CASES.items():
        if name == "read_hidden" and sandbox.resolve_mode("auto") == "none":
            builder = crafted.read_hidden_readonly  # unsandboxed, it would write real files
        crafted.write_submission(course / "submitted" / name / "rnn_cell", builder(src))
    crafted.write_submission(course / "submitted" / "honest" / "rnn_cell", crafted.correct(src))
    run = grade("rnn_cell", course, jobs=2, options=OPTIONS, progress=False)
    return course, run, scores(course)


def test_grading_completes_for_everybody(graded) -> None:
    _course, run, _ = graded
    expected = set(crafted.CASES) | {"honest"}
    assert set(run.results) == expected
    assert run.graded and not run.skipped
    failed = {s for s, (_, status, _) in crafted.CASES.items() if status == "failed"}
    assert set(run.failed) == failed


@pytest.mark.parametrize("name", sorted(crafted.CASES))
def test_crafted_submission_scores(graded, name: str) -> None:
    _, run, by_student = graded
    _, status, total = crafted.CASES[name]
    result = run.results[name]
    assert result["status"] == status, result.get("reason")
    if status == "failed":
        assert result["reason"] and name not in by_student
        return
    got = sum(by_student[name].values())
    if total is not None:
        assert got == total, (name, by_student[name], result["notes"], result["flags"])
    assert got <= crafted.FULL
    if name not in ("correct", "extra_notebooks", "output_flood", "memory_bomb"):
        assert got < crafted.FULL  # nobody gains points their code does not earn


def test_failures_have_clear_reasons(graded) -> None:
    _course, run, _ = graded
    assert "not a valid notebook" in run.failed["invalid_json"]
    assert "missing notebook rnn_cell.ipynb" in run.failed["missing_notebook"]
    with open(run.report["failures"], encoding="utf-8") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert rows["invalid_json"]["status"] == "failed" and rows["invalid_json"]["reason"]
    summary = run.report["summary"].read_text(encoding="utf-8")
    assert "missing_notebook" in summary and "Failed to grade" in summary


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("extra_notebooks", "extra notebook scratch.ipynb ignored"),
        ("deleted_test", "test_rnn_step_backward_params missing; restored"),
        ("edited_test", "'test_rnn_backward_params' was edited"),
        ("renamed_test", "unknown grade_id 'free_points'"),
        ("changed_grade_id", "duplicate grade_id 'test_rnn_forward'"),
        ("infinite_loop", "stopped responding"),
        ("kernel_crash", "exited with status 3"),
        ("output_flood", "output beyond"),
        ("memory_bomb", "MemoryError"),
    ],
)
def test_notes_explain_what_happened(graded, name: str, words: str) -> None:
    _, run, _ = graded
    assert any(words in note for note in run.results[name]["notes"]), run.results[name]["notes"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("monkeypatch_assert", "rnncourse.checks.assert_close"),
        ("monkeypatch_assert", "notebook name 'check_grads'"),
        ("monkeypatch_numpy_torch", "numpy.max"),
        ("monkeypatch_numpy_torch", "torch.allclose"),
        ("patch_during_test", "during test_rnn_step_backward"),
        ("ipython_hooks", "input_transformers_cleanup"),
        ("read_hidden", "imports sqlite3"),
        ("kernel_crash", "os._exit"),
        ("fake_partial_credit", "read as partial credit"),
    ],
)
def test_tampering_is_undone_and_flagged(graded, name: str, words: str) -> None:
    course, run, _by_student = graded
    flags = run.results[name]["flags"]
    assert any(words in flag for flag in flags), flags
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        assert gb.find_submission_notebook("rnn_cell", "rnn_cell", name).flagged
        assert not gb.find_submission_notebook("rnn_cell", "rnn_cell", "honest").flagged


def test_patch_during_test_scores_zero_where_it_cheated(graded) -> None:
    _, run, by_student = graded
    got = by_student["patch_during_test"]
    assert got["test_rnn_step_backward_params"] == 0 and got["test_rnn_backward_params"] == 0
    assert "GradingIntegrityError" in "".join(
        run.results["patch_during_test"]["notebooks"]["rnn_cell"]["failed_tests"].values())


def test_always_equal_object_scores_nothing_for_what_it_fakes(graded) -> None:
    _, _, by_student = graded
    got = by_student["always_equal"]
    assert all(got[test] == 0 for test in crafted.NEED_STEP_FORWARD)
    assert got["test_numeric_gradient"] == 2 and got["test_gradient_check"] == 2


def test_read_hidden_found_nothing_and_wrote_nothing(graded) -> None:
    course, run, by_student = graded
    nb = nbformat.read(course / "autograded" / "read_hidden" / "rnn_cell" / "rnn_cell.ipynb",
                       as_version=4)
    text = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))
    assert "LEAKS" in text  # the probe ran
    if run.mode in ("bwrap", "unshare"):
        assert "LEAKS []" in text and "WRITES []" in text, text[-2000:]
    assert HIDDEN_LINE not in text or run.mode == "none"
    assert all(score <= 3 for student in by_student.values() for score in student.values())
    assert sum(by_student["honest"].values()) == crafted.FULL


def test_feedback_has_no_hidden_tests(graded) -> None:
    course, run, _ = graded
    pages = sorted((course / "feedback").glob("*/rnn_cell/rnn_cell.html"))
    assert len(pages) == len(run.graded)
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        assert HIDDEN_LINE not in text, page
        assert "hidden tests are not shown" in text
        if page.parts[-3] != "read_hidden":  # its own code spells the marker
            assert "BEGIN HIDDEN TESTS" not in text, page
    wrong = (course / "feedback" / "wrong" / "rnn_cell" / "rnn_cell.html").read_text("utf-8")
    assert "AssertionError" in wrong  # the failing test's message is there


def test_output_flood_is_capped(graded) -> None:
    course, _, _ = graded
    path = course / "autograded" / "output_flood" / "rnn_cell" / "rnn_cell.ipynb"
    assert path.stat().st_size < 3 * 1024**2


def test_report_files(graded) -> None:
    _course, run, by_student = graded
    for key in ("grades", "questions", "hist_total", "hist_questions", "failures", "summary"):
        assert run.report[key].exists() and run.report[key].stat().st_size > 0, key
    with open(run.report["questions"], encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "student_id" and rows[1][0] == "max" and float(rows[1][-1]) == 18
    totals = {row[0]: float(row[-1]) for row in rows[2:]}
    assert totals == {s: sum(v.values()) for s, v in by_student.items()}
    with open(run.report["grades"], encoding="utf-8") as handle:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert exported["honest"] == 18 and exported["invalid_json"] == 0


def test_rerun_skips_finished_and_forced_rerun_is_identical(graded) -> None:
    course, run, by_student = graded
    again = grade("rnn_cell", course, jobs=2, options=OPTIONS, progress=False)
    assert not again.graded and not again.failed
    assert sorted(again.skipped) == sorted(run.results)
    subset = ["correct", "wrong", "always_equal", "monkeypatch_assert"]
    forced = grade("rnn_cell", course, jobs=2, options=OPTIONS, progress=False,
                   students=subset, force=True)
    assert sorted(forced.graded) == sorted(subset)
    after = scores(course)
    assert after == by_student
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        ids = [s.student.id for s in gb.find_assignment("rnn_cell").submissions]
    assert sorted(ids) == sorted(set(ids))  # no duplicated submissions
