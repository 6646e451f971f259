"""Assignment 1, ``rnn_cell``: the tests (visible cases; the hidden ones are the instructor's).

The learner writes a tanh RNN in numpy with torch's layout: ``rnn_step_forward`` /
``rnn_step_backward`` for one step, ``rnn_forward`` / ``rnn_backward`` over a sequence (BPTT),
``numeric_gradient`` and ``gradient_check``. Every expected value comes from
``torch.nn.RNNCell``, ``torch.nn.RNN`` and autograd in float64 (:mod:`rnncourse.oracles`).
"""

from __future__ import annotations

import numpy as np

from rnncourse.exercise.tester import Tester
from rnncourse.suites import Suite

SUITE = Suite("rnn_cell")
WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")


def random_rnn(seed: int, N: int, D: int, H: int, scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 inputs and weights of one step: x (N, D), h_prev (N, H), W_ih (H, D),
    W_hh (H, H), b_ih (H,), b_hh (H,)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((N, D)),
        "h_prev": rng.standard_normal((N, H)) * scale,
        "W_ih": rng.standard_normal((H, D)) * scale,
        "W_hh": rng.standard_normal((H, H)) * scale,
        "b_ih": rng.standard_normal(H) * scale,
        "b_hh": rng.standard_normal(H) * scale,
    }


def random_sequence(seed: int, N: int, T: int, D: int, H: int,
                    scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 x (N, T, D), h0 (N, H) and the weights of a tanh RNN."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)) * scale,
        "W_ih": rng.standard_normal((H, D)) * scale,
        "W_hh": rng.standard_normal((H, H)) * scale,
        "b_ih": rng.standard_normal(H) * scale,
        "b_hh": rng.standard_normal(H) * scale,
    }


# --- one step -------------------------------------------------------------------------------


@SUITE.test("test_rnn_step_forward", level="forward",
            what="rnn_step_forward matches torch.nn.RNNCell", visible=[dict(seed=0, N=3, D=4, H=5)])
def step_forward(t: Tester, seed: int, N: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_rnn(seed, N, D, H, scale)
    expected = t.expect("rnn_step", **p)
    h_next, _ = t.unpack(t.call("rnn_step_forward", **p), 2, "rnn_step_forward")
    t.close(h_next, expected, name="h_next", tol=1e-8,
            hint="h_next = tanh(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh); both biases count")


def _step_grads(t: Tester, seed: int, N: int, D: int, H: int) -> tuple[dict, dict]:
    p = random_rnn(seed, N, D, H)
    dh_next = np.random.default_rng(seed + 1).standard_normal((N, H))
    expected = t.expect("rnn_step_grads", **p, dh_next=dh_next)
    _, cache = t.unpack(t.call("rnn_step_forward", **p), 2, "rnn_step_forward")
    return t.call("rnn_step_backward", dh_next, cache), expected


@SUITE.test("test_rnn_step_backward_inputs", level="gradients",
            what="rnn_step_backward: gradients of x and h_prev",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_inputs(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    grads, expected = _step_grads(t, seed, N, D, H)
    t.gradients(grads, expected, ("x", "h_prev"), "rnn_step_backward")


@SUITE.test("test_rnn_step_backward_params", level="gradients",
            what="rnn_step_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_params(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    grads, expected = _step_grads(t, seed, N, D, H)
    t.gradients(grads, expected, WEIGHTS, "rnn_step_backward")


# --- a sequence -----------------------------------------------------------------------------


@SUITE.test("test_rnn_forward", level="forward", what="rnn_forward matches torch.nn.RNN",
            visible=[dict(seed=2, N=2, T=4, D=3, H=5)])
def forward(t: Tester, seed: int, N: int, T: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_sequence(seed, N, T, D, H, scale)
    expected = t.expect("rnn_sequence", **p)
    hs, _ = t.unpack(t.call("rnn_forward", **p), 2, "rnn_forward")
    t.close(hs, expected, name="hs", tol=1e-8,
            hint="hs[:, t] is the state after reading x[:, t]; h0 itself is not part of hs")


def _sequence_grads(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> tuple[dict, dict]:
    p = random_sequence(seed, N, T, D, H)
    dhs = np.random.default_rng(seed + 1).standard_normal((N, T, H))
    expected = t.expect("rnn_sequence_grads", **p, dhs=dhs)
    _, cache = t.unpack(t.call("rnn_forward", **p), 2, "rnn_forward")
    return t.call("rnn_backward", dhs, cache), expected


@SUITE.test("test_rnn_backward_inputs", level="gradients",
            what="rnn_backward: gradients of x and h0", visible=[dict(seed=3, N=2, T=4, D=3, H=5)])
def backward_inputs(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    grads, expected = _sequence_grads(t, seed, N, T, D, H)
    t.gradients(grads, expected, ("x", "h0"), "rnn_backward")


@SUITE.test("test_rnn_backward_params", level="gradients",
            what="rnn_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=3, N=2, T=4, D=3, H=5)])
def backward_params(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    grads, expected = _sequence_grads(t, seed, N, T, D, H)
    t.gradients(grads, expected, WEIGHTS, "rnn_backward")


# --- gradient checking ----------------------------------------------------------------------


@SUITE.test("test_numeric_gradient", level="tool",
            what="numeric_gradient: centred differences",
            visible=[dict(seed=4, function="tanh_matmul_squared", shape=(2, 3), h=1e-3)])
def numeric_gradient(t: Tester, seed: int, function: str, shape: tuple[int, ...],
                     h: float | None = None) -> None:
    rng = np.random.default_rng(seed)
    params = {"A": rng.standard_normal((shape[-1], 4))} if function == "tanh_matmul_squared" \
        else {}
    x0 = rng.standard_normal(shape)
    out_shape = (*shape[:-1], 4) if function == "tanh_matmul_squared" else shape
    df = rng.standard_normal(out_shape)
    step = {} if h is None else {"h": h}
    expected = t.expect("library_numeric_gradient", function=function, params=params, x=x0,
                        df=df, h=1e-5 if h is None else h)
    ours = t.call("numeric_gradient", t.function(function, **params), x0.copy(), df, **step)
    t.close(t.last_args[1], x0, name="x after numeric_gradient", tol=0.0,
            hint="restore every element of x after perturbing it")
    t.close(ours, expected, name="numeric gradient", tol=1e-6,
            hint="centred differences: (f(x + h) - f(x - h)) / (2h), weighted by df")


@SUITE.test("test_gradient_check", level="tool",
            what="gradient_check reports every input and catches a wrong gradient",
            visible=[dict(seed=5, N=2, M=3, wrong="b", factor=2.0)])
def gradient_check(t: Tester, seed: int, N: int, M: int, wrong: str, factor: float) -> None:
    rng = np.random.default_rng(seed)
    inputs = {"a": rng.standard_normal((N, M)), "b": rng.standard_normal((N, M)),
              "c": rng.standard_normal(M)}
    dout = rng.standard_normal((N, M))
    forward = t.function("sin_product_forward")
    errors = t.call("gradient_check", forward, t.function("sin_product_backward"), inputs, dout)
    errors = t.keys(errors, list(inputs), "gradient_check")
    t.require(set(errors) == set(inputs),
              f"gradient_check must return one error per input {sorted(inputs)}, got keys "
              f"{sorted(map(str, errors))}")
    for key in inputs:
        error = t.number(errors[key], f"the relative error of {key!r}")
        t.require(error < 1e-6,
                  f"gradient_check reports {error:.2g} for {key!r} of a correct backward pass: "
                  "perturb that input in place, one element at a time, and compare with the "
                  "same weighting by dout")
    sabotaged = t.function("sin_product_backward", wrong_key=wrong, factor=factor)
    errors = t.keys(t.call("gradient_check", forward, sabotaged, inputs, dout), list(inputs),
                    "gradient_check")
    wrong_error = t.number(errors[wrong], f"the relative error of {wrong!r}")
    t.require(wrong_error > 1e-2,
              f"gradient_check missed a wrong gradient of {wrong!r} (multiplied by {factor:g}): "
              f"it reported {wrong_error:.2g}; compare the backward's gradient with the numeric "
              "one for every input")
    for key in inputs:
        if key != wrong:
            error = t.number(errors[key], f"the relative error of {key!r}")
            t.require(error < 1e-6, f"gradient_check blames {key!r} ({error:.2g}) when only "
                                    f"{wrong!r} was wrong")
