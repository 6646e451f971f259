"""``rnncourse export``: the grade files Canvas and Moodle import, checked line by line.

A small gradebook is built with nbgrader's own API (no notebook runs): one assignment of
10 points (a 6-point test cell and a 4-point written answer) and students in every state an
export meets: graded, graded late (penalty), awaiting manual grading, submitted but not
graded, never submitted, and graded but unknown to the LMS. The expected files follow the
formats each LMS documents (see :mod:`rnncourse.grading.export` for the sources): Canvas's
``Student, ID, SIS User ID, SIS Login ID, Section`` header and ``Points Possible`` row,
Moodle's grading worksheet columns ``Identifier`` / ``Grade`` / ``Last modified (grade)``.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from typer.testing import CliRunner

from rnncourse.cli import app
from rnncourse.grading.export import ExportError, export_grades
from rnncourse.grading.lms import ROSTER_FILE, Roster, RosterEntry, RosterError
from rnncourse.grading.template import scripts_on_path

COURSE = "c1"
CONFIG = f'c = get_config()\nc.CourseDirectory.course_id = "{COURSE}"\n'
NOW = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)


def _grade(gb: Gradebook, student: str, auto: float, manual: float | None,
           penalty: float = 0.0) -> None:
    with warnings.catch_warnings():  # nbgrader 0.9's harmless autoflush warnings
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.add_submission("a1", student, timestamp=dt.datetime(2026, 12, 1, 11))
    test = gb.find_grade("q1", "a1", "a1", student)
    test.auto_score, test.needs_manual_grade = auto, False
    written = gb.find_grade("w1", "a1", "a1", student)
    written.manual_score, written.needs_manual_grade = manual, manual is None
    gb.find_submission_notebook("a1", "a1", student).late_submission_penalty = penalty
    gb.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The gradebook and mapping file every test here reads (and does not change)."""
    root = tmp_path_factory.mktemp("export") / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    with scripts_on_path(), Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE) as gb:
        gb.add_assignment("a1", duedate=dt.datetime(2026, 12, 1, 12))
        gb.add_notebook("a1", "a1")
        gb.add_grade_cell("q1", "a1", "a1", max_score=6, cell_type="code")
        gb.add_grade_cell("w1", "a1", "a1", max_score=4, cell_type="markdown")
        for student in ("ann", "ben", "cid", "dan", "eve", "fay"):
            gb.add_student(student)
        _grade(gb, "ann", 6, 2.5)            # graded: 8.5
        _grade(gb, "ben", 6, 3, penalty=2)   # late: 9 - 2 = 7
        _grade(gb, "cid", 3, None)           # written answer awaits a grader
        _grade(gb, "fay", 6, 4)              # graded, but not in the mapping file
    (root / "submitted" / "dan" / "a1").mkdir(parents=True)  # collected, never graded
    roster = Roster([
        RosterEntry("ann", "canvas", "101", "roe, ann", "",
                    {"sis_user_id": "S-1", "sis_login_id": "ann@uni", "section": "L1"}),
        RosterEntry("ben", "canvas", "102", "=cmd|calc"),
        RosterEntry("cid", "canvas", "103", "cid"),
        RosterEntry("dan", "canvas", "104", "dan"),
        RosterEntry("eve", "canvas", "105", "eve"),
        RosterEntry("ann", "moodle", "9001", "Ann Roe", "a1"),
        RosterEntry("ben", "moodle", "9002", "Ben Li", "a1"),
        RosterEntry("eve", "moodle", "9005", "Eve Ng", "a1"),
    ])
    roster.save(root / ROSTER_FILE)
    return root


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_canvas_gradebook_csv_has_canvas_header_points_row_and_ids(course: Path,
                                                                    tmp_path: Path) -> None:
    result = export_grades(course, ["a1"], "canvas", tmp_path / "canvas.csv",
                           titles={"a1": "GRU cell (4711)"})
    assert result.files == [tmp_path / "canvas.csv"]
    assert _lines(tmp_path / "canvas.csv") == [
        "Student,ID,SIS User ID,SIS Login ID,Section,GRU cell (4711)",
        "    Points Possible,,,,,10.00",
        "'=cmd|calc,102,,,,7.00",   # late penalty applied; a name is never a formula
        "cid,103,,,,",             # awaits manual grading: blank
        "dan,104,,,,",             # submitted, not graded: blank
        "eve,105,,,,",             # no submission: blank
        "\"roe, ann\",101,S-1,ann@uni,L1,8.50",
    ]
    said = "\n".join(result.problems)
    assert "cid awaits manual grading (autograded part 3.00): left blank" in said
    assert "dan has no graded submission (submitted, but not graded" in said
    assert "eve has no graded submission (no submission): left blank" in said
    assert "fay has a submission in the gradebook but no Canvas id" in said
    assert result.notes == ["a1: ben late: 9.00 minus late penalty 2.00 = 7.00"]
    # what Canvas's importer checks first: the header and the Points Possible row
    rows = list(csv.reader(_lines(tmp_path / "canvas.csv")))
    assert rows[0][0].startswith("Student") and rows[0][1] == "ID" and rows[0][4] == "Section"
    assert "Points Possible" in rows[1][0]
    assert all(len(r) == len(rows[0]) for r in rows)


def test_missing_as_zero_writes_zero_for_missing_only(course: Path, tmp_path: Path) -> None:
    result = export_grades(course, ["a1"], "canvas", tmp_path / "c.csv", missing_as_zero=True)
    body = {line.split(",")[0]: line.rsplit(",", 1)[1] for line in _lines(tmp_path / "c.csv")[2:]}
    assert body["dan"] == body["eve"] == "0.00"
    assert body["cid"] == ""  # a pending manual grade is never a zero
    assert any("eve has no graded submission (no submission): written as 0" in p
               for p in result.problems)


def test_moodle_grading_worksheet(course: Path, tmp_path: Path) -> None:
    result = export_grades(course, ["a1"], "moodle", tmp_path / "w.csv", now=NOW)
    assert _lines(tmp_path / "w.csv") == [
        "Identifier,Full name,Grade,Maximum grade,Last modified (grade)",
        "Participant 9001,Ann Roe,8.50,10.00,2026-12-03 09:30:00 UTC",
        "Participant 9002,Ben Li,7.00,10.00,2026-12-03 09:30:00 UTC",
        "Participant 9005,Eve Ng,,10.00,2026-12-03 09:30:00 UTC",
    ]
    said = "\n".join(result.problems)
    assert "a1: eve has no graded submission (no submission): left blank" in said
    for student in ("cid", "fay"):  # graded or pending in nbgrader, unknown to Moodle
        assert f"{student} has a submission in the gradebook but no Moodle id" in said
    assert "dan" not in said  # no Moodle id and nothing graded: nothing to say
    # the columns Moodle's worksheet importer looks up by name
    header = _lines(tmp_path / "w.csv")[0].split(",")
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(header)


def test_csv_lists_every_student_with_a_max_row(course: Path, tmp_path: Path) -> None:
    export_grades(course, ["a1"], "csv", tmp_path / "g.csv")
    lines = _lines(tmp_path / "g.csv")
    assert lines[:2] == ["student_id,display_name,lms,lms_user_id,a1", "max,,,,10.00"]
    assert "ann,\"roe, ann\",canvas,101,8.50" in lines
    assert "fay,,,,10.00" in lines  # in the gradebook only: still exported here


def test_export_refuses_what_it_cannot_write(course: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown format"):
        export_grades(course, ["a1"], "blackboard", tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not in the gradebook"):
        export_grades(course, ["nope"], "csv", tmp_path / "x.csv")
    with pytest.raises(ExportError, match="not exported"):
        export_grades(course, ["a1"], "csv", tmp_path / "x.csv", titles={"a2": "x"})
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    (bad / ROSTER_FILE).write_text("name,id\nann,1\n", encoding="utf-8")
    with pytest.raises(RosterError, match="missing column"):
        export_grades(bad, ["a1"], "csv", tmp_path / "x.csv")


def test_cli_export_prints_files_and_what_needs_attention(course: Path, tmp_path: Path) -> None:
    out = tmp_path / "canvas.csv"
    result = CliRunner().invoke(app, ["export", "a1", "--format", "canvas", "--course",
                                      str(course), "--out", str(out), "--title", "a1=Lab 1"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    assert "cid awaits manual grading" in result.stderr
    assert _lines(out)[0].endswith(",Lab 1")
    bad = CliRunner().invoke(app, ["export", "a1", "--format", "canvas", "--course",
                                   str(course), "--title", "a1"])
    assert bad.exit_code == 1 and "NAME=TEXT" in bad.stderr
