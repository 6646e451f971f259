"""Grade ONE submission in a fresh process, in a scratch course of its own.

:func:`run_isolated` is the per-submission task that both the local runner and Dask workers
execute: it has a fresh child process forked by the zygote (:mod:`rnncourse.grading.zygote`,
which has nbgrader already imported), waits at most the submission's deadline, kills the child
and every kernel it started when the deadline passes, and always returns a result.

In the child, :func:`grade` lays out a scratch course with only what grading needs::

    <scratch>/course/              mode 0700: the grader's side, never visible to the kernel
        gradebook.db               a copy of the template (this assignment's cells only)
        solutions/<a>/             the assignment's non-notebook files (no source notebook)
        submitted/<s>/<a>/         this student's files
        autograded/ feedback/      nbgrader's output
    <scratch>/k/k<n>/              one per kernel: work/ (its cwd), home/, tmp/, run/ (sockets)

checks the submission (:func:`precheck`: missing, invalid or extra notebooks; cells whose
``grade_id`` is not in the gradebook are made ordinary cells so nbgrader restores the real ones;
the nbgrader metadata of known cells is reset from the gradebook), runs nbgrader's
``Autograde`` converter with :class:`~rnncourse.grading.execute.GuardedExecute` and
:class:`RestoringOverwriteCells` (deleted test cells are put back), reads the scores out of the
throwaway gradebook, scans the student's code (:mod:`rnncourse.grading.scan`) and renders
the feedback (:mod:`rnncourse.grading.feedback`). The result is a plain dict (pickled): the
runner merges it into the course gradebook.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import pickle
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnncourse.grading import zygote
from rnncourse.grading.settings import Options

PRELOAD = [
    "nbgrader.converters",
    "nbgrader.preprocessors",
    "nbgrader.api",
    "nbconvert.exporters",
    "nbclient",
    "jupyter_client",
    "nbformat",
    "sqlalchemy",
    "rnncourse.grading.execute",
    "rnncourse.grading.feedback",
    "rnncourse.grading.scan",
]
_MAX_OUTPUT_FILE = 16 * 1024**2


@dataclass
class Task:
    """Everything needed to grade one submission, with no reference to the course's files."""

    assignment: str
    student: str
    course_id: str
    key: str
    notebooks: list[str]
    files: dict[str, bytes]
    source_files: dict[str, bytes]
    template: bytes
    config: dict
    options: Options
    hide: list[str] = field(default_factory=list)


def failure(task: Task, reason: str, **extra: Any) -> dict:
    """A result for a submission that could not be graded."""
    result = {
        "student": task.student,
        "assignment": task.assignment,
        "key": task.key,
        "status": "failed",
        "reason": reason,
        "notes": [],
        "flags": [],
        "notebooks": {},
        "files": {},
        "timing": {},
    }
    result.update(extra)
    return result


# --- checks before nbgrader -----------------------------------------------------------------


def _canonical_meta(name: str, info: dict) -> dict:
    meta = {
        "grade": info["grade"],
        "grade_id": name,
        "locked": info["locked"],
        "schema_version": 3,
        "solution": info["solution"],
    }
    if info["grade"]:
        meta["points"] = info["points"]
    if info.get("task"):
        meta["task"] = True
        meta["points"] = info["points"]
    if info.get("checksum"):
        meta["checksum"] = info["checksum"]
    return meta


def _cell_table(db_url: str, course_id: str, assignment: str) -> dict[str, dict[str, dict]]:
    """``{notebook: {grade_id: {grade, solution, locked, points, checksum, task}}}``."""
    from nbgrader.api import Gradebook

    table: dict[str, dict[str, dict]] = {}
    with Gradebook(db_url, course_id) as gb:
        for nb in gb.find_assignment(assignment).notebooks:
            cells: dict[str, dict] = {}
            grade = {c.name: c.max_score for c in nb.grade_cells}
            task = {c.name: c.max_score for c in nb.task_cells}
            solution = {c.name for c in nb.solution_cells}
            for sc in nb.source_cells:
                cells[sc.name] = {
                    "source": sc.source,
                    "grade": sc.name in grade,
                    "solution": sc.name in solution,
                    "locked": bool(sc.locked),
                    "points": grade.get(sc.name, task.get(sc.name)),
                    "checksum": sc.checksum,
                    "task": sc.name in task,
                }
            table[nb.name] = cells
    return table


def _released(source: str) -> str:
    """The student's version of an instructor cell: hidden-test region removed."""
    out, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def precheck(folder: Path, table: dict[str, dict[str, dict]]) -> tuple[list[str], list[str]]:
    """Check and repair the submitted notebooks in ``folder`` in place.

    Returns ``(notes, usable notebooks)``. Invalid notebooks are removed (nbgrader then scores
    them as missing); extra notebooks stay (nbgrader skips them).
    """
    import nbformat

    notes: list[str] = []
    usable: list[str] = []
    present = sorted(p.stem for p in folder.glob("*.ipynb"))
    extra = [n for n in present if n not in table]
    for name in extra:
        notes.append(f"extra notebook {name}.ipynb ignored (not part of the assignment)")
    for name, cells in sorted(table.items()):
        path = folder / f"{name}.ipynb"
        if not path.exists():
            hint = f" (found {', '.join(e + '.ipynb' for e in extra)})" if extra else ""
            notes.append(f"missing notebook {name}.ipynb{hint}: scored 0")
            continue
        try:
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # JSON, encoding and schema errors alike
            text = str(exc).strip()
            message = text.splitlines()[0][:200] if text else type(exc).__name__
            notes.append(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}: {message}): "
                         "scored 0")
            path.unlink()
            continue
        changed = False
        seen: set[str] = set()
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if grade_id not in cells or grade_id in seen:
                what = "duplicate" if grade_id in seen else "unknown"
                notes.append(f"{name}: cell {index} has {what} grade_id {grade_id!r}; treated as "
                             "an ordinary cell (the assignment's own cell is restored)")
                del cell.metadata["nbgrader"]
                changed = True
                continue
            seen.add(grade_id)
            canonical = _canonical_meta(grade_id, cells[grade_id])
            if {k: meta.get(k) for k in canonical if k != "checksum"} != {
                    k: v for k, v in canonical.items() if k != "checksum"}:
                notes.append(f"{name}: nbgrader metadata of cell {grade_id!r} was edited; reset")
                changed = True
            if "checksum" not in canonical and "checksum" in meta:
                canonical["checksum"] = meta["checksum"]
            cell.metadata["nbgrader"] = canonical
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            info = cells.get(grade_id)
            if info and info["locked"] and not info["solution"] and cell.source.strip() not in (
                    info["source"].strip(), _released(info["source"]).strip()):
                notes.append(f"{name}: instructor cell {grade_id!r} was edited; the original "
                             "is restored from the gradebook")
        missing = [g for g, info in cells.items() if info["grade"] and g not in seen]
        if missing:
            notes.append(f"{name}: graded cell(s) {', '.join(missing)} missing; restored")
        if changed:
            nbformat.write(nb, path)
        usable.append(name)
    return notes, usable


# --- nbgrader ---------------------------------------------------------------------------------


def _restoring_overwrite_cells():
    from nbgrader.preprocessors import OverwriteCells

    class RestoringOverwriteCells(OverwriteCells):
        """nbgrader's ``OverwriteCells`` with ``add_missing_cells``, anchored robustly.

        nbgrader 0.9.6 inserts a deleted grade cell after the previous grade or solution
        cell and fails when the previous source cell is a locked instruction cell; here the
        anchor is the nearest earlier cell of the source that is present in the submission.
        """

        def add_missing_grade_cells(self, nb, resources):
            source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
            grade_cells = {c.name: c for c in source_nb.grade_cells}
            solution_ids = {c.name for c in source_nb.solution_cells}

            def position(grade_id: str) -> int | None:
                for i, cell in enumerate(nb.cells):
                    if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                        return i
                return None

            anchor = -1
            for source_cell in source_nb.source_cells:
                where = position(source_cell.name)
                if where is not None:
                    anchor = where
                    continue
                if source_cell.name not in grade_cells:
                    continue
                self.log.warning("Missing grade cell %s encountered, adding to notebook",
                                 source_cell.name)
                new = self.missing_cell_transform(
                    source_cell, grade_cells[source_cell.name].max_score,
                    is_solution=source_cell.name in solution_ids)
                nb.cells.insert(anchor + 1, new)
                anchor += 1
            return nb, resources

    return RestoringOverwriteCells


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        out = []
        for record in self.records:
            try:
                out.append(record.getMessage())
            except Exception:
                out.append(str(record.msg))
        return out


def _nbgrader_reason(messages: list[str]) -> str:
    """The most useful line of nbgrader's error log."""
    for message in reversed(messages):
        lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
        for line in reversed(lines):
            if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", line):
                return line[:300]
    for message in reversed(messages):
        if message.strip():
            return message.strip().splitlines()[-1][:300]
    return "unknown error"


def _read_results(db_url: str, task: Task) -> dict[str, dict]:
    from nbgrader.api import Gradebook

    notebooks: dict[str, dict] = {}
    with Gradebook(db_url, task.course_id) as gb:
        assignment = gb.find_assignment(task.assignment)
        solution = {nb.name: {c.name for c in nb.solution_cells} for nb in assignment.notebooks}
        tasks = {nb.name: {c.name for c in nb.task_cells} for nb in assignment.notebooks}
        submission = gb.find_submission(task.assignment, task.student)
        for snb in submission.notebooks:
            name = snb.notebook.name
            grades = []
            for g in snb.grades:
                kind = ("task" if g.name in tasks[name]
                        else "manual" if g.name in solution[name] else "test")
                grades.append({
                    "name": g.name,
                    "kind": kind,
                    "auto_score": g.auto_score,
                    "max_score": float(g.max_score),
                    "needs_manual_grade": bool(g.needs_manual_grade),
                })
            comments = [{"name": c.name, "auto_comment": c.auto_comment} for c in snb.comments]
            notebooks[name] = {
                "grades": sorted(grades, key=lambda g: g["name"]),
                "comments": sorted(comments, key=lambda c: c["name"]),
                "late_penalty": snb.late_submission_penalty,
            }
        timestamp = submission.timestamp
    return {"notebooks": notebooks, "timestamp": timestamp.isoformat() if timestamp else None}


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        target = (root / rel).resolve()
        if not str(target).startswith(str(root.resolve()) + os.sep):
            continue  # no path escapes
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _hide_paths(task: Task, scratch: Path) -> list[str]:
    """The deny-list of ``unshare`` mode (what the kernel keeps is carved out of it)."""
    from rnncourse.grading.sandbox import python_roots

    tops = {"/" + p.strip("/").split("/")[0] for p in [*python_roots(), str(scratch)]}
    system = {"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/opt"}
    paths = [*task.hide, str(scratch.parent), os.path.expanduser("~"), tempfile.gettempdir(),
             "/root", "/home", "/tmp", "/var/tmp", "/dev/shm", "/mnt", "/media", "/srv",
             *(t for t in tops if t not in system), *task.options.extra_hide_paths]
    return sorted({p for p in paths if p and p != "/" and os.path.exists(p)})


def grade(task: Task, scratch: Path) -> dict:
    """Grade ``task`` in ``scratch`` (an empty directory) in this process; see module doc."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteKernelspec,
        SaveAutoGrades,
    )
    from traitlets.config import Config

    from rnncourse.grading import execute, feedback, sandbox, scan

    started = time.monotonic()
    limits = task.options.limits
    mode = sandbox.resolve_mode(task.options.sandbox)
    course = scratch / "course"
    kernels = scratch / "k"
    course.mkdir(mode=0o700)
    kernels.mkdir(mode=0o711)
    scratch.chmod(0o711)
    (course / "gradebook.db").write_bytes(task.template)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    source_dir = course / "solutions" / task.assignment
    source_dir.mkdir(parents=True)
    _write_files(source_dir, task.source_files)
    submitted = course / "submitted" / task.student / task.assignment
    submitted.mkdir(parents=True)
    _write_files(submitted, task.files)

    table = _cell_table(db_url, task.course_id, task.assignment)
    notes, usable = precheck(submitted, table)
    if not usable:
        return failure(task, "no gradable notebook: " + "; ".join(notes), notes=notes,
                       mode=mode, timing={"total": time.monotonic() - started})

    cfg = Config(task.config)
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.course_id = task.course_id
    cfg.CourseDirectory.db_url = db_url
    cfg.CourseDirectory.source_directory = "solutions"
    cfg.CourseDirectory.submitted_directory = "submitted"
    cfg.CourseDirectory.autograded_directory = "autograded"
    cfg.CourseDirectory.feedback_directory = "feedback"
    cfg.Execute.timeout = limits.cell_timeout
    cfg.Execute.interrupt_on_timeout = True
    restoring = _restoring_overwrite_cells()
    cfg.OverwriteCells.add_missing_cells = True
    cfg.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, OverwriteKernelspec, restoring, CheckCellMetadata]
    cfg.Autograde.autograde_preprocessors = [
        execute.GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    guard_env = {
        "RNNCOURSE_GUARD_MODULES": ",".join(task.options.protected_modules),
        "RNNCOURSE_GUARD_PREIMPORT": ",".join(task.options.preimport),
    }
    execute.SETTINGS = execute.KernelSettings(
        mode=mode,
        kernel_root=kernels,
        limits={"as": limits.memory_bytes, "cpu": limits.cpu_limit(),
                "fsize": limits.file_bytes, "nproc": limits.processes, "core": 0},
        hide=_hide_paths(task, scratch) if mode == "unshare" else [],
        ro_paths=list(task.options.extra_ro_paths),
        pass_env=task.options.pass_env,
        guard_env=guard_env,
        output_bytes=limits.output_bytes,
        notebook_timeout=limits.notebook_timeout,
        pid_file=scratch / "kernels.pid",
    )
    execute.EVENTS.clear()

    capture = _LogCapture()
    logger = logging.getLogger("traitlets")
    logger.addHandler(capture)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = task.assignment
    coursedir.student_id = task.student
    error = None
    setup_done = time.monotonic()
    try:
        Autograde(coursedir=coursedir, config=cfg).start()
    except Exception as exc:  # nbgrader raises NbGraderException after logging the cause
        error = exc
    messages = capture.messages()
    events = execute.EVENTS
    for nb_events in events.values():
        notes += nb_events.notes
    tampering = [t for e in events.values() for t in e.tampering]
    timing = {
        "setup": setup_done - started,
        "autograde": time.monotonic() - setup_done,
        "execute": sum(e.execute_seconds for e in events.values()),
        "kernel_start": sum(e.kernel_start_seconds for e in events.values()),
    }
    autograded = course / "autograded" / task.student / task.assignment
    if error is not None or not autograded.is_dir():
        reason = f"nbgrader could not grade it: {_nbgrader_reason(messages)}"
        timing["total"] = time.monotonic() - started
        return failure(task, reason, notes=notes, mode=mode, timing=timing,
                       tampering=tampering)

    result = _read_results(db_url, task)
    import nbformat

    flags = [f"tampering restored at run time: {t}" for t in tampering]
    files: dict[str, bytes] = {}
    for path in sorted(autograded.rglob("*")):
        if path.is_file() and path.stat().st_size <= _MAX_OUTPUT_FILE:
            files[f"autograded/{path.relative_to(autograded).as_posix()}"] = path.read_bytes()
        if path.suffix == ".ipynb" and path.parent == autograded:
            nb = nbformat.read(path, as_version=4)
            flags += [f"{path.stem}: {reason}" for reason in scan.scan_notebook(nb)]
    for name, info in result["notebooks"].items():
        info["failed_tests"] = events.get(name, execute.NotebookEvents()).failed_tests
        info["flagged"] = bool(flags)

    feedback_started = time.monotonic()
    if task.options.feedback:
        fcfg = feedback.feedback_config(cfg)
        fdir = CourseDirectory(config=fcfg)
        fdir.assignment_id = task.assignment
        fdir.student_id = task.student
        try:
            GenerateFeedback(coursedir=fdir, config=fcfg, force=True).start()
            out = course / "feedback" / task.student / task.assignment
            for path in sorted(out.glob("*.html")):
                files[f"feedback/{path.name}"] = path.read_bytes()
        except Exception as exc:
            notes.append(f"feedback could not be generated: {type(exc).__name__}: {exc}")
    logger.removeHandler(capture)
    timing["feedback"] = time.monotonic() - feedback_started
    timing["total"] = time.monotonic() - started
    return {
        "student": task.student,
        "assignment": task.assignment,
        "key": task.key,
        "status": "graded",
        "reason": None,
        "notes": notes,
        "flags": sorted(set(flags)),
        "tampering": tampering,
        "timestamp": result["timestamp"],
        "notebooks": result["notebooks"],
        "files": files,
        "timing": timing,
        "mode": mode,
    }


def warm_up() -> None:
    """Do once, in the zygote, the first-use work every child would otherwise repeat.

    SQLAlchemy's mapper configuration, nbformat's schema, and the feedback exporter (its
    Jinja templates, regular expressions and syntax highlighter): forked children inherit
    them ready, which saves about a second per submission.
    """
    import nbformat
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from sqlalchemy.orm import configure_mappers
    from traitlets.config import Config

    from rnncourse.grading.feedback import HideHiddenTests

    configure_mappers()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nSome $x^2$ and `code`."),
        nbformat.v4.new_code_cell("import numpy as np\nprint(np.ones(3))", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="[1. 1. 1.]\n"),
            nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                   traceback=["AssertionError: no"]),
        ]),
    ])
    nbformat.validate(nb)
    nb, _ = HideHiddenTests().preprocess(nb, {})
    converter = GenerateFeedback(config=Config())  # sets the feedback template paths
    exporter = HTMLExporter(config=converter.config)
    exporter.from_notebook_node(nb, resources={"nbgrader": {"score": 0, "max_score": 1,
                                                            "late_penalty": 0}})


# --- process management -----------------------------------------------------------------------


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _child_main(task_path: str, result_path: str, scratch: str) -> None:
    """Entry point of the grading child process."""
    _die_with_parent()
    # nbgrader 0.9.6's new submissions trip harmless SQLAlchemy autoflush warnings
    warnings.filterwarnings("ignore", message=".*not in session.*")
    os.environ["PATH"] = os.pathsep.join(
        [os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    child_started = time.time()
    with open(task_path, "rb") as handle:
        task: Task = pickle.load(handle)
    try:
        result = grade(task, Path(scratch))
    except Exception as exc:
        result = failure(task, f"grader error: {type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc())
    result.setdefault("timing", {})["child_started"] = child_started
    tmp = result_path + ".tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        pickle.dump(result, handle)
    os.replace(tmp, result_path)


def _kill_kernels(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    for line in pid_file.read_text().split():
        with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
            os.killpg(int(line), signal.SIGKILL)


def run_isolated(task: Task, scratch_root: str | None = None) -> dict:
    """Grade ``task`` in a fresh child process with a hard deadline; never raises."""
    started = time.monotonic()
    submitted_at = time.time()
    # the runner passes its own scratch root; a Dask worker uses one per process, which the
    # next run removes if that process died (the pid is in the name)
    root = Path(scratch_root or Path(tempfile.gettempdir()) / f"rnncourse-grade-{os.getpid()}-w")
    if not root.exists():
        root.mkdir(parents=True)
        root.chmod(0o711)
    scratch = Path(tempfile.mkdtemp(prefix="s", dir=root))
    deadline = task.options.limits.worker_deadline(len(task.notebooks))
    task_path = scratch.parent / f"{scratch.name}.task"
    result_path = str(scratch.parent / f"{scratch.name}.result")
    fd = os.open(task_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:  # holds the hidden tests: owner only
        pickle.dump(task, handle)
    try:
        code, timed_out = zygote.shared().run(str(task_path), result_path, str(scratch), deadline)
        _kill_kernels(scratch / "kernels.pid")
        if timed_out:
            result = failure(task, f"grading took longer than {deadline:.0f} s; the worker "
                                   "and its kernel were killed")
        elif os.path.exists(result_path):
            with open(result_path, "rb") as handle:
                result = pickle.load(handle)
        else:
            result = failure(task, f"the grading worker died (exit code {code})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for path in (task_path, Path(result_path), Path(result_path + ".tmp")):
            path.unlink(missing_ok=True)
    timing = result.setdefault("timing", {})
    timing["worker_wall"] = time.monotonic() - started
    if "child_started" in timing:  # waiting for the zygote (its start-up, once per run)
        timing["spawn_wait"] = max(0.0, timing.pop("child_started") - submitted_at)
    return result


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2], sys.argv[3])
