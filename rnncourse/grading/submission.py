"""Grade one submission, top to bottom: the whole per-submission path in one module.

:func:`grade_submission` runs in a worker process (local pool or Dask) and does, in order:

1. **Scratch course.** A fresh folder laid out as an nbgrader course holding only what grading
   needs: a copy of the template gradebook (this assignment's cells, hidden tests included),
   the assignment's non-notebook source files (``hidden.py``), the student's files under
   ``submitted/``. The student's files other than the notebooks are listed, never shown to
   the student process.
2. **Precheck** (:func:`precheck`). Invalid notebooks are removed (scored as missing) with the
   reason; unknown or duplicated ``grade_id`` cells become ordinary cells and edited metadata
   is reset, so that nbgrader restores the assignment's own cells.
3. **nbgrader's Autograde converter**, with the judge in place of ``Execute``
   (:mod:`rnncourse.grading.judge_execute`): nbgrader restores locked and deleted cells from
   the gradebook, the judge runs the notebook's code in the sandboxed student process and
   decides every test outside it, nbgrader scores the outputs and applies the late penalty
   (the student's extension included).
4. **Results**: scores per cell read back from the scratch gradebook, the judge's messages,
   the autograded notebooks and the feedback HTML (hidden tests removed) as bytes.

A fault of the submission (nothing gradable) is a result with status ``failed`` and the
reason. A fault of the machinery (the sandbox cannot start, the disk is full, a bug) raises
:class:`InfrastructureError`: the runner retries the submission and never records a grade
for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from pathlib import Path

import nbformat

from rnncourse.grading.job import (
    GRADED,
    SUBMISSION_FAULT,
    CellGrade,
    NotebookResult,
    SubmissionResult,
    SubmissionTask,
)

#: Files written back when larger than this are cut (outputs dropped) and the report says so.
_CUT_NOTE = "outputs removed: the autograded notebook was larger than {limit} bytes"


class InfrastructureError(RuntimeError):
    """Grading failed for a reason that is not the submission's; retry it."""


# --- the scratch course ---------------------------------------------------------------------


def _write_files(root: Path, files: dict[str, bytes]) -> None:
    root = root.resolve()
    for relative, content in files.items():
        target = (root / relative).resolve()
        if root not in target.parents:
            continue  # no path escapes the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


# --- checks before nbgrader -----------------------------------------------------------------


def cell_table(db_url: str, course_id: str, assignment: str) -> dict[str, dict[str, dict]]:
    """``{notebook: {grade_id: {source, grade, solution, locked, points, checksum, task}}}``
    from the gradebook."""
    from nbgrader.api import Gradebook

    table: dict[str, dict[str, dict]] = {}
    with Gradebook(db_url, course_id) as gb:
        for nb in gb.find_assignment(assignment).notebooks:
            grade = {c.name: c.max_score for c in nb.grade_cells}
            task = {c.name: c.max_score for c in nb.task_cells}
            solution = {c.name for c in nb.solution_cells}
            table[nb.name] = {
                sc.name: {
                    "source": sc.source,
                    "grade": sc.name in grade,
                    "solution": sc.name in solution,
                    "locked": bool(sc.locked),
                    "points": grade.get(sc.name, task.get(sc.name)),
                    "checksum": sc.checksum,
                    "task": sc.name in task,
                }
                for sc in nb.source_cells
            }
    return table


def _canonical_meta(name: str, info: dict) -> dict:
    meta = {"grade": info["grade"], "grade_id": name, "locked": info["locked"],
            "schema_version": 3, "solution": info["solution"]}
    if info["grade"] or info.get("task"):
        meta["points"] = info["points"]
    if info.get("task"):
        meta["task"] = True
    if info.get("checksum"):
        meta["checksum"] = info["checksum"]
    return meta


def _released(source: str) -> str:
    """The student's version of an instructor cell: its hidden region removed."""
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

    Returns ``(notes, usable notebook names)``. Invalid notebooks are removed (nbgrader then
    scores them as missing); extra notebooks and other files stay, listed in the notes.
    """
    notes: list[str] = []
    usable: list[str] = []
    present = sorted(p.stem for p in folder.glob("*.ipynb"))
    extra = [n for n in present if n not in table]
    for name in extra:
        notes.append(f"extra notebook {name}.ipynb ignored (not part of the assignment)")
    others = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                    if p.is_file() and p.suffix != ".ipynb" and p.name != "timestamp.txt")
    if others:
        notes.append(f"other files in the submission, not used: {', '.join(others[:20])}"
                     + (f" and {len(others) - 20} more" if len(others) > 20 else ""))
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
            notes.append(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}: "
                         f"{message}): scored 0")
            path.unlink()
            continue
        notes += _repair_metadata(nb, name, cells)
        nbformat.write(nb, path)
        usable.append(name)
    return notes, usable


def _repair_metadata(nb: nbformat.NotebookNode, name: str, cells: dict[str, dict]) -> list[str]:
    notes = []
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id not in cells or grade_id in seen:
            what = "duplicate" if grade_id in seen else "unknown"
            notes.append(f"{name}: cell {index} has {what} grade_id {grade_id!r}; treated as an "
                         "ordinary cell (the assignment's own cell is restored)")
            del cell.metadata["nbgrader"]
            continue
        seen.add(grade_id)
        canonical = _canonical_meta(grade_id, cells[grade_id])
        if {k: meta.get(k) for k in canonical if k != "checksum"} != {
                k: v for k, v in canonical.items() if k != "checksum"}:
            notes.append(f"{name}: nbgrader metadata of cell {grade_id!r} was edited; reset")
        if "checksum" not in canonical and "checksum" in meta:
            canonical["checksum"] = meta["checksum"]
        cell.metadata["nbgrader"] = canonical
    for cell in nb.cells:
        info = cells.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if info and info["locked"] and not info["solution"] and cell.source.strip() not in (
                info["source"].strip(), _released(info["source"]).strip()):
            notes.append(f"{name}: instructor cell {cell.metadata['nbgrader']['grade_id']!r} was "
                         "edited; the original is restored from the gradebook")
    missing = [g for g, info in cells.items() if info["grade"] and g not in seen]
    if missing:
        notes.append(f"{name}: graded cell(s) {', '.join(missing)} missing; restored")
    return notes


# --- nbgrader -------------------------------------------------------------------------------


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
            positions = {cell.metadata.get("nbgrader", {}).get("grade_id"): i
                         for i, cell in enumerate(nb.cells)}
            anchor = -1
            for source_cell in source_nb.source_cells:
                if source_cell.name in positions:
                    anchor = positions[source_cell.name]
                    continue
                if source_cell.name not in grade_cells:
                    continue
                new = self.missing_cell_transform(
                    source_cell, grade_cells[source_cell.name].max_score,
                    is_solution=source_cell.name in solution_ids)
                nb.cells.insert(anchor + 1, new)
                anchor += 1
                positions = {cell.metadata.get("nbgrader", {}).get("grade_id"): i
                             for i, cell in enumerate(nb.cells)}
            return nb, resources

    return RestoringOverwriteCells


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a record whose arguments do not format
            self.messages.append(str(record.msg))


def _nbgrader_reason(messages: list[str]) -> str:
    """The most useful line of nbgrader's error log."""
    for message in reversed(messages):
        for line in reversed([ln.strip() for ln in message.splitlines() if ln.strip()]):
            if line.split(":")[0].endswith(("Error", "Exception", "Exit")):
                return line[:300]
    return next((m.strip().splitlines()[-1][:300] for m in reversed(messages) if m.strip()),
                "unknown error")


def _add_student(db_url: str, task: SubmissionTask) -> None:
    """The student (and their extension) in the scratch gradebook, for the late penalty."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, task.course_id) as gb:
        gb.update_or_create_student(task.student)
        if task.extension_minutes:
            submission = gb.update_or_create_submission(task.assignment, task.student)
            submission.extension = dt.timedelta(minutes=task.extension_minutes)
            gb.db.commit()


def _read_results(db_url: str, task: SubmissionTask,
                  failed: dict[str, dict[str, str]]) -> tuple[dict[str, NotebookResult],
                                                              dt.datetime | None]:
    from nbgrader.api import Gradebook

    notebooks: dict[str, NotebookResult] = {}
    with Gradebook(db_url, task.course_id) as gb:
        assignment = gb.find_assignment(task.assignment)
        solution = {nb.name: {c.name for c in nb.solution_cells} for nb in assignment.notebooks}
        tasks = {nb.name: {c.name for c in nb.task_cells} for nb in assignment.notebooks}
        submission = gb.find_submission(task.assignment, task.student)
        for snb in submission.notebooks:
            name = snb.notebook.name
            grades = tuple(sorted(
                (CellGrade(g.name,
                           "task" if g.name in tasks[name]
                           else "manual" if g.name in solution[name] else "test",
                           g.auto_score, float(g.max_score), bool(g.needs_manual_grade))
                 for g in snb.grades), key=lambda g: g.name))
            comments = tuple(sorted((c.name, c.auto_comment) for c in snb.comments))
            notebooks[name] = NotebookResult(name, grades, comments,
                                             snb.late_submission_penalty,
                                             failed.get(name, {}))
        return notebooks, submission.timestamp


def _collect_files(course: Path, task: SubmissionTask, limit: int,
                   notes: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    autograded = course / "autograded" / task.student / task.assignment
    for path in sorted(autograded.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > limit and path.suffix == ".ipynb":
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = []
            data = nbformat.writes(nb).encode()
            notes.append(f"{path.name}: " + _CUT_NOTE.format(limit=limit))
        elif len(data) > limit:
            notes.append(f"{path.name} ({len(data)} bytes) not kept: over {limit} bytes")
            continue
        files[f"autograded/{path.relative_to(autograded).as_posix()}"] = data
    return files


def _scan(autograded: Path) -> list[str]:
    """What the static scan finds in the code the student could edit (a flag, never a score)."""
    from rnncourse.grading import scan

    flags = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        flags += [f"{path.stem}: {reason}" for reason in scan.scan_notebook(nb)]
    return sorted(set(flags))


def _feedback(cfg, course: Path, task: SubmissionTask, notes: list[str]) -> dict[str, bytes]:
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from rnncourse.grading import feedback

    fcfg = feedback.feedback_config(cfg)
    fdir = CourseDirectory(config=fcfg)
    fdir.assignment_id = task.assignment
    fdir.student_id = task.student
    try:
        GenerateFeedback(coursedir=fdir, config=fcfg, force=True).start()
    except Exception as exc:  # nbgrader logs and raises NbGraderException
        notes.append(f"feedback could not be generated ({type(exc).__name__}); the student's "
                     "earlier feedback is removed")
        return {}
    out = course / "feedback" / task.student / task.assignment
    return {f"feedback/{p.name}": p.read_bytes() for p in sorted(out.glob("*.html"))}


#: One submission at a time per process: nbgrader's converters set and unset process-wide
#: state (``os.environ["NBGRADER_EXECUTION"]``, logging handlers), so the threads of a Dask
#: worker started with several threads take turns. Run workers with ``--nthreads 1``.
_ONE_AT_A_TIME = threading.Lock()


def grade_submission(task: SubmissionTask, scratch_root: Path | None = None) -> SubmissionResult:
    """Grade ``task``; see the module docstring. Raises :class:`InfrastructureError`."""
    with _ONE_AT_A_TIME:
        started = time.monotonic()
        root = Path(tempfile.mkdtemp(prefix="rnncourse-sub-", dir=scratch_root))
        try:
            return _grade(task, root, started)
        except InfrastructureError:
            raise
        except Exception as error:  # the machinery, not the submission: the runner retries
            raise InfrastructureError(f"{type(error).__name__}: {error}") from error
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _grade(task: SubmissionTask, root: Path, started: float) -> SubmissionResult:
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.converters import Autograde
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

    from rnncourse.grading.judge_execute import JudgeContext, judge_execute
    from rnncourse.judge.engine import JudgeSettings
    from rnncourse.judge.student import ProcessLimits

    settings, limits = task.settings, task.settings.limits
    result = SubmissionResult(task.assignment, task.student, task.key, GRADED)
    course = root / "course"
    course.mkdir(mode=0o700)
    root.chmod(0o711)
    (course / "gradebook.db").write_bytes(task.template)
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    source_dir = course / "solutions" / task.assignment
    source_dir.mkdir(parents=True)
    _write_files(source_dir, task.source_files)
    submitted = course / "submitted" / task.student / task.assignment
    submitted.mkdir(parents=True)
    _write_files(submitted, task.files)

    table = cell_table(db_url, task.course_id, task.assignment)
    result.notes, usable = precheck(submitted, table)
    if not usable:
        result.status = SUBMISSION_FAULT
        result.reason = "no gradable notebook: " + "; ".join(result.notes)
        result.timing["total"] = time.monotonic() - started
        return result
    _add_student(db_url, task)

    cfg = Config(task.config)
    for key, value in {"root": str(course), "course_id": task.course_id, "db_url": db_url,
                       "source_directory": "solutions", "submitted_directory": "submitted",
                       "autograded_directory": "autograded",
                       "feedback_directory": "feedback"}.items():
        setattr(cfg.CourseDirectory, key, value)
    cfg.OverwriteCells.add_missing_cells = True
    context = JudgeContext(
        task.assignment, task.student, source_dir, root / "j",
        JudgeSettings(mode=settings.sandbox,
                      limits=ProcessLimits(memory_bytes=limits.memory_bytes,
                                           cpu_seconds=limits.cpu_seconds,
                                           file_bytes=limits.file_bytes,
                                           processes=limits.processes),
                      cell_timeout=limits.cell_timeout, call_timeout=limits.call_timeout,
                      notebook_timeout=limits.notebook_timeout, secret=task.seed),
        output_bytes=limits.output_bytes)
    cfg.Autograde.sanitize_preprocessors = [
        ClearOutput, DeduplicateIds, OverwriteKernelspec, _restoring_overwrite_cells(),
        CheckCellMetadata]
    # nbgrader's list ends with a second CheckCellMetadata: nothing after the sanitizing
    # steps changes a cell's nbgrader metadata here, and the check cost 0.04 s a notebook
    cfg.Autograde.autograde_preprocessors = [
        judge_execute(context), IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties]

    capture = _LogCapture()
    logger = logging.getLogger("traitlets")
    logger.addHandler(capture)
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = task.assignment
    coursedir.student_id = task.student
    setup_done = time.monotonic()
    try:
        with warnings.catch_warnings():
            # nbgrader 0.9.6's new submissions trip harmless SQLAlchemy autoflush warnings
            warnings.filterwarnings("ignore", message=".*not in session.*")
            Autograde(coursedir=coursedir, config=cfg).start()
        nbgrader_error = None
    except Exception as exc:  # nbgrader raises NbGraderException after logging the cause
        nbgrader_error = exc
    finally:
        logger.removeHandler(capture)
    if context.error is not None:
        raise InfrastructureError(f"the judge failed: {context.error}") from context.error
    result.timing.update(setup=setup_done - started, autograde=time.monotonic() - setup_done,
                         judge=sum(context.seconds.values()))
    autograded = course / "autograded" / task.student / task.assignment
    if nbgrader_error is not None or not autograded.is_dir():
        result.status = SUBMISSION_FAULT
        result.reason = f"nbgrader could not grade it: {_nbgrader_reason(capture.messages)}"
        result.timing["total"] = time.monotonic() - started
        return result

    failed = {name: {gid: t.message for gid, t in verdict.tests.items() if not t.passed}
              for name, verdict in context.verdicts.items()}
    for name, verdict in context.verdicts.items():
        result.notes += [f"{name}: {note}" for note in verdict.notes]
    result.notebooks, result.timestamp = _read_results(db_url, task, failed)
    result.files = _collect_files(course, task, limits.notebook_bytes, result.notes)
    result.flags = _scan(autograded)
    feedback_started = time.monotonic()
    if settings.feedback:
        result.files.update(_feedback(cfg, course, task, result.notes))
    result.timing["feedback"] = time.monotonic() - feedback_started
    result.timing["total"] = time.monotonic() - started
    return result


_warm = False


def preload() -> None:
    """Import and warm up what every submission needs, once per process."""
    global _warm
    if _warm:
        return
    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch  # noqa: F401 - the oracle
    from nbgrader.converters import Autograde, GenerateFeedback  # noqa: F401
    from sqlalchemy.orm import configure_mappers

    import rnncourse.oracles  # noqa: F401
    from rnncourse import reference  # noqa: F401
    from rnncourse.grading import judge_execute  # noqa: F401
    from rnncourse.grading.feedback import FeedbackHTMLExporter, HideHiddenTests, feedback_config

    configure_mappers()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title\n\nSome $x^2$ and `code`."),
        nbformat.v4.new_code_cell("import numpy as np", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="ok\n"),
            nbformat.v4.new_output("error", ename="AssertionError", evalue="no",
                                   traceback=["AssertionError: no"])])])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    # the feedback template compiled once (FeedbackHTMLExporter keeps it for the process)
    exporter = FeedbackHTMLExporter(config=GenerateFeedback(config=feedback_config()).config)
    exporter.from_notebook_node(nb, resources={"nbgrader": {"score": 0, "max_score": 1,
                                                            "late_penalty": 0}})
    _warm = True
