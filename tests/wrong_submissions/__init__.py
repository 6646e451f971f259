"""Wrong submissions for the grading tests: each breaks one part of a solution notebook.

Every ``tests/wrong_submissions/<assignment>.py`` defines ``WRONG_SUBMISSIONS``, a list of
:class:`WrongSubmission`. ``tests/test_assignments.py`` applies each one to
``solutions/<assignment>/<assignment>.ipynb``, autogrades the result in a scratch course and
asserts that exactly the test cells named in ``lost`` lose exactly those points while every
other test cell keeps full marks.

Example::

    WrongSubmission(
        "missing_b_hh",
        edits={"rnn_step_forward": ("h_prev @ W_hh.T + b_hh", "h_prev @ W_hh.T")},
        lost={"test_rnn_step_forward": 2, "test_rnn_forward": 2},
    )

``edits`` maps the ``grade_id`` of a solution (answer) cell to ``(old, new)``: ``old`` must
occur exactly once in that cell's source and is replaced by ``new``. Only answer cells may be
edited (test cells are restored by nbgrader anyway).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import nbformat


@dataclass(frozen=True)
class WrongSubmission:
    """A classic mistake applied to a solution notebook, and the points it must cost.

    Attributes:
        name: short identifier, also used as the nbgrader student id.
        edits: ``{grade_id of an answer cell: (old substring, new substring)}``.
        lost: ``{grade_id of a test cell: points lost}``; unlisted test cells keep full marks.
    """

    name: str
    edits: dict[str, tuple[str, str]]
    lost: dict[str, float] = field(default_factory=dict)


def apply(nb: nbformat.NotebookNode, wrong: WrongSubmission) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` with ``wrong.edits`` applied (each ``old`` found exactly once)."""
    nb = nbformat.from_dict(nb)
    by_id = {
        cell.metadata.get("nbgrader", {}).get("grade_id"): cell
        for cell in nb.cells
        if "nbgrader" in cell.metadata
    }
    for grade_id, (old, new) in wrong.edits.items():
        cell = by_id.get(grade_id)
        if cell is None:
            raise KeyError(f"{wrong.name}: no cell with grade_id {grade_id!r}")
        meta = cell.metadata["nbgrader"]
        if not meta.get("solution") or meta.get("grade"):
            raise ValueError(f"{wrong.name}: {grade_id!r} is not an auto-graded answer cell")
        count = cell.source.count(old)
        if count != 1:
            raise ValueError(
                f"{wrong.name}: {old!r} occurs {count} times in cell {grade_id!r}, expected once"
            )
        cell.source = cell.source.replace(old, new)
    return nb


def load(assignment: str) -> list[WrongSubmission]:
    """``WRONG_SUBMISSIONS`` of ``tests/wrong_submissions/<assignment>.py`` ([] if absent)."""
    try:
        module = importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{assignment}":
            return []
        raise
    return list(module.WRONG_SUBMISSIONS)
