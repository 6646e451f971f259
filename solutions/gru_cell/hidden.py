"""Hidden cases of gru_cell: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/gru_cell.py``. The shapes include the edge case of
size 1 everywhere and sizes drawn per student, with seeds drawn per student; the parameter
counts include stacks of two and three layers.
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
        "test_gru_step_forward": [dict(c, scale=1.5) for c in steps()],
        "test_gru_step_backward_inputs": steps(),
        "test_gru_step_backward_params": steps(),
        "test_gru_forward": [dict(c, scale=1.2) for c in sequences()],
        "test_gru_backward_inputs": sequences(),
        "test_gru_backward_params": sequences(),
        "test_parameter_counts": [
            dict(input_size=1, hidden_size=1, num_layers=1),
            dict(input_size=size(1, 40), hidden_size=size(1, 64), num_layers=1),
            dict(input_size=size(1, 40), hidden_size=size(1, 64), num_layers=2),
            dict(input_size=size(1, 40), hidden_size=size(1, 64), num_layers=3),
        ],
    }
