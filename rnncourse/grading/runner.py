"""``rnncourse grade``: collect, judge every submission in parallel, merge, report.

:func:`grade` is the Python API behind the CLI. In order it

1. takes the course's grading lock (:func:`course_lock`): one run per course at a time;
2. reads the course's ``nbgrader_config.py`` and resolves the sandbox (``auto`` is bubblewrap;
   without it the run stops and asks for ``--sandbox unshare`` or ``none`` explicitly);
3. collects the submissions (:mod:`rnncourse.grading.collect`: a folder, an LMS download or
   nbgrader's exchange);
4. builds the assignment's template gradebook once (:mod:`rnncourse.grading.template`) and
   the resume key of every submission (:func:`resume_key`): the submission's files, the
   grading settings, the package version and the assignment's source, suite, configuration
   and data; submissions an earlier run finished with the same key are skipped;
5. grades each submission with :func:`rnncourse.grading.submission.grade_submission` on the
   executor (:mod:`rnncourse.grading.executor`: local processes or a Dask cluster), a bounded
   number in flight, so memory does not grow with the class;
6. merges each result as it arrives, in this process only (:mod:`rnncourse.grading.merge`);
   an infrastructure fault (a dead worker, a deadline, a Dask error, the judge failing) is
   retried up to ``retries`` times and then reported as *not graded: retry*, never recorded
   as a grade and never deleting an earlier one;
7. writes the report (:mod:`rnncourse.grading.report`).

The course secret (:func:`course_secret`) that seeds the per-student hidden cases stays in
this process; a task carries only the seed derived for its student.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import os
import secrets
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config

import rnncourse
from rnncourse.grading import collect, sandbox
from rnncourse.grading.executor import Workers
from rnncourse.grading.job import GRADED, GradingSettings, SubmissionResult, SubmissionTask
from rnncourse.grading.submission import InfrastructureError, grade_submission

if TYPE_CHECKING:  # nbgrader takes a second to import: see _grade
    from rnncourse.grading.merge import Merger

CONFIG_FILE = "nbgrader_config.py"
LOCK_FILE = ".rnncourse-grade.lock"


class CourseBusyError(RuntimeError):
    """Another ``rnncourse grade`` holds the course's grading lock."""


class SandboxChoiceError(RuntimeError):
    """``--sandbox auto`` found no bubblewrap: the instructor must choose explicitly."""


@dataclass
class GradeRun:
    """What :func:`grade` did.

    Attributes:
        graded: students graded (and merged) now.
        failed: ``{student: reason}`` for submissions that cannot be graded (scored 0).
        not_graded: ``{student: cause}`` for infrastructure faults left after the retries:
            nothing was written for them; run again.
        retried: ``{student: [causes]}`` of every retry.
        skipped: students an earlier run finished with the same key.
        scores: ``{student: (auto points, auto maximum)}`` of the graded ones.
        notes: collection and run notes for the instructor.
    """

    assignment: str
    mode: str
    where: str = ""
    graded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_graded: dict[str, str] = field(default_factory=dict)
    retried: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
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


@contextlib.contextmanager
def course_lock(course_dir: Path) -> Iterator[None]:
    """Hold the course's grading lock (an OS file lock, freed when the process ends)."""
    path = Path(course_dir) / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CourseBusyError(
                f"another `rnncourse grade` is running on this course ({holder}); wait for it "
                "to finish, or stop it, then run again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since "
                     f"{dt.datetime.now().isoformat(timespec='seconds')}\n")
        handle.flush()
        yield
    finally:
        handle.close()


def resolve_sandbox(choice: str) -> str:
    """``auto`` is bubblewrap or an error; an explicit mode must work here."""
    if choice == "auto":
        if "bwrap" in sandbox.available_modes():
            return "bwrap"
        raise SandboxChoiceError(
            "bubblewrap (bwrap) is not available, so student code cannot be isolated "
            "properly. Install it (apt install bubblewrap), or choose explicitly: "
            "--sandbox unshare (weaker) or --sandbox none (the student's code can read "
            "everything the grader can)")
    return sandbox.resolve_mode(choice)


def course_secret(course_id: str, path: Path | None = None) -> bytes:
    """The secret that seeds every student's hidden cases; created on first use.

    Kept outside the repository: ``RNNCOURSE_SECRET_FILE``, else
    ``$XDG_CONFIG_HOME/rnncourse/<course_id>.secret`` (mode 0600). Copy it to grade on
    another machine with the same hidden cases.
    """
    if path is None:
        env = os.environ.get("RNNCOURSE_SECRET_FILE")
        config = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
        path = Path(env) if env else config / "rnncourse" / f"{course_id}.secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip().encode()


def student_seed(secret: bytes, assignment: str, student: str) -> bytes:
    """This student's hidden-case seed: reveals nothing about the secret or other students."""
    return hmac.new(secret, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()


def _digest_files(paths: Iterable[Path], root: Path, h: hashlib._Hash) -> None:
    for path in sorted(paths):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes())


def assignment_fingerprint(course_dir: Path, source_dir: Path, assignment: str,
                           structure: str, settings: GradingSettings) -> str:
    """What a grade depends on besides the submission: the package version, the grading
    settings, the gradebook's cells, the assignment's source folder (hidden cases, data), its
    suite and oracles, and the course configuration."""
    h = hashlib.sha256(f"{rnncourse.__version__}|{settings!r}|{structure}".encode())
    if source_dir.is_dir():
        _digest_files((p for p in source_dir.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts), source_dir, h)
    package = Path(rnncourse.__file__).parent
    _digest_files([p for p in (package / "suites" / f"{assignment}.py",
                               package / "oracles" / f"{assignment}.py") if p.exists()],
                  package, h)
    config = course_dir / CONFIG_FILE
    if config.exists():
        h.update(config.read_bytes())
    return h.hexdigest()[:16]


def resume_key(fingerprint: str, files: dict[str, bytes]) -> str:
    """The key a rerun compares: the assignment's fingerprint and the submission's files."""
    return f"{fingerprint}-{collect.digest(files)}"


@dataclass
class _Planned:
    student: str
    path: Path
    attempts: int = 0


def grade(
    assignment: str,
    course_dir: Path = Path("."),
    *,
    submitted: Path | None = None,
    exchange: bool = False,
    students: Iterable[str] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    security=None,
    db_url: str | None = None,
    settings: GradingSettings | None = None,
    sandbox_choice: str = "auto",
    secret_file: Path | None = None,
    report_dir: Path | None = None,
    force: bool = False,
    retry_failed: bool = False,
    retries: int = 2,
    progress: bool = True,
    say=print,
) -> GradeRun:
    """Grade every submission of ``assignment``; see the module docstring.

    Args:
        assignment: the nbgrader assignment, e.g. ``"rnn_cell"``.
        course_dir: nbgrader's course directory (holds ``nbgrader_config.py``).
        submitted: a folder in ``<student>/<assignment>/`` layout (default: the course's
            ``submitted/``; an LMS download is collected into one by
            :func:`rnncourse.grading.collect.collect_lms` first).
        exchange: collect from nbgrader's exchange first.
        students: grade only these students.
        jobs: local worker processes (default: one per core).
        scheduler: a Dask scheduler address instead (``tls://`` with ``security``).
        db_url: the course gradebook (default: nbgrader's SQLite in the course).
        settings: limits and feedback (the sandbox field is set from ``sandbox_choice``).
        sandbox_choice: ``auto`` (bubblewrap), ``bwrap``, ``unshare`` or ``none``.
        secret_file: the course secret (default: see :func:`course_secret`).
        report_dir: where the report goes (default ``<course>/grading-report/<assignment>``).
        force: regrade what an earlier run finished; ``retry_failed``: also regrade failures.
        retries: retries of an infrastructure fault per submission.
        progress: show a tqdm progress bar.
        say: where messages for the instructor go.
    """
    started = time.monotonic()
    course_dir = Path(course_dir).resolve()
    with course_lock(course_dir):
        return _grade(assignment, course_dir, started, locals())


def _grade(assignment: str, course_dir: Path, started: float, args: dict) -> GradeRun:
    mode = resolve_sandbox(args["sandbox_choice"])
    # the workers' fork server starts first and warms up the grading stack (5 s) while this
    # process imports nbgrader and matplotlib (2 s) and plans the run; a run with nothing to
    # grade just stops it again
    workers = Workers(args["jobs"], args["scheduler"], args["security"])
    try:
        workers.start()
        from rnncourse.grading.report import load_plotting

        load_plotting()  # for the report, while the workers warm up (it would wait for them)
        return _plan_and_run(assignment, course_dir, started, args, mode, workers)
    finally:
        workers.close()


def _plan_and_run(assignment: str, course_dir: Path, started: float, args: dict, mode: str,
                  workers: Workers) -> GradeRun:
    import dataclasses

    from nbgrader.coursedir import CourseDirectory
    from tqdm import tqdm

    from rnncourse.grading import template
    from rnncourse.grading.merge import Merger

    settings = dataclasses.replace(args["settings"] or GradingSettings(), sandbox=mode)
    config = load_course_config(course_dir)
    if args["db_url"]:
        config.CourseDirectory.db_url = args["db_url"]
    coursedir = CourseDirectory(config=config)
    db_url, course_id = coursedir.db_url, coursedir.course_id
    report_dir = Path(args["report_dir"]) if args["report_dir"] else (
        course_dir / "grading-report" / assignment)
    run = GradeRun(assignment=assignment, mode=mode)

    submitted = args["submitted"]
    if args["exchange"]:
        submitted = collect.collect_exchange(course_dir, assignment, config)
    submitted = Path(submitted) if submitted else Path(coursedir.submitted_directory)
    if not submitted.is_absolute():
        submitted = course_dir / submitted
    submissions = collect.from_folder(submitted, assignment, args["students"])

    with template.scripts_on_path():
        tpl = template.build_template(db_url, course_id, assignment)
        structure = template.structure_digest(db_url, course_id, assignment)
        notebooks = tuple(template.notebook_names(db_url, course_id, assignment))
    source_dir = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    source_files = _source_files(coursedir, source_dir)
    fingerprint = assignment_fingerprint(course_dir, source_dir, assignment, structure, settings)
    secret = course_secret(course_id, args["secret_file"])
    merger = Merger(course_dir, db_url, course_id, assignment, report_dir,
                    {"autograded": coursedir.autograded_directory,
                     "feedback": coursedir.feedback_directory}, say=args["say"])
    bar = None
    try:
        journal = merger.journal()
        in_gradebook = merger.students_in_gradebook()

        def build(plan: _Planned) -> SubmissionTask | SubmissionResult:
            try:
                files = collect.read_files(plan.path)
            except collect.CollectError as error:
                return SubmissionResult(assignment, plan.student, "", "failed",
                                        reason=f"could not read the submission: {error}")
            return SubmissionTask(
                assignment, plan.student, course_id, resume_key(fingerprint, files), notebooks,
                files, source_files, tpl, dict(config), student_seed(secret, assignment,
                                                                     plan.student),
                settings, merger.extension_minutes(plan.student))

        pending: deque[_Planned] = deque()
        for sub in submissions:
            done = journal.get(sub.student)
            if done and not args["force"]:
                try:
                    key = resume_key(fingerprint, collect.read_files(sub.path))
                except collect.CollectError:
                    key = None
                finished = done.get("key") == key and (
                    (done["status"] == GRADED and sub.student in in_gradebook)
                    or (done["status"] != GRADED and not args["retry_failed"]))
                if finished:
                    run.skipped.append(sub.student)
                    continue
            pending.append(_Planned(sub.student, sub.path))
        run.phases["setup"] = time.monotonic() - started

        bar = tqdm(total=len(pending), unit="submission", desc=f"grading {assignment}",
                   disable=not args["progress"])
        if pending:
            run.where = workers.where
            _drive(workers, pending, build, merger, run, bar, settings, len(notebooks),
                   args["retries"])
    finally:
        if bar is not None:
            bar.close()
        workers.close()
        merger.close()
    run.phases["grading"] = time.monotonic() - started - run.phases["setup"]

    from rnncourse.grading.report import write_report

    report_started = time.monotonic()
    stats = {"sandbox mode": mode, "where": run.where or "nothing to grade",
             "graded now": len(run.graded), "failed now": len(run.failed),
             "not graded (retry)": len(run.not_graded),
             "retried": sum(len(v) for v in run.retried.values()),
             "skipped (done earlier)": len(run.skipped),
             "seconds": f"{time.monotonic() - started:.1f}"}
    run.report = write_report(db_url, course_id, assignment, report_dir, stats,
                              not_graded=run.not_graded, retried=run.retried)
    run.phases["report"] = time.monotonic() - report_started
    run.seconds = time.monotonic() - started
    return run


def _source_files(coursedir, source: Path) -> dict[str, bytes]:
    """The assignment's non-notebook source files: ``hidden.py``, data; no notebooks."""
    import fnmatch

    if not source.is_dir():
        return {}
    skip = [p for p in coursedir.ignore if p != "hidden.py"]  # the judge needs hidden.py
    files = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if (not path.is_file() or path.is_symlink() or path.suffix == ".ipynb"
                or any(fnmatch.fnmatch(part, pattern) for part in relative.parts
                       for pattern in skip)):
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def _drive(workers, pending: deque[_Planned], build, merger: Merger, run: GradeRun, bar,
           settings: GradingSettings, notebooks: int, retries: int) -> None:
    """Keep the executor busy, merge results as they come, retry infrastructure faults."""
    window = workers.slots if workers.scheduler is None else 2 * workers.slots
    deadline = settings.limits.deadline(notebooks) + 60.0  # + a worker's start-up
    inflight: dict[Future, tuple[_Planned, float]] = {}

    def fault(plan: _Planned, cause: str) -> None:
        plan.attempts += 1
        run.retried.setdefault(plan.student, []).append(cause)
        if plan.attempts <= retries:
            pending.appendleft(plan)
        else:
            run.not_graded[plan.student] = cause

    while pending or inflight:
        while pending and len(inflight) < window:
            plan = pending.popleft()
            task = build(plan)
            if isinstance(task, SubmissionResult):
                _finish(task, merger, run, bar)
                continue
            try:
                inflight[workers.submit(grade_submission, task)] = (plan, time.monotonic())
            except BrokenProcessPool:  # a worker died since the last wait: not this task's fault
                pending.appendleft(plan)
                if not inflight:  # nothing left to report the broken pool: replace it now
                    workers.restart()
                break
        if not inflight:
            continue
        done, _ = wait(list(inflight), timeout=1.0, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            plan, _ = inflight.pop(future)
            try:
                result = future.result()
            except InfrastructureError as error:
                fault(plan, f"grader error: {error}"[:500])
            except BrokenProcessPool:
                broken = True
                fault(plan, "a grading worker process died")
            except CancelledError:
                fault(plan, "the task was cancelled")
            except Exception as error:  # Dask: KilledWorker, lost connections...
                fault(plan, f"{type(error).__name__}: {error}"[:500])
            else:
                _finish(result, merger, run, bar)
        if broken:
            workers.restart()
        now = time.monotonic()
        for future, (plan, since) in list(inflight.items()):
            if now - since > deadline:
                inflight.pop(future)
                fault(plan, f"no result within {deadline:.0f} s: the worker was stopped")
                workers.abandon(future)
                if workers.scheduler is None:  # the pool's other tasks died with it
                    for other, (other_plan, _) in list(inflight.items()):
                        inflight.pop(other)
                        pending.appendleft(other_plan)
        bar.set_postfix(graded=len(run.graded), failed=len(run.failed),
                        retrying=sum(1 for p in pending if p.attempts), refresh=False)


def _finish(result: SubmissionResult, merger: Merger, run: GradeRun, bar) -> None:
    from rnncourse.grading.merge import MergeError

    try:
        merger.merge(result)
    except MergeError as error:
        run.not_graded[result.student] = f"not merged: {error}"
        bar.update(1)
        return
    if result.status == GRADED:
        run.graded.append(result.student)
        run.scores[result.student] = result.score()
        if result.flags:
            run.flagged[result.student] = result.flags
    else:
        run.failed[result.student] = result.reason or "failed"
    bar.update(1)
