"""Character-level text tooling: vocabulary, train/validation split, language-model batches.

Batching follows the two partitioning schemes of character language models:

* :func:`sequential_batches` cuts the text into ``batch_size`` contiguous streams; batch k+1
  continues every row of batch k, so the hidden state can be carried across batches
  (truncated backpropagation through time, detaching the state between batches);
* :func:`random_batches` samples windows at random offsets; the state starts fresh each batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["UNKNOWN", "CharVocab", "random_batches", "sequential_batches", "train_val_split"]

UNKNOWN = "\ufffd"
"""The unknown token (U+FFFD REPLACEMENT CHARACTER), always id 0."""


@dataclass(frozen=True)
class CharVocab:
    """Map characters to integer ids and back; id 0 is the unknown token :data:`UNKNOWN`.

    Attributes:
        chars: the characters, position = id (``chars[0]`` is :data:`UNKNOWN`).
    """

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.chars or self.chars[0] != UNKNOWN:
            raise ValueError("CharVocab.chars must start with the unknown token UNKNOWN")
        if len(set(self.chars)) != len(self.chars) or any(len(c) != 1 for c in self.chars):
            raise ValueError("CharVocab.chars must be distinct single characters")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """Build the vocabulary of the distinct characters of ``text``, sorted by code point."""
        return cls((UNKNOWN, *sorted(set(text) - {UNKNOWN})))

    def __len__(self) -> int:
        """Number of ids, the unknown token included."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text`` (unknown characters map to 0), int64 ``(len,)``."""
        index = self._index
        return np.fromiter((index.get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> str:
        """The string of ``ids``; raises ``ValueError`` for an id outside ``0..len-1``."""
        values = np.asarray(ids.tolist() if isinstance(ids, torch.Tensor) else ids).reshape(-1)
        if values.size and (values.min() < 0 or values.max() >= len(self.chars)):
            raise ValueError(f"ids must lie in 0..{len(self.chars) - 1}")
        return "".join(self.chars[int(i)] for i in values)


def train_val_split(
    ids: np.ndarray | Sequence[int], val_fraction: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Split a token sequence into a training head and a validation tail (no shuffling).

    Args:
        ids: token ids ``(n,)``.
        val_fraction: share of the tokens kept for validation, in ``(0, 1)``.

    Returns:
        tuple: ``(train (n - k,), val (k,))`` with ``k = round(n * val_fraction)``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    array = np.asarray(ids)
    k = round(len(array) * val_fraction)
    if k < 1 or k >= len(array):
        raise ValueError(f"cannot split {len(array)} tokens with val_fraction={val_fraction}")
    return array[:-k], array[-k:]


def _check_batching(ids: np.ndarray, batch_size: int, seq_len: int, needed: int) -> None:
    if batch_size < 1 or seq_len < 1:
        raise ValueError("batch_size and seq_len must be >= 1")
    if len(ids) < needed:
        raise ValueError(
            f"{len(ids)} tokens are too few for batch_size={batch_size}, seq_len={seq_len} "
            f"(need at least {needed})"
        )


def sequential_batches(
    ids: np.ndarray | Sequence[int], batch_size: int, seq_len: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)`` batches whose rows continue from one batch to the next.

    The tokens are cut into ``batch_size`` contiguous streams of equal length; batch k holds
    columns ``k*seq_len .. (k+1)*seq_len`` of every stream, and ``y`` is ``x`` shifted by one
    token. Row ``b`` of batch k+1 starts where row ``b`` of batch k ended, so the final hidden
    state of batch k is the right initial state for batch k+1. Only full batches are yielded.

    Args:
        ids: token ids ``(n,)``.
        batch_size: rows per batch (B).
        seq_len: steps per batch (L).

    Yields:
        tuple: ``x (B, L)`` and ``y (B, L)``, int64 tensors.
    """
    array = np.asarray(ids, dtype=np.int64)
    _check_batching(array, batch_size, seq_len, batch_size * seq_len + 1)
    stream = (len(array) - 1) // batch_size
    inputs = array[: batch_size * stream].reshape(batch_size, stream)
    targets = array[1 : batch_size * stream + 1].reshape(batch_size, stream)
    for start in range(0, stream - seq_len + 1, seq_len):
        x = torch.from_numpy(inputs[:, start : start + seq_len].copy())
        y = torch.from_numpy(targets[:, start : start + seq_len].copy())
        yield x, y


def random_batches(
    ids: np.ndarray | Sequence[int],
    batch_size: int,
    seq_len: int,
    *,
    n_batches: int,
    seed: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``n_batches`` batches of windows taken at uniformly random offsets.

    Args:
        ids: token ids ``(n,)``.
        batch_size: windows per batch (B).
        seq_len: window length (L).
        n_batches: number of batches to yield.
        seed: seed of the generator.

    Yields:
        tuple: ``x (B, L)`` and ``y (B, L)`` (``x`` shifted by one), int64 tensors.
    """
    array = np.asarray(ids, dtype=np.int64)
    _check_batching(array, batch_size, seq_len, seq_len + 1)
    if n_batches < 0:
        raise ValueError("n_batches must be >= 0")
    rng = np.random.default_rng(seed)
    columns = np.arange(seq_len)
    for _ in range(n_batches):
        starts = rng.integers(0, len(array) - seq_len, size=batch_size)
        window = starts[:, None] + columns
        yield torch.from_numpy(array[window]), torch.from_numpy(array[window + 1])
