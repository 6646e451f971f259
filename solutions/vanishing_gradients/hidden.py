"""Hidden cases of vanishing_gradients: drawn per student by the judge; never released.

``cases(rng)`` returns ``{grade_id: [case, ...]}``; each case is the keyword arguments of the
test's check function in ``rnncourse/suites/vanishing_gradients.py``. Sizes include 1 (a single
unit, a single step) and sizes drawn per student; recurrent matrices are scaled up so that the
states saturate (the tanh derivative matters); clipping covers gradients above, below and
exactly at the threshold, and all-zero gradients. The experiment has no hidden case: it is the
notebook's own, fixed run.
"""

from __future__ import annotations

import numpy as np


def cases(rng: np.random.Generator) -> dict[str, list[dict]]:
    def seed() -> int:
        return int(rng.integers(2**31))

    def size(low: int = 2, high: int = 8) -> int:
        return int(rng.integers(low, high))

    def shapes() -> list[tuple[int, ...]]:
        return [(size(1, 5), size(1, 5)), (size(1, 9),), (2, 2, size(1, 3))]

    return {
        "test_scale_to_spectral_norm": [
            dict(seed=seed(), H=1, target=0.3, uniform=True),
            dict(seed=seed(), H=size(3, 6), target=float(rng.uniform(0.2, 3.0)), uniform=True),
            dict(seed=seed(), H=20, target=float(rng.uniform(0.2, 3.0)), uniform=True),
        ],
        "test_step_jacobian": [
            dict(seed=seed(), D=1, H=1, recurrent=2.0),
            dict(seed=seed(), D=size(), H=size(), recurrent=2.0),
            dict(seed=seed(), D=size(), H=size(), recurrent=1.0),
        ],
        "test_jacobian_products": [
            dict(seed=seed(), T=1, D=1, H=1, recurrent=1.7),
            dict(seed=seed(), T=size(6, 12), D=size(), H=size(), recurrent=1.7),
            dict(seed=seed(), T=size(2, 6), D=size(), H=size(), recurrent=1.0),
        ],
        "test_gradient_norms": [
            dict(seed=seed(), T=1, D=1, H=1, h0_scale=0.2),
            dict(seed=seed(), T=size(8, 16), D=size(), H=size(), h0_scale=0.2),
        ],
        "test_log_slope": [
            dict(seed=seed(), n=2, noise=1.0),
            dict(seed=seed(), n=size(20, 40), noise=3.0),
        ],
        "test_clip_by_global_norm": [
            dict(seed=seed(), shapes=shapes(), norm=float(rng.uniform(3.0, 30.0)), threshold=0.5),
            dict(seed=seed(), shapes=shapes(), norm=float(rng.uniform(0.01, 0.2)),
                 threshold=1.0),
            dict(seed=seed(), shapes=shapes(), norm=2.0, threshold=None),
            dict(seed=seed(), shapes=[(2, 3)], norm=0.0, threshold=1.0),
        ],
    }
