"""Find the submissions to grade: a ``submitted/`` folder, an LMS zip, or nbgrader's exchange.

All three end as nbgrader's layout ``<submitted>/<student>/<assignment>/`` (with an optional
``timestamp.txt``), which :func:`from_folder` lists:

- a folder already in that layout (``nbgrader collect`` output, or copied by hand);
- an LMS download: nbgrader's own ``ZipCollectApp`` (its extractor and file-name collector
  plugins) unpacks the archive under ``downloaded/<assignment>/`` of the course and maps each
  file name to a student id with a regular expression (:data:`DEFAULT_REGEXP`);
- nbgrader's exchange: nbgrader's ``ExchangeCollect`` copies the latest submission of every
  student from the exchange's inbound folder.

:func:`read_files` reads one submission into memory for the worker (regular files only:
symbolic links are skipped so a submission cannot smuggle in a link to the gradebook).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config

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


def collect_zip(
    course_dir: Path,
    assignment: str,
    archive: Path,
    regexp: str = DEFAULT_REGEXP,
    config: Config | None = None,
) -> Path:
    """Unpack an LMS download into ``course_dir/submitted`` with nbgrader's ``zip_collect``.

    The archive (a zip, or a single notebook) is copied to
    ``downloaded/<assignment>/archive/``; nbgrader extracts it to ``.../extracted/`` and copies
    each file whose name ``regexp`` matches to ``submitted/<student_id>/<assignment>/``.
    Earlier collected files of the same students are replaced. Returns the submitted folder.
    """
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    archive = Path(archive)
    if not archive.is_file():
        raise CollectError(f"no archive {archive}")
    cfg = Config(config or {})
    cfg.CourseDirectory.root = str(course_dir)
    cfg.ZipCollectApp.force = True
    cfg.FileNameCollectorPlugin.named_regexp = regexp
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
        app.process_extracted_files()
    except SystemExit as exc:  # ZipCollectApp.fail() logs and exits
        raise CollectError(
            f"nbgrader zip_collect failed for {archive} (see the log above)") from exc
    return Path(app.coursedir.format_path(app.coursedir.submitted_directory, ".", ".")).resolve()


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
