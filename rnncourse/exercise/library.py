"""Functions that tests pass as arguments to a learner's function (numpy only).

Some graded functions take functions: ``numeric_gradient(f, x, df)`` differentiates ``f``,
``gradient_check(forward, backward, inputs, dout)`` checks a backward pass. The test cannot
send code to the process that runs the learner's notebook, so it names one of the functions
below and its parameters (:class:`rnncourse.judge.wire.FunctionSpec`), and that process builds
it with :func:`make`. None of them is a graded quantity of any assignment: they are small
elementwise or matrix functions unrelated to the recurrent cells.

:func:`module_state` describes a torch module by its weights and layers, for the tests of
the torch assignment, wherever the learner's code runs.

This module imports only numpy: it is loaded inside the grading sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def tanh_matmul_squared(A: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``f(z) = tanh(z @ A) ** 2``."""
    A = np.array(A, dtype=np.float64)
    return lambda z: np.tanh(z @ A) ** 2


def exp_plus_cube() -> Callable[[np.ndarray], np.ndarray]:
    """``f(z) = exp(z) + z ** 3`` (elementwise)."""
    return lambda z: np.exp(z) + z**3


def sin_product_forward() -> Callable[..., tuple[np.ndarray, dict]]:
    """A layer with three inputs: ``out = a * sin(b) + c ** 2`` (``c`` broadcast over rows).

    Called as ``forward(a=..., b=..., c=...)``; returns ``(out, cache)``.
    """

    def forward(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, dict]:
        a, b, c = (np.array(v, dtype=np.float64) for v in (a, b, c))
        return a * np.sin(b) + c**2, {"a": a, "b": b, "c": c}

    return forward


def sin_product_backward(wrong_key: str | None = None,
                         factor: float = 1.0) -> Callable[[np.ndarray, dict], dict]:
    """The exact backward pass of :func:`sin_product_forward`, or a sabotaged one.

    Args:
        wrong_key: if given, the gradient of this input is multiplied by ``factor``.
        factor: the sabotage factor.
    """

    def backward(dout: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
        a, b, c = cache["a"], cache["b"], cache["c"]
        grads = {"a": dout * np.sin(b), "b": dout * a * np.cos(b),
                 "c": 2.0 * c * dout.sum(axis=0)}
        if wrong_key is not None:
            grads[wrong_key] = grads[wrong_key] * factor
        return grads

    return backward


def module_state(module: Any) -> dict:
    """Parameters and buffers of a torch module, and the kind of each of its submodules.

    Returns:
        ``{"structure": [{"name", "type", "torch", and the layer's sizes and flags}],
        "state": {name: tensor}, "grads": {name: tensor}}``; ``grads`` holds the ``.grad`` of
        every parameter that has one (what the last backward pass, and clipping, left there).
    """
    structure = []
    for name, sub in module.named_modules():
        info = {"name": name, "type": type(sub).__name__,
                "torch": type(sub).__module__.startswith("torch.nn")}
        for attr in ("input_size", "hidden_size", "num_layers", "batch_first", "bidirectional",
                     "nonlinearity", "in_features", "out_features", "bias", "dropout"):
            value = getattr(sub, attr, None)
            if isinstance(value, bool | int | float | str):
                info[attr] = value
        structure.append(info)
    state = {key: value.detach().clone() for key, value in module.state_dict().items()}
    grads = {key: p.grad.detach().clone() for key, p in module.named_parameters()
             if p.grad is not None}
    return {"structure": structure, "state": state, "grads": grads}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "tanh_matmul_squared": tanh_matmul_squared,
    "exp_plus_cube": exp_plus_cube,
    "sin_product_forward": sin_product_forward,
    "sin_product_backward": sin_product_backward,
}


def make(name: str, **params: Any) -> Callable[..., Any]:
    """Build library function ``name`` with ``params``; unknown names raise ``KeyError``."""
    if name not in FUNCTIONS:
        raise KeyError(f"no library function {name!r}")
    return FUNCTIONS[name](**params)
