"""Find the submissions to grade: a ``submitted/`` folder, an LMS zip, or nbgrader's exchange.

All three end as nbgrader's layout ``<submitted>/<student>/<assignment>/`` (with an optional
``timestamp.txt``), which :func:`from_folder` lists:

- a folder already in that layout (``nbgrader collect`` output, or copied by hand);
- an LMS download (:func:`collect_lms`): nbgrader's own ``ZipCollectApp`` extractor unpacks
  the archive (and any archive inside it) under ``downloaded/<assignment>/extracted/``; the
  download format (Canvas, Moodle, Blackboard, see :mod:`rnncourse.grading.lms`) is recognised
  from the file names, or a regular expression maps them (nbgrader's
  ``FileNameCollectorPlugin``, ``--lms generic`` / ``--regexp``). Each file is mapped to the
  student and to one of the assignment's notebooks (LMS prefixes and resubmission suffixes
  removed; a renamed notebook is recognised by its nbgrader cell ids); per student and
  notebook the latest attempt is copied to ``submitted/<student>/<assignment>/`` with the
  LMS's submission time or late marker as nbgrader's ``timestamp.txt``. Everything else (older
  attempts, files that map to no notebook, files that are not notebooks) is listed with the
  reason in the returned :class:`CollectReport`, never silently dropped or scored 0;
- nbgrader's exchange: nbgrader's ``ExchangeCollect`` copies the latest submission of every
  student from the exchange's inbound folder.

nbgrader's ``ZipCollectApp`` still unpacks the archive, but no longer chooses the files: its
collector plugin returns one ``(student, file, timestamp)`` per file name, settles duplicates
only by timestamp (and aborts the whole collection when there is none, as in a Canvas or
Moodle download), cannot look inside a file, and has no way to report what it skipped.

:func:`read_files` reads one submission into memory for the worker (regular files only:
symbolic links are skipped so a submission cannot smuggle in a link to the gradebook).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from traitlets.config import Config

from rnncourse.grading.lms import (
    ALL_KINDS,
    PARSERS,
    ROSTER_FILE,
    Identity,
    NotebookMatch,
    ParsedFile,
    Receipt,
    Roster,
    blackboard_key,
    detect,
    is_system_file,
    local_to_utc,
    match_by_content,
    match_by_name,
    notebook_grade_ids,
    parse_blackboard_receipt,
)

#: Flat files ``<student>_<notebook>.ipynb`` (the student id has no ``_``).
DEFAULT_REGEXP = r".*/(?P<student_id>[^/_]+)_(?P<file_id>[^/]+\.ipynb)$"
#: One folder per student: ``<student>/<notebook>.ipynb``. Pass your LMS's own pattern with
#: ``regexp=`` (``--regexp``); nbgrader matches it against the whole extracted path.
FOLDER_REGEXP = r".*/(?P<student_id>[^/]+)/(?P<file_id>[^/]+\.ipynb)$"
#: Largest submission read into a task (all files together).
MAX_SUBMISSION_BYTES = 64 * 1024**2
_SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class CollectError(RuntimeError):
    """Collecting submissions failed; the message says why."""


@dataclass(frozen=True)
class Submission:
    """One student's submission of one assignment (a folder)."""

    student: str
    assignment: str
    path: Path


def from_folder(
    submitted: Path, assignment: str, students: Iterable[str] | None = None
) -> list[Submission]:
    """The submissions in ``submitted/<student>/<assignment>/``, sorted by student id."""
    submitted = Path(submitted)
    if not submitted.is_dir():
        raise CollectError(f"no submissions folder {submitted}")
    wanted = set(students) if students else None
    found = []
    for student_dir in sorted(submitted.iterdir()):
        if student_dir.name.startswith(".") or not (student_dir / assignment).is_dir():
            continue
        if wanted is not None and student_dir.name not in wanted:
            continue
        if not _STUDENT_ID.match(student_dir.name):
            raise CollectError(f"unusable student id {student_dir.name!r} in {submitted}")
        found.append(Submission(student_dir.name, assignment, student_dir / assignment))
    return found


def read_files(path: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> dict[str, bytes]:
    """``{relative path: content}`` of the regular files under ``path`` (links skipped)."""
    files: dict[str, bytes] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            total += full.stat().st_size
            if total > max_bytes:
                raise CollectError(f"submission larger than {max_bytes} bytes")
            files[full.relative_to(path).as_posix()] = full.read_bytes()
    return files


def digest(files: dict[str, bytes]) -> str:
    """A digest of a submission's files (names and contents)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class FileOutcome:
    """What collecting did with one file of a download.

    ``status`` is ``graded`` (copied as ``notebook`` of ``student``), ``other attempt`` (a
    notebook of the student that another, later file replaces), ``unmapped`` (a notebook that
    could not be given to a student or to one of the assignment's notebooks) or ``ignored``
    (not a notebook: documents, text entries, receipts, archives already unpacked, files an
    operating system adds). ``reason`` says why in words.
    """

    path: str
    status: str
    reason: str = ""
    student: str = ""
    notebook: str = ""


@dataclass(frozen=True)
class CollectedSubmission:
    """One student's collected submission: ``{notebook: path in the download}`` and its time.

    ``timestamp`` is naive UTC (nbgrader's convention) or ``None``; ``timestamp_source`` says
    where it came from (the attempt time, Canvas's ``LATE`` marker, a regular expression).
    """

    student: str
    identity: Identity | None
    notebooks: dict[str, str]
    timestamp: dt.datetime | None = None
    timestamp_source: str = ""


@dataclass
class CollectReport:
    """The outcome of :func:`collect_lms`, for the runner to print and keep.

    Attributes:
        assignment: the assignment collected.
        archive: the download that was collected.
        lms: the download format used (``canvas``, ``moodle``, ``blackboard``, ``generic``).
        detected: whether ``lms`` was recognised from the names (not forced).
        matches: per format, how many files its naming matched.
        submitted: nbgrader's submitted folder the submissions were copied to.
        submissions: the collected submissions, by student id.
        files: every file of the download with what happened to it.
        warnings: things the instructor must know (no due date for a late marker, ...).
        roster: the mapping file written (``None`` for the generic format).
        written: the report files (``collect-report.md``, ``collect-report.csv``).
    """

    assignment: str
    archive: Path
    lms: str
    detected: bool
    matches: dict[str, int]
    submitted: Path
    submissions: dict[str, CollectedSubmission] = field(default_factory=dict)
    files: list[FileOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roster: Path | None = None
    written: dict[str, Path] = field(default_factory=dict)

    def with_status(self, status: str) -> list[FileOutcome]:
        """The files collected with ``status`` (see :class:`FileOutcome`)."""
        return [f for f in self.files if f.status == status]

    def lines(self) -> list[str]:
        """The report in words, one line each (what ``rnncourse grade`` prints)."""
        how = ("recognised from the file names: "
               + ", ".join(f"{k} {v}" for k, v in self.matches.items() if v)
               if self.detected else "as asked")
        timed = sum(1 for s in self.submissions.values() if s.timestamp is not None)
        out = [f"collected {self.assignment} from {self.archive.name}: {self.lms} download "
               f"({how}); {len(self.submissions)} students, "
               f"{sum(len(s.notebooks) for s in self.submissions.values())} notebooks, "
               f"{timed} with a submission time"]
        renamed = [f for f in self.with_status("graded") if f.reason != "latest"]
        if renamed:
            out.append(f"  graded under the assignment's notebook name ({len(renamed)}):")
            out += [f"    {f.path} [{f.student}] -> {f.notebook}: {f.reason}" for f in renamed]
        labels = {"other attempt": "not graded, replaced by a later file",
                  "unmapped": "NOT GRADED, could not be mapped",
                  "ignored": "ignored"}
        for status, label in labels.items():
            items = self.with_status(status)
            if items:
                out.append(f"  {label} ({len(items)}):")
                out += [f"    {f.path}" + (f" [{f.student}]" if f.student else "")
                        + f": {f.reason}" for f in items]
        out += [f"  warning: {w}" for w in self.warnings]
        if self.roster is not None:
            out.append(f"  mapping file: {self.roster}")
        return out

    def write(self, folder: Path) -> dict[str, Path]:
        """Write ``collect-report.md`` and ``collect-report.csv`` (one row per file)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        md = folder / "collect-report.md"
        md.write_text("\n".join(["# Collect report", "", "```", *self.lines(), "```", ""]),
                      encoding="utf-8")
        table = folder / "collect-report.csv"
        with open(table, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "status", "student", "notebook", "reason"])
            for f in self.files:
                writer.writerow([f.path, f.status, f.student, f.notebook, f.reason])
        self.written = {"markdown": md, "csv": table}
        return self.written


@dataclass(frozen=True)
class _Layout:
    """The assignment's notebooks (``name.ipynb``), their cells' grade ids and the due date."""

    notebooks: dict[str, set[str]]
    duedate: dt.datetime | None


@dataclass(frozen=True)
class _Candidate:
    parsed: ParsedFile
    match: NotebookMatch
    timestamp: dt.datetime | None = None  # from a --regexp timestamp group

    def key(self) -> tuple:
        """Later attempts, then name over content matches, then later uploads, then exact."""
        when = self.parsed.attempt or self.timestamp or dt.datetime.min
        return (when, self.match.rank, self.parsed.order, self.match.how == "exact",
                self.parsed.path)


def _assignment_layout(config: Config, assignment: str) -> _Layout:
    """Read the notebooks from the gradebook, or from the released assignment when it has none."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    from rnncourse.grading.template import scripts_on_path

    coursedir = CourseDirectory(config=config)
    db_url = coursedir.db_url
    local = db_url.startswith("sqlite:///")
    if not local or Path(db_url[len("sqlite:///"):]).exists():
        with scripts_on_path(), Gradebook(db_url, coursedir.course_id) as gb:
            try:
                found = gb.find_assignment(assignment)
            except MissingEntry:
                found = None
            if found is not None and found.notebooks:
                return _Layout({f"{nb.name}.ipynb": {c.name for c in nb.source_cells}
                                for nb in found.notebooks}, found.duedate)
    release = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
    notebooks = {p.name: notebook_grade_ids(p.read_bytes()) or set()
                 for p in sorted(release.glob("*.ipynb"))}
    if not notebooks:
        raise CollectError(f"assignment {assignment!r} is neither in the gradebook ({db_url}) "
                           f"nor released in {release}: its notebooks are unknown")
    return _Layout(notebooks, None)


def _extract(course_dir: Path, assignment: str, archive: Path, config: Config) -> Path:
    """Unpack ``archive`` with nbgrader's extractor; return the extracted folder."""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory
    from setuptools.archive_util import UnrecognizedFormat  # what nbgrader's unzip raises

    cfg = Config(config)
    cfg.ZipCollectApp.force = True
    cfg.ExtractorPlugin.force = True
    app = ZipCollectApp(config=cfg)
    app.coursedir = CourseDirectory(config=cfg)
    app.coursedir.assignment_id = assignment
    archive_dir = Path(app._format_collect_path(app.archive_directory))
    if archive_dir.exists():
        shutil.rmtree(archive_dir)
    archive_dir.mkdir(parents=True)
    shutil.copy2(archive, archive_dir / archive.name)
    try:
        app.init_plugins()
        app.extract_archive_files()
    except SystemExit as exc:  # ZipCollectApp.fail() logs and exits
        raise CollectError(f"nbgrader could not unpack {archive} (see the log above)") from exc
    except (OSError, ValueError, UnrecognizedFormat) as exc:
        raise CollectError(f"nbgrader could not unpack {archive}: {exc}") from exc
    return Path(app._format_collect_path(app.extracted_directory))


def _regular_files(root: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_file() and not full.is_symlink():
                found.append(full.relative_to(root).as_posix())
    return found


def _resolve_kind(lms: str, regexp: str | None, paths: list[str]) -> tuple[str, bool,
                                                                           dict[str, int]]:
    if lms not in ("auto", *ALL_KINDS):
        raise CollectError(f"unknown LMS {lms!r}; use one of auto, {', '.join(ALL_KINDS)}")
    if regexp and regexp != DEFAULT_REGEXP and lms not in ("auto", "generic"):
        raise CollectError(f"--regexp describes the generic format; it cannot be used with "
                           f"--lms {lms}")
    kind, counts = detect(paths)
    if lms != "auto":
        return lms, False, counts
    if regexp and regexp != DEFAULT_REGEXP:
        return "generic", False, counts
    if kind is None and max(counts.values()) > 0:
        raise CollectError("the file names fit several LMS formats equally well ("
                           + ", ".join(f"{k} {v}" for k, v in counts.items())
                           + "): say which with --lms")
    return (kind or "generic"), kind is not None, counts


def _timezone(config: Config, timezone: str | None) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if timezone is None:
        timezone = config.get("Exchange", {}).get("timezone", "UTC")
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CollectError(f"unknown time zone {timezone!r}") from exc
    return str(timezone)


def _nbgrader_timestamp(moment: dt.datetime) -> str:
    """nbgrader's timestamp format (its exchange's ``timestamp_format``), in UTC."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def collect_lms(
    course_dir: Path,
    assignment: str,
    archive: Path,
    *,
    lms: str = "auto",
    regexp: str | None = None,
    config: Config | None = None,
    timezone: str | None = None,
) -> CollectReport:
    """Collect an LMS download into ``course_dir``'s submitted folder; see the module docstring.

    Args:
        course_dir: nbgrader's course directory.
        assignment: the assignment the download belongs to.
        archive: the download (a zip, a tar.gz, or a single notebook).
        lms: ``auto`` (recognise the format from the names), ``canvas``, ``moodle``,
            ``blackboard`` or ``generic`` (``regexp``).
        regexp: for ``generic``: nbgrader's ``named_regexp`` with ``(?P<student_id>...)`` and
            ``(?P<file_id>...)`` (and optionally ``(?P<timestamp>...)``), matched against the
            whole extracted path; a ``regexp`` other than :data:`DEFAULT_REGEXP` implies
            ``generic``.
        config: the course's nbgrader configuration (course id, gradebook, folders).
        timezone: the LMS server's time zone for attempt times without one (Blackboard);
            default ``c.Exchange.timezone`` of the course configuration, else UTC.

    Returns:
        A :class:`CollectReport`; it is also written to ``downloaded/<assignment>/``.
    """
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    archive = Path(archive)
    if not archive.is_file():
        raise CollectError(f"no archive {archive}")
    cfg = Config(config or {})
    cfg.CourseDirectory.root = str(course_dir)
    zone = _timezone(cfg, timezone)
    layout = _assignment_layout(cfg, assignment)
    extracted = _extract(course_dir, assignment, archive, cfg)
    paths = _regular_files(extracted)
    kind, detected, counts = _resolve_kind(lms, regexp, paths)
    coursedir = CourseDirectory(config=cfg)
    report = CollectReport(assignment, archive, kind, detected, counts,
                           Path(coursedir.format_path(coursedir.submitted_directory, ".",
                                                      ".")).resolve())

    parsed, receipts = _parse_all(kind, paths, extracted, regexp or DEFAULT_REGEXP, report)
    parsed = [_with_receipt(p, receipts) for p in parsed]
    roster_path = course_dir / ROSTER_FILE
    roster = Roster.load(roster_path) if kind != "generic" else Roster()
    if kind == "generic":
        ids = {p.identity: p.identity.user_id for p, _ in parsed}
    else:
        ids = roster.assign({p.identity for p, _ in parsed}, assignment)
    candidates: dict[str, list[_Candidate]] = {}
    for item, stamp in parsed:
        student = ids[item.identity]
        if not _STUDENT_ID.match(student):
            report.files.append(FileOutcome(item.path, "unmapped", f"student id {student!r} "
                                            "is not usable as an nbgrader id", student))
            continue
        outcome = _map_notebook(item, extracted, layout)
        if isinstance(outcome, str):
            status = "ignored" if not item.filename.lower().endswith(".ipynb") else "unmapped"
            report.files.append(FileOutcome(item.path, status, outcome, student))
            continue
        candidates.setdefault(student, []).append(_Candidate(item, outcome, stamp))

    for student, items in sorted(candidates.items()):
        report.submissions[student] = _choose(student, items, kind, layout, zone, report)
    for student in sorted(set(ids.values()) - set(report.submissions)):
        earlier = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        if _STUDENT_ID.match(student) and earlier.is_dir():
            report.warnings.append(f"{student}: nothing in this download is a notebook of "
                                   f"{assignment}; the submission collected earlier in "
                                   f"{earlier} is kept and will be graded")
    _transfer(report, extracted, coursedir, assignment)
    if kind != "generic":
        report.roster = roster.save(roster_path)
    if kind == "moodle" and report.submissions:
        report.warnings.append("a Moodle download holds no submission times: no timestamps "
                               "were written, so nbgrader applies no late penalty")
    report.files.sort(key=lambda f: (f.status != "graded", f.path))
    report.write(extracted.parent)
    return report


def _parse_all(kind: str, paths: list[str], extracted: Path, regexp: str,
               report: CollectReport) -> tuple[list[tuple[ParsedFile, dt.datetime | None]],
                                               dict[str, Receipt]]:
    """Parse every path with the format's naming; receipts apart; the rest into the report."""
    from nbgrader.plugins import FileNameCollectorPlugin
    from nbgrader.utils import parse_utc

    parsed: list[tuple[ParsedFile, dt.datetime | None]] = []
    receipts: dict[str, Receipt] = {}
    plugin = FileNameCollectorPlugin(named_regexp=regexp) if kind == "generic" else None
    for path in paths:
        if is_system_file(path):
            report.files.append(FileOutcome(path, "ignored", "added by an operating system "
                                            "or Jupyter, not by the student"))
            continue
        if plugin is not None:
            info = plugin.collect(str(extracted / path))
            if info is None:
                status = "unmapped" if path.lower().endswith(".ipynb") else "ignored"
                reason = ("its path does not match the regular expression " + regexp
                          if status == "unmapped" else "not a notebook")
                report.files.append(FileOutcome(path, status, reason))
                continue
            name = " ".join(v for v in (info.get("first_name"), info.get("last_name")) if v)
            stamp = None
            if info.get("timestamp"):
                try:
                    stamp = parse_utc(info["timestamp"])
                except (ValueError, OverflowError):
                    report.warnings.append(f"{path}: unreadable timestamp "
                                           f"{info['timestamp']!r}, ignored")
            parsed.append((ParsedFile(path, Identity("generic", info["student_id"], name),
                                      info["file_id"]), stamp))
            continue
        item = PARSERS[kind](path)
        if item is None:
            notebook = path.lower().endswith(".ipynb")
            report.files.append(FileOutcome(
                path, "unmapped" if notebook else "ignored",
                f"its name does not follow {kind.capitalize()}'s download naming, so its "
                "student is unknown" if notebook else "not a notebook"))
        elif item.receipt:
            text = (extracted / path).read_text(encoding="utf-8", errors="replace")
            receipt = parse_blackboard_receipt(text)
            key = blackboard_key(path)
            if receipt is not None and key is not None:
                receipts[key] = receipt
            report.files.append(FileOutcome(path, "ignored", "Blackboard receipt (read for the "
                                            "student's name and original file names)"))
        else:
            parsed.append((item, None))
    return parsed, receipts


def _with_receipt(item: tuple[ParsedFile, dt.datetime | None],
                  receipts: dict[str, Receipt]) -> tuple[ParsedFile, dt.datetime | None]:
    """Take the username, name and original file name from the attempt's Blackboard receipt."""
    parsed, stamp = item
    key = blackboard_key(parsed.path) if parsed.identity.lms == "blackboard" else None
    receipt = receipts.get(key or "")
    if receipt is None or not receipt.username:
        return item
    filename = parsed.filename
    stored = PurePosixPath(parsed.path).name
    if "/" not in filename and stored in receipt.files:
        filename = receipt.files[stored]
    identity = Identity("blackboard", receipt.username, receipt.name or receipt.username)
    return replace(parsed, identity=identity, filename=filename), stamp


def _map_notebook(item: ParsedFile, extracted: Path, layout: _Layout) -> NotebookMatch | str:
    """The notebook ``item`` is, or the reason it is none (a string)."""
    name = PurePosixPath(item.filename).name
    lower = name.lower()
    if not lower.endswith(".ipynb"):
        if lower.endswith((".zip", ".gz", ".tgz")):
            return "archive: nbgrader unpacked it, its files are listed on their own"
        suffix = PurePosixPath(name).suffix or "no extension"
        return f"not a notebook ({suffix})"
    match = match_by_name(name, list(layout.notebooks))
    if match is not None:
        return match
    content = (extracted / item.path).read_bytes()
    match = match_by_content(content, layout.notebooks)
    if match is not None:
        return match
    expected = ", ".join(sorted(layout.notebooks))
    if notebook_grade_ids(content) is None:
        return (f"{name!r} is not one of the assignment's notebooks ({expected}) and is not "
                "a readable notebook")
    return (f"{name!r} is not one of the assignment's notebooks ({expected}) and its cells "
            "carry none of their nbgrader grade ids")


def _choose(student: str, items: list[_Candidate], kind: str, layout: _Layout, zone: str,
            report: CollectReport) -> CollectedSubmission:
    """The latest file per notebook; the others become ``other attempt`` lines."""
    chosen: dict[str, _Candidate] = {}
    for item in sorted(items, key=_Candidate.key, reverse=True):
        notebook = item.match.notebook
        best = chosen.get(notebook)
        if best is None:
            chosen[notebook] = item
            how = {"exact": "", "name": f" (named {item.parsed.filename!r})",
                   "content": f" (renamed {item.parsed.filename!r}, recognised by its cells)"}
            report.files.append(FileOutcome(item.parsed.path, "graded",
                                            "latest" + how[item.match.how], student, notebook))
            continue
        report.files.append(FileOutcome(item.parsed.path, "other attempt",
                                        _why_not(item, best), student, notebook))
    timestamp, source = _timestamp(list(chosen.values()), kind, layout, zone, student, report)
    identity = next(iter(chosen.values())).parsed.identity
    return CollectedSubmission(student, identity,
                               {nb: c.parsed.path for nb, c in sorted(chosen.items())},
                               timestamp, source)


def _why_not(item: _Candidate, best: _Candidate) -> str:
    if item.parsed.attempt and best.parsed.attempt and item.parsed.attempt < best.parsed.attempt:
        return (f"earlier attempt ({item.parsed.attempt:%Y-%m-%d %H:%M:%S}); the attempt of "
                f"{best.parsed.attempt:%Y-%m-%d %H:%M:%S} is graded")
    if item.timestamp and best.timestamp and item.timestamp < best.timestamp:
        return f"older submission ({item.timestamp}); the one of {best.timestamp} is graded"
    if item.match.rank < best.match.rank:
        return f"a renamed copy of {best.match.notebook}; {best.parsed.path} is graded"
    if item.parsed.order < best.parsed.order:
        return (f"older upload (file id {item.parsed.order} < {best.parsed.order}); "
                f"{best.parsed.path} is graded")
    return f"another copy of {best.match.notebook}; {best.parsed.path} is graded"


def _timestamp(chosen: list[_Candidate], kind: str, layout: _Layout, zone: str, student: str,
               report: CollectReport) -> tuple[dt.datetime | None, str]:
    attempts = [c.parsed.attempt for c in chosen if c.parsed.attempt]
    if attempts:
        return local_to_utc(max(attempts), zone), f"attempt time ({zone})"
    stamps = [c.timestamp for c in chosen if c.timestamp]
    if stamps:
        return max(stamps), "timestamp from the regular expression"
    if kind == "canvas" and any(c.parsed.late for c in chosen):
        if layout.duedate is None:
            report.warnings.append(f"{student}: marked LATE by Canvas, but the assignment has "
                                   "no due date in the gradebook: no late penalty applies")
            return None, ""
        return (layout.duedate + dt.timedelta(seconds=1),
                "Canvas LATE marker: due date + 1 s (Canvas records no submission time)")
    return None, ""


def _transfer(report: CollectReport, extracted: Path, coursedir, assignment: str) -> None:
    """Replace each collected student's submitted folder with the chosen notebooks."""
    for student, submission in report.submissions.items():
        dest = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for notebook, path in submission.notebooks.items():
            shutil.copyfile(extracted / path, dest / notebook)
        if submission.timestamp is not None:
            (dest / "timestamp.txt").write_text(_nbgrader_timestamp(submission.timestamp),
                                                encoding="utf-8")


def collect_zip(
    course_dir: Path,
    assignment: str,
    archive: Path,
    regexp: str = DEFAULT_REGEXP,
    config: Config | None = None,
    lms: str = "auto",
) -> Path:
    """:func:`collect_lms`, returning only the submitted folder (the runner's older entry).

    The report is still written to ``downloaded/<assignment>/collect-report.md``.
    """
    report = collect_lms(course_dir, assignment, archive, lms=lms, regexp=regexp,
                         config=config)
    return report.submitted


def collect_exchange(course_dir: Path, assignment: str, config: Config | None = None) -> Path:
    """Copy the latest submissions from nbgrader's exchange into ``course_dir/submitted``.

    Uses nbgrader's ``ExchangeCollect`` (configure ``Exchange.root`` and
    ``CourseDirectory.course_id`` as for ``nbgrader collect``). Returns the submitted folder.
    """
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    cfg = Config(config or {})
    cfg.CourseDirectory.root = str(course_dir)
    coursedir = CourseDirectory(config=cfg)
    api = NbGraderAPI(coursedir=coursedir, config=cfg)
    result = api.collect(assignment, update=True)
    if not result.get("success"):
        raise CollectError(f"nbgrader collect failed:\n{result.get('log', '')}\n"
                           f"{result.get('error', '')}")
    return course_dir / coursedir.submitted_directory
