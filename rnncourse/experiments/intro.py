r"""Bookkeeping for the introductory chapters: training (2) and gradients (3).

The algorithms of these chapters (the forward and backward pass, clipping, truncated BPTT,
sampling, measuring :math:`\partial L / \partial h_t` with autograd) are written out on the
pages themselves. What is left here only summarises numbers:

* :func:`orders_of_magnitude` and :func:`decay_per_step`: how a gradient-norm curve changes
  from the last step back to the first.
* :func:`unigram_perplexity`: the context-free baseline of a character language model
  (chapter 2 computes it on the page; chapter 6 reuses this function).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["decay_per_step", "orders_of_magnitude", "unigram_perplexity"]


def orders_of_magnitude(norms: Sequence[float] | np.ndarray) -> float:
    r"""How many powers of ten the gradient changes from the last step back to the first:
    :math:`\log_{10}(\lVert g_1 \rVert / \lVert g_T \rVert)` (negative when it vanishes).

    Args:
        norms: gradient norms at steps ``t = 1..T`` (entry ``t-1`` for step ``t``).

    Returns:
        float: the change in powers of ten; ``-inf`` when the first norm underflowed to zero.

    Raises:
        ValueError: fewer than two norms, or a last norm that is not positive.
    """
    values = np.asarray(norms, dtype=np.float64).reshape(-1)
    if values.size < 2 or not values[-1] > 0:
        raise ValueError("need at least two norms and a positive last one")
    if values[0] == 0:
        return -math.inf
    return float(np.log10(values[0] / values[-1]))


def decay_per_step(norms: Sequence[float] | np.ndarray) -> float:
    r"""Geometric mean factor by which the norm changes per step back in time,
    :math:`(\lVert g_1 \rVert / \lVert g_T \rVert)^{1/(T-1)}` (below 1: vanishing).

    Raises:
        ValueError: as :func:`orders_of_magnitude`.
    """
    values = np.asarray(norms, dtype=np.float64).reshape(-1)
    return float(10 ** (orders_of_magnitude(values) / (values.size - 1)))


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    r"""Perplexity on ``val_ids`` of a model that ignores context: character frequencies of
    ``train_ids`` with add-one smoothing, :math:`p(c) = (n_c + 1) / (n + V)`.

    It is the baseline a language model must beat to have learned anything from context.

    Args:
        train_ids: training ids ``(n,)``, each in ``0..vocab_size-1``.
        val_ids: validation ids ``(m,)``, at least one.
        vocab_size: number of ids (V).

    Returns:
        float: :math:`\exp(-\frac{1}{m}\sum_t \ln p(x_t))` over the validation ids.

    Raises:
        ValueError: a non-positive ``vocab_size``, no validation id, or an id out of range.
    """
    train = np.asarray(train_ids, dtype=np.int64)
    val = np.asarray(val_ids, dtype=np.int64)
    if vocab_size < 1 or val.size == 0:
        raise ValueError("need a positive vocab_size and at least one validation id")
    if (train.size and (train.min() < 0 or train.max() >= vocab_size)) or (
        val.min() < 0 or val.max() >= vocab_size
    ):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1}")
    counts = np.bincount(train, minlength=vocab_size) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(np.exp(-log_p[val].mean()))
