r"""Bookkeeping for the sequence-to-sequence chapter (7): scoring decoded outputs.

The models, the teacher-forced loss and the decoders live on the chapter's page; these
functions only count what the decoders got right, so that the page stays on the algorithm.
Outputs and targets use the tokens of :mod:`rnncourse.data.digit_strings`: a target row holds the
answer, then ``EOS``, then ``PAD``.

* :func:`exact_match`: was the whole answer, end-of-sequence included, produced?
* :func:`position_accuracy`: the fraction of correct symbols at each output position.
* :func:`accuracy_by_length`: the mean of a per-sequence score for each source length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from rnncourse.data.digit_strings import EOS, PAD

__all__ = ["accuracy_by_length", "exact_match", "position_accuracy", "target_tokens"]

Tokens = torch.Tensor | Sequence[Sequence[int]]


def _rows(tokens: Tokens) -> list[list[int]]:
    if isinstance(tokens, torch.Tensor):
        if tokens.ndim != 2:
            raise ValueError(f"expected a (batch, steps) tensor, got shape {tuple(tokens.shape)}")
        return [[int(t) for t in row] for row in tokens.tolist()]
    return [[int(t) for t in row] for row in tokens]


def target_tokens(targets: Tokens) -> list[list[int]]:
    """Each target row up to and including its first ``EOS`` (``ValueError`` if it has none)."""
    rows = []
    for i, row in enumerate(_rows(targets)):
        if EOS not in row:
            raise ValueError(f"target row {i} has no end-of-sequence token")
        rows.append(row[: row.index(EOS) + 1])
    return rows


def exact_match(predictions: Tokens, targets: Tokens) -> torch.Tensor:
    """Whether each prediction starts with the whole target, ``EOS`` included.

    Args:
        predictions: ``(B, P)`` tensor or ``B`` token lists (what a decoder emitted; anything
            after the first ``EOS`` is ignored).
        targets: ``(B, S + 1)`` target rows (answer, ``EOS``, ``PAD``...).

    Returns:
        Tensor: ``(B,)`` booleans.
    """
    preds, wanted = _rows(predictions), target_tokens(targets)
    if len(preds) != len(wanted):
        raise ValueError(f"{len(preds)} predictions for {len(wanted)} targets")
    return torch.tensor([p[: len(w)] == w for p, w in zip(preds, wanted, strict=True)])


def position_accuracy(predictions: Tokens, targets: Tokens) -> np.ndarray:
    """Fraction of correct symbols at each output position, over rows that reach it.

    Position ``j`` counts the rows whose target has a real symbol (a digit or the ``EOS``) at
    ``j``; a prediction shorter than its target is wrong at the missing positions.

    Returns:
        ndarray: ``(S + 1,)`` accuracies in ``[0, 1]`` (NaN where no row reaches ``j``).
    """
    preds, wanted = _rows(predictions), _rows(targets)
    if len(preds) != len(wanted):
        raise ValueError(f"{len(preds)} predictions for {len(wanted)} targets")
    width = max(len(w) for w in wanted)
    correct = np.zeros(width)
    total = np.zeros(width)
    for p, w in zip(preds, wanted, strict=True):
        for j, token in enumerate(w):
            if token == PAD:
                continue
            total[j] += 1
            correct[j] += j < len(p) and p[j] == token
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)


def accuracy_by_length(scores: torch.Tensor | Sequence[float],
                       lengths: torch.Tensor | Sequence[int]) -> dict[int, float]:
    """Mean of ``scores`` (e.g. :func:`exact_match`) for each distinct source length.

    Returns:
        dict: length -> mean score, in increasing order of length.
    """
    s = np.asarray(torch.as_tensor(scores, dtype=torch.float64))
    n = np.asarray(torch.as_tensor(lengths)).astype(int)
    if s.shape != n.shape:
        raise ValueError(f"{s.size} scores for {n.size} lengths")
    return {int(length): float(s[n == length].mean()) for length in np.unique(n)}
