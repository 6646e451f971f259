"""rnncourse.reference: torch oracle from given weights (checked against autograd and a
hand-written float64 test cell, and against finite differences)."""

from __future__ import annotations

import numpy as np
import pytest

from rnncourse import reference as R  # noqa: N812
from rnncourse.checks import rel_error
from rnncourse.oracles.finite_differences import numeric_gradient

N, D, H, T = 3, 4, 5, 6


def weights(gates: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(gates * H, D)),
        rng.normal(size=(gates * H, H)),
        rng.normal(size=gates * H),
        rng.normal(size=gates * H),
    )


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


rng = np.random.default_rng(42)
X, HP, CP = rng.normal(size=(N, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))


def test_rnn_step_equation_and_relu() -> None:
    W_ih, W_hh, b_ih, b_hh = weights(1)
    a = X @ W_ih.T + b_ih + HP @ W_hh.T + b_hh
    out = R.rnn_step(X, HP, W_ih, W_hh, b_ih, b_hh)
    assert out.dtype == np.float64 and rel_error(out, np.tanh(a)) < 1e-12
    assert rel_error(R.rnn_step(X, HP, W_ih, W_hh, b_ih, b_hh, "relu"), np.maximum(a, 0)) < 1e-12


def test_lstm_step_uses_torch_gate_order_ifgo() -> None:
    W_ih, W_hh, b_ih, b_hh = weights(4)
    a = X @ W_ih.T + b_ih + HP @ W_hh.T + b_hh
    i, f, g, o = np.split(a, 4, axis=1)
    c = sigmoid(f) * CP + sigmoid(i) * np.tanh(g)
    h, c_out = R.lstm_step(X, HP, CP, W_ih, W_hh, b_ih, b_hh)
    assert rel_error(c_out, c) < 1e-12 and rel_error(h, sigmoid(o) * np.tanh(c)) < 1e-12


def test_gru_step_applies_reset_after_matmul() -> None:
    W_ih, W_hh, b_ih, b_hh = weights(3)
    ir, iz, in_ = np.split(X @ W_ih.T + b_ih, 3, axis=1)
    hr, hz, hn = np.split(HP @ W_hh.T + b_hh, 3, axis=1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    expected = (1 - z) * np.tanh(in_ + r * hn) + z * HP
    assert rel_error(R.gru_step(X, HP, W_ih, W_hh, b_ih, b_hh), expected) < 1e-12


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_step_gradients_match_finite_differences(kind: str) -> None:
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    arrays = dict(zip(("W_ih", "W_hh", "b_ih", "b_hh"), weights(gates, 3), strict=True))
    arrays = {"x": X.copy(), "h": HP.copy(), **arrays}
    if kind == "lstm":
        arrays["c"] = CP.copy()
    dh = np.random.default_rng(5).normal(size=(N, H))
    dc = np.random.default_rng(6).normal(size=(N, H))

    def forward() -> np.ndarray:
        if kind == "lstm":
            args = [arrays[k] for k in ("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh")]
            h_next, c_next = R.lstm_step(*args)
            return np.concatenate([h_next, c_next])
        args = [arrays[k] for k in ("x", "h", "W_ih", "W_hh", "b_ih", "b_hh")]
        return R.rnn_step(*args) if kind == "rnn" else R.gru_step(*args)

    if kind == "lstm":
        keys = ("x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh")
        grads = R.lstm_step_grads(*[arrays[k] for k in keys], dh, dc)
        upstream = np.concatenate([dh, dc])
    else:
        keys = ("x", "h", "W_ih", "W_hh", "b_ih", "b_hh")
        fn = R.rnn_step_grads if kind == "rnn" else R.gru_step_grads
        grads = fn(*[arrays[k] for k in keys], dh)
        upstream = dh
    assert set(grads) == set(keys)
    for key in keys:
        numeric = numeric_gradient(lambda _: forward(), arrays[key], upstream)
        assert grads[key].shape == arrays[key].shape
        assert rel_error(grads[key], numeric) < 1e-6, key


def test_sequence_matches_repeated_steps_and_mapping_form() -> None:
    W_ih, W_hh, b_ih, b_hh = weights(1)
    xs = np.random.default_rng(2).normal(size=(N, T, D))
    hs = R.rnn_sequence(xs, HP, W_ih, W_hh, b_ih, b_hh)
    h = HP
    for t in range(T):
        h = R.rnn_step(xs[:, t], h, W_ih, W_hh, b_ih, b_hh)
        assert rel_error(hs[:, t], h) < 1e-12
    params = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
    assert np.array_equal(R.rnn_sequence(xs, HP, params), hs)


def test_sequence_grads_match_finite_differences() -> None:
    W_ih, W_hh, b_ih, b_hh = (w * 0.5 for w in weights(1, 8))
    xs = np.random.default_rng(2).normal(size=(N, T, D))
    h0 = HP.copy()
    dhs = np.random.default_rng(3).normal(size=(N, T, H))
    grads = R.rnn_sequence_grads(xs, h0, W_ih, W_hh, b_ih, b_hh, dhs)
    params = {"W_ih": W_ih, "W_hh": W_hh, "b_ih": b_ih, "b_hh": b_hh}
    assert set(grads) == {"x", "h0", *params}
    same = R.rnn_sequence_grads(xs, h0, params, dhs)
    for key, array in {"x": xs, "h0": h0, **params}.items():
        numeric = numeric_gradient(lambda _: R.rnn_sequence(xs, h0, params), array, dhs)
        assert rel_error(grads[key], numeric) < 1e-6, key
        assert np.array_equal(same[key], grads[key])


def test_bad_shapes_and_arguments_fail_clearly() -> None:
    W_ih, W_hh, b_ih, b_hh = weights(4)
    with pytest.raises(ValueError, match="W_hh must be"):
        R.lstm_step(X, HP, CP, W_ih, W_hh[:, :3], b_ih, b_hh)
    with pytest.raises(ValueError, match="x has 3 features"):
        R.lstm_step(X[:, :3], HP, CP, W_ih, W_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match="dh_next must have shape"):
        R.gru_step_grads(X, HP, *weights(3), np.ones((N, H + 1)))
    with pytest.raises(TypeError, match="rnn_sequence takes"):
        R.rnn_sequence(np.ones((N, T, D)), HP, *weights(1)[:3])
    with pytest.raises(KeyError, match="lacks"):
        R.rnn_sequence(np.ones((N, T, D)), HP, {"W_ih": 1})
    with pytest.raises(ValueError, match=r"x must be \(N, T, D\)"):
        R.rnn_sequence(X, HP, *weights(1))
