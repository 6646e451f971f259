"""Oracles of assignment 4, ``gru_cell``: ``torch.nn.GRUCell``, ``torch.nn.GRU``, autograd,
and the parameter counts of torch's recurrent layers.

The ``*_mistakes`` oracles answer with every classic mistake's output on the same inputs
(:mod:`rnncourse.diagnose`), so that a test can name the one a learner made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
_LAYER = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _tensor(value: Any, grad: bool = False):
    import torch

    return torch.tensor(np.array(value, dtype=np.float64), dtype=torch.float64,
                        requires_grad=grad)


def torch_gru(weights: dict[str, Any]):
    """A float64 batch-first ``torch.nn.GRU`` holding ``weights`` (W_ih, W_hh, b_ih, b_hh)."""
    import torch
    from torch import nn

    D, H = np.shape(weights["W_ih"])[1], np.shape(weights["W_hh"])[1]
    gru = nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():
        for name, key in zip(_LAYER, WEIGHTS, strict=True):
            getattr(gru, name).copy_(_tensor(weights[key]))
    return gru


def _gru_step(x, h_prev, W_ih, W_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    from rnncourse import reference

    return {"h_next": reference.gru_step(x, h_prev, W_ih, W_hh, b_ih, b_hh)}


def _gru_step_grads(x, h_prev, W_ih, W_hh, b_ih, b_hh, dh_next) -> dict[str, np.ndarray]:
    from rnncourse import reference

    grads = reference.gru_step_grads(x, h_prev, W_ih, W_hh, b_ih, b_hh, dh_next)
    grads["h_prev"] = grads.pop("h")
    return grads


def _gru_sequence(x, h0, W_ih, W_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    import torch

    gru = torch_gru(dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    with torch.no_grad():
        hs, _ = gru(_tensor(x), _tensor(h0)[None])
    return {"hs": hs.numpy().copy()}


def gru_sequence_grads(x, h0, W_ih, W_hh, b_ih, b_hh, dhs) -> dict[str, np.ndarray]:
    """Gradients of ``L = sum(hs * dhs)`` by autograd through ``torch.nn.GRU``."""
    gru = torch_gru(dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    leaves = {"x": _tensor(x, True), "h0": _tensor(h0, True)}
    hs, _ = gru(leaves["x"], leaves["h0"][None])
    (hs * _tensor(dhs)).sum().backward()
    grads = {k: v.grad.numpy().copy() for k, v in leaves.items()}
    for name, key in zip(_LAYER, WEIGHTS, strict=True):
        grads[key] = getattr(gru, name).grad.numpy().copy()
    return grads


def torch_parameter_counts(input_size: int, hidden_size: int,
                           num_layers: int) -> dict[str, int]:
    """Trainable scalars of ``torch.nn.RNN``, ``GRU`` and ``LSTM`` built with these sizes."""
    from torch import nn

    modules = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    return {name: int(sum(p.numel() for p in cls(input_size, hidden_size,
                                                  num_layers).parameters()))
            for name, cls in modules.items()}


def _mistakes(catalogue: str) -> Callable[..., list]:
    def oracle(**inputs: Any) -> list:
        from rnncourse import diagnose

        return diagnose.answers(getattr(diagnose, catalogue), inputs)

    return oracle


ORACLES: dict[str, Callable[..., Any]] = {
    "gru_step": _gru_step,
    "gru_step_grads": _gru_step_grads,
    "gru_step_mistakes": _mistakes("GRU_STEP"),
    "gru_step_grad_mistakes": _mistakes("GRU_STEP_GRADS"),
    "gru_sequence": _gru_sequence,
    "gru_sequence_grads": gru_sequence_grads,
    "gru_sequence_mistakes": _mistakes("GRU_SEQUENCE"),
    "gru_sequence_grad_mistakes": _mistakes("GRU_SEQUENCE_GRADS"),
    "torch_parameter_counts": torch_parameter_counts,
    "parameter_count_mistakes": _mistakes("PARAMETER_COUNTS"),
}
