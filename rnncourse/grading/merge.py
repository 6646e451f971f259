"""The single writer: merge each result into the course, one submission at a time.

Only the runner's process writes the course gradebook (SQLite by default, any SQLAlchemy URL
such as PostgreSQL), through nbgrader's :class:`~nbgrader.api.Gradebook` API. Per submission,
in this order:

1. **The gradebook, in one transaction** (:func:`one_transaction`): student, submission
   (timestamp), per notebook the late penalty, per graded cell ``auto_score`` and
   ``needs_manual_grade``, per answer cell ``auto_comment``. What the instructor entered in
   the formgrader stays: manual scores and comments (a cell with a manual score is marked for
   review again, as nbgrader does) and the ``flagged`` mark (a regrade may set it, never
   clears it). A locked SQLite gradebook (an open formgrader writing) is waited for, up to
   :data:`LOCK_WAIT` seconds, with a message; if it stays locked, or the write fails, this
   submission is reported as not merged and nothing of it is changed.
2. **The files**, only after the commit: ``autograded/<student>/<assignment>/`` and
   ``feedback/<student>/<assignment>/`` are replaced by the new ones (written beside, then
   renamed into place). A submission without feedback this time loses its old feedback.
3. **The record**: ``results/<student>.json`` (scores, notes, flags, reason) and one line in
   ``journal.jsonl``, flushed to disk. The journal is what a rerun reads to skip finished
   submissions; a submission merged but not yet journalled when the run was killed is
   graded and merged again (an update, never a duplicate).

Infrastructure faults never reach this module: a submission that could not be graded
because of the machinery keeps its earlier grade and files untouched, and is not journalled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import OperationalError

from rnncourse.grading.job import GRADED, SubmissionResult

JOURNAL = "journal.jsonl"
#: Seconds a locked gradebook is waited for before the submission is reported as not merged.
LOCK_WAIT = 120.0


class MergeError(RuntimeError):
    """A result could not be written into the course (the gradebook stayed locked...)."""


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
    """Make ``target`` hold exactly ``files`` (written beside, then renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    for rel, content in files.items():
        path = (new / rel).resolve()
        if new.resolve() not in path.parents:
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


def _is_locked(error: BaseException | None) -> bool:
    """SQLite's "database is locked", raised as is or wrapped by nbgrader (``InvalidEntry``
    carries the original message)."""
    seen = 0
    while error is not None and seen < 10:
        if "database is locked" in str(error).lower() or (
                isinstance(error, OperationalError) and "locked" in str(error).lower()):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


class Merger:
    """Writes results into one course for one assignment; see the module docstring.

    Args:
        course_dir: the course.
        db_url, course_id: its gradebook.
        assignment: the assignment graded.
        state_dir: where results and the journal go (the report folder).
        folders: the course's ``autograded`` and ``feedback`` folder names.
        say: called with a message for the instructor (e.g. "waiting for the gradebook").
    """

    def __init__(self, course_dir: Path, db_url: str, course_id: str, assignment: str,
                 state_dir: Path, folders: dict[str, str] | None = None,
                 say: Callable[[str], None] = print) -> None:
        self.course_dir = Path(course_dir)
        self.folders = {"autograded": "autograded", "feedback": "feedback", **(folders or {})}
        self.db_url = db_url
        self.course_id = course_id
        self.assignment = assignment
        self.state_dir = Path(state_dir)
        (self.state_dir / "results").mkdir(parents=True, exist_ok=True)
        self.say = say
        self._gradebook: Gradebook | None = None
        self._protect_sqlite()

    def gradebook(self) -> Gradebook:
        """The course gradebook, opened once per run: one SQLAlchemy engine, whose compiled
        statements and checked schema serve every submission (each merge is still its own
        transaction)."""
        if self._gradebook is None:
            self._gradebook = Gradebook(self.db_url, self.course_id)
        return self._gradebook

    def close(self) -> None:
        """Close the gradebook (the next call opens it again)."""
        if self._gradebook is not None:
            gradebook, self._gradebook = self._gradebook, None
            with contextlib.suppress(Exception):
                gradebook.close()

    def _protect_sqlite(self) -> None:
        """A local SQLite gradebook readable by its owner only (it holds hidden tests)."""
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
        gb = self.gradebook()
        try:
            return {s.student.id for s in gb.find_assignment(self.assignment).submissions}
        except MissingEntry:
            return set()
        finally:
            gb.db.commit()  # end the read transaction: another program may write meanwhile

    def extension_minutes(self, student: str) -> float | None:
        """The student's extension for this assignment in the course gradebook, if any."""
        gb = self.gradebook()
        try:
            extension = gb.find_submission(self.assignment, student).extension
        except MissingEntry:
            return None
        finally:
            gb.db.commit()
        return extension.total_seconds() / 60 if extension else None

    def merge(self, result: SubmissionResult) -> None:
        """Merge one result (see the module docstring); raises :class:`MergeError`."""
        dropped = self._write_gradebook(result)
        self._protect_sqlite()
        for kind in ("autograded", "feedback"):
            folder = self.course_dir / self.folders[kind] / result.student / self.assignment
            if result.status == GRADED:
                _replace_dir(folder, {k.split("/", 1)[1]: v for k, v in result.files.items()
                                      if k.startswith(kind + "/")})
            elif dropped:
                shutil.rmtree(folder, ignore_errors=True)
        self._record(result)

    def _write_gradebook(self, result: SubmissionResult) -> bool:
        """Write the result's rows; ``True`` when an older submission was dropped."""
        deadline = time.monotonic() + LOCK_WAIT
        told = False
        while True:
            try:
                gb = self.gradebook()
                with warnings.catch_warnings(), one_transaction(gb):
                    # nbgrader 0.9.6's new submissions trip harmless SQLAlchemy warnings
                    warnings.filterwarnings("ignore", message=".*not in session.*")
                    gb.update_or_create_student(result.student)
                    if result.status == GRADED:
                        self._write_grades(gb, result)
                        return False
                    return self._drop_stale(gb, result)
            except Exception as error:
                if not _is_locked(error):
                    self.close()  # the next submission starts from a fresh connection
                    raise MergeError(f"could not write the gradebook: {type(error).__name__}: "
                                     f"{str(error)[:300]}") from error
                if time.monotonic() > deadline:
                    raise MergeError(f"the gradebook stayed locked for {LOCK_WAIT:.0f} s (is a "
                                     "formgrader or another program writing to it?)") from error
                if not told:
                    self.say(f"the gradebook is locked by another program; waiting up to "
                             f"{LOCK_WAIT:.0f} s ({result.student})")
                    told = True
                time.sleep(1.0)

    def _write_grades(self, gb: Gradebook, result: SubmissionResult) -> None:
        kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.update_or_create_submission(self.assignment, result.student, **kwargs)
        for name, info in result.notebooks.items():
            snb = gb.find_submission_notebook(name, self.assignment, result.student)
            if result.flags:
                snb.flagged = True  # set by a regrade, never cleared (the instructor's mark)
            snb.late_submission_penalty = info.late_penalty
            for g in info.grades:
                grade = gb.find_grade(g.name, name, self.assignment, result.student)
                grade.auto_score = g.auto_score
                grade.needs_manual_grade = bool(g.needs_manual_grade
                                                or grade.manual_score is not None)
            for comment_name, auto_comment in info.comments:
                comment = gb.find_comment(comment_name, name, self.assignment, result.student)
                comment.auto_comment = auto_comment
        gb.db.flush()

    def _drop_stale(self, gb: Gradebook, result: SubmissionResult) -> bool:
        """A submission that cannot be graded must not keep an older submission's scores."""
        try:
            submission = gb.find_submission(self.assignment, result.student)
        except MissingEntry:
            return False
        if any(g.manual_score is not None for nb in submission.notebooks for g in nb.grades):
            result.notes.append("an earlier submission with manual grades is kept in the "
                                "gradebook")
            return False
        gb.remove_submission(self.assignment, result.student)
        return True

    def _record(self, result: SubmissionResult) -> None:
        record = dataclasses.asdict(dataclasses.replace(result, files={}))
        record["files"] = sorted(result.files)
        path = self.state_dir / "results" / f"{result.student}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, path)
        entry = {"student": result.student, "key": result.key, "status": result.status,
                 "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        with open(self.state_dir / JOURNAL, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
