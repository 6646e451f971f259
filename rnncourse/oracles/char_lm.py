r"""Oracles of assignment 6, ``char_lm``: torch's embedding, linear layer, cross-entropy and
softmax, with autograd, in float64; and what the classic mistakes give on the same inputs.

Every oracle takes the inputs the test chose (never the learner's outputs). The layers follow
torch's conventions: ``F.embedding(ids, W)`` with ``W`` ``(V, D)``; ``F.linear(h, W, b)``
with ``W`` ``(V, H)``; the masked cross-entropy is

.. math:: L = \frac{\sum_{n,t} m_{nt}\, \big(-\log \operatorname{softmax}(s_{nt})_{y_{nt}}\big)}
                   {\sum_{n,t} m_{nt}} ,

``F.cross_entropy(..., reduction="none")`` weighted by the mask; sampling with temperature
:math:`\tau` draws id :math:`k` from :math:`\operatorname{softmax}(s / \tau)` by the inverse
of the cumulative distribution at a given uniform number :math:`u`: the smallest :math:`k`
with :math:`\sum_{j \le k} p_j > u`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _torch():
    import torch

    return torch


def _t(array: Any, grad: bool = False):
    torch = _torch()
    tensor = torch.tensor(np.asarray(array), dtype=torch.float64)
    return tensor.requires_grad_(grad)


def _ids(array: Any):
    torch = _torch()
    return torch.tensor(np.asarray(array), dtype=torch.int64)


# --- embedding ------------------------------------------------------------------------------


def _embedding_lookup(ids, W) -> np.ndarray:
    """``F.embedding(ids, W)``: row ``ids[n, t]`` of ``W``, ``(N, T, D)``."""
    torch = _torch()
    return torch.nn.functional.embedding(_ids(ids), _t(W)).numpy()


def _embedding_grad(ids, W, dout) -> np.ndarray:
    """The gradient of ``sum(F.embedding(ids, W) * dout)`` with respect to ``W`` ``(V, D)``."""
    torch = _torch()
    weight = _t(W, grad=True)
    (torch.nn.functional.embedding(_ids(ids), weight) * _t(dout)).sum().backward()
    return weight.grad.numpy()


def _embedding_grad_mistakes(ids, W, dout) -> dict[str, np.ndarray]:
    """What classic wrong embedding backward passes give.

    ``"no_accumulation"``: ``dW[ids] += dout`` with fancy indexing, where a repeated id keeps
    one of its gradients instead of their sum.
    """
    ids = np.asarray(ids)
    dout = np.asarray(dout, dtype=np.float64)
    kept = np.zeros(np.shape(W))
    kept[ids.reshape(-1)] += dout.reshape(-1, kept.shape[1])
    return {"no_accumulation": kept}


# --- temporal affine ------------------------------------------------------------------------


def _temporal_affine(h, W, b) -> np.ndarray:
    """``F.linear(h, W, b) = h @ W.T + b``, ``(N, T, V)``."""
    torch = _torch()
    return torch.nn.functional.linear(_t(h), _t(W), _t(b)).numpy()


def _temporal_affine_mistakes(h, W, b) -> dict[str, np.ndarray]:
    """``"no_bias"``: ``h @ W.T`` without ``b``."""
    torch = _torch()
    return {"no_bias": torch.nn.functional.linear(_t(h), _t(W)).numpy()}


def _temporal_affine_grads(h, W, b, dout) -> dict[str, np.ndarray]:
    """Gradients of ``sum(F.linear(h, W, b) * dout)`` for ``h``, ``W``, ``b``."""
    h_, W_, b_ = _t(h, True), _t(W, True), _t(b, True)
    (_torch().nn.functional.linear(h_, W_, b_) * _t(dout)).sum().backward()
    return {"h": h_.grad.numpy(), "W": W_.grad.numpy(), "b": b_.grad.numpy()}


def _temporal_affine_grad_mistakes(h, W, b, dout) -> dict[str, np.ndarray]:
    """``"W_last_step"``: dW from the last time step only (the sum over time forgotten);
    ``"b_last_step"``: likewise for db."""
    dout = np.asarray(dout, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    return {"W_last_step": dout[:, -1].T @ h[:, -1], "b_last_step": dout[:, -1].sum(axis=0)}


# --- masked cross-entropy -------------------------------------------------------------------


def _losses(scores, y, mask):
    torch = _torch()
    s = _t(scores, grad=True)
    V = s.shape[-1]
    per = torch.nn.functional.cross_entropy(s.reshape(-1, V), _ids(y).reshape(-1),
                                            reduction="none")
    weights = _t(np.asarray(mask, dtype=np.float64).reshape(-1))
    return s, per, weights


def _masked_cross_entropy(scores, y, mask) -> dict[str, Any]:
    """``{"loss": L, "dscores": dL/dscores}`` of the masked mean cross-entropy (module
    docstring)."""
    s, per, weights = _losses(scores, y, mask)
    loss = (per * weights).sum() / weights.sum()
    loss.backward()
    return {"loss": float(loss.item()), "dscores": s.grad.numpy()}


def _masked_cross_entropy_mistakes(scores, y, mask) -> dict[str, dict[str, Any]]:
    """Loss and gradient of the classic wrong normalisations.

    ``"mask_ignored"``: the mean over every position; ``"per_sequence"``: the masked sum divided
    by the batch size N (CS231n's convention); ``"masked_sum_over_all"``: the masked sum divided
    by N*T; ``"masked_sum"``: the masked sum, not divided.
    """
    scores = np.asarray(scores, dtype=np.float64)
    N, T = scores.shape[:2]
    answers = {}
    for name in ("mask_ignored", "per_sequence", "masked_sum_over_all", "masked_sum"):
        s, per, weights = _losses(scores, y, mask)
        if name == "mask_ignored":
            loss = per.mean()
        else:
            total = (per * weights).sum()
            loss = {"per_sequence": total / N, "masked_sum_over_all": total / (N * T),
                    "masked_sum": total}[name]
        loss.backward()
        answers[name] = {"loss": float(loss.item()), "dscores": s.grad.numpy()}
    return answers


# --- sampling -------------------------------------------------------------------------------


def _inverse_cdf(probs, u) -> np.ndarray:
    torch = _torch()
    cdf = torch.cumsum(probs, dim=-1)
    u_ = _t(u).reshape(-1, 1)
    ids = (cdf <= u_).sum(dim=-1)  # the smallest k with cdf[k] > u
    return ids.clamp(max=probs.shape[-1] - 1).numpy().astype(np.int64)


def _sample_with_temperature(scores, temperature, u) -> np.ndarray:
    """Ids ``(N,)`` drawn from ``softmax(scores / temperature)`` at the uniforms ``u``
    (module docstring)."""
    torch = _torch()
    probs = torch.softmax(_t(scores) / float(temperature), dim=-1)
    return _inverse_cdf(probs, u)


def _sample_mistakes(scores, temperature, u) -> dict[str, np.ndarray]:
    """``"times_temperature"``: softmax(scores * temperature); ``"no_temperature"``:
    softmax(scores); ``"greedy"``: the argmax, u ignored; ``"probabilities_not_cumulative"``:
    the first k with p[k] > u."""
    torch = _torch()
    s = _t(scores)
    probs = torch.softmax(s / float(temperature), dim=-1)
    first_above = (probs > _t(u).reshape(-1, 1)).double()
    return {
        "times_temperature": _inverse_cdf(torch.softmax(s * float(temperature), dim=-1), u),
        "no_temperature": _inverse_cdf(torch.softmax(s, dim=-1), u),
        "greedy": s.argmax(dim=-1).numpy().astype(np.int64),
        "probabilities_not_cumulative": first_above.argmax(dim=-1).numpy().astype(np.int64),
    }


ORACLES: dict[str, Callable[..., Any]] = {
    "embedding_lookup": _embedding_lookup,
    "embedding_grad": _embedding_grad,
    "embedding_grad_mistakes": _embedding_grad_mistakes,
    "temporal_affine": _temporal_affine,
    "temporal_affine_mistakes": _temporal_affine_mistakes,
    "temporal_affine_grads": _temporal_affine_grads,
    "temporal_affine_grad_mistakes": _temporal_affine_grad_mistakes,
    "masked_cross_entropy": _masked_cross_entropy,
    "masked_cross_entropy_mistakes": _masked_cross_entropy_mistakes,
    "sample_with_temperature": _sample_with_temperature,
    "sample_mistakes": _sample_mistakes,
}
