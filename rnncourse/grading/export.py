"""Grade files an LMS imports, read from the nbgrader gradebook (``rnncourse export``).

Scores come from nbgrader's :class:`~nbgrader.api.Gradebook` (manual scores where a grader
set one) with nbgrader's late penalty subtracted, never below 0, exactly as nbgrader's own
CSV export computes ``score``. Students are put on their LMS rows with the mapping file
``lms-students.csv`` that collecting an LMS download writes (:class:`~.lms.Roster`).

What is written where a grade is not final, and why:

- a submission whose written answers still await manual grading: **blank** (an autograded
  part would look like a final grade);
- no graded submission (nothing submitted, a submission that failed to grade, a file that
  could not be mapped when collected): **blank**, or ``0`` with ``missing_as_zero``; both
  LMSs leave a blank cell unchanged, so an import never erases a grade entered there.

Every such cell is listed, with its reason, in :attr:`ExportResult.problems` (the CLI prints
them on stderr), as are students of the gradebook who have no id for the chosen LMS.

Formats
-------
``canvas``
    Canvas's gradebook import CSV (Grades, Import). First row ``Student, ID, SIS User ID,
    SIS Login ID, Section`` then one column per assignment; second row ``Points Possible``
    (written, as Canvas's own export does, with four leading spaces) and each assignment's
    points; then one row per student. Canvas finds the student by ``ID`` (the Canvas user
    id), else by SIS ids, else by name; an assignment column by ``Title (id)`` or by its
    title, and creates a new assignment with the given points otherwise (``titles`` sets the
    column titles). Scores have two decimals, as in Canvas's export. Sources:
    https://github.com/instructure/canvas-lms/blob/master/lib/gradebook_importer.rb
    (``row_has_student_headers?``, ``update_column_count``, ``check_for_non_student_row``,
    ``process_student``), .../lib/gradebook_exporter.rb (the same header and row written by
    Canvas's export) and
    https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades
    (the required columns).
``moodle``
    The assignment's offline grading worksheet (Assignment, "Upload grading worksheet";
    feedback type "Offline grading worksheet"), one file per assignment. Moodle reads the
    columns by their header: ``Identifier`` (``Participant <id>``, the participant id the
    download's folder names carry), ``Grade`` and ``Last modified (grade)`` (a grade changed
    in Moodle after this time is not overwritten); ``Full name`` and ``Maximum grade`` are
    there for the reader. A grade above the Moodle assignment's maximum grade is skipped, so
    set that maximum to the points shown. Moodle's gradebook CSV import would instead need a
    Moodle user id, username, ID number or email for every row, none of which a download
    carries. Sources: ``mod/assign/feedback/offline/importgradeslib.php`` and ``locallib.php``
    (``process_import_grades``), ``mod/assign/gradingtable.php`` (the worksheet's columns)
    and ``mod/assign/lang/en/assign.php`` (``recordid`` = "Identifier", ``hiddenuser`` =
    "Participant ", ``lastmodifiedgrade``) in https://github.com/moodle/moodle, and
    https://docs.moodle.org/311/en/Grade_import (the gradebook import's "Map from" / "Map to"
    user fields).
``csv``
    One row per student: ``student_id, display_name, lms, lms_user_id`` and one column per
    assignment, after a ``max`` row with each assignment's points (as ``questions.csv``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from rnncourse.grading.lms import ROSTER_FILE, Roster, RosterEntry

FORMATS: tuple[str, ...] = ("canvas", "moodle", "csv")
CANVAS_HEADER: tuple[str, ...] = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"
MOODLE_HEADER: tuple[str, ...] = ("Identifier", "Full name", "Grade", "Maximum grade",
                                  "Last modified (grade)")
MOODLE_PARTICIPANT = "Participant "


class ExportError(RuntimeError):
    """The export cannot be written; the message says why."""


@dataclass(frozen=True)
class Score:
    """One student's result for one assignment.

    ``status`` is ``graded`` (``points`` after the late penalty), ``pending`` (answers await
    manual grading) or ``missing`` (no graded submission; ``why`` says what is known).
    """

    status: str
    points: float | None = None
    raw: float | None = None
    penalty: float = 0.0
    why: str = ""


@dataclass
class ExportResult:
    """What :func:`export_grades` wrote.

    ``problems`` lists every cell that is not a final grade and every student left out, with
    the reason; ``notes`` lists the late penalties applied.
    """

    format: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    graded: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def course_config(course_dir: Path) -> Config:
    """The course's nbgrader configuration: its ``nbgrader_config.py`` only."""
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (Path(course_dir) / "nbgrader_config.py").is_file():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config())
    config.CourseDirectory.root = str(course_dir)
    return config


def _points(value: float) -> str:
    return f"{value:.2f}"


def _safe(text: str) -> str:
    """Keep a spreadsheet from reading a name as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def read_scores(gb, assignment: str, students: Iterable[str]) -> dict[str, Score]:
    """``{student: Score}`` for ``students`` (see :class:`Score`)."""
    from nbgrader.api import MissingEntry

    scores = {}
    for student in students:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            scores[student] = Score("missing")
            continue
        if submission.needs_manual_grade:
            scores[student] = Score("pending", raw=float(submission.score))
            continue
        raw = float(submission.score)
        penalty = float(submission.late_submission_penalty or 0.0)
        scores[student] = Score("graded", max(0.0, raw - penalty), raw, penalty)
    return scores


def _why_missing(course: Path, coursedir, assignment: str, student: str,
                 unmapped: set[str]) -> str:
    if student in unmapped:
        return "a file of theirs could not be mapped when the download was collected"
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    if submitted.is_dir():
        return "submitted, but not graded (not graded yet, or grading failed)"
    return "no submission"


def _unmapped_students(course: Path, config: Config, assignment: str) -> set[str]:
    downloaded = config.get("ZipCollectApp", {}).get("downloaded_directory", "downloaded")
    report = course / downloaded / assignment / "collect-report.csv"
    if not report.exists():
        return set()
    with open(report, newline="", encoding="utf-8") as handle:
        return {row["student"] for row in csv.DictReader(handle)
                if row.get("status") == "unmapped" and row.get("student")}


@dataclass(frozen=True)
class _Column:
    assignment: str
    title: str
    max_score: float
    scores: dict[str, Score]


def export_grades(
    course_dir: Path,
    assignments: Sequence[str],
    fmt: str,
    out: Path | None = None,
    *,
    db_url: str | None = None,
    config: Config | None = None,
    missing_as_zero: bool = False,
    titles: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
) -> ExportResult:
    """Write the grades of ``assignments`` in format ``fmt``; see the module docstring.

    Args:
        course_dir: nbgrader's course directory (holds ``lms-students.csv``).
        assignments: the assignments to export, in column order.
        fmt: ``canvas``, ``moodle`` or ``csv``.
        out: the file to write (``moodle`` with several assignments: a folder); default
            ``grading-report/<fmt>-grades.csv`` or, for ``moodle``,
            ``grading-report/<assignment>-moodle-worksheet.csv``.
        db_url: the gradebook (default: the course's).
        config: the course's nbgrader configuration (default: its ``nbgrader_config.py``).
        missing_as_zero: write 0 instead of a blank for students without a graded submission.
        titles: column titles for Canvas and csv, ``{assignment: title}`` (default: the name).
        now: the time written as Moodle's ``Last modified (grade)`` (default: now, UTC).
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    from rnncourse.grading.template import scripts_on_path

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not assignments:
        raise ExportError("name at least one assignment")
    course = Path(course_dir).resolve()
    cfg = Config(config) if config is not None else course_config(course)
    cfg.CourseDirectory.root = str(course)
    if db_url:
        cfg.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=cfg)
    roster = Roster.load(course / ROSTER_FILE)
    titles = dict(titles or {})
    unknown = sorted(set(titles) - set(assignments))
    if unknown:
        raise ExportError(f"--title names assignment(s) not exported: {', '.join(unknown)}")
    result = ExportResult(fmt)
    columns: list[_Column] = []
    with scripts_on_path(), Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        gradebook_students = sorted(s.id for s in gb.students)
        everyone = sorted(set(gradebook_students) | roster.student_ids())
        for name in assignments:
            try:
                found = gb.find_assignment(name)
            except MissingEntry as exc:
                raise ExportError(f"assignment {name!r} is not in the gradebook "
                                  f"{coursedir.db_url}") from exc
            columns.append(_Column(name, titles.get(name, name), float(found.max_score),
                                   read_scores(gb, name, everyone)))
            with_submission = {s.student.id for s in found.submissions}
            for student in sorted(with_submission - _lms_students(roster, fmt, name)):
                if fmt != "csv":
                    result.problems.append(
                        f"{name}: {student} has a submission in the gradebook but no "
                        f"{fmt.capitalize()} id in {ROSTER_FILE}: not exported")
    for column in columns:
        unmapped = _unmapped_students(course, cfg, column.assignment)
        for student, score in column.scores.items():
            if score.status == "missing":
                column.scores[student] = Score(
                    "missing", why=_why_missing(course, coursedir, column.assignment, student,
                                                unmapped))
    default_dir = course / "grading-report"
    if fmt == "moodle":
        _write_moodle(result, roster, columns, out, default_dir, missing_as_zero,
                      now or dt.datetime.now(dt.UTC))
    else:
        path = Path(out) if out else default_dir / f"{fmt}-grades.csv"
        rows = _canvas_rows(roster, result) if fmt == "canvas" else _csv_rows(roster, everyone)
        _write_table(result, fmt, path, rows, columns, missing_as_zero)
    return result


def _lms_students(roster: Roster, fmt: str, assignment: str) -> set[str]:
    if fmt == "canvas":
        return {e.student_id for e in roster.entries if e.lms == "canvas"}
    if fmt == "moodle":
        return {e.student_id for e in roster.entries
                if e.lms == "moodle" and e.assignment == assignment}
    return set()


def _canvas_rows(roster: Roster, result: ExportResult) -> list[tuple[str, RosterEntry]]:
    rows: dict[str, RosterEntry] = {}
    for entry in roster.entries:
        if entry.lms != "canvas":
            continue
        if entry.student_id in rows:
            result.problems.append(f"{entry.student_id} has two Canvas ids in {ROSTER_FILE} "
                                   f"({rows[entry.student_id].lms_user_id}, "
                                   f"{entry.lms_user_id}): the first is used")
            continue
        rows[entry.student_id] = entry
    return sorted(rows.items(), key=lambda item: (item[1].display_name, item[0]))


def _csv_rows(roster: Roster, students: Iterable[str]) -> list[tuple[str, RosterEntry]]:
    rows = []
    for student in students:
        entries = [e for e in roster.entries if e.student_id == student]
        entry = next((e for e in entries if not e.assignment), entries[0] if entries else None)
        rows.append((student, entry or RosterEntry(student, "", "")))
    return rows


def _cell(result: ExportResult, column: _Column, student: str, missing_as_zero: bool) -> str:
    score = column.scores.get(student, Score("missing", why="no submission"))
    label = f"{column.assignment}: {student}"
    if score.status == "graded":
        result.graded += 1
        if score.penalty:
            result.notes.append(f"{label} late: {_points(score.raw or 0.0)} minus late "
                                   f"penalty {_points(score.penalty)} = "
                                   f"{_points(score.points or 0.0)}")
        return _points(score.points or 0.0)
    if score.status == "pending":
        result.problems.append(f"{label} awaits manual grading (autograded part "
                               f"{_points(score.raw or 0.0)}): left blank")
        return ""
    written = "written as 0" if missing_as_zero else "left blank"
    result.problems.append(f"{label} has no graded submission ({score.why}): {written}")
    return _points(0.0) if missing_as_zero else ""


def _write_table(result: ExportResult, fmt: str, path: Path,
                 rows: list[tuple[str, RosterEntry]], columns: list[_Column],
                 missing_as_zero: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if fmt == "canvas":
            writer.writerow([*CANVAS_HEADER, *(c.title for c in columns)])
            writer.writerow([CANVAS_POINTS_POSSIBLE, "", "", "", "",
                             *(_points(c.max_score) for c in columns)])
        else:
            writer.writerow(["student_id", "display_name", "lms", "lms_user_id",
                             *(c.title for c in columns)])
            writer.writerow(["max", "", "", "", *(_points(c.max_score) for c in columns)])
        for student, entry in rows:
            cells = [_cell(result, c, student, missing_as_zero) for c in columns]
            if fmt == "canvas":
                writer.writerow([_safe(entry.display_name or student), entry.lms_user_id,
                                 entry.extra.get("sis_user_id", ""),
                                 entry.extra.get("sis_login_id", ""),
                                 entry.extra.get("section", ""), *cells])
            else:
                writer.writerow([student, _safe(entry.display_name), entry.lms,
                                 entry.lms_user_id, *cells])
            result.rows += 1
    result.files.append(path)


def _write_moodle(result: ExportResult, roster: Roster, columns: list[_Column],
                  out: Path | None, default_dir: Path, missing_as_zero: bool,
                  now: dt.datetime) -> None:
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for column in columns:
        name = f"{column.assignment}-moodle-worksheet.csv"
        if out is None:
            path = default_dir / name
        elif len(columns) == 1 and Path(out).suffix:
            path = Path(out)
        else:
            path = Path(out) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = sorted((e for e in roster.entries
                          if e.lms == "moodle" and e.assignment == column.assignment),
                         key=lambda e: (e.display_name, e.student_id))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(MOODLE_HEADER)
            for entry in entries:
                cell = _cell(result, column, entry.student_id, missing_as_zero)
                writer.writerow([f"{MOODLE_PARTICIPANT}{entry.lms_user_id}",
                                 _safe(entry.display_name), cell, _points(column.max_score),
                                 stamp])
                result.rows += 1
        result.files.append(path)
