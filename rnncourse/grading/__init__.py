"""Instructor grading at scale: isolated, parallel, resumable autograding on nbgrader.

``rnncourse grade`` (CLI) and :func:`grade` (Python) autograde every submission of an
assignment with nbgrader's own converters and gradebook, each submission in its own process
and scratch course, its kernel sandboxed, then merge the results into the course gradebook
with a single writer, write feedback without hidden tests and a report.

Modules, one job each:

- :mod:`~rnncourse.grading.collect`: submitted folder, LMS zip (nbgrader zip_collect), exchange
- :mod:`~rnncourse.grading.template`: the assignment's structure as a throwaway gradebook
- :mod:`~rnncourse.grading.sandbox`, ``_launch.py``: kernel isolation (bwrap, unshare, none)
- :mod:`~rnncourse.grading.guard`: in-kernel undo of monkeypatching; :mod:`.scan`: flags
- :mod:`~rnncourse.grading.execute`: nbgrader's Execute step with the sandbox and limits
- :mod:`~rnncourse.grading.worker`, :mod:`.zygote`: grade one submission in a fresh process
- :mod:`~rnncourse.grading.merge`: one writer, one transaction per submission, journal
- :mod:`~rnncourse.grading.feedback`: feedback HTML with hidden tests removed
- :mod:`~rnncourse.grading.report`: grades CSV, per-question CSV, histograms, failures
- :mod:`~rnncourse.grading.runner`: the whole run (``--jobs N`` or ``--scheduler``)

Importing this package is cheap: the heavy modules load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GradeRun", "Limits", "Options", "generate_feedback", "grade"]


def __getattr__(name: str) -> Any:
    if name in {"grade", "GradeRun"}:
        from rnncourse.grading import runner

        return getattr(runner, name)
    if name in {"Limits", "Options"}:
        from rnncourse.grading import settings

        return getattr(settings, name)
    if name == "generate_feedback":
        from rnncourse.grading.feedback import generate_feedback

        return generate_feedback
    raise AttributeError(name)
