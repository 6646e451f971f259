"""The points rubric on the Exercises page, generated from the test suites when the book is built.

Usage in a MyST page::

    :::{rubric-levels}
    :::

    :::{assignment-rubric} rnn_cell
    :::

    Assignment 1 is worth {assignment-points}`rnn_cell`.

- ``rubric-levels``: the table of :data:`rnncourse.suites.rubric.LEVELS` (level, points, what
  earns them).
- ``assignment-rubric NAME``: one row per graded test of the assignment's suite (its
  ``grade_id``, level, points and one-line ``what``), one row per written answer (points from
  the released notebook's nbgrader metadata), and the total.
- ``{assignment-points}`NAME```: the total, e.g. ``"18 (2 written)"``.

Only public facts are shown: test ids, levels, points and the ``what`` lines that the released
notebooks print above their tests. Hidden cases live with the instructor's source and are never
imported. The suite disagreeing with the released notebook (a test missing on either side, or
other points) is a Sphinx warning, so the strict build (``-W``) fails rather than print a
rubric the grader does not apply. The suite modules, the rubric and the released notebooks are
dependencies of the page: changing one rebuilds it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from rnncourse import assignments
from rnncourse.suites import rubric

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One graded cell: ``written`` answers are read by a person (no level, no ``what``)."""

    grade_id: str
    level: str
    points: float
    what: str
    written: bool = False


@dataclass(frozen=True)
class AssignmentRubric:
    """The graded cells of one assignment and what disagrees between suite and notebook."""

    name: str
    rows: tuple[Row, ...]
    problems: tuple[str, ...]
    files: tuple[Path, ...]

    @property
    def tests(self) -> float:
        return sum(r.points for r in self.rows if not r.written)

    @property
    def written(self) -> float:
        return sum(r.points for r in self.rows if r.written)

    @property
    def total(self) -> float:
        return self.tests + self.written


def points_text(points: float) -> str:
    return f"{points:g}"


def assignment_rubric(name: str, root: Path) -> AssignmentRubric:
    """The rubric of ``name``: tests from ``rnncourse.suites.<name>``, written answers and the
    check against the released notebook under ``root``."""
    module = importlib.import_module(f"rnncourse.suites.{name}")
    suite = module.SUITE
    notebook_path = assignments.release_notebook(name, root)
    cells = nbformat.read(notebook_path, as_version=4).cells
    graded = [c.metadata["nbgrader"] for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests = {m["grade_id"]: float(m.get("points", 0)) for m in graded if not m.get("solution")}
    rows = [Row(spec.grade_id, spec.level, spec.points, spec.what)
            for spec in suite.tests.values()]
    rows += [Row(m["grade_id"], "", float(m.get("points", 0)), "", written=True)
             for m in graded if m.get("solution")]
    problems = []
    if list(tests) != list(suite.tests):
        problems.append(f"the suite tests {list(suite.tests)} but the notebook grades "
                        f"{list(tests)}")
    problems += [f"{gid}: {spec.points:g} points in the suite, {tests[gid]:g} in the notebook"
                 for gid, spec in suite.tests.items() if gid in tests and tests[gid] != spec.points]
    files = (Path(module.__file__), Path(rubric.__file__), notebook_path)
    return AssignmentRubric(name, tuple(rows), tuple(problems), files)


#: characters that Markdown or MyST could read as markup; backslash-escaped in table cells
_MARKUP = set("\\`*_[]$<>|{}~#!")


def _cell(text: str) -> str:
    """``text`` as literal Markdown for a table cell."""
    return "".join("\\" + c if c in _MARKUP else c for c in text)


def levels_table() -> list[str]:
    lines = ["| level | points | what earns them |", "|---|---|---|"]
    lines += [f"| {level} | {points} | {_cell(what)} |"
              for level, (points, what) in rubric.LEVELS.items()]
    return lines


def assignment_table(r: AssignmentRubric) -> list[str]:
    lines = ["| graded cell | level | points | what it checks |", "|---|---|---|---|"]
    for row in r.rows:
        if row.written:
            lines.append(f"| `{row.grade_id}` | written answer, read by a person | "
                         f"{points_text(row.points)} | your explanation in words |")
        else:
            lines.append(f"| `{row.grade_id}` | {row.level} | {points_text(row.points)} | "
                         f"{_cell(row.what)} |")
    split = (f"{points_text(r.tests)} from tests, {points_text(r.written)} written"
             if r.written else "all from tests")
    lines.append(f"| **total** | | **{points_text(r.total)}** | {split} |")
    return lines


def load(env, name: str, location: str) -> AssignmentRubric | None:
    """The rubric of ``name`` for a page: its files noted as dependencies, its problems
    reported as warnings."""
    if name not in assignments.ASSIGNMENTS:
        logger.warning(f"unknown assignment {name!r}; known: {assignments.ASSIGNMENTS}",
                       location=location)
        return None
    result = assignment_rubric(name, Path(env.srcdir))
    for path in result.files:
        env.note_dependency(str(path.resolve()))
    for problem in result.problems:
        logger.warning(f"rubric of {name}: {problem}", location=location)
    return result


class _RubricDirective(SphinxDirective):
    def render(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container(classes=["rubric-table"])
        self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                self.content_offset, container)
        return container.children


class RubricLevelsDirective(_RubricDirective):
    """``{rubric-levels}``: the levels of the rubric and their points."""

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(Path(rubric.__file__).resolve()))
        return self.render(levels_table())


class AssignmentRubricDirective(_RubricDirective):
    """``{assignment-rubric} NAME``: every graded cell of one assignment and the total."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        result = load(self.env, self.arguments[0], self.get_location())
        return self.render(assignment_table(result)) if result else []


class AssignmentPointsRole(SphinxRole):
    """``{assignment-points}`NAME```: the assignment's total, with its written share."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        result = load(self.env, self.text.strip(), self.get_location())
        if result is None:
            return [], []
        text = points_text(result.total)
        if result.written:
            text += f" ({points_text(result.written)} written)"
        return [nodes.inline(text, text, classes=["assignment-points"])], []


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("rubric-levels", RubricLevelsDirective)
    app.add_directive("assignment-rubric", AssignmentRubricDirective)
    app.add_role("assignment-points", AssignmentPointsRole())
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
