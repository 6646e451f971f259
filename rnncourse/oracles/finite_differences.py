r"""Centred-difference gradients: the judge's answer for a learner's ``numeric_gradient``.

Kept on the instructor's side (this package is not in the learner edition): the rnn_cell
assignment asks learners to write exactly this function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnncourse.checks import assert_close, rel_error

__all__ = ["check_gradient", "numeric_gradient"]


def numeric_gradient(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    df: Any = None,
    h: float = 1e-5,
) -> np.ndarray:
    r"""Centred-difference gradient of ``sum(f(x) * df)`` with respect to ``x``.

    .. math::

        \frac{\partial L}{\partial x_k} \approx
        \sum_j \mathrm{df}_j \, \frac{f_j(x + h e_k) - f_j(x - h e_k)}{2h}

    ``x`` is modified in place, one element at a time, and restored afterwards (also when
    ``f`` raises), so ``f`` may close over ``x`` or receive it as its argument.

    Args:
        f: function of ``x`` returning an array (or scalar); called ``2 * x.size`` times.
        x: float64 array, the point where the gradient is taken.
        df: upstream gradient with the shape of ``f(x)``; ones when ``None``.
        h: step size.

    Returns:
        np.ndarray: float64 array with the shape of ``x``.

    Raises:
        TypeError: if ``x`` is not a float64 numpy array (the check must run in float64).
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            "numeric_gradient needs x as a float64 numpy array, got "
            f"{type(x).__name__} {getattr(x, 'dtype', '')}: use x.astype(np.float64)"
        )
    upstream = None if df is None else np.asarray(df, dtype=np.float64)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)  # a view: writes go to x
    if not np.shares_memory(flat, x):
        raise TypeError("numeric_gradient needs a contiguous x (use np.ascontiguousarray)")
    out_grad = grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        try:
            flat[k] = old + h
            plus = np.asarray(f(x), dtype=np.float64)
            flat[k] = old - h
            minus = np.asarray(f(x), dtype=np.float64)
        finally:
            flat[k] = old
        weight = np.ones_like(plus) if upstream is None else upstream
        out_grad[k] = np.sum((plus - minus) * weight) / (2 * h)
    return grad


def check_gradient(
    f: Callable[[np.ndarray], Any],
    x: np.ndarray,
    analytic: Any,
    *,
    name: str,
    df: Any = None,
    tol: float = 1e-6,
    h: float = 1e-5,
) -> float:
    """Compare an analytic gradient with :func:`numeric_gradient`.

    Args:
        f: function of ``x`` returning an array.
        x: float64 array (modified in place during the check and restored).
        analytic: the gradient to check, shape of ``x``.
        name: what the gradient is (``"dW_hh"``), used in the message.
        df: upstream gradient for ``f(x)``; ones when ``None``.
        tol: largest accepted relative error.
        h: finite-difference step.

    Returns:
        float: the relative error, for printing.

    Raises:
        AssertionError: if the gradients differ by more than ``tol`` (or in shape).
    """
    numeric = numeric_gradient(f, x, df=df, h=h)
    assert_close(
        analytic,
        numeric,
        name=name,
        tol=tol,
        hint="gradients that are off by a constant factor often miss a term of the chain "
        "rule; keep gradient clipping out of backward().",
    )
    return rel_error(analytic, numeric)
