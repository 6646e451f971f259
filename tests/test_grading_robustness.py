"""Crafted rnn_cell submissions against ``rnncourse grade`` (one grading run for all of them).

Every crafted submission of tests/fixtures/grading/crafted.py, broken files, rough code and
every kind of cheat, is graded together once with bubblewrap, 2 jobs and short limits. The
tests read that run: grading completes for everybody, honest code scores what it earns, no
cheat scores above the untouched release (0), every failure says why, nothing the student
receives holds a hidden case or the hidden cases' source, and a rerun skips or, forced,
reproduces the same scores.
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
from rnncourse.grading.job import GradingSettings, Limits
from rnncourse.grading.report import load_results
from rnncourse.grading.runner import grade, student_seed
from rnncourse.judge.engine import hidden_cases, hidden_rng, load_hidden
from rnncourse.suites.rnn_cell import SUITE, random_rnn

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "rnn_cell" / "rnn_cell.ipynb"
RELEASE = ROOT / "exercises" / "rnn_cell" / "rnn_cell.ipynb"
SETTINGS = GradingSettings(limits=Limits(cell_timeout=10, call_timeout=10, notebook_timeout=120,
                                         memory_bytes=2 * 1024**3))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("bwrap" not in sandbox.available_modes(), reason="needs bubblewrap"),
]


def scores(course: Path, assignment: str = "rnn_cell") -> dict[str, dict[str, float]]:
    """``{student: {grade_id: score}}`` read from the course gradebook."""
    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        for submission in gb.find_assignment(assignment).submissions:
            out[submission.student.id] = {
                g.name: float(g.score) for nb in submission.notebooks for g in nb.grades}
    return out


def outputs(course: Path, student: str) -> str:
    """Every output text of a student's autograded notebook."""
    nb = nbformat.read(course / "autograded" / student / "rnn_cell" / "rnn_cell.ipynb",
                       as_version=4)
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", ""))
                     for cell in nb.cells for o in cell.get("outputs", []))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, the run, the scores and the stored results after one run."""
    course = scratch_course(tmp_path_factory.mktemp("robust") / "course", ["rnn_cell"], ROOT)
    src = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE, as_version=4)
    builders = {name: builder for name, (builder, _, _) in crafted.CASES.items()}
    builders.update(crafted.CHEATS)
    for name, builder in builders.items():
        crafted.write_submission(course / "submitted" / name / "rnn_cell",
                                 builder(src, release))
    run = grade("rnn_cell", course, jobs=2, settings=SETTINGS, progress=False,
                secret_file=course.parent / "secret")
    results = load_results(course / "grading-report" / "rnn_cell")
    return course, run, scores(course), results


def test_grading_completes_for_everybody(graded) -> None:
    _course, run, _, results = graded
    assert set(results) == set(crafted.CASES) | set(crafted.CHEATS)
    assert not run.not_graded and not run.skipped
    failed = {s for s, (_, status, _) in crafted.CASES.items() if status == "failed"}
    assert set(run.failed) == failed


@pytest.mark.parametrize("name", sorted(crafted.CASES))
def test_crafted_submission_scores(graded, name: str) -> None:
    _, _run, by_student, results = graded
    _, status, total = crafted.CASES[name]
    assert results[name]["status"] == status, results[name].get("reason")
    if status == "failed":
        assert results[name]["reason"] and name not in by_student
        return
    assert sum(by_student[name].values()) == total, (by_student[name], results[name]["notes"])


@pytest.mark.parametrize("name", sorted(crafted.CHEATS))
def test_no_cheat_scores_above_the_untouched_release(graded, name: str) -> None:
    _, _, by_student, _ = graded
    assert sum(by_student["untouched"].values()) == 0.0
    assert sum(by_student[name].values()) == 0.0, by_student[name]


def test_shipped_files_never_ran_and_are_listed(graded) -> None:
    course, _, _, results = graded
    assert "a shipped module ran" not in outputs(course, "ships_python_files")
    notes = " ".join(results["ships_python_files"]["notes"])
    assert "other files in the submission, not used" in notes and "numpy.py" in notes


def test_the_oracle_torch_and_helpers_are_out_of_reach(graded) -> None:
    _course, _, _, results = graded
    failed = results["calls_the_oracle_and_helpers"]["notebooks"]["rnn_cell"]["failed_tests"]
    assert failed["test_rnn_step_forward"].startswith(
        "rnn_step_forward raised ModuleNotFoundError: No module named 'rnncourse.oracles'")
    assert "No module named 'torch'" in failed["test_rnn_forward"]
    assert "No module named 'rnncourse.oracles'" in failed["test_numeric_gradient"]
    autograd = results["uses_autograd"]["notebooks"]["rnn_cell"]["failed_tests"]
    assert "No module named 'torch'" in autograd["test_rnn_step_forward"]


def test_the_input_history_holds_no_test(graded) -> None:
    course, _, _, _ = graded
    text = outputs(course, "reads_input_history")
    assert "HISTORY" in text  # the probe ran
    for marker in ('check("test_', "check.hidden", "BEGIN HIDDEN"):
        assert marker not in text, marker


def test_the_student_process_sees_no_hidden_case_and_no_gradebook(graded) -> None:
    course, _, _, _ = graded
    text = outputs(course, "walks_the_disk")
    seen = int(re.search(r"FILES SEEN (\d+)", text).group(1))
    assert seen > 1000 and "WALK COMPLETE" in text  # it read everything it could see
    assert "LEAKS []" in text, text[-2000:]
    assert "COURSE FILES []" in text, text[-2000:]


def test_nothing_from_the_tests_calls_reaches_the_student(graded) -> None:
    """What the learner's code prints while the judge calls it (hidden inputs among it) is
    never returned; only what the notebook's own cells printed is."""
    course, _, by_student, _ = graded
    assert sum(by_student["records_its_calls"].values()) == crafted.FULL
    feedback = html.unescape((course / "feedback" / "records_its_calls" / "rnn_cell" /
                              "rnn_cell.html").read_text(encoding="utf-8"))
    shown = outputs(course, "records_its_calls") + feedback
    assert "CALLED-WITH" in shown  # the notebook's own calls (its last cell) do show
    secret = (course.parent / "secret").read_text(encoding="utf-8").strip().encode()
    seed = student_seed(secret, "rnn_cell", "records_its_calls")
    drawn = hidden_cases(load_hidden(ROOT / "solutions" / "rnn_cell"),
                         hidden_rng("rnn_cell", "records_its_calls", seed))
    cases = [*drawn["test_rnn_step_forward"], *SUITE.tests["test_rnn_step_forward"].visible]
    for case in cases:
        x = random_rnn(case["seed"], case["N"], case["D"], case["H"], case.get("scale", 0.5))["x"]
        assert f"{float(x.ravel()[0]):.12f}" not in shown, case


def test_background_processes_die_with_their_sandbox(graded, tmp_path: Path) -> None:
    assert not Path("/tmp/still-here").exists()  # its /tmp was the sandbox's own


def test_failures_have_clear_reasons(graded) -> None:
    _course, run, _, _ = graded
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
        ("infinite_loop", "took longer than 10 s"),
        ("process_crash", "exited with status 3"),
    ],
)
def test_notes_explain_what_happened(graded, name: str, words: str) -> None:
    _, _, _, results = graded
    assert any(words in note for note in results[name]["notes"]), results[name]["notes"]


def test_rough_code_is_explained_in_its_outputs(graded) -> None:
    course, _, _, results = graded
    assert "characters of output dropped" in outputs(course, "output_flood")
    assert "MemoryError" in outputs(course, "memory_bomb")
    failed = results["always_equal"]["notebooks"]["rnn_cell"]["failed_tests"]
    assert failed["test_rnn_step_forward"].startswith(
        "h_next must be a numeric numpy array, got an object of type AlwaysEqual")


def test_suspicious_code_is_flagged_but_honest_code_is_not(graded) -> None:
    course, _, _, results = graded
    assert any("get_ipython" in f for f in results["input_and_ast_transformers"]["flags"])
    assert any("sys.settrace" in f for f in results["tracing_hooks"]["flags"])
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        assert gb.find_submission_notebook("rnn_cell", "rnn_cell", "tracing_hooks").flagged
        for honest in ("correct", "wrong", "untouched"):
            assert not gb.find_submission_notebook("rnn_cell", "rnn_cell", honest).flagged


def test_feedback_has_no_hidden_tests(graded) -> None:
    course, run, _, _ = graded
    pages = sorted((course / "feedback").glob("*/rnn_cell/rnn_cell.html"))
    assert len(pages) == len(run.graded)
    hidden_source = (ROOT / "solutions" / "rnn_cell" / "hidden.py").read_text(encoding="utf-8")
    hidden_lines = {line.strip() for line in hidden_source.splitlines() if len(line.strip()) > 25}
    for page in pages:
        if page.parts[-3] == "walks_the_disk":
            continue  # its own code spells the markers it searches for
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        assert "check.hidden" not in text, page
        assert not [line for line in hidden_lines if line in text], page
    wrong = (course / "feedback" / "wrong" / "rnn_cell" / "rnn_cell.html").read_text("utf-8")
    assert "rnn_step_backward[&#39;b_hh&#39;] is wrong" in wrong or \
        "rnn_step_backward['b_hh'] is wrong" in html.unescape(wrong)


def test_report_files(graded) -> None:
    _course, run, by_student, _ = graded
    for key in ("grades", "questions", "hist_total", "hist_questions", "failures", "summary"):
        assert run.report[key].exists() and run.report[key].stat().st_size > 0, key
    with open(run.report["questions"], encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "student_id" and rows[1][0] == "max" and float(rows[1][-1]) == 16
    totals = {row[0]: float(row[-1]) for row in rows[2:]}
    assert totals == {s: sum(v.values()) for s, v in by_student.items()}


def test_rerun_skips_finished_and_forced_rerun_is_identical(graded) -> None:
    course, _run, by_student, results = graded
    again = grade("rnn_cell", course, jobs=2, settings=SETTINGS, progress=False,
                  secret_file=course.parent / "secret")
    assert not again.graded and not again.failed
    assert sorted(again.skipped) == sorted(results)
    subset = ["correct", "wrong", "always_equal", "rebinds_course_modules_and_numpy"]
    forced = grade("rnn_cell", course, jobs=2, settings=SETTINGS, progress=False,
                   students=subset, force=True, secret_file=course.parent / "secret")
    assert sorted(forced.graded) == sorted(subset)
    assert scores(course) == by_student
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        ids = [s.student.id for s in gb.find_assignment("rnn_cell").submissions]
    assert sorted(ids) == sorted(set(ids))  # no duplicated submissions
