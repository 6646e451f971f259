"""Instructor grading at scale: the judge outside the student's process, on nbgrader.

``rnncourse grade`` (CLI) and :func:`grade` (Python) grade every submission of an
assignment: each notebook's code runs in a sandboxed student process that never sees a test,
the judge (:mod:`rnncourse.judge`) decides every test cell outside it, nbgrader's own
converter and gradebook record the scores, and one writer merges them into the course.

Modules, one job each, in the order a submission meets them:

- :mod:`~rnncourse.grading.collect`, :mod:`.lms`: a submitted folder, an LMS download (Canvas,
  Moodle, Blackboard) or nbgrader's exchange
- :mod:`~rnncourse.grading.template`: the assignment's structure as a throwaway gradebook
- :mod:`~rnncourse.grading.job`: settings, tasks and results (typed data that travels)
- :mod:`~rnncourse.grading.executor`: local processes or a Dask cluster, one interface
- :mod:`~rnncourse.grading.submission`: grade one submission, top to bottom
- :mod:`~rnncourse.grading.judge_execute`: the judge in place of nbgrader's ``Execute``
- :mod:`~rnncourse.grading.sandbox`, ``_launch.py``: isolation of the student process
- :mod:`~rnncourse.grading.scan`: flags for code that tries to reach outside (never scores)
- :mod:`~rnncourse.grading.merge`: one writer, one transaction per submission, journal
- :mod:`~rnncourse.grading.feedback`: feedback HTML with hidden tests removed
- :mod:`~rnncourse.grading.report`, :mod:`.export`: report and grade files for an LMS
- :mod:`~rnncourse.grading.runner`: the whole run

Importing this package is cheap: the heavy modules load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GradeRun", "GradingSettings", "Limits", "generate_feedback", "grade"]


def __getattr__(name: str) -> Any:
    if name in {"grade", "GradeRun"}:
        from rnncourse.grading import runner

        return getattr(runner, name)
    if name in {"Limits", "GradingSettings"}:
        from rnncourse.grading import job

        return getattr(job, name)
    if name == "generate_feedback":
        from rnncourse.grading.feedback import generate_feedback

        return generate_feedback
    raise AttributeError(name)
