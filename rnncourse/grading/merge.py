"""The single writer: merge each worker's result into the course, one submission at a time.

Only the runner's process writes the course gradebook (SQLite by default, any SQLAlchemy URL
such as PostgreSQL), through nbgrader's :class:`~nbgrader.api.Gradebook` API. One
submission is one database transaction (:func:`one_transaction`): either all of its grades
are there or none. Per submission, in this order:

1. ``autograded/<student>/<assignment>/`` and ``feedback/<student>/<assignment>/`` are replaced
   by the new files (written beside, then renamed into place);
2. the gradebook transaction: student, submission (timestamp), per notebook the late penalty
   and the ``flagged`` mark, per graded cell ``auto_score`` and ``needs_manual_grade``, per
   answer cell ``auto_comment``. Manual scores and comments entered in the formgrader are kept
   (a cell with a manual score is marked for review again, as nbgrader does);
3. ``results/<student>.json`` (scores, notes, flags, failure reason) and one line in
   ``journal.jsonl``, flushed to disk. The journal is what a rerun reads to skip finished
   submissions; a submission merged but not yet journalled when the run was killed is simply
   graded and merged again (an update, never a duplicate).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

JOURNAL = "journal.jsonl"


@contextlib.contextmanager
def one_transaction(gb: Gradebook) -> Iterator[Gradebook]:
    """Run nbgrader API calls in one database transaction (their own commits only flush)."""
    session = gb.db
    session.commit = session.flush  # type: ignore[method-assign]
    try:
        yield gb
        del session.commit
        session.commit()
    except BaseException:
        with contextlib.suppress(AttributeError):
            del session.commit
        session.rollback()
        raise


def _replace_dir(target: Path, files: dict[str, bytes]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    for rel, content in files.items():
        path = (new / rel).resolve()
        if not str(path).startswith(str(new.resolve()) + os.sep):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    new.chmod(0o755)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}-old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


class Merger:
    """Writes results into one course for one assignment (thread-safe, one writer)."""

    def __init__(self, course_dir: Path, db_url: str, course_id: str, assignment: str,
                 state_dir: Path, folders: dict[str, str] | None = None) -> None:
        self.course_dir = Path(course_dir)
        #: where the course keeps ``autograded`` and ``feedback`` (nbgrader's CourseDirectory)
        self.folders = {"autograded": "autograded", "feedback": "feedback", **(folders or {})}
        self.db_url = db_url
        self.course_id = course_id
        self.assignment = assignment
        self.state_dir = Path(state_dir)
        (self.state_dir / "results").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._protect_sqlite()

    def _protect_sqlite(self) -> None:
        """Make a local SQLite gradebook readable by its owner only (it holds hidden tests)."""
        prefix = "sqlite:///"
        if self.db_url.startswith(prefix):
            path = Path(self.db_url[len(prefix):])
            if path.exists() and path.stat().st_uid == os.geteuid():
                path.chmod(0o600)

    def journal(self) -> dict[str, dict]:
        """``{student: last journal entry}`` of earlier runs."""
        path = self.state_dir / JOURNAL
        entries: dict[str, dict] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                entries[entry["student"]] = entry
        return entries

    def students_in_gradebook(self) -> set[str]:
        """Students with a submission of the assignment in the course gradebook."""
        with Gradebook(self.db_url, self.course_id) as gb:
            try:
                assignment = gb.find_assignment(self.assignment)
            except MissingEntry:
                return set()
            return {s.student.id for s in assignment.submissions}

    def merge(self, result: dict) -> None:
        """Merge one worker result (see the module docstring)."""
        with self._lock:
            student = result["student"]
            files = result.get("files", {})
            if result["status"] == "graded":
                for kind in ("autograded", "feedback"):
                    part = {k.split("/", 1)[1]: v for k, v in files.items()
                            if k.startswith(kind + "/")}
                    if part or kind == "autograded":
                        _replace_dir(self.course_dir / self.folders[kind] / student
                                     / self.assignment, part)
            with warnings.catch_warnings(), Gradebook(self.db_url, self.course_id) as gb, \
                    one_transaction(gb):
                # nbgrader 0.9.6's new submissions trip harmless SQLAlchemy autoflush warnings
                warnings.filterwarnings("ignore", message=".*not in session.*")
                gb.update_or_create_student(student)
                if result["status"] == "graded":
                    self._write_grades(gb, result)
                else:
                    self._drop_stale(gb, result)
            self._protect_sqlite()
            record = {k: v for k, v in result.items() if k != "files"}
            path = self.state_dir / "results" / f"{student}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
            os.replace(tmp, path)
            entry = {"student": student, "key": result.get("key"), "status": result["status"],
                     "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            with open(self.state_dir / JOURNAL, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    def _write_grades(self, gb: Gradebook, result: dict) -> None:
        student = result["student"]
        kwargs = {}
        timestamp = _parse_time(result.get("timestamp"))
        if timestamp is not None:
            kwargs["timestamp"] = timestamp
        gb.update_or_create_submission(self.assignment, student, **kwargs)
        for name, info in result["notebooks"].items():
            snb = gb.find_submission_notebook(name, self.assignment, student)
            snb.flagged = bool(info.get("flagged"))
            snb.late_submission_penalty = info.get("late_penalty")
            for g in info["grades"]:
                grade = gb.find_grade(g["name"], name, self.assignment, student)
                grade.auto_score = g["auto_score"]
                grade.needs_manual_grade = bool(
                    g["needs_manual_grade"] or grade.manual_score is not None)
            for c in info["comments"]:
                comment = gb.find_comment(c["name"], name, self.assignment, student)
                comment.auto_comment = c["auto_comment"]
        gb.db.flush()

    def _drop_stale(self, gb: Gradebook, result: dict) -> None:
        """A submission that failed to grade must not keep an older submission's scores."""
        try:
            submission = gb.find_submission(self.assignment, result["student"])
        except MissingEntry:
            return
        manual = any(g.manual_score is not None for nb in submission.notebooks for g in nb.grades)
        if manual:
            result.setdefault("notes", []).append(
                "an earlier submission with manual grades is kept in the gradebook")
            return
        gb.remove_submission(self.assignment, result["student"])
        for kind in ("autograded", "feedback"):
            shutil.rmtree(self.course_dir / self.folders[kind] / result["student"]
                          / self.assignment, ignore_errors=True)
