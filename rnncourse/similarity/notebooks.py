"""Read the code that the similarity report compares out of nbgrader notebooks.

Three kinds of document come out of an assignment ``NAME``:

- a **submission**, ``<submitted>/<student>/NAME/NAME.ipynb`` (nbgrader's layout): its answer
  cells, the code cells whose nbgrader metadata says ``solution: true``, plus any code cell the
  student added (no nbgrader metadata), keyed by ``grade_id``;
- the **instructor's solution**, the answer cells of ``solutions/NAME/NAME.ipynb`` with the
  ``### BEGIN SOLUTION`` / ``### END SOLUTION`` marker lines removed;
- the **boilerplate**: every code cell of the source with its solution regions (and hidden-test
  regions) cut out, i.e. what the release gives every student. Its fingerprints never count as
  similarity.

A notebook that cannot be read (not JSON, not a notebook, missing) raises
:class:`NotebookError`; the caller reports it and goes on with the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: nbgrader's region markers (``nbgrader.utils`` uses the same spelling).
_BEGIN_SOLUTION = re.compile(r"^\s*#+\s*BEGIN SOLUTION\s*$")
_END_SOLUTION = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
_BEGIN_HIDDEN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
_END_HIDDEN = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
#: Largest notebook read (a submission bloated with outputs is still far below this).
MAX_NOTEBOOK_BYTES = 32 * 1024**2


class NotebookError(ValueError):
    """A notebook could not be read as an nbgrader notebook; the message says why."""


@dataclass(frozen=True)
class Cell:
    """One code cell compared: its nbgrader ``grade_id`` (or ``cell-<index>``) and code."""

    cell_id: str
    source: str


@dataclass(frozen=True)
class Document:
    """The compared code of one notebook: a student's submission or the instructor's solution."""

    name: str
    path: Path
    cells: tuple[Cell, ...]


def read_notebook(path: Path) -> dict[str, Any]:
    """The notebook at ``path`` as JSON, checked to have a list of cells (nbformat 4)."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path.name}: no such notebook")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path.name}: larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        notebook = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path.name}: not UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{path.name}: not JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path.name}: not a notebook (no list of cells)")
    return notebook


def _source(cell: dict[str, Any], where: str) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise NotebookError(f"{where}: cell source is neither a string nor a list of strings")


def _code_cells(notebook: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any], str]]:
    """``(cell id, nbgrader metadata, source)`` of every code cell."""
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            raise NotebookError(f"{where}: cell {index} is not an object")
        if cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
        nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
        cell_id = nbgrader.get("grade_id")
        cell_id = cell_id if isinstance(cell_id, str) and cell_id else f"cell-{index}"
        cells.append((cell_id, nbgrader, _source(cell, where)))
    return cells


def _cut(source: str, begin: re.Pattern[str], end: re.Pattern[str]) -> tuple[str, str]:
    """``(outside, inside)``: the lines outside and inside the ``begin``/``end`` regions.

    The marker lines themselves belong to neither.
    """
    outside: list[str] = []
    inside: list[str] = []
    depth = 0
    for line in source.splitlines(keepends=True):
        if begin.match(line):
            depth += 1
        elif end.match(line) and depth:
            depth -= 1
        else:
            (inside if depth else outside).append(line)
    return "".join(outside), "".join(inside)


def answer_cells(notebook: dict[str, Any], where: str) -> tuple[Cell, ...]:
    """The cells a student writes: nbgrader solution code cells and cells the student added."""
    return tuple(Cell(cell_id, source) for cell_id, nbgrader, source in _code_cells(notebook, where)
                 if nbgrader.get("solution") is True or not nbgrader)


def load_submission(student: str, path: Path) -> Document:
    """The answer cells of one student's notebook (:class:`NotebookError` if unreadable)."""
    return Document(student, path, answer_cells(read_notebook(path), f"{student}: {path.name}"))


def load_source(path: Path, name: str = "instructor solution") -> tuple[Document, tuple[Cell, ...]]:
    """``(solution, boilerplate)`` from the instructor's source notebook.

    ``solution`` holds the solution code cells without their marker lines; ``boilerplate``
    holds every code cell of the source with the solution and hidden-test regions cut out (the
    released stub, setup and visible tests), which every submission shares.
    """
    notebook = read_notebook(path)
    solution: list[Cell] = []
    boilerplate: list[Cell] = []
    for cell_id, nbgrader, source in _code_cells(notebook, f"source {path.name}"):
        stub, _answer = _cut(source, _BEGIN_SOLUTION, _END_SOLUTION)
        stub, _hidden = _cut(stub, _BEGIN_HIDDEN, _END_HIDDEN)
        boilerplate.append(Cell(cell_id, stub))
        if nbgrader.get("solution") is True:
            lines = [line for line in source.splitlines(keepends=True)
                     if not (_BEGIN_SOLUTION.match(line) or _END_SOLUTION.match(line))]
            solution.append(Cell(cell_id, "".join(lines)))
    if not solution:
        raise NotebookError(f"source {path.name}: no solution code cells (nbgrader metadata)")
    return Document(name, path, tuple(solution)), tuple(boilerplate)


def load_release(path: Path) -> tuple[Cell, ...]:
    """Every code cell of a released notebook (boilerplate as students received it)."""
    notebook = read_notebook(path)
    return tuple(Cell(cell_id, source)
                 for cell_id, _nb, source in _code_cells(notebook, f"release {path.name}"))


def submission_paths(submitted: Path, assignment: str) -> tuple[dict[str, Path], dict[str, str]]:
    """``({student: notebook path}, {student: problem})`` in nbgrader's submitted layout.

    A student folder holding the assignment but not ``<assignment>.ipynb``, or reached through
    a symbolic link, is a problem, not a submission.
    """
    submitted = Path(submitted)
    if not submitted.is_dir():
        raise FileNotFoundError(f"no submissions folder {submitted}")
    found: dict[str, Path] = {}
    problems: dict[str, str] = {}
    for student_dir in sorted(submitted.iterdir()):
        folder = student_dir / assignment
        if student_dir.name.startswith(".") or not folder.is_dir():
            continue
        notebook = folder / f"{assignment}.ipynb"
        if any(p.is_symlink() for p in (student_dir, folder, notebook)):
            # As when grading: a link could point a report at any file the instructor can read.
            problems[student_dir.name] = "symbolic link in the submission (not read)"
        elif notebook.is_file():
            found[student_dir.name] = notebook
        else:
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            problems[student_dir.name] = (
                f"no {assignment}.ipynb" + (f" (found {', '.join(others)})" if others else ""))
    return found, problems
