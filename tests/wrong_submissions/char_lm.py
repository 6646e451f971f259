"""Wrong submissions for ``char_lm`` and the points each must cost.

Each layer is graded on its own, on inputs the test chooses (``rnncourse/suites/char_lm.py``).
The outcome (``test_perplexity``) is the model the notebook trains with all of the learner's
code: a layer mistake that breaks training costs the outcome too; one that training does not
notice (here a gradient that Adam's per-parameter scaling tolerates) costs its own test only.
The margins of the outcomes are measured by ``benchmarks/char_lm_margins.py``
(``tests/test_suite_char_lm.py`` records them).

Three cases only, one of each kind, because each one retrains the model under plain nbgrader
(``tests/test_assignments.py``); further mistakes that training never notices (the mask, the
temperature) are judged in ``tests/test_suite_char_lm.py`` together with a mistake that stops
training at its first step, which keeps them cheap.
"""

from . import WrongSubmission

WRONG_SUBMISSIONS = [
    WrongSubmission(
        # fancy-index += keeps one gradient per repeated id; training still learns (measured)
        "embedding_backward_drops_repeated_ids",
        edits={"embedding": ("np.add.at(dW, x.reshape(-1), dout.reshape(-1, shape[1]))",
                             "dW[x.reshape(-1)] += dout.reshape(-1, shape[1])")},
        lost={"test_embedding_backward": 2},
    ),
    WrongSubmission(
        # dout @ W.T has the wrong shape: the first training step raises, nothing is trained
        "affine_backward_transposes_W",
        edits={"temporal_affine": ('"h": dout @ W,', '"h": dout @ W.T,')},
        lost={"test_temporal_affine_backward": 2, "test_perplexity": 2},
    ),
    WrongSubmission(
        # every layer right, but the weights never move: only the outcome fails
        "train_forgets_the_update",
        edits={"train": ("            optimizer.step(params, grads)\n", "")},
        lost={"test_perplexity": 2},
    ),
]
