"""Oracles of assignment 1, ``rnn_cell``: ``torch.nn.RNNCell``, ``torch.nn.RNN``, autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _rnn_step(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    from rnncourse import reference

    return reference.rnn_step(x, h_prev, W_ih, W_hh, b_ih, b_hh)


def _rnn_step_grads(x, h_prev, W_ih, W_hh, b_ih, b_hh, dh_next):
    from rnncourse import reference

    grads = reference.rnn_step_grads(x, h_prev, W_ih, W_hh, b_ih, b_hh, dh_next)
    grads["h_prev"] = grads.pop("h")
    return grads


def _rnn_sequence(x, h0, W_ih, W_hh, b_ih, b_hh):
    from rnncourse import reference

    return reference.rnn_sequence(x, h0, W_ih, W_hh, b_ih, b_hh)


def _rnn_sequence_grads(x, h0, W_ih, W_hh, b_ih, b_hh, dhs):
    from rnncourse import reference

    return reference.rnn_sequence_grads(x, h0, W_ih, W_hh, b_ih, b_hh, dhs)


def _library_numeric_gradient(function, params, x, df, h):
    """Centred differences of a library function (:mod:`rnncourse.exercise.library`)."""
    from rnncourse.exercise import library
    from rnncourse.oracles.finite_differences import numeric_gradient

    return numeric_gradient(library.make(function, **params), np.array(x, dtype=np.float64),
                            df, h)


ORACLES: dict[str, Callable[..., Any]] = {
    "rnn_step": _rnn_step,
    "rnn_step_grads": _rnn_step_grads,
    "rnn_sequence": _rnn_sequence,
    "rnn_sequence_grads": _rnn_sequence_grads,
    "library_numeric_gradient": _library_numeric_gradient,
}
