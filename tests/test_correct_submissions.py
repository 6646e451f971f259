"""Correct work never loses a point or gets a flag, in any grading path and any assignment.

For every assignment, the untouched release and the independent correct submissions of
``tests/correct_submissions/<assignment>.py`` (written from the released notebook alone,
differently from the solution) are graded three ways (the solutions: tests/test_assignments.py
with plain nbgrader, and each suite's test in the judge, tests/test_suite_*.py):

- ``rnncourse grade`` with a local pool of workers (``jobs=2``),
- ``rnncourse grade`` on a Dask ``LocalCluster`` (127.0.0.1, two worker processes; the torch
  assignment sequence_models only, for time),
- plain nbgrader (``nbgrader autograde`` through :func:`rnncourse.assignments.autograde`; one
  independent correct submission per assignment but the capstone, for time).

Every correct one must score full automatic marks and not be flagged; the untouched release
scores zero; all three paths agree cell by cell. This is the regression test of the issue
"``rnncourse grade`` takes 2 of 10 points from every correct sequence_models submission":
torch rebinds ``torch.manual_seed`` in the first optimiser step and matplotlib's inline backend
registers an IPython callback in the first plotting cell, and neither may cost a point or
raise a flag.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from correct_submissions import apply, load
from nbgrader.api import Gradebook

from rnncourse import assignments
from rnncourse.assignments import autograde, available, scratch_course
from rnncourse.grading.job import GradingSettings, Limits
from rnncourse.grading.runner import grade

ROOT = Path(__file__).resolve().parents[1]
NAMES = available(ROOT)
SETTINGS = GradingSettings(limits=Limits(cell_timeout=240, notebook_timeout=600,
                                         memory_bytes=4 * 1024**3))
CORRECT = {name: [c.name for c in load(name)] for name in NAMES}
#: graded by plain nbgrader too: one independent correct submission per assignment but the
#: capstone's, whose training makes it the slowest (the solutions and the untouched releases
#: are graded that way in tests/test_assignments.py)
PLAIN = {name: [load(name)[0].name] for name in NAMES if name != "char_lm"}

pytestmark = pytest.mark.slow


def auto_points(name: str) -> dict[str, float]:
    """``{grade_id: points}`` of the automatically graded test cells of ``name``."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    points = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            points[meta["grade_id"]] = float(meta["points"])
    return points


def submissions(name: str) -> dict[str, nbformat.NotebookNode]:
    """``{student: notebook}``: the untouched release and the independent correct ones."""
    release = nbformat.read(assignments.release_notebook(name, ROOT), as_version=4)
    notebooks = {"untouched": release}
    for correct in load(name):
        notebooks[correct.name] = apply(release, correct)
    return notebooks


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A course with every assignment generated and every submission in ``submitted/``."""
    course = scratch_course(tmp_path_factory.mktemp("correct") / "course", NAMES, ROOT)
    for name in NAMES:
        for student, nb in submissions(name).items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{name}.ipynb")
    return course


def gradebook_scores(course: Path, name: str) -> dict[str, tuple[dict[str, float], bool]]:
    """``{student: ({grade_id: auto score}, flagged)}`` from the course gradebook."""
    tests = auto_points(name)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        result = {}
        for submission in gb.find_assignment(name).submissions:
            scores, flagged = {}, False
            for notebook in submission.notebooks:
                flagged = flagged or bool(notebook.flagged)
                for g in notebook.grades:
                    if g.name in tests:
                        scores[g.name] = float(g.auto_score or 0.0)
            result[submission.student.id] = (scores, flagged)
        return result


def check_scores(name: str, scores: dict[str, tuple[dict[str, float], bool]], how: str) -> None:
    full = auto_points(name)
    for student in CORRECT[name]:
        got, flagged = scores[student]
        lost = {gid: full[gid] - got.get(gid, 0.0) for gid in full if got.get(gid) != full[gid]}
        assert not lost, f"{how}: correct submission {name}/{student} lost points {lost}"
        assert not flagged, f"{how}: correct submission {name}/{student} was flagged"
    untouched, _ = scores["untouched"]
    assert set(untouched) == set(full) and not any(untouched.values()), (
        f"{how}: the untouched release of {name} scored {untouched}")


@pytest.fixture(scope="module")
def pool_scores(template: Path, tmp_path_factory) -> dict[str, dict]:
    """Scores of ``rnncourse grade --jobs 2`` for every assignment, and the runs."""
    course = tmp_path_factory.mktemp("pool") / "course"
    shutil.copytree(template, course)
    result = {}
    for name in NAMES:
        run = grade(name, course, jobs=2, settings=SETTINGS, progress=False)
        assert not run.failed, f"{name}: {run.failed}"
        result[name] = {"scores": gradebook_scores(course, name), "run": run}
    return result


@pytest.fixture(scope="module")
def plain_nbgrader_scores(template: Path, tmp_path_factory) -> dict[str, dict]:
    """Scores of plain ``nbgrader autograde`` (in-kernel tests) for every submission."""
    course = scratch_course(tmp_path_factory.mktemp("plain") / "course", NAMES, ROOT)
    result: dict[str, dict] = {}
    for name in PLAIN:
        full = auto_points(name)
        result[name] = {}
        for student in PLAIN[name]:
            path = template / "submitted" / student / name / f"{name}.ipynb"
            scores = autograde(course, name, student, path)
            result[name][student] = ({gid: float(scores[gid][0] or 0.0) for gid in full}, False)
    return result


@pytest.mark.parametrize("name", NAMES)
def test_correct_work_scores_full_marks_with_a_local_pool(name: str, pool_scores) -> None:
    check_scores(name, pool_scores[name]["scores"], "rnncourse grade --jobs 2")


@pytest.mark.parametrize("name", list(PLAIN))
def test_plain_nbgrader_gives_the_same_scores(name: str, pool_scores,
                                              plain_nbgrader_scores) -> None:
    """An independent correct submission under plain nbgrader (the solution and the
    untouched release are graded that way in tests/test_assignments.py)."""
    full = auto_points(name)
    plain = {s: v[0] for s, v in plain_nbgrader_scores[name].items()}
    assert set(plain) == set(PLAIN[name])
    for student, got in plain.items():
        assert got == full, f"nbgrader autograde: {name}/{student} scored {got}"
    ours = {s: v[0] for s, v in pool_scores[name]["scores"].items() if s in plain}
    assert ours == plain


#: On Dask: the independent correct submissions of the torch assignment whose correct work the
#: old in-kernel guard marked down (the untouched release is graded by the pool above; the
#: other assignments' Dask path is the same code: tests/test_grading_modes.py,
#: tests/test_grading_faults.py).
DASK_NAMES = ["sequence_models"]


def test_correct_work_scores_full_marks_on_a_dask_cluster(template: Path, pool_scores,
                                                          tmp_path: Path) -> None:
    from distributed import LocalCluster

    course = tmp_path / "course"
    shutil.copytree(template, course)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        for name in DASK_NAMES:
            independent = [c.name for c in load(name)]
            run = grade(name, course, scheduler=cluster.scheduler_address, settings=SETTINGS,
                        progress=False, students=independent)
            assert sorted(run.graded) == sorted(independent) and not run.failed, run.failed
            scores = gradebook_scores(course, name)
            pool = pool_scores[name]["scores"]
            assert {s: scores[s] for s in independent} == {s: pool[s] for s in independent}
            for student in independent:
                got, flagged = scores[student]
                assert got == auto_points(name) and not flagged, (student, got, flagged)


@pytest.mark.parametrize("name", NAMES)
def test_every_assignment_has_two_independent_correct_submissions(name: str) -> None:
    correct = load(name)
    assert len(correct) >= 2, f"tests/correct_submissions/{name}.py needs >= 2 submissions"
    release = nbformat.read(assignments.release_notebook(name, ROOT), as_version=4)
    solution = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    answer_ids = {c.metadata["nbgrader"]["grade_id"] for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("solution")
                  and not c.metadata["nbgrader"].get("grade")}
    solution_sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
                        if "nbgrader" in c.metadata}
    for submission in correct:
        assert set(submission.cells) == answer_ids, (
            f"{submission.name} must answer every auto-graded answer cell of {name}")
        for gid, source in submission.cells.items():
            assert source.strip() not in solution_sources[gid], (
                f"{submission.name}/{gid} copies the solution")
