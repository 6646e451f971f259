"""LMS downloads collected as they come: Canvas, Moodle and Blackboard, no ``--regexp``.

Each archive is built in the naming its LMS documents (see :mod:`rnncourse.grading.lms` for
the sources), with the awkward cases an instructor meets: late work, resubmissions, renamed
notebooks, notebooks inside folders and inside uploaded zips, documents that are not
notebooks, files an operating system adds, and notebooks that belong to no student or to no
notebook of the assignment. Every notebook must land under the right student with the
assignment's notebook name and the LMS's time; everything else must be reported with a
reason. The last test grades one archive per LMS through ``rnncourse grade --zip`` (the
real grading path, sandbox included) and exports the gradebook back with the mapping file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc
from typer.testing import CliRunner

from rnncourse.assignments import scratch_course
from rnncourse.cli import app
from rnncourse.grading import lms
from rnncourse.grading.collect import CollectError, CollectReport, collect_lms
from rnncourse.grading.export import course_config
from rnncourse.grading.lms import Identity, Roster, RosterEntry
from rnncourse.grading.template import scripts_on_path

ASSIGNMENT = "gru_cell"
NOTEBOOK = "gru_cell.ipynb"
DUE = dt.datetime(2026, 12, 1, 12, 0, 0)  # naive UTC, as nbgrader stores it


@pytest.fixture(scope="module")
def template(tmp_path_factory, repo_root: Path) -> Path:
    """A course with gru_cell generated, a due date and nbgrader's ``zero`` late penalty."""
    course = scratch_course(tmp_path_factory.mktemp("lms") / "course", [ASSIGNMENT],
                            root=repo_root)
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with scripts_on_path(), Gradebook(f"sqlite:///{course / 'gradebook.db'}",
                                      "rnn-course") as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    return course


@pytest.fixture
def course(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "course"))


@pytest.fixture(scope="module")
def solution(repo_root: Path) -> bytes:
    return (repo_root / "solutions" / ASSIGNMENT / NOTEBOOK).read_bytes()


def tagged(notebook: bytes, tag: str) -> bytes:
    """``notebook`` with ``tag`` in its metadata, to tell which file landed where."""
    nb = json.loads(notebook)
    nb["metadata"]["collect_test"] = tag
    return json.dumps(nb).encode()


def tag_of(path: Path) -> str:
    return json.loads(path.read_text(encoding="utf-8"))["metadata"].get("collect_test", "")


FOREIGN = json.dumps({"cells": [{"cell_type": "code", "source": "print(1)", "metadata": {},
                                 "outputs": [], "execution_count": None}],
                      "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def zip_of(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


def inner_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / ASSIGNMENT


def by_status(report: CollectReport, status: str) -> dict[str, str]:
    """``{file name: reason}`` of the report's files with ``status``."""
    return {Path(f.path).name: f.reason for f in report.with_status(status)}


def collect(course: Path, archive: Path, **kwargs) -> CollectReport:
    return collect_lms(course, ASSIGNMENT, archive, config=course_config(course), **kwargs)


# --- Canvas ---------------------------------------------------------------------------------------


def test_canvas_download(course: Path, solution: bytes, tmp_path: Path) -> None:
    archive = zip_of(tmp_path / "submissions.zip", {
        "smithjane_101_1001_gru_cell.ipynb": tagged(solution, "jane"),
        "smithjane_101_1002_notes.pdf": b"%PDF-1.4",
        "smithjane_101_text.html": b"<p>see attached</p>",
        "doejohn_LATE_102_1003_gru_cell.ipynb": tagged(solution, "john"),
        "roeann_103_1004_gru_cell.ipynb": tagged(solution, "ann-old"),
        "roeann_103_1010_gru_cell-1.ipynb": tagged(solution, "ann-new"),  # re-upload
        "leekim_104_1005_my final answer.ipynb": tagged(solution, "kim"),  # renamed
        "parkmin_105_1006_work.zip": inner_zip({"work/gru_cell.ipynb": tagged(solution,
                                                                             "min")}),
        "LATE_anon_x7k2p_1007_GRU_Cell (2).ipynb": tagged(solution, "anon"),
        "zhaoli_106_1008_scratch.ipynb": FOREIGN,  # no cell of the assignment
        "__MACOSX/._smithjane_101_1001_gru_cell.ipynb": b"\0",
    })
    report = collect(course, archive)
    assert (report.lms, report.detected) == ("canvas", True)
    expected = {"smithjane": "jane", "doejohn": "john", "roeann": "ann-new", "leekim": "kim",
                "parkmin": "min", "anon-x7k2p": "anon"}
    assert set(report.submissions) == set(expected)
    for student, tag in expected.items():
        assert sorted(p.name for p in submitted(course, student).iterdir()) == (
            [NOTEBOOK, "timestamp.txt"] if student in ("doejohn", "anon-x7k2p") else [NOTEBOOK])
        assert tag_of(submitted(course, student) / NOTEBOOK) == tag
    # Canvas records only a LATE marker: the due date plus one second, in nbgrader's format
    stamp = (submitted(course, "doejohn") / "timestamp.txt").read_text(encoding="utf-8")
    assert stamp == "2026-12-01 12:00:01.000000 UTC"
    assert parse_utc(stamp) == DUE + dt.timedelta(seconds=1)
    assert report.submissions["smithjane"].timestamp is None

    assert "older upload (file id 1004 < 1010)" in by_status(report, "other attempt")[
        "roeann_103_1004_gru_cell.ipynb"]
    graded = by_status(report, "graded")
    assert "recognised by its cells" in graded["leekim_104_1005_my final answer.ipynb"]
    unmapped = by_status(report, "unmapped")
    assert list(unmapped) == ["zhaoli_106_1008_scratch.ipynb"]
    assert "none of their nbgrader grade ids" in unmapped["zhaoli_106_1008_scratch.ipynb"]
    assert not submitted(course, "zhaoli").exists()  # reported, never scored
    ignored = by_status(report, "ignored")
    assert ignored["smithjane_101_1002_notes.pdf"] == "not a notebook (.pdf)"
    assert "not a notebook" in ignored["smithjane_101_text.html"]
    assert "archive" in ignored["parkmin_105_1006_work.zip"]
    assert "operating system" in ignored["._smithjane_101_1001_gru_cell.ipynb"]
    # every file is accounted for: the 11 of the download and the notebook of the inner zip
    assert len(report.files) == 12

    # the mapping file keeps the Canvas user ids, also of the student with nothing graded
    roster = {e.student_id: e for e in Roster.load(course / lms.ROSTER_FILE).entries}
    assert (roster["doejohn"].lms, roster["doejohn"].lms_user_id) == ("canvas", "102")
    assert roster["zhaoli"].lms_user_id == "106"
    text = "\n".join(report.lines())
    assert "NOT GRADED, could not be mapped (1)" in text and "zhaoli" in text
    assert (course / "downloaded" / ASSIGNMENT / "collect-report.csv").exists()


# --- Moodle ---------------------------------------------------------------------------------------


def test_moodle_download(course: Path, solution: bytes, tmp_path: Path) -> None:
    folder = "{}_{}_assignsubmission_file/"  # Moodle 4.1 and later
    old_folder = "{}_{}_assignsubmission_file_/"  # Moodle 3.1 to 4.0
    archive = zip_of(tmp_path / "moodle.zip", {
        folder.format("Jane Smith", 501) + NOTEBOOK: tagged(solution, "jane"),
        old_folder.format("John Doe", 502) + "week 3/final/" + NOTEBOOK: tagged(solution,
                                                                              "john"),
        old_folder.format("Ann Roe", 503) + "gru_cell (1).ipynb": tagged(solution, "ann"),
        old_folder.format("Ann Roe", 503) + "draft.ipynb": FOREIGN,
        "Kim Lee_504_assignsubmission_onlinetext_/onlinetext.html": b"<p>forgot</p>",
        folder.format("Participant", 777) + NOTEBOOK: tagged(solution, "blind"),
        "Min Park_505_assignsubmission_file_gru_cell.ipynb": tagged(solution, "min"),  # flat
        folder.format("Zoë O'Neil", 506) + NOTEBOOK: tagged(solution, "zoe"),
        folder.format("Li Wu", 507) + "notes.ipynb": b"{not json",
        folder.format("Jane Smith", 501) + ".ipynb_checkpoints/gru_cell-checkpoint.ipynb":
            tagged(solution, "checkpoint"),
    })
    earlier = submitted(course, "li-wu")  # collected from an earlier download
    earlier.mkdir(parents=True)
    (earlier / NOTEBOOK).write_bytes(tagged(solution, "li-earlier"))
    report = collect(course, archive)
    assert (report.lms, report.detected) == ("moodle", True)
    expected = {"jane-smith": "jane", "john-doe": "john", "ann-roe": "ann",
                "participant-777": "blind", "min-park": "min", "zoe-oneil": "zoe"}
    assert set(report.submissions) == set(expected)
    for student, tag in expected.items():
        assert [p.name for p in submitted(course, student).iterdir()] == [NOTEBOOK]
        assert tag_of(submitted(course, student) / NOTEBOOK) == tag
    assert any("no submission times" in w for w in report.warnings)
    assert any(w.startswith("li-wu: nothing in this download") for w in report.warnings)
    assert tag_of(earlier / NOTEBOOK) == "li-earlier"  # kept, and said so
    unmapped = by_status(report, "unmapped")
    assert set(unmapped) == {"draft.ipynb", "notes.ipynb"}
    assert "not a readable notebook" in unmapped["notes.ipynb"]
    assert "onlinetext.html" in by_status(report, "ignored")
    assert "gru_cell-checkpoint.ipynb" in by_status(report, "ignored")
    roster = Roster.load(course / lms.ROSTER_FILE)
    entry = roster.find("moodle", "jane-smith", ASSIGNMENT)
    assert entry is not None and (entry.lms_user_id, entry.display_name) == ("501", "Jane Smith")
    assert roster.find("moodle", "kim-lee", ASSIGNMENT) is not None  # known, nothing graded


# --- Blackboard -----------------------------------------------------------------------------------


def receipt(name: str, username: str, stamp: str, files: list[tuple[str, str]]) -> bytes:
    listed = "".join(f"\tOriginal filename: {original}\n\tFilename: {stored}\n"
                     for original, stored in files)
    return (f"Name: {name} ({username})\nAssignment: GRU cell\n"
            f"Date Submitted: Tuesday, December 1, 2026 {stamp}\nCurrent Grade: \n\n"
            "Submission Field:\nThere is no student submission text data for this "
            "assignment.\n\nComments:\nThere are no student comments for this assignment."
            f"\n\nFiles:\n{listed}\n").encode()


def test_blackboard_download(course: Path, solution: bytes, tmp_path: Path) -> None:
    first, second = "2026-12-01-09-00-00", "2026-12-01-13-30-00"
    jsmith_1 = f"GRU cell_jsmith_attempt_{first}_gru_cell.ipynb"
    jsmith_2 = f"GRU cell_jsmith_attempt_{second}_gru_cell.ipynb"
    jdoe = f"GRU cell_j_doe_attempt_{first}_gru_cell.ipynb"
    archive = zip_of(tmp_path / "gradebook_GRU.zip", {
        jsmith_1: tagged(solution, "jsmith-1"),
        f"GRU cell_jsmith_attempt_{first}.txt": receipt("Jane Smith", "jsmith", "9:00:00 AM",
                                                        [(NOTEBOOK, jsmith_1)]),
        jsmith_2: tagged(solution, "jsmith-2"),
        f"GRU cell_jsmith_attempt_{second}.txt": receipt("Jane Smith", "jsmith", "1:30:00 PM",
                                                         [(NOTEBOOK, jsmith_2)]),
        jdoe: tagged(solution, "jdoe"),  # a username with "_": only the receipt knows
        f"GRU cell_j_doe_attempt_{first}.txt": receipt("John Doe", "j_doe", "9:00:00 AM",
                                                       [(NOTEBOOK, jdoe)]),
        f"GRU cell_aroe_attempt_{first}_Submission.zip": inner_zip(
            {"hw/GRU_cell.ipynb": tagged(solution, "aroe")}),
        f"GRU cell_kli_attempt_{first}_report.docx": b"PK",
    })
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write('c.Exchange.timezone = "Europe/Berlin"\n')  # the course's time zone
    report = collect(course, archive)
    assert (report.lms, report.detected) == ("blackboard", True)
    expected = {"jsmith": "jsmith-2", "j-doe": "jdoe", "aroe": "aroe"}
    assert set(report.submissions) == set(expected)
    for student, tag in expected.items():
        assert tag_of(submitted(course, student) / NOTEBOOK) == tag
    # the attempt time is the server's local time (Berlin, UTC+1 in December) -> UTC
    stamp = (submitted(course, "jsmith") / "timestamp.txt").read_text(encoding="utf-8")
    assert parse_utc(stamp) == dt.datetime(2026, 12, 1, 12, 30)
    assert report.submissions["j-doe"].identity == Identity("blackboard", "j_doe", "John Doe")
    assert "earlier attempt (2026-12-01 09:00:00)" in by_status(report, "other attempt")[jsmith_1]
    assert "not a notebook (.docx)" in by_status(report, "ignored")[
        f"GRU cell_kli_attempt_{first}_report.docx"]


# --- other formats, forced formats, failures ----------------------------------------------------


def test_generic_names_and_forced_formats(course: Path, solution: bytes, tmp_path: Path) -> None:
    generic = zip_of(tmp_path / "plain.zip", {"cara_gru_cell.ipynb": tagged(solution, "cara"),
                                              "readme.txt": b"hello"})
    report = collect(course, generic)
    assert (report.lms, report.detected, report.roster) == ("generic", False, None)
    assert tag_of(submitted(course, "cara") / NOTEBOOK) == "cara"

    stamped = zip_of(tmp_path / "stamped.zip", {
        "dan--2026-12-01T13:00:00+00:00--gru_cell.ipynb": tagged(solution, "dan")})
    regexp = r".*/(?P<student_id>[a-z]+)--(?P<timestamp>[^-]+-[^-]+-[^-]+)--(?P<file_id>.+)$"
    report = collect(course, stamped, regexp=regexp)
    assert report.lms == "generic"
    assert report.submissions["dan"].timestamp == dt.datetime(2026, 12, 1, 13)

    canvas = zip_of(tmp_path / "canvas.zip", {"smithjane_101_1001_gru_cell.ipynb": solution})
    forced = collect(course, canvas, lms="moodle")
    assert not forced.submissions
    assert "does not follow Moodle's download naming" in by_status(forced, "unmapped")[
        "smithjane_101_1001_gru_cell.ipynb"]
    with pytest.raises(CollectError, match="cannot be used with --lms canvas"):
        collect(course, canvas, lms="canvas", regexp=regexp)
    with pytest.raises(CollectError, match="unknown LMS"):
        collect(course, canvas, lms="sakai")
    tie = zip_of(tmp_path / "tie.zip", {
        "smithjane_101_1001_gru_cell.ipynb": solution,
        "Ann Roe_7_assignsubmission_file_/gru_cell.ipynb": solution})
    with pytest.raises(CollectError, match="say which with --lms"):
        collect(course, tie)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CollectError, match="could not unpack"):
        collect(course, broken)


@pytest.mark.parametrize(("filename", "notebook", "how"), [
    ("gru_cell.ipynb", NOTEBOOK, "exact"),
    ("gru_cell-1.ipynb", NOTEBOOK, "name"),                     # Canvas re-upload
    ("gru_cell-6f9619ff-8b86-4d01-b42d-00cf4fc964ff.ipynb", NOTEBOOK, "name"),  # Canvas, 8th
    ("gru_cell (3).ipynb", NOTEBOOK, "name"),                   # browser download copy
    ("GRU-Cell copy.ipynb", NOTEBOOK, "name"),                  # file manager copy
    ("Copy of gru_cell-2.ipynb", NOTEBOOK, "name"),
    ("lstm_cell.ipynb", None, None),
    ("gru_cell.ipynb.txt", None, None),
])
def test_notebook_names(filename: str, notebook: str | None, how: str | None) -> None:
    match = lms.match_by_name(filename, [NOTEBOOK, "extra-1.ipynb"])
    if notebook is None:
        assert match is None
    else:
        assert match is not None and (match.notebook, match.how) == (notebook, how)
    assert lms.match_by_name("extra-1.ipynb", [NOTEBOOK, "extra-1.ipynb"]).how == "exact"


def test_roster_keeps_ids_across_downloads(tmp_path: Path) -> None:
    roster = Roster()
    first = roster.assign([Identity("canvas", "101", "smithjane"),
                           Identity("canvas", "202", "smithjane"),
                           Identity("moodle", "11", "Jane Smith"),
                           Identity("moodle", "12", "John Lee"),
                           Identity("moodle", "13", "John Lee")], "a1")
    assert first[Identity("canvas", "101", "smithjane")] == "smithjane"
    assert first[Identity("canvas", "202", "smithjane")] == "smithjane-202"  # another person
    assert first[Identity("moodle", "11", "Jane Smith")] == "jane-smith"
    assert {first[Identity("moodle", "12", "John Lee")],
            first[Identity("moodle", "13", "John Lee")]} == {"john-lee", "john-lee-13"}
    roster.entries[0].extra["section"] = "L2"  # a column the instructor added
    roster.save(tmp_path / lms.ROSTER_FILE)

    again = Roster.load(tmp_path / lms.ROSTER_FILE)
    assert {(e.student_id, e.lms, e.lms_user_id, e.assignment) for e in again.entries} == \
        {(e.student_id, e.lms, e.lms_user_id, e.assignment) for e in roster.entries}
    assert any(e.extra.get("section") == "L2" for e in again.entries)
    # Moodle's participant ids change per assignment: the name carries the student over,
    # unless two students of the class share it
    second = again.assign([Identity("moodle", "91", "Jane Smith"),
                           Identity("moodle", "92", "John Lee"),
                           Identity("canvas", "101", "Jane Smith")], "a2")
    assert second[Identity("moodle", "91", "Jane Smith")] == "jane-smith"
    assert second[Identity("moodle", "92", "John Lee")] not in ("john-lee", "john-lee-13")
    assert second[Identity("canvas", "101", "Jane Smith")] == "smithjane"
    assert again.find("moodle", "jane-smith", "a2") == RosterEntry(
        "jane-smith", "moodle", "91", "Jane Smith", "a2")


def test_detect_counts_each_format() -> None:
    kind, counts = lms.detect(["x/smithjane_1_2_a.ipynb", "x/doejohn_LATE_3_4_a.ipynb",
                               "x/readme.txt", "__MACOSX/._x"])
    assert (kind, counts) == ("canvas", {"canvas": 2, "moodle": 0, "blackboard": 0})
    assert lms.detect(["cara_gru_cell.ipynb"])[0] is None


def test_cli_lms_needs_zip(course: Path) -> None:
    result = CliRunner().invoke(app, ["grade", ASSIGNMENT, "--course", str(course),
                                      "--lms", "canvas"])
    assert result.exit_code == 1 and "--lms describes a --zip download" in result.stderr


# --- end to end: grade one archive per LMS, export back -------------------------------------------


@pytest.mark.slow
def test_each_lms_download_grades_and_exports(course: Path, solution: bytes,
                                              tmp_path: Path) -> None:
    """The correct solution from each LMS scores full marks; late ones pay nbgrader's penalty."""
    moodle = zip_of(tmp_path / "moodle.zip", {
        "Ann Roe_501_assignsubmission_file_/gru_cell (1).ipynb": solution})
    blackboard = zip_of(tmp_path / "blackboard.zip", {  # 13:00 UTC: one hour late
        "GRU cell_kimlee_attempt_2026-12-01-13-00-00_gru_cell.ipynb": solution})
    canvas = zip_of(tmp_path / "canvas.zip", {"doejohn_LATE_102_1002_gru_cell-1.ipynb": solution,
                                              "zhaoli_106_1008_notes.ipynb": FOREIGN})
    for archive in (moodle, blackboard):
        collect(course, archive)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(app, ["grade", ASSIGNMENT, "--course", str(course), "--zip",
                                          str(canvas), "--jobs", "2", "--quiet", "--no-feedback"])
    assert result.exit_code == 0, result.output
    assert "canvas download" in result.stdout and "zhaoli" in result.stdout
    assert re.search(r"gru_cell: 3 graded, 0 failed", result.stdout), result.stdout

    with scripts_on_path(), Gradebook(f"sqlite:///{course / 'gradebook.db'}",
                                      "rnn-course") as gb:
        top = gb.find_assignment(ASSIGNMENT).max_score
        got = {s.student.id: (s.score, s.late_submission_penalty, s.timestamp)
               for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert top > 0
    assert got == {
        "ann-roe": (top, 0.0, None),
        "kimlee": (top, top, dt.datetime(2026, 12, 1, 13)),
        "doejohn": (top, top, DUE + dt.timedelta(seconds=1)),
    }

    out = tmp_path / "exports"
    for fmt, name in (("canvas", "canvas.csv"), ("moodle", "moodle.csv"), ("csv", "all.csv")):
        exported = CliRunner().invoke(app, ["export", ASSIGNMENT, "--format", fmt, "--course",
                                            str(course), "--out", str(out / name)])
        assert exported.exit_code == 0, exported.output
    points = f"{top:.2f}"
    assert (out / "canvas.csv").read_text(encoding="utf-8").splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,gru_cell",
        f"    Points Possible,,,,,{points}",
        "doejohn,102,,,,0.00",  # late: nbgrader's zero penalty
        "zhaoli,106,,,,",       # nothing mapped, nothing scored: blank
    ]
    moodle_rows = (out / "moodle.csv").read_text(encoding="utf-8").splitlines()
    assert moodle_rows[0] == "Identifier,Full name,Grade,Maximum grade,Last modified (grade)"
    assert moodle_rows[1].startswith(f"Participant 501,Ann Roe,{points},{points},")
    assert len(moodle_rows) == 2
    assert "kimlee,kimlee,blackboard,kimlee,0.00" in (out / "all.csv").read_text(
        encoding="utf-8").splitlines()
