"""Tests of rnncourse.experiments.intro: the bookkeeping of chapters 2, 3 and 6."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnncourse.experiments import intro

# --- unigram_perplexity ---------------------------------------------------------------------


def test_unigram_perplexity_known_values():
    # uniform training counts over 4 symbols: perplexity 4 whatever the validation text
    assert intro.unigram_perplexity(np.array([0, 1, 2, 3]), np.array([2, 2, 1]), 4) == (
        pytest.approx(4.0)
    )
    # skewed counts: p = (3+1)/(4+2) for symbol 0
    ppl = intro.unigram_perplexity(np.array([0, 0, 0, 1]), np.array([0]), 2)
    assert ppl == pytest.approx(6 / 4)
    with pytest.raises(ValueError):
        intro.unigram_perplexity(np.array([0, 5]), np.array([0]), 3)
    with pytest.raises(ValueError):
        intro.unigram_perplexity(np.array([0]), np.array([], dtype=np.int64), 3)


# --- orders_of_magnitude, decay_per_step -------------------------------------------------


def test_orders_and_decay_on_a_geometric_sequence():
    norms = 0.1 ** np.arange(10, -1, -1)  # 1e-10 ... 1: entry t-1 for step t
    assert intro.orders_of_magnitude(norms) == pytest.approx(-10)
    assert intro.decay_per_step(norms) == pytest.approx(0.1)
    assert intro.orders_of_magnitude([0.0, 1.0]) == -math.inf
    with pytest.raises(ValueError):
        intro.orders_of_magnitude([1.0])
    with pytest.raises(ValueError):
        intro.orders_of_magnitude([1.0, 0.0])
