r"""Comparisons with messages a learner can act on.

Test cells call these helpers to compare a learner's numpy result with the torch oracle
(:mod:`rnncourse.reference`). Every failure is an :class:`AssertionError` whose message names
what went wrong: a shape or dtype mismatch, the largest absolute and relative error, the index
of the worst element with both values there, and a hint. Nothing is written to stderr.

The relative error used throughout the course is

.. math::

    \operatorname{rel}(a, b) = \max_k \frac{|a_k - b_k|}{\max(10^{-8},\ |a_k| + |b_k|)} .
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "as_real_array",
    "assert_close",
    "explain_mismatch",
    "rel_error",
]

_FLOOR = 1e-8


def as_real_array(value: Any, *, name: str = "output") -> np.ndarray:
    """Convert ``value`` to a real numeric numpy array or fail with a clear message.

    Accepted: numpy arrays and scalars, Python ``int``/``float``, nested lists or tuples of
    numbers, and torch tensors (detached and moved to the CPU). Rejected with an
    :class:`AssertionError`: ``None``, booleans, complex, string and object arrays, and any other
    object, in particular objects whose ``__eq__`` always returns ``True``.

    Args:
        value: the object to convert.
        name: what the value is, used in the message.

    Returns:
        np.ndarray: a plain (non-subclass) numpy array of integer or floating dtype.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, bool | np.bool_) or value is None:
        raise AssertionError(
            f"{name}: expected a numeric array, got {type(value).__name__} {value!r}. "
            "Did the function return before computing its result?"
        )
    if not isinstance(value, np.ndarray | np.number | int | float | list | tuple):
        raise AssertionError(
            f"{name}: expected a numpy array, got an object of type {type(value).__name__}."
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise AssertionError(f"{name}: cannot be read as a numeric array ({error}).") from None
    if array.dtype.kind not in "iuf":
        raise AssertionError(
            f"{name}: expected a real numeric array, got dtype {array.dtype} "
            f"(kind {array.dtype.kind!r})."
        )
    return array


def rel_error(a: Any, b: Any) -> float:
    r"""Largest elementwise relative error between two arrays.

    .. math:: \max_k |a_k - b_k| / \max(10^{-8}, |a_k| + |b_k|)

    Args:
        a, b: arrays (or tensors) of the same shape.

    Returns:
        float: the relative error, 0.0 for empty arrays, ``inf`` when a NaN or infinity
        appears in one array and not at the same place in the other.

    Raises:
        ValueError: if the shapes differ.
    """
    x = as_real_array(a, name="a").astype(np.float64)
    y = as_real_array(b, name="b").astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error: shapes differ, {x.shape} vs {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(_elementwise_rel(x, y)))


def _elementwise_rel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise relative error; non-finite disagreements count as ``inf``."""
    with np.errstate(all="ignore"):
        rel = np.abs(x - y) / np.maximum(_FLOOR, np.abs(x) + np.abs(y))
    same_nonfinite = (~np.isfinite(x)) & (x == y) | (np.isnan(x) & np.isnan(y))
    rel = np.where(same_nonfinite, 0.0, rel)
    return np.where(np.isnan(rel), np.inf, rel)


def explain_mismatch(actual: Any, expected: Any, *, name: str = "output") -> str:
    """Describe how two arrays of the same shape differ, in one or two lines.

    Args:
        actual: the learner's array.
        expected: the reference array, same shape.
        name: what the arrays are.

    Returns:
        str: max absolute error, max relative error, and the index of the worst element (by
        relative error) with both values there; a note when ``actual`` has NaN or infinities.
    """
    x = as_real_array(actual, name=name).astype(np.float64)
    y = as_real_array(expected, name=f"expected {name}").astype(np.float64)
    if x.shape != y.shape:
        return f"{name}: shape {x.shape}, expected {y.shape}"
    if x.size == 0:
        return f"{name}: empty arrays agree"
    rel = _elementwise_rel(x, y)
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape)
    with np.errstate(all="ignore"):
        abs_err = np.nanmax(np.where(np.isfinite(x - y), np.abs(x - y), np.inf))
    index = tuple(int(i) for i in worst)
    text = (
        f"{name}: max abs error {abs_err:.3g}, max rel error {float(rel[worst]):.3g} "
        f"at index {index} (got {float(x[worst]):.6g}, expected {float(y[worst]):.6g})"
    )
    n_bad = int(np.sum(~np.isfinite(x)))
    if n_bad and not np.all(~np.isfinite(y) == ~np.isfinite(x)):
        text += f"; {n_bad} element(s) are NaN or infinite"
    return text


def assert_close(
    actual: Any,
    expected: Any,
    *,
    name: str = "output",
    tol: float = 1e-8,
    hint: str | None = None,
) -> None:
    """Assert that ``actual`` matches ``expected`` to relative error ``tol``.

    Args:
        actual: the learner's result (numpy array, scalar or torch tensor).
        expected: the reference result.
        name: what is compared (``"h_next"``, ``"dW_hh"``), used in the message.
        tol: largest accepted :func:`rel_error` (forward passes ~1e-8, gradients ~1e-6).
        hint: an extra sentence for the learner, appended to the message.

    Raises:
        AssertionError: naming a non-numeric result, a shape mismatch, a dtype mismatch (an
        integer result, or lower floating precision than expected), or the size and place of
        the largest error.
    """
    extra = f" Hint: {hint}" if hint else ""
    default = hint or (
        "recompute the element at that index by hand; wrong gate order, a missing bias or a "
        "transposed weight are the usual causes."
    )
    x = as_real_array(actual, name=name)
    y = as_real_array(expected, name=f"expected {name}")
    if x.shape != y.shape:
        raise AssertionError(
            f"{name}: shape {x.shape} but expected {y.shape}. Check which axis is the batch "
            f"(N) and which the hidden size (H); transposes and missing batch axes show up "
            f"here.{extra}"
        )
    if y.dtype.kind == "f" and (x.dtype.kind != "f" or x.dtype.itemsize < y.dtype.itemsize):
        raise AssertionError(
            f"{name}: dtype {x.dtype} but expected {y.dtype}. Compute in {y.dtype} "
            f"(integer arrays or lower precision lose digits).{extra}"
        )
    if x.size == 0:
        return
    err = rel_error(x, y)
    if not err <= tol:
        raise AssertionError(
            f"{explain_mismatch(x, y, name=name)}; tolerance {tol:g}. Hint: {default}"
        )
