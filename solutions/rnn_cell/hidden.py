"""Hidden cases of rnn_cell: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/rnn_cell.py``. The shapes include the edge case of
size 1 everywhere and sizes drawn per student, with seeds drawn per student.
"""

from __future__ import annotations

import numpy as np


def cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    def seed() -> int:
        return int(rng.integers(2**31))

    def size(low: int = 2, high: int = 8) -> int:
        return int(rng.integers(low, high))

    def steps() -> list[dict]:
        return [dict(seed=seed(), N=1, D=1, H=1),
                dict(seed=seed(), N=size(), D=size(), H=size()),
                dict(seed=seed(), N=size(), D=size(), H=size())]

    def sequences() -> list[dict]:
        return [dict(seed=seed(), N=1, T=1, D=1, H=1),
                dict(seed=seed(), N=size(), T=size(3, 9), D=size(), H=size()),
                dict(seed=seed(), N=size(), T=size(2, 5), D=size(), H=size())]

    return {
        "test_rnn_step_forward": [dict(c, scale=1.5) for c in steps()],
        "test_rnn_step_backward_inputs": steps(),
        "test_rnn_step_backward_params": steps(),
        "test_rnn_forward": [dict(c, scale=1.2) for c in sequences()],
        "test_rnn_backward_inputs": sequences(),
        "test_rnn_backward_params": sequences(),
        "test_numeric_gradient": [
            dict(seed=seed(), function="exp_plus_cube", shape=(size(2, 6),)),
            dict(seed=seed(), function="exp_plus_cube", shape=(2, 2, 3)),
            dict(seed=seed(), function="tanh_matmul_squared", shape=(size(1, 4), size(2, 5))),
        ],
        "test_gradient_check": [
            dict(seed=seed(), N=1, M=2, wrong=key, factor=-1.0) for key in ("a", "b", "c")
        ],
    }
