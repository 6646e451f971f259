"""The trusted judge: grading outside the process that runs a learner's code.

- :mod:`~rnncourse.judge.server`: the student process (runs the notebook's non-test cells,
  answers calls over :mod:`rnncourse.exercise.wire`); loaded inside the sandbox.
- :mod:`~rnncourse.judge.view`: what that process may import (an allow-list of packages and
  course files; no torch for numpy assignments, never the oracle).
- :mod:`~rnncourse.judge.student`: starting it in the sandbox and talking to it, with
  deadlines and typed failures.
- :mod:`~rnncourse.judge.engine`: the verdict on one notebook: visible and per-student hidden
  cases of every test, decided with the live torch oracle.
- :mod:`~rnncourse.judge.inkernel`: the hidden cases in the learner's kernel, for plain
  ``nbgrader autograde`` (the weaker model).
- :mod:`~rnncourse.judge.fixtures`: recording the oracle's answers on the visible cases at
  release time, for offline checks in the learner's kernel.
"""
