"""Helper package for the open course on recurrent neural networks.

Learners import it from the book and the exercises: offline datasets (:mod:`rnncourse.data`),
checks against torch with diagnostic feedback (:mod:`rnncourse.checks`), plots
(:mod:`rnncourse.plots`), small models and a training loop (:mod:`rnncourse.models`,
:mod:`rnncourse.train`). It never contains the graded solutions: the oracle is torch.
"""

__version__ = "0.1.0"
