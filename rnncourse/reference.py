r"""The torch oracle: RNN, LSTM and GRU steps computed by torch from given weights.

Every function takes and returns numpy float64 arrays. Weights are copied into a float64
``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` (or ``torch.nn.RNN`` for whole sequences) and
gradients come from autograd, so the reference is torch itself, not a second implementation.

Weight layout (torch's, used everywhere in the course), with G gate blocks of H rows:

* ``W_ih`` is ``(G*H, D)``, ``W_hh`` is ``(G*H, H)``, ``b_ih`` and ``b_hh`` are ``(G*H,)``.
* G = 1 for the RNN: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`.
* G = 4 for the LSTM, gate order **i, f, g, o**:
  :math:`c' = f \odot c + i \odot g`, :math:`h' = o \odot \tanh(c')`.
* G = 3 for the GRU, order **r, z, n**:
  :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`,
  :math:`h' = (1 - z) \odot n + z \odot h`.

Inputs are batches ``x (N, D)``, ``h (N, H)`` for one step and ``x (N, T, D)`` for sequences.
The gradient functions return the gradient of :math:`L = \sum h' \odot dh'` (plus
:math:`\sum c' \odot dc'` for the LSTM) with respect to every input and weight.
"""

from __future__ import annotations

# Weight names follow torch and the course (W_ih, W_hh): uppercase marks matrices.
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

__all__ = [
    "gru_step",
    "gru_step_grads",
    "lstm_step",
    "lstm_step_grads",
    "rnn_sequence",
    "rnn_sequence_grads",
    "rnn_step",
    "rnn_step_grads",
]

Nonlinearity = Literal["tanh", "relu"]
ArrayLike = Any  # numpy array, nested list or torch tensor of real numbers
_WEIGHT_NAMES = ("W_ih", "W_hh", "b_ih", "b_hh")


def _tensor(value: ArrayLike, name: str, *, grad: bool = False) -> torch.Tensor:
    """Copy ``value`` into a fresh float64 CPU tensor (a leaf requiring grad if asked)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    tensor = torch.tensor(array, dtype=torch.float64)
    return tensor.requires_grad_(grad)


def _numpy(tensor: torch.Tensor | None) -> np.ndarray:
    """Detach a tensor into a float64 numpy array (zeros never appear: None is an error)."""
    if tensor is None:  # pragma: no cover - autograd always fills leaves used in the graph
        raise RuntimeError("autograd produced no gradient")
    return tensor.detach().numpy().astype(np.float64, copy=True)


def _check_shapes(
    gates: int, x: torch.Tensor, h: torch.Tensor, weights: Sequence[torch.Tensor]
) -> tuple[int, int]:
    """Validate the torch weight layout; return (D, H)."""
    W_ih, W_hh, b_ih, b_hh = weights
    if W_ih.ndim != 2 or W_ih.shape[0] % gates:
        raise ValueError(f"W_ih must be ({gates}*H, D), got {tuple(W_ih.shape)}")
    hidden, inputs = W_ih.shape[0] // gates, W_ih.shape[1]
    expected = {
        "W_hh": (gates * hidden, hidden),
        "b_ih": (gates * hidden,),
        "b_hh": (gates * hidden,),
    }
    for key, tensor in zip(("W_hh", "b_ih", "b_hh"), (W_hh, b_ih, b_hh), strict=True):
        if tuple(tensor.shape) != expected[key]:
            raise ValueError(f"{key} must be {expected[key]}, got {tuple(tensor.shape)}")
    if x.shape[-1] != inputs:
        raise ValueError(f"x has {x.shape[-1]} features but W_ih expects D={inputs}")
    if h.shape[-1] != hidden:
        raise ValueError(f"h has {h.shape[-1]} features but the weights give H={hidden}")
    return inputs, hidden


def _load(cell: nn.Module, weights: Sequence[torch.Tensor]) -> None:
    """Copy (W_ih, W_hh, b_ih, b_hh) into a torch cell or single-layer module."""
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    suffix = "_l0" if isinstance(cell, nn.RNNBase) else ""
    with torch.no_grad():
        for param_name, value in zip(names, weights, strict=True):
            getattr(cell, param_name + suffix).copy_(value)


def _run_cell(
    kind: Literal["rnn", "lstm", "gru"],
    tensors: dict[str, torch.Tensor],
    nonlinearity: Nonlinearity = "tanh",
) -> tuple[nn.Module, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """Build the float64 torch cell, copy the weights in and run one step."""
    weights = [tensors[k] for k in _WEIGHT_NAMES]
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    inputs, hidden = _check_shapes(gates, tensors["x"], tensors["h"], weights)
    if kind == "rnn":
        cell: nn.Module = nn.RNNCell(inputs, hidden, nonlinearity=nonlinearity)
    elif kind == "lstm":
        cell = nn.LSTMCell(inputs, hidden)
    else:
        cell = nn.GRUCell(inputs, hidden)
    cell = cell.to(torch.float64)
    _load(cell, weights)
    if kind == "lstm":
        return cell, cell(tensors["x"], (tensors["h"], tensors["c"]))
    return cell, cell(tensors["x"], tensors["h"])


def _cell_grads(cell: nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Collect gradients of the step inputs and the cell's parameters after backward()."""
    grads = {k: _numpy(t.grad) for k, t in tensors.items() if k not in _WEIGHT_NAMES}
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    for key, param_name in zip(_WEIGHT_NAMES, names, strict=True):
        grads[key] = _numpy(getattr(cell, param_name).grad)
    return grads


def rnn_step(
    x: ArrayLike,
    h: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
    nonlinearity: Nonlinearity = "tanh",
) -> np.ndarray:
    r"""One vanilla RNN step by ``torch.nn.RNNCell``.

    .. math:: h' = \phi(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}),\ \phi \in \{\tanh, \mathrm{relu}\}

    Args:
        x: input ``(N, D)``.
        h: previous hidden state ``(N, H)``.
        W_ih: ``(H, D)``; W_hh: ``(H, H)``; b_ih, b_hh: ``(H,)``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.

    Returns:
        np.ndarray: next hidden state ``(N, H)``, float64.
    """
    tensors = _tensors(x=x, h=h, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    with torch.no_grad():
        _, h_next = _run_cell("rnn", tensors, nonlinearity)
    return _numpy(h_next)  # type: ignore[arg-type]


def lstm_step(
    x: ArrayLike,
    h: ArrayLike,
    c: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    r"""One LSTM step by ``torch.nn.LSTMCell`` (gate order i, f, g, o).

    .. math::

        [a_i; a_f; a_g; a_o] = W_{ih} x + b_{ih} + W_{hh} h + b_{hh},\quad
        c' = \sigma(a_f) \odot c + \sigma(a_i) \odot \tanh(a_g),\quad
        h' = \sigma(a_o) \odot \tanh(c')

    Args:
        x: input ``(N, D)``.
        h, c: previous hidden and cell state ``(N, H)``.
        W_ih: ``(4H, D)``; W_hh: ``(4H, H)``; b_ih, b_hh: ``(4H,)``.

    Returns:
        tuple: ``(h_next, c_next)``, each ``(N, H)`` float64.
    """
    tensors = _tensors(x=x, h=h, c=c, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    with torch.no_grad():
        _, (h_next, c_next) = _run_cell("lstm", tensors)  # type: ignore[misc]
    return _numpy(h_next), _numpy(c_next)


def gru_step(
    x: ArrayLike,
    h: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
) -> np.ndarray:
    r"""One GRU step by ``torch.nn.GRUCell`` (gate order r, z, n).

    .. math::

        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),

        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})),\quad
        h' = (1 - z) \odot n + z \odot h

    Args:
        x: input ``(N, D)``.
        h: previous hidden state ``(N, H)``.
        W_ih: ``(3H, D)``; W_hh: ``(3H, H)``; b_ih, b_hh: ``(3H,)``.

    Returns:
        np.ndarray: next hidden state ``(N, H)``, float64.
    """
    tensors = _tensors(x=x, h=h, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    with torch.no_grad():
        _, h_next = _run_cell("gru", tensors)
    return _numpy(h_next)  # type: ignore[arg-type]


def _tensors(**arrays: ArrayLike) -> dict[str, torch.Tensor]:
    """float64 tensors for the step inputs (no grad)."""
    return {k: _tensor(v, k) for k, v in arrays.items()}


def _leaf_tensors(**arrays: ArrayLike) -> dict[str, torch.Tensor]:
    """float64 leaves requiring grad for the non-weight inputs (weights live in the cell)."""
    return {k: _tensor(v, k, grad=k not in _WEIGHT_NAMES) for k, v in arrays.items()}


def _upstream(value: ArrayLike, like: torch.Tensor, name: str) -> torch.Tensor:
    """The upstream gradient as a tensor, checked against the output shape."""
    tensor = _tensor(value, name)
    if tensor.shape != like.shape:
        raise ValueError(f"{name} must have shape {tuple(like.shape)}, got {tuple(tensor.shape)}")
    return tensor


def rnn_step_grads(
    x: ArrayLike,
    h: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
    dh_next: ArrayLike,
    nonlinearity: Nonlinearity = "tanh",
) -> dict[str, np.ndarray]:
    r"""Gradients of :math:`L = \sum h' \odot dh'` for one RNN step, by autograd.

    Args:
        x, h, W_ih, W_hh, b_ih, b_hh: as in :func:`rnn_step`.
        dh_next: upstream gradient ``(N, H)``.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        dict: keys ``"x", "h", "W_ih", "W_hh", "b_ih", "b_hh"``, each an array of the shape of
        the corresponding input.
    """
    tensors = _leaf_tensors(x=x, h=h, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    cell, h_next = _run_cell("rnn", tensors, nonlinearity)
    assert isinstance(h_next, torch.Tensor)
    (h_next * _upstream(dh_next, h_next, "dh_next")).sum().backward()
    return _cell_grads(cell, tensors)


def lstm_step_grads(
    x: ArrayLike,
    h: ArrayLike,
    c: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
    dh_next: ArrayLike,
    dc_next: ArrayLike,
) -> dict[str, np.ndarray]:
    r"""Gradients of :math:`L = \sum h' \odot dh' + \sum c' \odot dc'` for one LSTM step.

    Args:
        x, h, c, W_ih, W_hh, b_ih, b_hh: as in :func:`lstm_step`.
        dh_next, dc_next: upstream gradients ``(N, H)``.

    Returns:
        dict: keys ``"x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"``.
    """
    tensors = _leaf_tensors(x=x, h=h, c=c, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    cell, (h_next, c_next) = _run_cell("lstm", tensors)  # type: ignore[misc]
    loss = (h_next * _upstream(dh_next, h_next, "dh_next")).sum()
    loss = loss + (c_next * _upstream(dc_next, c_next, "dc_next")).sum()
    loss.backward()
    return _cell_grads(cell, tensors)


def gru_step_grads(
    x: ArrayLike,
    h: ArrayLike,
    W_ih: ArrayLike,
    W_hh: ArrayLike,
    b_ih: ArrayLike,
    b_hh: ArrayLike,
    dh_next: ArrayLike,
) -> dict[str, np.ndarray]:
    r"""Gradients of :math:`L = \sum h' \odot dh'` for one GRU step, by autograd.

    Args:
        x, h, W_ih, W_hh, b_ih, b_hh: as in :func:`gru_step`.
        dh_next: upstream gradient ``(N, H)``.

    Returns:
        dict: keys ``"x", "h", "W_ih", "W_hh", "b_ih", "b_hh"``.
    """
    tensors = _leaf_tensors(x=x, h=h, W_ih=W_ih, W_hh=W_hh, b_ih=b_ih, b_hh=b_hh)
    cell, h_next = _run_cell("gru", tensors)
    assert isinstance(h_next, torch.Tensor)
    (h_next * _upstream(dh_next, h_next, "dh_next")).sum().backward()
    return _cell_grads(cell, tensors)


def _params(args: tuple[Any, ...], n_extra: int, caller: str) -> tuple[list[Any], list[Any]]:
    """Split ``args`` into the four weights and ``n_extra`` trailing arrays.

    Accepts either ``(W_ih, W_hh, b_ih, b_hh, *extra)`` or ``(params, *extra)`` where
    ``params`` maps the names ``"W_ih", "W_hh", "b_ih", "b_hh"`` to arrays.
    """
    if args and isinstance(args[0], Mapping):
        mapping = args[0]
        missing = [k for k in _WEIGHT_NAMES if k not in mapping]
        if missing:
            raise KeyError(f"{caller}: params lacks {missing}")
        weights, extra = [mapping[k] for k in _WEIGHT_NAMES], list(args[1:])
    else:
        weights, extra = list(args[:4]), list(args[4:])
    if len(weights) != 4 or len(extra) != n_extra:
        raise TypeError(
            f"{caller} takes (x, h0, W_ih, W_hh, b_ih, b_hh{', dhs' * n_extra}) or "
            f"(x, h0, params{', dhs' * n_extra}); got {2 + len(args)} positional arguments"
        )
    return weights, extra


def _run_sequence(
    tensors: dict[str, torch.Tensor], nonlinearity: Nonlinearity
) -> tuple[nn.RNN, torch.Tensor]:
    """Run a float64 single-layer ``torch.nn.RNN`` (batch first) with the given weights."""
    x, h0 = tensors["x"], tensors["h0"]
    if x.ndim != 3:
        raise ValueError(f"x must be (N, T, D), got shape {tuple(x.shape)}")
    weights = [tensors[k] for k in _WEIGHT_NAMES]
    inputs, hidden = _check_shapes(1, x, h0, weights)
    if h0.shape != (x.shape[0], hidden):
        raise ValueError(f"h0 must be (N, H) = {(x.shape[0], hidden)}, got {tuple(h0.shape)}")
    rnn = nn.RNN(inputs, hidden, nonlinearity=nonlinearity, batch_first=True)
    rnn = rnn.to(torch.float64)
    _load(rnn, weights)
    hs, _ = rnn(x, h0.unsqueeze(0))
    return rnn, hs


def rnn_sequence(
    x: ArrayLike, h0: ArrayLike, *params: Any, nonlinearity: Nonlinearity = "tanh"
) -> np.ndarray:
    r"""All hidden states of a vanilla RNN over a sequence, by ``torch.nn.RNN``.

    .. math:: h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),\quad t = 1..T

    Call as ``rnn_sequence(x, h0, W_ih, W_hh, b_ih, b_hh)`` or ``rnn_sequence(x, h0, params)``
    with ``params`` a mapping with those four keys.

    Args:
        x: inputs ``(N, T, D)``.
        h0: initial hidden state ``(N, H)``.
        params: the weights, see above.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        np.ndarray: ``hs (N, T, H)``, with ``hs[:, t]`` the state after input ``x[:, t]``.
    """
    weights, _ = _params(params, 0, "rnn_sequence")
    tensors = _tensors(x=x, h0=h0, **dict(zip(_WEIGHT_NAMES, weights, strict=True)))
    with torch.no_grad():
        _, hs = _run_sequence(tensors, nonlinearity)
    return _numpy(hs)


def rnn_sequence_grads(
    x: ArrayLike, h0: ArrayLike, *params_and_dhs: Any, nonlinearity: Nonlinearity = "tanh"
) -> dict[str, np.ndarray]:
    r"""Gradients of :math:`L = \sum_{t} h_t \odot dh_t` over a whole sequence (BPTT by autograd).

    Call as ``rnn_sequence_grads(x, h0, W_ih, W_hh, b_ih, b_hh, dhs)`` or
    ``rnn_sequence_grads(x, h0, params, dhs)``.

    Args:
        x: inputs ``(N, T, D)``.
        h0: initial hidden state ``(N, H)``.
        params_and_dhs: the weights, then ``dhs (N, T, H)``, the upstream gradient of every
            hidden state.
        nonlinearity: ``"tanh"`` or ``"relu"``.

    Returns:
        dict: keys ``"x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"``.
    """
    weights, (dhs,) = _params(params_and_dhs, 1, "rnn_sequence_grads")
    tensors = _leaf_tensors(x=x, h0=h0, **dict(zip(_WEIGHT_NAMES, weights, strict=True)))
    rnn, hs = _run_sequence(tensors, nonlinearity)
    (hs * _upstream(dhs, hs, "dhs")).sum().backward()
    grads = {k: _numpy(tensors[k].grad) for k in ("x", "h0")}
    for key, param_name in zip(
        _WEIGHT_NAMES, ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), strict=True
    ):
        grads[key] = _numpy(getattr(rnn, param_name).grad)
    return grads
