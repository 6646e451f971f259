"""The local grading pool's fork-server preload (see :mod:`rnncourse.grading.executor`).

multiprocessing's fork server imports the modules of its preload list once, then forks every
worker process from itself. Importing this module imports and warms up the grading stack
(:func:`rnncourse.grading.submission.preload`: torch, nbgrader, nbconvert and a first feedback
page), so each worker starts with all of it in memory. Should the warm-up fail here, each
worker does it again when it starts (the fork server must not die of it).
"""

import contextlib

from rnncourse.grading.submission import preload

with contextlib.suppress(Exception):
    preload()
