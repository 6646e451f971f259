r"""Oracles of assignment 2, ``vanishing_gradients``: torch autograd and torch.linalg, float64.

The Jacobian products :math:`P_t = \partial h_T / \partial h_t` of a tanh RNN come from autograd
(one backward pass per component of :math:`h_T`), never from the formula the learner writes.
Each oracle also returns what the classic mistakes of its part give on the same inputs (a
named mistake is recognised by comparing the learner's answer with these), computed from the
inputs only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _t(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64)


def _spectral(M: torch.Tensor) -> torch.Tensor:
    """Largest singular value of each matrix of ``M`` (..., H, H)."""
    return torch.linalg.matrix_norm(M, ord=2)


def spectral_rescaled(W: np.ndarray, target: float) -> dict[str, np.ndarray]:
    """``W`` rescaled to largest singular value ``target`` (``"scaled"``), and what dividing by
    the Frobenius norm or by the spectral radius (largest |eigenvalue|) would give instead."""
    Wt = _t(W)
    radius = torch.linalg.eigvals(Wt).abs().max()
    return {
        "scaled": (Wt * (target / _spectral(Wt))).numpy(),
        "frobenius": (Wt * (target / torch.linalg.matrix_norm(Wt))).numpy(),
        "radius": (Wt * (target / radius)).numpy(),
    }


def rnn_jacobian_products(x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray,
                          b_ih: np.ndarray, b_hh: np.ndarray) -> dict[str, np.ndarray]:
    r"""States and Jacobian products of one sequence, by autograd.

    :math:`h_k = \tanh(W_{ih} x_k + b_{ih} + W_{hh} h_{k-1} + b_{hh})` for ``x`` (T, D) from
    ``h0`` (H,). Returns ``{"hs": (T, H) with hs[k] = h_{k+1}, "P": (T+1, H, H) with
    P[t] = dh_T/dh_t}``.
    """
    Wi, Wh, bi, bh, X = map(_t, (W_ih, W_hh, b_ih, b_hh, x))
    h = _t(h0).clone().requires_grad_(True)
    states = [h]
    for k in range(X.shape[0]):
        h = torch.tanh(Wi @ X[k] + bi + Wh @ h + bh)
        h.retain_grad()
        states.append(h)
    H = h.shape[0]
    P = np.zeros((len(states), H, H))
    for i in range(H):
        for s in states:
            s.grad = None
        states[-1][i].backward(retain_graph=True)
        for t, s in enumerate(states):
            P[t, i] = s.grad.numpy() if s.grad is not None else 0.0
    hs = torch.stack(states[1:]).detach().numpy()
    return {"hs": hs, "P": P}


def step_jacobian_mistakes(h_next: np.ndarray, W_hh: np.ndarray) -> dict[str, np.ndarray]:
    """What classic mistakes give for dh_next/dh_prev: no tanh derivative, the derivative
    scaling the columns instead of the rows, ``W_hh`` transposed, and ``1 - h`` for
    ``1 - h**2``."""
    h, W = _t(h_next), _t(W_hh)
    d = 1.0 - h**2
    return {
        "no_derivative": W.numpy(),
        "columns": (W * d[None, :]).numpy(),
        "transposed": (d[:, None] * W.T).numpy(),
        "one_minus_h": ((1.0 - h)[:, None] * W).numpy(),
    }


def _products(J: torch.Tensor, left: bool = False) -> np.ndarray:
    """``P`` (T+1, H, H) from one-step Jacobians ``J`` (T, H, H), ``J[t]`` being J_{t+1}:
    P[T] = I, P[t] = P[t+1] J_{t+1} (``left``: J_{t+1} P[t+1], the wrong order)."""
    T, H = J.shape[0], J.shape[1]
    P = torch.zeros(T + 1, H, H, dtype=torch.float64)
    P[T] = torch.eye(H, dtype=torch.float64)
    for t in range(T - 1, -1, -1):
        P[t] = J[t] @ P[t + 1] if left else P[t + 1] @ J[t]
    return P.numpy()


def _chain(hs: torch.Tensor, W: torch.Tensor, index: Callable[[int], int],
           left: bool = False) -> np.ndarray:
    J = torch.stack([(1.0 - hs[index(t)] ** 2)[:, None] * W for t in range(hs.shape[0])])
    return _products(J, left)


def jacobian_product_mistakes(hs: np.ndarray, W_hh: np.ndarray) -> dict[str, np.ndarray]:
    """What classic mistakes give for ``P`` from the states ``hs`` (T, H): the product
    multiplied in the wrong order (J_{t+1} @ P[t+1]), the state index off by one (hs[t - 1]
    or hs[t + 1] instead of hs[t] for J_{t+1}), and P listed backwards (P[0] the identity)."""
    h, W = _t(hs), _t(W_hh)
    T = h.shape[0]
    right = _chain(h, W, lambda t: t)
    return {
        "left_multiplied": _chain(h, W, lambda t: t, left=True),
        "index_minus_one": _chain(h, W, lambda t: t - 1),
        "index_plus_one": _chain(h, W, lambda t: min(t + 1, T - 1)),
        "reversed": right[::-1].copy(),
    }


def products_of(jacobians: list[np.ndarray]) -> np.ndarray:
    """``P`` (T+1, H, H) from given one-step Jacobians J_1..J_T (``jacobians[t]`` is J_{t+1}):
    P[T] = I, P[t] = P[t+1] J_{t+1}. The judge asks it about the learner's own step Jacobians,
    so that a right ``jacobian_products`` on a wrong ``step_jacobian`` loses no second test."""
    return _products(torch.stack([_t(j) for j in jacobians]))


def gradient_norm_curve(x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray,
                        b_ih: np.ndarray, b_hh: np.ndarray) -> dict[str, np.ndarray]:
    """The spectral norms of dh_T/dh_t, t = 0..T (``"norms"``), and the Frobenius norms and
    the reversed curve (two classic mistakes)."""
    P = torch.from_numpy(rnn_jacobian_products(x, h0, W_ih, W_hh, b_ih, b_hh)["P"])
    norms = _spectral(P).numpy()
    return {"norms": norms, "frobenius": torch.linalg.matrix_norm(P).numpy(),
            "reversed": norms[::-1].copy()}


def _slope(distance: torch.Tensor, values: torch.Tensor) -> float:
    A = torch.stack([distance, torch.ones_like(distance)], dim=1)
    return float(torch.linalg.lstsq(A, values[:, None], driver="gelsd").solution[0, 0])


def log_norm_slope(norms: np.ndarray) -> dict[str, float]:
    """Least-squares slope of ``log(norms[t])`` against the distance ``T - t`` (``"slope"``),
    and what log10, the time ``t`` instead of the distance, or no log would give."""
    n = _t(norms)
    steps = torch.arange(n.shape[0], dtype=torch.float64)
    distance = n.shape[0] - 1 - steps
    return {
        "slope": _slope(distance, torch.log(n)),
        "log10": _slope(distance, torch.log10(n)),
        "against_t": _slope(steps, torch.log(n)),
        "no_log": _slope(distance, n),
    }


def clip_global_norm(grads: dict[str, np.ndarray], threshold: float) -> dict[str, Any]:
    r"""Clipping by global norm with the exact formula, and three classic mistakes.

    :math:`\lVert g \rVert = \sqrt{\sum_p \sum_k g_{p,k}^2}`; every gradient is multiplied by
    ``threshold / ||g||`` when ``||g|| > threshold`` (no epsilon). Returns ``{"norm",
    "clipped", "elementwise" (each element clipped to [-threshold, threshold]),
    "per_parameter" (each parameter clipped by its own norm), "always" (scaled by
    threshold / ||g|| even below the threshold)}``.
    """
    g = {k: _t(v) for k, v in grads.items()}
    norm = torch.sqrt(sum((v**2).sum() for v in g.values())) if g else torch.tensor(0.0)
    factor = threshold / norm if norm > threshold else torch.tensor(1.0, dtype=torch.float64)
    always = threshold / norm if norm > 0 else torch.tensor(1.0, dtype=torch.float64)

    def own(v: torch.Tensor) -> torch.Tensor:
        n = torch.linalg.vector_norm(v)
        return v * (threshold / n) if n > threshold else v

    return {
        "norm": float(norm),
        "clipped": {k: (v * factor).numpy() for k, v in g.items()},
        "elementwise": {k: v.clamp(-threshold, threshold).numpy() for k, v in g.items()},
        "per_parameter": {k: own(v).numpy() for k, v in g.items()},
        "always": {k: (v * always).numpy() for k, v in g.items()},
    }


def experiment_curves(sigmas: tuple[float, ...]) -> dict[str, dict]:
    """The notebook's experiment done right: its RNN
    (:func:`rnncourse.suites.vanishing_gradients.experiment_inputs`) with ``W_hh0`` rescaled to
    largest singular value sigma, for each sigma. Returns ``{"curves": {sigma: (T+1,)},
    "slopes": {sigma: float}}``.

    Only the sigmas are the question: the inputs are rebuilt here from the recipe, so the
    recorded answer does not depend on the last bits of the learner's ``np.linalg.qr``.
    """
    from rnncourse.suites.vanishing_gradients import experiment_inputs

    e = experiment_inputs()
    curves, slopes = {}, {}
    for sigma in sigmas:
        W = spectral_rescaled(e["W_hh0"], sigma)["scaled"]
        curves[sigma] = gradient_norm_curve(e["x"], e["h0"], e["W_ih"], W, e["b"], e["b"])["norms"]
        slopes[sigma] = log_norm_slope(curves[sigma])["slope"]
    return {"curves": curves, "slopes": slopes}


ORACLES: dict[str, Callable[..., Any]] = {
    "spectral_rescaled": spectral_rescaled,
    "rnn_jacobian_products": rnn_jacobian_products,
    "step_jacobian_mistakes": step_jacobian_mistakes,
    "jacobian_product_mistakes": jacobian_product_mistakes,
    "products_of": products_of,
    "gradient_norm_curve": gradient_norm_curve,
    "log_norm_slope": log_norm_slope,
    "clip_by_global_norm_reference": clip_global_norm,
    "experiment_curves": experiment_curves,
}
