r"""Measure how gradients flow back through time in torch recurrent modules.

For a loss :math:`L` computed from the last hidden state,

.. math::

    \frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_T}
    \prod_{k=t+1}^{T} \frac{\partial h_k}{\partial h_{k-1}},\qquad
    \frac{\partial h_k}{\partial h_{k-1}} = \operatorname{diag}(\phi'(a_k))\, W_{hh}

for a vanilla RNN, so the norms shrink or grow roughly geometrically with the largest
singular value of :math:`W_{hh}` (Pascanu, Mikolov & Bengio 2013: vanishing is guaranteed when
it is below :math:`1/\gamma`, with :math:`\gamma = 1` for tanh).
"""

from __future__ import annotations

# Weight names follow torch and the course (W_ih, W_hh): uppercase marks matrices.
from collections.abc import Callable
from typing import Literal, TypeVar

import numpy as np
import torch
from torch import nn

__all__ = [
    "hidden_gradient_norms",
    "input_gradient_norms",
    "jacobian_product_norms",
    "scale_to_spectral_norm",
    "spectral_norm",
    "spectral_radius",
]

LossFn = Callable[[torch.Tensor], torch.Tensor]
Matrix = TypeVar("Matrix", np.ndarray, torch.Tensor)


def _unroll_gradients(
    rnn: nn.RNNBase,
    x: torch.Tensor,
    loss_fn: LossFn | None,
    h0: torch.Tensor | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unroll ``rnn`` one step at a time; return ``(||dL/dh_t||, ||dL/dx_t||)``, each ``(T,)``.

    The last layer's hidden state of step t is one tensor, used both as that step's output and
    as the state fed to step t+1, so its ``.grad`` is the full :math:`\\partial L/\\partial h_t`.
    """
    if not isinstance(rnn, nn.RNNBase) or not rnn.batch_first:
        raise ValueError("rnn must be a batch-first torch.nn.RNN, LSTM or GRU")
    if rnn.bidirectional:
        raise ValueError("bidirectional modules are not supported")
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, D), got shape {tuple(x.shape)}")
    param = next(rnn.parameters())
    inputs = x.detach().to(device=param.device, dtype=param.dtype).requires_grad_(True)
    layers, n, hidden = rnn.num_layers, x.shape[0], rnn.hidden_size
    h = torch.zeros(layers, n, hidden, dtype=param.dtype, device=param.device)
    if h0 is not None:
        h = h0.to(h).expand_as(h).clone() if h0.ndim == 3 else h0.to(h).expand(layers, -1, -1)
    state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    state = (h, torch.zeros_like(h)) if isinstance(rnn, nn.LSTM) else h
    hiddens: list[torch.Tensor] = []
    for t in range(x.shape[1]):
        out, new_state = rnn(inputs[:, t : t + 1], state)
        h_t = out[:, 0]
        h_t.retain_grad()
        hiddens.append(h_t)
        h_n = new_state[0] if isinstance(new_state, tuple) else new_state
        h_n = torch.cat([h_n[:-1], h_t.unsqueeze(0)], dim=0)
        state = (h_n, new_state[1]) if isinstance(new_state, tuple) else h_n
    loss = hiddens[-1].sum() if loss_fn is None else loss_fn(torch.stack(hiddens, dim=1))
    if loss.ndim != 0:
        raise ValueError("loss_fn must return a scalar")
    loss.backward()
    h_norms = np.array([0.0 if h.grad is None else float(h.grad.norm()) for h in hiddens])
    assert inputs.grad is not None
    x_norms = inputs.grad.flatten(2).norm(dim=(0, 2)).double().cpu().numpy()
    return h_norms, x_norms


def hidden_gradient_norms(
    rnn: nn.RNNBase,
    x: torch.Tensor,
    *,
    loss_fn: LossFn | None = None,
    h0: torch.Tensor | None = None,
) -> np.ndarray:
    r"""Norms :math:`\lVert \partial L / \partial h_t \rVert` for every step of a sequence.

    The module is unrolled one step at a time (``retain_grad`` on every hidden state), so the
    gradient includes every path from :math:`h_t` to the loss. For a batch the norm is taken
    over the whole ``(N, H)`` gradient (Frobenius norm).

    Args:
        rnn: batch-first ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (the last layer is measured).
        x: inputs ``(N, T, D)``.
        loss_fn: ``hs (N, T, H) -> scalar``; default :math:`L = \sum h_T` (sum of the last
            hidden state).
        h0: initial hidden state ``(N, H)`` or ``(layers, N, H)``; zeros by default.

    Returns:
        np.ndarray: float64 ``(T,)``, entry ``t-1`` for step ``t``.
    """
    return _unroll_gradients(rnn, x, loss_fn, h0)[0]


def input_gradient_norms(
    rnn: nn.RNNBase,
    x: torch.Tensor,
    *,
    loss_fn: LossFn | None = None,
    h0: torch.Tensor | None = None,
) -> np.ndarray:
    r"""Norms :math:`\lVert \partial L / \partial x_t \rVert`: how much step t's input matters.

    Same arguments as :func:`hidden_gradient_norms`.

    Returns:
        np.ndarray: float64 ``(T,)``.
    """
    return _unroll_gradients(rnn, x, loss_fn, h0)[1]


def _as_tensor(W: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(W.detach() if isinstance(W, torch.Tensor) else np.asarray(W))
    tensor = tensor.to(torch.float64)
    if tensor.ndim != 2:
        raise ValueError(f"expected a matrix, got shape {tuple(tensor.shape)}")
    return tensor


def spectral_norm(W: np.ndarray | torch.Tensor) -> float:
    """Largest singular value :math:`\\sigma_{\\max}(W)` of a matrix."""
    return float(torch.linalg.matrix_norm(_as_tensor(W), ord=2))


def spectral_radius(W: np.ndarray | torch.Tensor) -> float:
    """Largest absolute eigenvalue :math:`\\rho(W)` of a square matrix."""
    return float(torch.linalg.eigvals(_as_tensor(W)).abs().max())


def scale_to_spectral_norm(W: Matrix, target: float) -> Matrix:
    """``W`` rescaled so that its largest singular value equals ``target``.

    Args:
        W: matrix (numpy array or tensor; the result has the same type, dtype and device).
        target: desired spectral norm, non-negative.

    Returns:
        the rescaled copy of ``W``.

    Raises:
        ValueError: for a zero matrix or a negative target.
    """
    if target < 0:
        raise ValueError("target must be non-negative")
    sigma = spectral_norm(W)
    if sigma == 0:
        raise ValueError("cannot rescale a zero matrix")
    if isinstance(W, torch.Tensor):
        return W.detach() * (target / sigma)
    return np.asarray(W) * (target / sigma)


def jacobian_product_norms(
    W_hh: np.ndarray | torch.Tensor,
    T: int,
    nonlinearity: Literal["linear", "tanh"] = "linear",
    *,
    input_std: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    r"""Spectral norms of :math:`\partial h_k / \partial h_0` for ``k = 1..T``.

    * ``"linear"``: :math:`h_k = W_{hh} h_{k-1}`, so the product is :math:`W_{hh}^k`.
    * ``"tanh"``: :math:`h_k = \tanh(W_{hh} h_{k-1} + u_k)` with random drive
      :math:`u_k \sim \mathcal{N}(0, \text{input\_std}^2)` (standing in for
      :math:`W_{ih} x_k + b`) from :math:`h_0 = 0`; the product is
      :math:`\prod_k \operatorname{diag}(1 - h_k^2) W_{hh}`, computed by torch.

    Args:
        W_hh: square recurrent matrix ``(H, H)``.
        T: number of steps.
        nonlinearity: ``"linear"`` or ``"tanh"``.
        input_std: standard deviation of the random drive (tanh only).
        seed: seed of the drive.

    Returns:
        np.ndarray: float64 ``(T,)``; entry ``k-1`` is
        :math:`\lVert\partial h_k/\partial h_0\rVert_2`.
    """
    W = _as_tensor(W_hh)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W_hh must be square, got {tuple(W.shape)}")
    if nonlinearity not in ("linear", "tanh"):
        raise ValueError(f"nonlinearity must be 'linear' or 'tanh', got {nonlinearity!r}")
    if T < 1:
        raise ValueError("T must be >= 1")
    generator = torch.Generator().manual_seed(seed)
    hidden = W.shape[0]
    h = torch.zeros(hidden, dtype=torch.float64)
    product = torch.eye(hidden, dtype=torch.float64)
    norms = np.empty(T)
    for k in range(T):
        if nonlinearity == "linear":
            jacobian = W
        else:
            drive = input_std * torch.randn(hidden, generator=generator, dtype=torch.float64)
            h = torch.tanh(W @ h + drive)
            jacobian = (1 - h**2)[:, None] * W
        product = jacobian @ product
        norms[k] = float(torch.linalg.matrix_norm(product, ord=2))
    return norms
