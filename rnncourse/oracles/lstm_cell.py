"""Oracles of assignment 3, ``lstm_cell``: ``torch.nn.LSTMCell``, ``torch.nn.LSTM``, autograd.

The ``*_mistakes`` oracles answer with every classic mistake's output on the same inputs
(:mod:`rnncourse.diagnose`), so that a test can name the one a learner made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
_LAYER = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
_CELL = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _tensor(value: Any, grad: bool = False):
    import torch

    return torch.tensor(np.array(value, dtype=np.float64), dtype=torch.float64,
                        requires_grad=grad)


def _load(module, names: tuple[str, ...], weights: dict[str, Any]) -> None:
    import torch

    with torch.no_grad():
        for name, key in zip(names, WEIGHTS, strict=True):
            getattr(module, name).copy_(_tensor(weights[key]))


def torch_lstm(weights: dict[str, Any]):
    """A float64 batch-first ``torch.nn.LSTM`` holding ``weights`` (W_ih, W_hh, b_ih, b_hh)."""
    from torch import nn

    D, H = np.shape(weights["W_ih"])[1], np.shape(weights["W_hh"])[1]
    lstm = nn.LSTM(D, H, batch_first=True).double()
    _load(lstm, _LAYER, weights)
    return lstm


def _lstm_step(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    from rnncourse import reference

    h_next, c_next = reference.lstm_step(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)
    return {"h_next": h_next, "c_next": c_next}


def _lstm_step_grads(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, dh_next,
                     dc_next) -> dict[str, np.ndarray]:
    from rnncourse import reference

    grads = reference.lstm_step_grads(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, dh_next,
                                      dc_next)
    grads["h_prev"], grads["c_prev"] = grads.pop("h"), grads.pop("c")
    return grads


def _lstm_sequence(x, h0, c0, W_ih, W_hh, b_ih, b_hh) -> dict[str, np.ndarray]:
    import torch

    lstm = torch_lstm(dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    with torch.no_grad():
        hs, _ = lstm(_tensor(x), (_tensor(h0)[None], _tensor(c0)[None]))
    return {"hs": hs.numpy().copy()}


def lstm_sequence_grads(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dhs) -> dict[str, np.ndarray]:
    """Gradients of ``L = sum(hs * dhs)`` by autograd through ``torch.nn.LSTM``."""
    lstm = torch_lstm(dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    leaves = {"x": _tensor(x, True), "h0": _tensor(h0, True), "c0": _tensor(c0, True)}
    hs, _ = lstm(leaves["x"], (leaves["h0"][None], leaves["c0"][None]))
    (hs * _tensor(dhs)).sum().backward()
    grads = {k: v.grad.numpy().copy() for k, v in leaves.items()}
    for name, key in zip(_LAYER, WEIGHTS, strict=True):
        grads[key] = getattr(lstm, name).grad.numpy().copy()
    return grads


def _cell_state_gradient(x, h0, c0, W_ih, W_hh, b_ih, b_hh, dc_last) -> np.ndarray:
    """dL/dc_k for k = 0..T along the cell state only, ``(N, T + 1, H)``: the gates read a
    detached copy of h, so the only path from c_k to c_T is c_t = f_t * c_(t-1) + i_t * g_t."""
    import torch
    from torch import nn

    D, H = np.shape(W_ih)[1], np.shape(W_hh)[1]
    cell = nn.LSTMCell(D, H).double()
    _load(cell, _CELL, dict(W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh))
    x_t, h = _tensor(x), _tensor(h0)
    c = _tensor(c0, True)
    cs = [c]
    for t in range(x_t.shape[1]):
        h, c = cell(x_t[:, t], (h.detach(), c))
        c.retain_grad()
        cs.append(c)
    (cs[-1] * _tensor(dc_last)).sum().backward()
    return torch.stack([c.grad for c in cs], dim=1).numpy().copy()


def _forget_bias_norms(x, W_ih, W_hh, b_ih, b_hh, forget_bias) -> np.ndarray:
    """||dL/dx_t|| for t = 1..T with L = sum(h_T), zero initial state, forget bias added to
    b_ih's forget block."""
    x = np.asarray(x, dtype=np.float64)
    N, T, _ = x.shape
    H = np.shape(W_hh)[1]
    b = np.array(b_ih, dtype=np.float64)
    b[H:2 * H] += forget_bias
    dhs = np.zeros((N, T, H))
    dhs[:, -1] = 1.0
    dx = lstm_sequence_grads(x, np.zeros((N, H)), np.zeros((N, H)), W_ih, W_hh, b, b_hh,
                             dhs)["x"]
    return np.sqrt((dx**2).sum(axis=(0, 2)))


def _mistakes(catalogue: str) -> Callable[..., list]:
    def oracle(**inputs: Any) -> list:
        from rnncourse import diagnose

        return diagnose.answers(getattr(diagnose, catalogue), inputs)

    return oracle


ORACLES: dict[str, Callable[..., Any]] = {
    "lstm_step": _lstm_step,
    "lstm_step_grads": _lstm_step_grads,
    "lstm_step_mistakes": _mistakes("LSTM_STEP"),
    "lstm_step_grad_mistakes": _mistakes("LSTM_STEP_GRADS"),
    "lstm_sequence": _lstm_sequence,
    "lstm_sequence_grads": lstm_sequence_grads,
    "lstm_sequence_mistakes": _mistakes("LSTM_SEQUENCE"),
    "lstm_sequence_grad_mistakes": _mistakes("LSTM_SEQUENCE_GRADS"),
    "lstm_cell_state_gradient": _cell_state_gradient,
    "lstm_cell_state_mistakes": _mistakes("CELL_STATE"),
    "lstm_forget_bias_norms": _forget_bias_norms,
    "lstm_forget_bias_mistakes": _mistakes("FORGET_BIAS"),
}
