"""What must never reach students: nbgrader's markers and the lines of solutions and hidden tests.

A *secret line* is a non-trivial line inside a ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN
TESTS`` region of a source notebook that no source notebook shows openly elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from rnncourse import assignments

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
TRIVIAL = re.compile(r"^(return|pass|else:|continue|break|[)\]}]+,?|#.*|\"\"\"|'''|)$")


def split_lines(name: str) -> tuple[set[str], set[str]]:
    """(lines inside, lines outside) the solution / hidden-test regions of a source notebook."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    inside: set[str] = set()
    outside: set[str] = set()
    for cell in nb.cells:
        region = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line or "### BEGIN HIDDEN TESTS" in line:
                region = True
            elif "### END SOLUTION" in line or "### END HIDDEN TESTS" in line:
                region = False
            else:
                (inside if region else outside).add(line.strip())
    return inside, outside


def solution_lines(name: str) -> set[str]:
    """Secret lines of ``name``: inside its solution / hidden-test regions, not trivial, and
    not shown openly (outside the regions) by any source notebook of the course."""
    inside, _ = split_lines(name)
    names = assignments.available(ROOT)
    public = set().union(*(split_lines(n)[1] for n in names))
    return {line for line in inside - public if not TRIVIAL.match(line)}
