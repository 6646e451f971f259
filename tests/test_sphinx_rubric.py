"""The rubric on the Exercises page (``rnncourse.sphinx.rubric``) is the one the grader applies.

Its totals equal nbgrader's maximum points of the instructor's source notebooks and the sums of
the suites; it shows only public facts; a suite that disagrees with its released notebook
fails the strict build. The rendered directive is checked with tiny real Sphinx builds.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from rnncourse import assignments
from rnncourse.sphinx.rubric import assignment_rubric, assignment_table, levels_table
from rnncourse.suites import load, rubric

ROOT = Path(__file__).resolve().parents[1]
NAMES = assignments.available(ROOT)


def nbgrader_points(name: str) -> tuple[float, float]:
    """(auto-graded, written) points of the source notebook, as nbgrader counts them."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    auto = sum(float(m["points"]) for m in graded if not m.get("solution"))
    return auto, sum(float(m["points"]) for m in graded if m.get("solution"))


@pytest.mark.parametrize("name", NAMES)
def test_totals_equal_the_suite_and_nbgraders_max_points(name: str) -> None:
    result = assignment_rubric(name, ROOT)
    auto, written = nbgrader_points(name)
    assert not result.problems
    assert result.tests == sum(spec.points for spec in load(name).tests.values()) == auto
    assert result.written == written
    assert result.total == auto + written
    for row in result.rows:
        if not row.written:
            assert row.points == rubric.points(row.level)


@pytest.mark.parametrize("name", NAMES)
def test_the_table_shows_only_ids_levels_points_and_descriptions(name: str) -> None:
    result = assignment_rubric(name, ROOT)
    suite = load(name)
    lines = assignment_table(result)
    assert lines[-1].startswith(f"| **total** | | **{result.total:g}** |")
    body = lines[2:-1]
    assert len(body) == len(result.rows)
    for line, row in zip(body, result.rows, strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        assert cells[0] == f"`{row.grade_id}`"
        if row.written:
            assert cells[1:] == ["written answer, read by a person", f"{row.points:g}",
                                 "your explanation in words"]
        else:
            spec = suite.tests[row.grade_id]
            assert cells[1:3] == [spec.level, f"{spec.points:g}"]
            assert cells[3].replace("\\", "") == spec.what


def test_no_instructor_file_is_imported() -> None:
    for name in NAMES:
        assignment_rubric(name, ROOT)
    solutions = (ROOT / assignments.SOURCE_DIR).resolve()
    imported = [m for m in list(sys.modules.values())
                if getattr(m, "__file__", None) and solutions in Path(m.__file__).resolve().parents]
    assert not imported


def test_levels_table_lists_every_level() -> None:
    lines = levels_table()
    assert len(lines) == 2 + len(rubric.LEVELS)
    for level, (points, _) in rubric.LEVELS.items():
        assert any(line.startswith(f"| {level} | {points} |") for line in lines)


# --- the directive and the role in a real Sphinx build ----------------------------------------

PAGE = """# Rubric

Worth {assignment-points}`vanishing_gradients`.

:::{rubric-levels}
:::

:::{assignment-rubric} vanishing_gradients
:::
"""


def project(tmp_path: Path, points: dict[str, float] | None = None) -> Path:
    """A Sphinx project with the vanishing_gradients release, its test points overridden."""
    src = tmp_path / "src"
    release = assignments.release_notebook("vanishing_gradients", src)
    release.parent.mkdir(parents=True)
    shutil.copy(assignments.release_notebook("vanishing_gradients", ROOT), release)
    if points:
        nb = nbformat.read(release, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") in points:
                meta["points"] = points[meta["grade_id"]]
        nbformat.write(nb, release)
    (src / "conf.py").write_text('extensions = ["myst_parser", "rnncourse.sphinx.rubric"]\n'
                                 'myst_enable_extensions = ["colon_fence"]\n'
                                 'exclude_patterns = ["exercises"]\n')
    (src / "index.md").write_text(PAGE)
    return src


def build(src: Path) -> tuple[str, str]:
    warnings = io.StringIO()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(src.parent / "out"), str(src.parent / "doctrees"),
                     "html", status=None, warning=warnings, freshenv=True)
        app.build()
    return (src.parent / "out" / "index.html").read_text(), warnings.getvalue()


def test_directive_renders_the_tables_and_the_total(tmp_path: Path) -> None:
    html, warnings = build(project(tmp_path))
    assert not warnings.strip(), warnings
    result = assignment_rubric("vanishing_gradients", ROOT)
    assert f'<span class="assignment-points">{result.total:g} ({result.written:g} written)' in html
    assert html.count("<table") == 2
    assert "<code class=\"docutils literal notranslate\"><span class=\"pre\">test_step_jacobian" \
        in html
    assert "P[t] = P[t+1] J_{t+1}" in html  # a description with markup characters, verbatim
    assert f"<strong>{result.total:g}</strong>" in html


def test_a_suite_that_disagrees_with_the_notebook_is_a_warning(tmp_path: Path) -> None:
    _, warnings = build(project(tmp_path, {"test_step_jacobian": 5}))
    assert "test_step_jacobian: 1 points in the suite, 5 in the notebook" in warnings
