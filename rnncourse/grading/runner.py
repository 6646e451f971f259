"""``rnncourse grade``: collect, grade every submission in parallel, merge, report.

:func:`grade` is the Python API behind the CLI. It

1. reads the course's ``nbgrader_config.py`` (course id, gradebook URL, ``Execute`` options);
2. collects the submissions (:mod:`rnncourse.grading.collect`);
3. builds the assignment's template gradebook once (:mod:`rnncourse.grading.template`);
4. skips the submissions an earlier run finished (same submission files, same assignment;
   the journal of :mod:`rnncourse.grading.merge`), unless ``force``;
5. runs one task per submission, :func:`rnncourse.grading.worker.run_isolated`, either on
   ``jobs`` local threads (each waits on its own child process) or on a Dask
   ``distributed`` cluster (``scheduler`` address): the same function, the same task, so
   the same scores whatever the mode and the order;
6. merges each result as it arrives, in this process only (one writer), showing a tqdm bar
   with graded / failed / remaining counts;
7. writes the report (:mod:`rnncourse.grading.report`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from rnncourse.grading import collect, sandbox, template
from rnncourse.grading.merge import Merger
from rnncourse.grading.settings import Options
from rnncourse.grading.worker import Task, failure, run_isolated

CONFIG_FILE = "nbgrader_config.py"


@dataclass
class GradeRun:
    """What :func:`grade` did."""

    assignment: str
    mode: str
    graded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    report: dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def load_course_config(course_dir: Path) -> Config:
    """The course's nbgrader configuration (its ``nbgrader_config.py`` only)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course_dir / CONFIG_FILE).is_file():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(course_dir)).load_config())
    config.CourseDirectory.root = str(course_dir)
    return config


def _source_files(coursedir, assignment: str) -> dict[str, bytes]:
    """The assignment's non-notebook source files (data, helper modules): no notebooks."""
    from nbgrader.utils import find_all_files

    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    if not source.is_dir():
        return {}
    files = {}
    for name in find_all_files(str(source), [*coursedir.ignore, "*.ipynb"]):
        path = Path(name)
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(source).as_posix()] = path.read_bytes()
    return files


def _cleanup_stale_scratch() -> None:
    """Remove scratch folders left by runs that were killed (their process is gone)."""
    for path in Path(tempfile.gettempdir()).glob("rnncourse-grade-*"):
        try:
            pid = int(path.name.split("-")[2])
        except (IndexError, ValueError):
            continue
        if path.stat().st_uid == os.geteuid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(path, ignore_errors=True)


def _run_local(tasks: list[Task], jobs: int, scratch: str) -> Iterator[dict]:
    from rnncourse.grading import zygote

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
    finished = False
    try:
        futures = [pool.submit(run_isolated, task, scratch) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
        finished = True
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if not finished:  # interrupted: kill the children still running
            zygote.close_shared()
        pool.shutdown(wait=True)


def _run_dask(tasks: list[Task], scheduler: str) -> Iterator[dict]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    from rnncourse.grading import zygote

    with Client(scheduler) as client:
        futures = [client.submit(run_isolated, task, None, key=f"grade-{task.student}-{task.key}",
                                 pure=False, retries=0) for task in tasks]
        try:
            for future in dask_completed(futures):
                if future.status == "error":
                    task = tasks[futures.index(future)]
                    yield failure(task, f"dask task failed: {future.exception()!r}")
                else:
                    yield future.result()
        finally:
            client.cancel(futures)
            client.run(zygote.close_shared)


def grade(
    assignment: str,
    course_dir: Path = Path("."),
    *,
    submitted: Path | None = None,
    zip_path: Path | None = None,
    regexp: str = collect.DEFAULT_REGEXP,
    exchange: bool = False,
    students: Iterable[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    db_url: str | None = None,
    options: Options | None = None,
    report_dir: Path | None = None,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
) -> GradeRun:
    """Grade every submission of ``assignment``; see the module docstring.

    Args:
        assignment: the nbgrader assignment name, e.g. ``"rnn_cell"``.
        course_dir: nbgrader's course directory (holds ``nbgrader_config.py``).
        submitted: folder in ``<student>/<assignment>/`` layout (default: the course's
            ``submitted/``).
        zip_path: an LMS download to collect first (nbgrader ``zip_collect``; ``regexp``
            maps file names to student ids).
        exchange: collect from nbgrader's exchange first (``nbgrader collect``).
        students: grade only these student ids.
        jobs: local worker processes (default: the number of cores).
        scheduler: address of a Dask ``distributed`` scheduler (instead of local jobs).
        db_url: the course gradebook (default: nbgrader's, ``sqlite:///<course>/gradebook.db``).
        options: limits, sandbox mode and feedback (:class:`~rnncourse.grading.settings.Options`).
        report_dir: where the report goes (default ``<course>/grading-report/<assignment>``).
        force: regrade submissions an earlier run finished.
        retry_failed: regrade submissions that failed in an earlier run.
        progress: show a tqdm progress bar.
    """
    started = time.monotonic()
    if not scheduler:
        from rnncourse.grading import zygote

        zygote.shared()  # start it first: its imports overlap with the set-up below
    from nbgrader.coursedir import CourseDirectory
    from tqdm import tqdm

    options = options or Options()
    course_dir = Path(course_dir).resolve()
    config = load_course_config(course_dir)
    if db_url:
        config.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=config)
    db_url = coursedir.db_url
    course_id = coursedir.course_id
    mode = sandbox.resolve_mode(options.sandbox)
    report_dir = Path(report_dir) if report_dir else course_dir / "grading-report" / assignment

    if zip_path is not None:
        submitted = collect.collect_zip(course_dir, assignment, zip_path, regexp, config)
    elif exchange:
        submitted = collect.collect_exchange(course_dir, assignment, config)
    submitted = Path(submitted) if submitted else Path(coursedir.submitted_directory)
    if not submitted.is_absolute():
        submitted = course_dir / submitted
    submissions = collect.from_folder(submitted, assignment, students)

    with template.scripts_on_path():
        tpl = template.build_template(db_url, course_id, assignment)
        structure = template.structure_digest(db_url, course_id, assignment)
        notebooks = template.notebook_names(db_url, course_id, assignment)
    source_files = _source_files(coursedir, assignment)
    merger = Merger(course_dir, db_url, course_id, assignment, report_dir,
                    {"autograded": coursedir.autograded_directory,
                     "feedback": coursedir.feedback_directory})
    journal = merger.journal()
    in_gradebook = merger.students_in_gradebook()
    hide = sorted({str(course_dir), str(submitted.resolve()), str(report_dir.resolve())})
    if db_url.startswith("sqlite:///"):
        hide.append(str(Path(db_url[len("sqlite:///"):]).resolve()))
    run = GradeRun(assignment=assignment, mode=mode)

    tasks: list[Task] = []
    early: list[dict] = []
    for sub in submissions:
        placeholder = Task(assignment, sub.student, course_id, "", notebooks, {}, {}, b"",
                           {}, options)
        try:
            files = collect.read_files(sub.path)
        except collect.CollectError as exc:
            early.append(failure(placeholder, f"could not read the submission: {exc}"))
            continue
        key = f"{structure}-{collect.digest(files)}"
        done = journal.get(sub.student)
        if done and not force and done.get("key") == key and (
            (done["status"] == "graded" and sub.student in in_gradebook)
            or (done["status"] == "failed" and not retry_failed)
        ):
            run.skipped.append(sub.student)
            continue
        tasks.append(Task(assignment, sub.student, course_id, key, notebooks, files,
                          source_files, tpl, dict(config), options, hide))

    _cleanup_stale_scratch()
    scratch = tempfile.mkdtemp(prefix=f"rnncourse-grade-{os.getpid()}-")
    os.chmod(scratch, 0o711)
    run.phases["setup"] = time.monotonic() - started
    bar = tqdm(total=len(tasks) + len(early), unit="submission", desc=f"grading {assignment}",
               disable=not progress)
    try:
        stream: Iterable[dict]
        if scheduler:
            stream = _run_dask(tasks, scheduler) if tasks else []
        else:
            stream = _run_local(tasks, jobs or os.cpu_count() or 1, scratch) if tasks else []
        for result in itertools.chain(early, stream):  # merge each as soon as it arrives
            merger.merge(result)
            run.results[result["student"]] = result
            if result["status"] == "graded":
                run.graded.append(result["student"])
            else:
                run.failed[result["student"]] = result["reason"]
            bar.update(1)
            bar.set_postfix(graded=len(run.graded), failed=len(run.failed),
                            remaining=bar.total - bar.n)
    finally:
        bar.close()
        shutil.rmtree(scratch, ignore_errors=True)

    from rnncourse.grading.report import write_report

    run.phases["grading"] = time.monotonic() - started - run.phases["setup"]
    report_started = time.monotonic()
    stats = {"sandbox mode": mode, "graded now": len(run.graded), "failed now": len(run.failed),
             "skipped (done earlier)": len(run.skipped),
             "seconds": f"{time.monotonic() - started:.1f}"}
    run.report = write_report(db_url, course_id, assignment, report_dir, stats)
    run.phases["report"] = time.monotonic() - report_started
    run.seconds = time.monotonic() - started
    return run
