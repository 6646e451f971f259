"""Record the oracle's answers on the visible cases, at release time (learners replay them).

:func:`record` runs the solution notebook's code (every code cell except the test cells, in
this process: it is the instructor's code) and then every test's visible cases against it,
with the live torch oracle wrapped in a :class:`~rnncourse.exercise.replay.Recorder`. The
explanations a failing test would give (named mistakes, probes) are asked for too, so that a
learner's wrong answer can be explained offline. :func:`write` stores the answers as
``rnncourse/exercise/fixtures/<assignment>.npz``, the file
:class:`rnncourse.exercise.Checker` reads.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import nbformat

from rnncourse.exercise import fixtures_path
from rnncourse.exercise.replay import Recorder, save
from rnncourse.exercise.tester import InKernelStudent
from rnncourse.suites import load, run_cases


def _is_test(cell: nbformat.NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def solution_namespace(notebook: Path) -> dict[str, Any]:
    """Run the notebook's non-test code cells in a fresh namespace and return it."""
    from IPython.core.inputtransformer2 import TransformerManager

    os.environ.setdefault("MPLBACKEND", "Agg")
    transform = TransformerManager().transform_cell
    nb = nbformat.read(notebook, as_version=4)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code" or _is_test(cell):
                continue
            source = "\n".join(line for line in transform(cell.source).splitlines()
                               if not line.lstrip().startswith("get_ipython()"))
            exec(compile(source, f"<{notebook.name}>", "exec"), namespace)
    return namespace


def record(assignment: str, notebook: Path) -> dict[str, Any]:
    """The oracle's answers to every question the visible cases ask (see the module
    docstring)."""
    from rnncourse.oracles import ask

    suite = load(assignment)
    student = InKernelStudent(solution_namespace(notebook))
    recorder = Recorder(ask)
    for spec in suite.tests.values():
        list(run_cases(spec, student, recorder, spec.visible))
    return recorder.answers


def write(assignment: str, notebook: Path, destination: Path | None = None) -> Path:
    """Record and save the fixtures of ``assignment`` (default: inside the package)."""
    path = destination or fixtures_path(assignment)
    save(path, assignment, record(assignment, notebook))
    return path
