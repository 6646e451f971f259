"""Hidden cases inside the learner's kernel: what plain ``nbgrader autograde`` runs.

The instructor's source notebook ends every test cell with a hidden part,
``check.hidden("<grade_id>")`` (:meth:`rnncourse.exercise.Checker.hidden`). Under plain
nbgrader it runs here, in the kernel that also runs the learner's code: the hidden cases come
from ``solutions/<assignment>/hidden.py`` of the course (found from the working folder nbgrader
gives the kernel, ``autograded/<student>/<assignment>/``, or from ``RNNCOURSE_COURSE_DIR``),
drawn with a fixed seed, and torch answers live. This is the weaker model: the learner's code
shares the process with the tests. ``rnncourse grade`` (the judge) never runs this.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rnncourse.exercise.tester import InKernelStudent
from rnncourse.judge.engine import hidden_cases, hidden_rng, load_hidden
from rnncourse.suites import load, run_cases

#: The "student" whose hidden cases plain nbgrader runs (it cannot tell students apart).
IN_KERNEL_STUDENT = "nbgrader"


def course_source(assignment: str, start: Path | None = None) -> Path:
    """``solutions/<assignment>`` of the course that holds the working folder ``start``."""
    override = os.environ.get("RNNCOURSE_COURSE_DIR")
    candidates = [Path(override)] if override else []
    here = (start or Path.cwd()).resolve()
    candidates += [here, *here.parents]
    for folder in candidates:
        source = folder / "solutions" / assignment
        if (source / "hidden.py").is_file():
            return source
    raise FileNotFoundError(
        f"solutions/{assignment}/hidden.py not found above {here}: the hidden tests run only "
        "in the instructor's course (set RNNCOURSE_COURSE_DIR to its folder)")


def run_hidden(assignment: str, grade_id: str, namespace: dict[str, Any]) -> int:
    """Run the hidden cases of ``grade_id`` on the notebook's functions; return how many."""
    from rnncourse.oracles import ask

    suite = load(assignment)
    spec = suite.tests[grade_id]
    hidden = load_hidden(course_source(assignment))
    cases = hidden_cases(hidden, hidden_rng(assignment, IN_KERNEL_STUDENT, b""))
    custom = getattr(hidden, "CHECKS", {}).get(grade_id)
    return len(list(run_cases(spec, InKernelStudent(namespace), ask,
                              cases.get(grade_id, []), hidden=True, check=custom)))
