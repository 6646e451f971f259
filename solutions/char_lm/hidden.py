"""Hidden cases of char_lm: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/char_lm.py``. Sizes include the edge case of one
sequence of one step; the loss is also checked on large scores (an exp without the max
subtracted overflows) and sampling at low and high temperatures. The outcome is scored on a
play the student process cannot read.
"""

from __future__ import annotations

import numpy as np

from rnncourse.suites.char_lm import HELD_OUT_PLAY


def cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    def seed() -> int:
        return int(rng.integers(2**31))

    def size(low: int = 2, high: int = 7) -> int:
        return int(rng.integers(low, high))

    def embeddings() -> list[dict]:
        return [dict(seed=seed(), N=1, T=1, V=1, D=1),
                dict(seed=seed(), N=size(), T=size(), V=size(2, 4), D=size()),
                dict(seed=seed(), N=size(), T=size(5, 9), V=size(5, 12), D=size())]

    def affines() -> list[dict]:
        return [dict(seed=seed(), N=1, T=1, H=1, V=1),
                dict(seed=seed(), N=size(), T=size(), H=size(), V=size()),
                dict(seed=seed(), N=size(), T=size(5, 9), H=size(), V=size(5, 12))]

    def losses() -> list[dict]:
        return [dict(seed=seed(), N=1, T=1, V=2),
                dict(seed=seed(), N=size(), T=size(), V=size(2, 12)),
                dict(seed=seed(), N=size(), T=size(), V=size(2, 12), scale=1000.0)]

    return {
        "test_embedding_forward": embeddings(),
        "test_embedding_backward": embeddings(),
        "test_temporal_affine_forward": affines(),
        "test_temporal_affine_backward": affines(),
        "test_temporal_softmax_loss": losses(),
        "test_temporal_softmax_loss_gradient": losses(),
        "test_sample_next": [
            dict(seed=seed(), N=1, V=2, temperature=1.0),
            dict(seed=seed(), N=size(20, 40), V=size(3, 9), temperature=0.25),
            dict(seed=seed(), N=size(20, 40), V=size(3, 9), temperature=2.5),
            dict(seed=seed(), N=size(5, 10), V=size(3, 9), temperature=1.0, scale=1000.0),
        ],
        "test_perplexity": [dict(play=HELD_OUT_PLAY)],
    }
