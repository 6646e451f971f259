"""Hidden cases of lstm_cell: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/lstm_cell.py``. The shapes include the edge case of
size 1 everywhere and sizes drawn per student, with seeds drawn per student.
"""

from __future__ import annotations

import numpy as np


def cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    def seed() -> int:
        return int(rng.integers(2**31))

    def size(low: int = 2, high: int = 7) -> int:
        return int(rng.integers(low, high))

    def steps() -> list[dict]:
        return [dict(seed=seed(), N=1, D=1, H=1),
                dict(seed=seed(), N=size(), D=size(), H=size()),
                dict(seed=seed(), N=size(), D=size(), H=size())]

    def sequences(high: int = 8) -> list[dict]:
        return [dict(seed=seed(), N=1, T=1, D=1, H=1),
                dict(seed=seed(), N=size(), T=size(3, high), D=size(), H=size()),
                dict(seed=seed(), N=size(), T=size(2, 5), D=size(), H=size())]

    return {
        "test_lstm_step_forward": [dict(c, scale=1.5) for c in steps()],
        "test_lstm_step_backward_inputs": steps(),
        "test_lstm_step_backward_params": steps(),
        "test_lstm_forward": [dict(c, scale=1.2) for c in sequences()],
        "test_lstm_backward_inputs": sequences(),
        "test_lstm_backward_params": sequences(),
        "test_cell_state_gradient": [dict(c, scale=1.0) for c in sequences(10)],
        "test_forget_bias_gradients": [
            dict(seed=seed(), N=1, T=1, D=1, H=1, forget_bias=1.0),
            dict(seed=seed(), N=size(), T=size(15, 25), D=size(), H=size(), forget_bias=3.0),
            dict(seed=seed(), N=size(), T=size(4, 9), D=size(), H=size(), forget_bias=-1.0),
        ],
    }
