"""Hidden cases of sequence_models: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/sequence_models.py``: other kinds and sizes for the
model (hidden size 1, one input feature, one sequence in the batch), other start weights, data
and learning rates for the step and the loop, other thresholds for clipping, and fresh
held-out sequences (seeds drawn per student, twice as many) for the trained models.
"""

from __future__ import annotations

import numpy as np


def cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    def seed() -> int:
        return int(rng.integers(2**31))

    def size(low: int = 2, high: int = 9) -> int:
        return int(rng.integers(low, high))

    kinds = ["gru", "lstm", "rnn", "lstm"]
    return {
        "test_build_model": [
            dict(kind="gru", H=size(2, 6), D=1, N=2, T=size(5, 12), seed=seed()),
            dict(kind="lstm", H=size(6, 12), D=size(3, 5), N=size(4, 8), T=3, seed=seed()),
            dict(kind="rnn", H=size(3, 8), D=size(2, 4), N=1, T=size(2, 6), seed=seed()),
            dict(kind=kinds[size(0, 4)], H=1, D=2, N=3, T=size(8, 14), seed=seed()),
        ],
        "test_train_step": [
            dict(seed=seed(), N=size(2, 5), T=size(2, 6), lr=float(rng.uniform(0.02, 0.2))),
            dict(seed=seed(), N=size(8, 20), T=size(8, 16), lr=float(rng.uniform(0.02, 0.2))),
        ],
        "test_train_step_clips": [
            dict(seed=seed(), N=size(8, 16), T=size(4, 10), max_norm=1e-3, lr=2.0),
            dict(seed=seed(), N=size(8, 16), T=size(4, 10), max_norm=3e-4, lr=0.5),
        ],
        "test_fit": [
            dict(seed=seed(), T=size(4, 9), steps=size(2, 5), batch_size=size(4, 12),
                 lr=float(rng.uniform(0.005, 0.05)), max_norm=float(rng.uniform(0.05, 2.0))),
        ],
        "test_lstm_solves_adding": [dict(seed=seed(), n=4000)],
        "test_gru_solves_adding": [dict(seed=seed(), n=4000)],
    }
