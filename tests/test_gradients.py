"""Gradient-flow measurements against autograd on the full sequence and known algebra."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.gradients import (
    hidden_gradient_norms,
    input_gradient_norms,
    jacobian_product_norms,
    scale_to_spectral_norm,
    spectral_norm,
    spectral_radius,
)
from rnncourse.models import make_recurrent


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_norms_match_autograd_on_whole_sequence(cell: str) -> None:
    torch.manual_seed(0)
    rnn = make_recurrent(cell, 3, 8, num_layers=2).double()  # type: ignore[arg-type]
    x = torch.randn(2, 12, 3, dtype=torch.float64, requires_grad=True)
    out, _ = rnn(x)
    out[:, -1].sum().backward()
    assert x.grad is not None
    expected = x.grad.norm(dim=(0, 2)).numpy()
    assert np.allclose(input_gradient_norms(rnn, x), expected, rtol=1e-10)


def test_hidden_norms_last_step_and_linear_rnn() -> None:
    torch.manual_seed(0)
    rnn = make_recurrent("rnn", 2, 5).double()
    norms = hidden_gradient_norms(rnn, torch.randn(1, 30, 2, dtype=torch.float64))
    assert norms.shape == (30,) and norms[-1] == pytest.approx(np.sqrt(5))  # dL/dh_T = ones
    assert norms[0] < 1e-3 * norms[-1]  # default init vanishes


def test_hidden_norms_with_custom_loss_and_h0() -> None:
    rnn = make_recurrent("gru", 2, 4)
    x = torch.randn(3, 6, 2)
    norms = hidden_gradient_norms(rnn, x, loss_fn=lambda hs: hs[:, 2].sum(), h0=torch.ones(3, 4))
    assert np.all(norms[3:] == 0) and norms[2] == pytest.approx(np.sqrt(12))
    with pytest.raises(ValueError, match="scalar"):
        hidden_gradient_norms(rnn, x, loss_fn=lambda hs: hs)
    with pytest.raises(ValueError, match="batch-first"):
        hidden_gradient_norms(torch.nn.GRU(2, 4), x)
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        hidden_gradient_norms(rnn, x[0])


def test_forget_bias_keeps_gradients_alive() -> None:
    torch.manual_seed(0)
    x = torch.rand(1, 60, 2)
    low = input_gradient_norms(make_recurrent("lstm", 2, 32, forget_bias=0.0), x)[0]
    high = input_gradient_norms(make_recurrent("lstm", 2, 32, forget_bias=3.0), x)[0]
    assert high > 1e4 * low


def test_spectral_helpers() -> None:
    W = np.diag([2.0, -0.5, 0.1])
    assert spectral_norm(W) == pytest.approx(2.0) and spectral_radius(W) == pytest.approx(2.0)
    scaled = scale_to_spectral_norm(W, 0.9)
    assert isinstance(scaled, np.ndarray) and spectral_norm(scaled) == pytest.approx(0.9)
    tensor = scale_to_spectral_norm(torch.eye(3, dtype=torch.float32) * 5, 2.0)
    assert tensor.dtype == torch.float32 and float(tensor[0, 0]) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        scale_to_spectral_norm(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError):
        spectral_norm(np.ones(3))


def test_jacobian_products() -> None:
    W = scale_to_spectral_norm(np.random.default_rng(0).normal(size=(6, 6)), 1.0)
    Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    linear = jacobian_product_norms(0.8 * Q, 10)
    assert np.allclose(linear, 0.8 ** np.arange(1, 11))
    tanh = jacobian_product_norms(W, 20, "tanh")
    assert np.all(tanh <= jacobian_product_norms(W, 20) + 1e-12)  # |tanh'| <= 1
    assert np.all(np.diff(tanh) <= 1e-12)
    with pytest.raises(ValueError):
        jacobian_product_norms(W, 5, "relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        jacobian_product_norms(W[:3], 5)
