"""The install cell: an exercise notebook's first code cell installs the course package.

A notebook opened from the book's Colab button, or in any Python without the course package,
fails at ``from rnncourse.exercise import Checker``. Every source notebook therefore carries,
right after its introduction, a locked nbgrader cell (``grade_id`` ``install``) that
``rnncourse release`` keeps in ``exercises/``:

- when ``rnncourse`` is importable it does nothing (no import beyond ``importlib.util``, no
  output), which is always the case in the course's environment and during grading;
- otherwise it runs ``pip install --find-links <wheels> rnncourse==<version>``, pinned to this
  edition's version; ``<wheels>`` is the folder of the learner edition's book site where the
  book workflow publishes the package's wheel, or ``$RNNCOURSE_WHEELS`` (a local folder of
  wheels in a classroom without internet);
- when that fails (offline) it prints the command to run instead and does not raise.

``python -m rnncourse.launch solutions/*/*.ipynb`` adds the cell to source notebooks (or
brings it up to date: version, address); then run ``rnncourse release``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from rnncourse import __version__

#: the public learner edition's repository (``repository.url`` of the book's ``_config.yml``)
LEARNER_REPOSITORY = "https://github.com/rnn-course/rnn-course"
CELL_ID = "install"

_TEMPLATE = '''\
# Colab, Binder or any Python without the course package: this cell installs it, pinned to
# this edition of the course. It does nothing when rnncourse is installed; offline it prints
# the command to run.
import importlib.util

if importlib.util.find_spec("rnncourse") is None:
    import importlib
    import os
    import subprocess
    import sys

    _wheels = os.environ.get("RNNCOURSE_WHEELS",
                             "{wheels}")
    _pip = [sys.executable, "-m", "pip", "install", "--quiet", "--retries", "1", "--timeout",
            "20", "--find-links", _wheels, "{requirement}"]
    _done = subprocess.run(_pip, capture_output=True, text=True, check=False)
    importlib.invalidate_caches()
    print("installed {requirement}" if _done.returncode == 0 else
          "could not install the course package (offline?); run: pip " + " ".join(_pip[3:]))'''


def pages_url(repository: str = LEARNER_REPOSITORY) -> str:
    """The GitHub Pages address of a GitHub repository (``https://ORG.github.io/REPO/``)."""
    parts = repository.rstrip("/").split("/")
    if len(parts) != 5 or parts[2] != "github.com":
        raise ValueError(f"not a GitHub repository address: {repository}")
    return f"https://{parts[3]}.github.io/{parts[4]}/"


def wheels_url(repository: str = LEARNER_REPOSITORY) -> str:
    """Where the book workflow publishes the package's wheel (a page that links to it)."""
    return pages_url(repository) + "wheels/"


def requirement(version: str = __version__) -> str:
    """The pinned requirement the cell installs."""
    return f"rnncourse=={version}"


def install_cell_source(version: str = __version__, wheels: str | None = None) -> str:
    """The source of the install cell for ``version``, installing from ``wheels``."""
    return _TEMPLATE.format(wheels=wheels or wheels_url(), requirement=requirement(version))


def install_cell(version: str = __version__) -> nbformat.NotebookNode:
    """The install cell with its nbgrader metadata (locked, not graded)."""
    cell = nbformat.v4.new_code_cell(install_cell_source(version))
    cell.id = CELL_ID
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": CELL_ID, "locked": True,
                                 "schema_version": 3, "solution": False}
    return cell


def find_install_cell(nb: nbformat.NotebookNode) -> int | None:
    """Index of the notebook's install cell, or ``None``."""
    for index, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == CELL_ID:
            return index
    return None


def add_install_cell(nb: nbformat.NotebookNode, version: str = __version__) -> bool:
    """Put the current install cell after the introduction (the first cell), or bring an
    existing one up to date. Returns True when the notebook changed."""
    cell = install_cell(version)
    index = find_install_cell(nb)
    if index is None:
        nb.cells.insert(1, cell)
        return True
    if nb.cells[index].source == cell.source:
        return False
    nb.cells[index].source = cell.source
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rnncourse.launch NOTEBOOK...``: add or update the install cell."""
    from rnncourse.assignments import canonical_notebook

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help="source notebooks")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if add_install_cell(nb):
            path.write_text(canonical_notebook(nb), encoding="utf-8")
            print(f"{path}: install cell written")
        else:
            print(f"{path}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
