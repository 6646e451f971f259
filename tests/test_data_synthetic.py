"""Synthetic tasks: shapes, structure, and the documented chance baselines, numerically."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnncourse.data import synthetic as S  # noqa: N812


def test_adding_problem_structure_and_trivial_mse() -> None:
    x, y = S.adding_problem(20000, 12, seed=3)
    assert x.shape == (20000, 12, 2) and y.shape == (20000, 1) and x.dtype == torch.float32
    markers = x[..., 1]
    assert torch.all(markers.sum(1) == 2)
    assert torch.all(markers[:, :6].sum(1) == 1)  # one marker in each half
    assert torch.allclose((x[..., 0] * markers).sum(1, keepdim=True), y)
    assert float(x[..., 0].min()) >= 0 and float(x[..., 0].max()) <= 1
    trivial = float(((y - 1.0) ** 2).mean())
    assert trivial == pytest.approx(S.ADDING_TRIVIAL_MSE, abs=0.006)
    assert pytest.approx(1 / 6) == S.ADDING_TRIVIAL_MSE


def test_generators_are_seeded() -> None:
    a, _ = S.adding_problem(4, 5, seed=1)
    b, _ = S.adding_problem(4, 5, seed=1)
    c, _ = S.adding_problem(4, 5, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert S.adding_problem(2, 4, dtype=torch.float64)[0].dtype == torch.float64


def test_copy_task_layout_and_baseline() -> None:
    T, L, K = 30, 10, 8
    x, y = S.copy_task(5000, T, n_symbols=K, copy_len=L, seed=0)
    assert x.shape == y.shape == (5000, T + 2 * L) and x.dtype == torch.int64
    assert torch.equal(y[:, T + L :], x[:, :L])
    assert torch.all(x[:, L + T - 1] == K + 1) and torch.all(y[:, : T + L] == 0)
    assert int(x[:, :L].min()) >= 1 and int(x[:, :L].max()) <= K
    # memoryless predictor: marginal distribution of the target at each position
    counts = torch.stack([torch.bincount(y[:, t], minlength=K + 2) for t in range(T + 2 * L)])
    probs = counts.double() / counts.sum(1, keepdim=True)
    ce = -(probs.clamp_min(1e-300).log() * probs).sum(1).mean()
    assert float(ce) == pytest.approx(S.copy_baseline_cross_entropy(T, L, K), rel=0.01)
    assert S.copy_baseline_cross_entropy(100) == pytest.approx(10 * math.log(8) / 120)


def test_temporal_order_classes_and_chance() -> None:
    x, y = S.temporal_order(4000, 50, seed=0)
    assert x.shape == (4000, 50, 8) and torch.all(x.sum(-1) == 1)
    ids = x.argmax(-1)
    assert torch.all(ids[:, 0] == 6) and torch.all(ids[:, -1] == 7)
    relevant = (ids == 4) | (ids == 5)
    assert torch.all(relevant.sum(1) == 2)
    first = torch.stack([row[r] for row, r in zip(ids, relevant, strict=True)])
    assert torch.equal(2 * (first[:, 0] - 4) + (first[:, 1] - 4), y)
    freq = torch.bincount(y, minlength=4).double() / len(y)
    assert float(freq.max()) == pytest.approx(S.TEMPORAL_ORDER_CHANCE_ACCURACY, abs=0.03)


def test_latch_label_is_first_sign() -> None:
    x, y = S.latch(3000, 20, seed=0)
    assert x.shape == (3000, 20, 1)
    assert torch.equal((x[:, 0, 0] > 0).long(), y)
    assert float(x[:, 1:].std()) == pytest.approx(0.2, rel=0.05)
    assert float(y.double().mean()) == pytest.approx(S.LATCH_CHANCE_ACCURACY, abs=0.03)


@pytest.mark.parametrize(
    "call",
    [
        lambda: S.adding_problem(0, 10),
        lambda: S.adding_problem(5, 1),
        lambda: S.copy_task(5, 0),
        lambda: S.copy_task(5, 5, copy_len=0),
        lambda: S.temporal_order(5, 9),
        lambda: S.latch(5, 1),
    ],
)
def test_invalid_arguments_raise(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_values_are_uniform() -> None:
    x, _ = S.adding_problem(2000, 50, seed=0)
    values = x[..., 0].numpy().ravel()
    assert np.mean(values) == pytest.approx(0.5, abs=0.01)
    assert np.var(values) == pytest.approx(1 / 12, abs=0.002)
