"""Independent correct submissions: code written from the released notebook alone.

Every ``tests/correct_submissions/<assignment>.py`` defines ``CORRECT_SUBMISSIONS``, a list of
:class:`CorrectSubmission`, each a learner's answers written differently from the instructor's
solution (another operation order, another module order, ``h_n`` instead of ``out[:, -1]``,
``nn.MSELoss`` instead of a manual mean...). They are applied to the *released* notebook
(``exercises/<assignment>/<assignment>.ipynb``), replacing the whole source of each answer
cell, and must score full automatic marks in every grading path without being flagged
(``tests/test_correct_submissions.py``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class CorrectSubmission:
    """A correct learner submission.

    Attributes:
        name: short identifier, also used as the nbgrader student id.
        cells: ``{grade_id of an answer cell: its whole new source}``.
    """

    name: str
    cells: dict[str, str]


def apply(nb: nbformat.NotebookNode, submission: CorrectSubmission) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` whose answer cells hold ``submission.cells``."""
    nb = nbformat.from_dict(nb)
    by_id = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell
        for cell in nb.cells
        if "nbgrader" in cell.metadata
    }
    for grade_id, source in submission.cells.items():
        cell = by_id.get(grade_id)
        if cell is None:
            raise KeyError(f"{submission.name}: no cell with grade_id {grade_id!r}")
        meta = cell.metadata["nbgrader"]
        if not meta.get("solution"):
            raise ValueError(f"{submission.name}: {grade_id!r} is not an answer cell")
        cell.source = source.strip("\n") + "\n"
    return nb


def load(assignment: str) -> list[CorrectSubmission]:
    """``CORRECT_SUBMISSIONS`` of ``tests/correct_submissions/<assignment>.py`` ([] if absent)."""
    try:
        module = importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{assignment}":
            return []
        raise
    return list(module.CORRECT_SUBMISSIONS)
