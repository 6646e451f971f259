"""The nbgrader assignments: solutions score full marks, releases score zero and leak nothing.

Parametrised over the assignments whose ``solutions/<name>/<name>.ipynb`` exists. Every
nbgrader run happens in a scratch course under pytest's tmp dir (never in the repository).
All notebooks of one assignment are graded once and shared by the tests below: the wrong
submissions by ``rnncourse grade`` (the judge), the solution and the untouched release by plain
``nbgrader autograde``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from leaks import MARKERS, solution_lines
from wrong_submissions import WrongSubmission, apply, load

from rnncourse import assignments
from rnncourse.assignments import (
    ASSIGNMENTS,
    NbgraderError,
    autograde,
    available,
    canonical_notebook,
    generate,
    read_scores,
    scratch_course,
)
from rnncourse.grading.job import GradingSettings, Limits
from rnncourse.grading.runner import grade

ROOT = Path(__file__).resolve().parents[1]
NAMES = available(ROOT)
JUDGE_SETTINGS = GradingSettings(limits=Limits(cell_timeout=240, notebook_timeout=600,
                                               memory_bytes=4 * 1024**3))
WRONG = [(name, wrong) for name in NAMES for wrong in load(name)]


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_cells(name: str) -> dict[str, dict]:
    """``{grade_id: nbgrader metadata}`` of the graded cells of the source notebook."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    return {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c) for c in nb.cells
            if nbgrader_meta(c).get("grade")}


def auto_graded(name: str) -> dict[str, float]:
    """``{grade_id: points}`` of the test cells (graded, not a written answer)."""
    return {gid: float(m["points"]) for gid, m in grade_cells(name).items()
            if not m.get("solution")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Callable[[str], dict[str, dict]]:
    """``graded(name)[student] -> scores``: every notebook of ``name`` graded once.

    The wrong submissions are graded the way instructors grade, by ``rnncourse grade`` (the
    judge, one run for all of them); the solution and the untouched release by plain
    ``nbgrader autograde`` too, which must give full marks and zero as well.
    """
    cache: dict[str, dict[str, dict]] = {}

    def get(name: str) -> dict[str, dict]:
        if name not in cache:
            tmp = tmp_path_factory.mktemp(name)
            course = scratch_course(tmp / "course", [name], ROOT)
            judged = tmp / "judged"
            shutil.copytree(course, judged)
            source = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
            for wrong in load(name):
                folder = judged / "submitted" / wrong.name / name
                folder.mkdir(parents=True)
                nbformat.write(apply(source, wrong), folder / f"{name}.ipynb")
            run = grade(name, judged, jobs=1, settings=JUDGE_SETTINGS, progress=False)
            assert not run.failed and not run.not_graded, (run.failed, run.not_graded)
            cache[name] = {w.name: read_scores(judged, name, w.name) for w in load(name)}
            cache[name]["solution"] = autograde(
                course, name, "solution", assignments.source_notebook(name, ROOT))
            cache[name]["untouched"] = autograde(
                course, name, "untouched", course / "exercises" / name / f"{name}.ipynb")
        return cache[name]

    return get


# --- fast checks ----------------------------------------------------------------------------


def test_assignment_names_and_layout() -> None:
    assert NAMES, "no assignment source found under solutions/"
    assert [n for n in ASSIGNMENTS if n in NAMES] == NAMES
    for name in NAMES:
        notebooks = sorted((ROOT / "solutions" / name).glob("*.ipynb"))
        assert [p.name for p in notebooks] == [f"{name}.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_source_metadata(name: str) -> None:
    """Schema 3, unique ids, points on graded cells, and every answer cell has a solution."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        assert meta, f"cell without nbgrader metadata: {cell.source[:60]!r}"
        assert meta["schema_version"] == 3
        if meta.get("grade"):
            assert float(meta["points"]) > 0, meta["grade_id"]
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source, meta["grade_id"]
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit sources unexecuted"
    assert auto_graded(name), "no auto-graded test cell"


@pytest.mark.parametrize("name", NAMES)
def test_committed_release_equals_fresh_generation(name: str, tmp_path: Path) -> None:
    written = generate([name], ROOT, tmp_path)
    fresh = {p.relative_to(tmp_path / name): p.read_bytes() for p in written}
    committed_dir = ROOT / "exercises" / name
    committed = {
        p.relative_to(committed_dir): p.read_bytes()
        for p in committed_dir.rglob("*") if p.is_file()
    }
    assert sorted(committed) == sorted(fresh), "run `rnncourse release` and commit exercises/"
    stale = [str(p) for p in fresh if committed[p] != fresh[p]]
    assert not stale, f"exercises/{name}: {stale} differ from a fresh `rnncourse release`"


def test_release_is_deterministic(tmp_path: Path) -> None:
    first = generate(NAMES[:1], ROOT, tmp_path / "a")
    second = generate(NAMES[:1], ROOT, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def released_files() -> list[Path]:
    return sorted(p for p in (ROOT / "exercises").rglob("*") if p.is_file())


def released_lines(path: Path) -> set[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells)
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
    return {line.strip() for line in text.splitlines()}


def test_no_marker_in_exercises() -> None:
    for path in released_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{path.relative_to(ROOT)} contains {marker!r}"


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_line_in_exercises(name: str) -> None:
    secret = solution_lines(name)
    assert secret, "the source notebook has no solution lines?"
    for path in released_files():
        leaked = sorted(secret & released_lines(path))
        assert not leaked, f"{path.relative_to(ROOT)} shows solution lines: {leaked[:5]}"


def test_leak_check_catches_a_leak(tmp_path: Path) -> None:
    """The leak check itself works: a pasted solution line is found."""
    name = NAMES[0]
    line = sorted(solution_lines(name))[0]
    nb = nbformat.read(assignments.release_notebook(name, ROOT), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("    " + line))
    path = tmp_path / "leaky.ipynb"
    nbformat.write(nb, path)
    assert line in released_lines(path)


@pytest.mark.parametrize("name", NAMES)
def test_wrong_submissions_are_declared(name: str) -> None:
    wrongs = load(name)
    assert len(wrongs) >= 3, f"tests/wrong_submissions/{name}.py needs >= 3 cases"
    assert len({w.name for w in wrongs}) == len(wrongs), "duplicate wrong-submission name"
    tests = auto_graded(name)
    source = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    for wrong in wrongs:
        assert wrong.lost, f"{wrong.name} must lose some points"
        for gid, points in wrong.lost.items():
            assert gid in tests, f"{wrong.name}: {gid} is not a test cell of {name}"
            assert 0 < points <= tests[gid]
        apply(source, wrong)  # every edit applies exactly once


def test_apply_rejects_an_edit_that_does_not_match() -> None:
    name = NAMES[0]
    source = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    answer = next(nbgrader_meta(c)["grade_id"] for c in source.cells
                  if nbgrader_meta(c).get("solution") and not nbgrader_meta(c).get("grade"))
    with pytest.raises(ValueError, match="occurs 0 times"):
        apply(source, WrongSubmission("x", edits={answer: ("no such text", "")}))
    with pytest.raises(KeyError):
        apply(source, WrongSubmission("x", edits={"no_such_cell": ("a", "b")}))


def test_canonical_notebook_strips_outputs_and_is_idempotent() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].id = "c1"
    nb.cells[0].execution_count = 3
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="2\n")]
    nb.cells[0].metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    text = canonical_notebook(nb)
    again = nbformat.reads(text, as_version=4)
    assert again.cells[0].outputs == [] and again.cells[0].execution_count is None
    assert "execution" not in again.cells[0].metadata
    assert canonical_notebook(again) == text and text.endswith("\n")


def test_cli_release(tmp_path: Path) -> None:
    """``rnncourse release`` writes the committed files; unknown names fail with a message."""
    from typer.testing import CliRunner

    from rnncourse.cli import app

    name = NAMES[0]
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / name, tmp_path / "solutions" / name)
    runner = CliRunner()
    result = runner.invoke(app, ["release", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = assignments.release_notebook(name, tmp_path)
    assert str(written) in result.output
    assert written.read_bytes() == assignments.release_notebook(name, ROOT).read_bytes()
    assert not (tmp_path / "gradebook.db").exists(), "release must not leave a gradebook"
    result = runner.invoke(app, ["release", "no_such_assignment", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "unknown assignment" in result.output


def test_unknown_assignment_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown assignment"):
        generate(["no_such_assignment"], ROOT, tmp_path)


# --- grading (runs notebooks) ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(name: str, graded) -> None:
    scores = graded(name)["solution"]
    cells = grade_cells(name)
    assert set(scores) == set(cells)
    for gid, meta in cells.items():
        score, max_score = scores[gid]
        assert max_score == float(meta["points"]), gid
        if meta.get("solution"):  # written answer: awaits a human grader
            assert score is None, gid
        else:
            assert score == max_score, f"{gid}: {score} / {max_score}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_untouched_release_scores_zero(name: str, graded) -> None:
    scores = graded(name)["untouched"]
    assert set(scores) == set(grade_cells(name)), "grading broke: cells missing"
    nonzero = {gid: s for gid, s in scores.items() if s[0] != 0}
    assert not nonzero, f"an untouched release earns points: {nonzero}"


@pytest.mark.slow
def test_changed_grade_id_is_reported(tmp_path: Path) -> None:
    """A submission whose test cell's grade_id was changed fails loudly, not silently (nbgrader's
    own check, the same for every assignment: shown on rnn_cell)."""
    name = "rnn_cell"
    course = scratch_course(tmp_path / "course", [name], ROOT)
    renamed = nbformat.read(course / "exercises" / name / f"{name}.ipynb", as_version=4)
    first_test = next(c for c in renamed.cells if nbgrader_meta(c).get("grade"))
    first_test.metadata["nbgrader"]["grade_id"] += "_renamed"
    nbformat.write(renamed, tmp_path / "renamed.ipynb")
    new_id = first_test.metadata["nbgrader"]["grade_id"]
    with pytest.raises(NbgraderError, match=f"Cell '{new_id}' does not exist in the database"):
        autograde(course, name, "renamed", tmp_path / "renamed.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "wrong"), WRONG, ids=[f"{n}-{w.name}" for n, w in WRONG]
)
def test_wrong_submission_loses_exactly_its_points(name: str, wrong, graded) -> None:
    scores = graded(name)[wrong.name]
    got = {gid: scores[gid][1] - scores[gid][0] for gid in auto_graded(name)}
    lost = {gid: points for gid, points in got.items() if points}
    assert lost == {gid: float(p) for gid, p in wrong.lost.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_validate_reports_failures_of_untouched_release(name: str, tmp_path: Path) -> None:
    """``nbgrader validate`` (the Validate button) names the failing test cells."""
    notebook = tmp_path / f"{name}.ipynb"
    shutil.copyfile(assignments.release_notebook(name, ROOT), notebook)
    scripts = Path(sys.executable).parent
    result = subprocess.run(
        [str(scripts / "nbgrader"), "validate", notebook.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={"PATH": f"{scripts}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    out = result.stdout + result.stderr
    n_failed = len(grade_cells(name))  # every test cell and every unanswered written answer
    assert f"VALIDATION FAILED ON {n_failed} CELL(S)" in out, out[-3000:]
    assert "NotImplementedError" in out
    for gid in auto_graded(name):
        assert f"# Test {gid}:" in out, f"validate output does not name {gid}"
