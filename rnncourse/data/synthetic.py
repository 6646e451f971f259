r"""Synthetic long-range tasks: adding problem, copy task, temporal order, latch.

Every generator is seeded (a ``numpy.random.Generator``), returns torch tensors, and documents
its inputs, targets and the loss or accuracy of the best predictor that ignores long-range
memory (the *chance baseline*). A model beats the baseline only if it carries information
across the whole sequence.

Sources: the adding and temporal-order problems follow Hochreiter & Schmidhuber (1997),
Experiments 4 and 6a; the copy task follows Arjovsky, Shah & Bengio (2016); the latch follows
the information-latching problem of Bengio, Simard & Frasconi (1994). Generated data, no licence.
"""

from __future__ import annotations

# T is the sequence length, as in the papers and the rest of the course.
import math

import numpy as np
import torch

__all__ = [
    "ADDING_TRIVIAL_MSE",
    "LATCH_CHANCE_ACCURACY",
    "TEMPORAL_ORDER_CHANCE_ACCURACY",
    "TEMPORAL_ORDER_SYMBOLS",
    "adding_problem",
    "copy_baseline_cross_entropy",
    "copy_task",
    "latch",
    "temporal_order",
]

ADDING_TRIVIAL_MSE: float = 1.0 / 6.0
"""MSE of always predicting 1 on the adding problem: Var(X1 + X2) = 2/12 = 1/6."""

TEMPORAL_ORDER_SYMBOLS: tuple[str, ...] = ("a", "b", "c", "d", "X", "Y", "B", "E")
"""Vocabulary of :func:`temporal_order`: four distractors, the two relevant symbols, begin, end."""

TEMPORAL_ORDER_CHANCE_ACCURACY: float = 0.25
"""Accuracy of guessing among the four classes XX, XY, YX, YY (cross-entropy ln 4)."""

LATCH_CHANCE_ACCURACY: float = 0.5
"""Accuracy of guessing the latched sign (cross-entropy ln 2)."""


def _check(n: int, length: int, minimum: int, task: str) -> None:
    """Validate sample count and sequence length."""
    if n < 1:
        raise ValueError(f"{task}: n must be >= 1, got {n}")
    if length < minimum:
        raise ValueError(f"{task}: T must be >= {minimum}, got {length}")


def adding_problem(
    n: int, T: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The adding problem: add the two marked numbers of a long sequence.

    Each sequence has two channels. Channel 0 holds values :math:`X_t \sim U[0, 1]`; channel 1
    is a marker, 1 at exactly two positions (one in the first half, one in the second half)
    and 0 elsewhere. The target is the sum of the two marked values,
    :math:`y = X_{t_1} + X_{t_2}`.

    Chance baseline: always predicting 1 (the mean of y) gives
    :math:`\mathrm{MSE} = \operatorname{Var}(X_1 + X_2) = 2/12 = 1/6` (:data:`ADDING_TRIVIAL_MSE`).
    Hochreiter & Schmidhuber count a sequence as solved when the absolute error is below 0.04.

    Args:
        n: number of sequences.
        T: sequence length, at least 2.
        seed: seed of the generator.
        dtype: floating dtype of the tensors.

    Returns:
        tuple: ``x (n, T, 2)`` and ``y (n, 1)``.
    """
    _check(n, T, 2, "adding_problem")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, T))
    half = T // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    x = torch.tensor(np.stack([values, markers], axis=-1), dtype=dtype)
    return x, torch.tensor(target[:, None], dtype=dtype)


def copy_task(
    n: int, T: int, *, n_symbols: int = 8, copy_len: int = 10, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The copy task: read ``copy_len`` symbols, wait ``T`` steps, then write them back.

    Tokens: 0 is the blank, ``1..n_symbols`` the symbols, ``n_symbols + 1`` the delimiter
    (vocabulary size ``n_symbols + 2``). A sequence has length ``T + 2 * copy_len``:

    * input: ``copy_len`` random symbols, ``T - 1`` blanks, the delimiter, ``copy_len`` blanks;
    * target: ``T + copy_len`` blanks, then the ``copy_len`` symbols of the input.

    Chance baseline: a memoryless model predicts the blank for the first ``T + copy_len``
    steps (cross-entropy 0) and a uniform symbol for the last ``copy_len``, a mean
    cross-entropy per step of ``copy_len * ln(n_symbols) / (T + 2 * copy_len)``
    (:func:`copy_baseline_cross_entropy`; ``10 ln 8 / (T + 20)`` by default).

    Args:
        n: number of sequences.
        T: delay between the end of the symbols and the delimiter, at least 1.
        n_symbols: alphabet size.
        copy_len: number of symbols to copy.
        seed: seed of the generator.

    Returns:
        tuple: ``x (n, T + 2*copy_len)`` and ``y (n, T + 2*copy_len)``, int64 token ids.
    """
    _check(n, T, 1, "copy_task")
    if n_symbols < 2 or copy_len < 1:
        raise ValueError("copy_task: need n_symbols >= 2 and copy_len >= 1")
    rng = np.random.default_rng(seed)
    symbols = rng.integers(1, n_symbols + 1, size=(n, copy_len))
    length = T + 2 * copy_len
    x = np.zeros((n, length), dtype=np.int64)
    y = np.zeros((n, length), dtype=np.int64)
    x[:, :copy_len] = symbols
    x[:, copy_len + T - 1] = n_symbols + 1
    y[:, T + copy_len :] = symbols
    return torch.from_numpy(x), torch.from_numpy(y)


def copy_baseline_cross_entropy(T: int, copy_len: int = 10, n_symbols: int = 8) -> float:
    """Mean cross-entropy per step (nats) of the memoryless copy-task baseline.

    Args:
        T: delay, as in :func:`copy_task`.
        copy_len: number of symbols to copy.
        n_symbols: alphabet size.

    Returns:
        float: ``copy_len * ln(n_symbols) / (T + 2 * copy_len)``.
    """
    return copy_len * math.log(n_symbols) / (T + 2 * copy_len)


def temporal_order(
    n: int, T: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Temporal order (Hochreiter & Schmidhuber 1997, Experiment 6a): which came first?

    A sequence starts with ``B``, ends with ``E`` and is otherwise filled with random
    distractors ``a, b, c, d``, except for two relevant symbols, each ``X`` or ``Y``, at a
    random step in ``[0.1 T, 0.2 T)`` and in ``[0.5 T, 0.6 T)``. The class is the ordered pair:
    0 = XX, 1 = XY, 2 = YX, 3 = YY. Inputs are one-hot over :data:`TEMPORAL_ORDER_SYMBOLS`.

    Chance baseline: accuracy 1/4, cross-entropy ln 4 (:data:`TEMPORAL_ORDER_CHANCE_ACCURACY`).

    Args:
        n: number of sequences.
        T: sequence length, at least 10.
        seed: seed of the generator.
        dtype: dtype of the one-hot inputs.

    Returns:
        tuple: ``x (n, T, 8)`` one-hot and ``y (n,)`` int64 class labels in ``0..3``.
    """
    _check(n, T, 10, "temporal_order")
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 4, size=(n, T))
    ids[:, 0], ids[:, -1] = 6, 7
    rows = np.arange(n)
    t1 = rng.integers(max(1, T // 10), max(T // 10 + 1, 2 * T // 10), size=n)
    t2 = rng.integers(T // 2, max(T // 2 + 1, 6 * T // 10), size=n)
    s1 = rng.integers(0, 2, size=n)
    s2 = rng.integers(0, 2, size=n)
    ids[rows, t1] = 4 + s1
    ids[rows, t2] = 4 + s2
    x = torch.nn.functional.one_hot(torch.from_numpy(ids), len(TEMPORAL_ORDER_SYMBOLS))
    return x.to(dtype), torch.from_numpy(2 * s1 + s2).to(torch.int64)


def latch(
    n: int,
    T: int,
    *,
    seed: int = 0,
    noise_std: float = 0.2,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Information latching (Bengio et al. 1994): remember the sign seen at the first step.

    Input channel 0 is :math:`\pm 1` at step 0 and Gaussian noise
    :math:`\mathcal{N}(0, \text{noise\_std}^2)` afterwards. The label is 1 when the first value
    is +1 and 0 otherwise; the model sees the label only after the last step.

    Chance baseline: accuracy 1/2, cross-entropy ln 2 (:data:`LATCH_CHANCE_ACCURACY`).

    Args:
        n: number of sequences.
        T: sequence length, at least 2.
        seed: seed of the generator.
        noise_std: standard deviation of the distractor noise.
        dtype: dtype of the inputs.

    Returns:
        tuple: ``x (n, T, 1)`` and ``y (n,)`` int64 labels in ``{0, 1}``.
    """
    _check(n, T, 2, "latch")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    x = rng.normal(0.0, noise_std, size=(n, T))
    x[:, 0] = 2.0 * labels - 1.0
    return torch.tensor(x[..., None], dtype=dtype), torch.from_numpy(labels).to(torch.int64)
