"""Every classic LSTM/GRU mistake is named; a correct step is never diagnosed.

The numpy cells below are deliberately configurable test doubles (tests may contain numpy
cells; the package may not).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnncourse import diagnose, reference
from rnncourse.diagnose import (
    assert_gru_step,
    assert_lstm_step,
    diagnose_gru_step,
    diagnose_lstm_step,
)


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def make_lstm(
    order: str = "ifgo",
    candidate=np.tanh,
    use_b_hh: bool = True,
    carry_c: bool = True,
    swap_roles: bool = False,
):
    def step(x, h, c, W_ih, W_hh, b_ih, b_hh):
        a = x @ W_ih.T + b_ih + h @ W_hh.T + (b_hh if use_b_hh else 0.0)
        blocks = dict(zip(order, np.split(a, 4, axis=1), strict=True))
        i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
        g = candidate(blocks["g"])
        c_prev = c if carry_c else np.zeros_like(c)
        c_next = i * c_prev + f * g if swap_roles else f * c_prev + i * g
        return o * np.tanh(c_next), c_next

    return step


def make_gru(
    order: str = "rzn",
    candidate=np.tanh,
    use_b_hh: bool = True,
    reset_before: bool = False,
    swap_z: bool = False,
):
    def step(x, h, W_ih, W_hh, b_ih, b_hh):
        H = h.shape[1]
        bh = b_hh if use_b_hh else np.zeros_like(b_hh)
        gi = dict(zip(order, np.split(x @ W_ih.T + b_ih, 3, axis=1), strict=True))
        Wh = dict(zip(order, np.split(W_hh, 3, axis=0), strict=True))
        bhs = dict(zip(order, np.split(bh, 3), strict=True))
        r = sigmoid(gi["r"] + h @ Wh["r"].T + bhs["r"])
        z = sigmoid(gi["z"] + h @ Wh["z"].T + bhs["z"])
        if reset_before:
            n = candidate(gi["n"] + (r * h) @ Wh["n"].T + bhs["n"])
        else:
            n = candidate(gi["n"] + r * (h @ Wh["n"].T + bhs["n"]))
        assert n.shape[1] == H
        return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h

    return step


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_correct_implementations_are_never_diagnosed(seed: int) -> None:
    assert diagnose_lstm_step(make_lstm(), seed=seed) is None
    assert diagnose_gru_step(make_gru(), seed=seed) is None
    assert diagnose_lstm_step(reference.lstm_step, seed=seed) is None
    assert diagnose_gru_step(reference.gru_step, seed=seed) is None
    assert_lstm_step(make_lstm(), seed=seed)
    assert_gru_step(make_gru(), seed=seed)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (make_lstm(order="ifog"), "gates in the order i, f, o, g"),
        (make_lstm(candidate=sigmoid), "sigmoid and tanh swapped on the candidate"),
        (make_lstm(use_b_hh=False), "missing hidden bias"),
        (make_lstm(carry_c=False), "cell state not carried"),
        (make_lstm(swap_roles=True), "forget gate multiplying the candidate"),
    ],
    ids=["order-ifog", "sigmoid-candidate", "no-b_hh", "c-not-carried", "i-f-roles"],
)
def test_each_lstm_mistake_is_named(step, expected: str) -> None:
    diagnosis = diagnose_lstm_step(step)
    assert diagnosis is not None
    assert diagnosis.startswith(expected), diagnosis
    with pytest.raises(AssertionError, match=expected.split(" (")[0]):
        assert_lstm_step(step)


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("ifgo")][1:])
def test_every_lstm_gate_permutation_is_detected(order: str) -> None:
    diagnosis = diagnose_lstm_step(make_lstm(order=order))
    assert diagnosis is not None
    if order == "figo":  # learner's block 0 is f: i and f swapped in the update
        assert "i and f swapped" in diagnosis
    else:
        assert diagnosis.startswith(f"gates in the order {', '.join(order)}"), diagnosis
    assert "torch stacks them as i, f, g, o" in diagnosis or "i and f" in diagnosis


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (make_gru(reset_before=True), "reset gate applied before the matmul"),
        (make_gru(swap_z=True), "z and (1 - z) swapped"),
        (make_gru(use_b_hh=False), "missing hidden bias"),
        (make_gru(candidate=sigmoid), "sigmoid and tanh swapped on the candidate"),
        (make_gru(order="zrn"), "gates in the order z, r, n"),
    ],
    ids=["reset-before", "z-swapped", "no-b_hh", "sigmoid-candidate", "order-zrn"],
)
def test_each_gru_mistake_is_named(step, expected: str) -> None:
    diagnosis = diagnose_gru_step(step)
    assert diagnosis is not None and diagnosis.startswith(expected), diagnosis
    with pytest.raises(AssertionError, match="GRU step differs"):
        assert_gru_step(step)


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("rzn")][1:])
def test_every_gru_gate_permutation_is_detected(order: str) -> None:
    diagnosis = diagnose_gru_step(make_gru(order=order))
    assert diagnosis is not None and diagnosis.startswith(f"gates in the order {', '.join(order)}")


def test_unknown_mistake_reports_worst_error() -> None:
    def wrong(x, h, c, W_ih, W_hh, b_ih, b_hh):
        h_next, c_next = make_lstm()(x, h, c, W_ih, W_hh, b_ih, b_hh)
        return h_next * 1.5, c_next

    diagnosis = diagnose_lstm_step(wrong)
    assert diagnosis is not None and diagnosis.startswith("unknown mistake")
    assert "h_next: max abs error" in diagnosis and "at index" in diagnosis
    assert "c_next matches" in diagnosis


def test_combined_mistakes_are_not_misnamed() -> None:
    diagnosis = diagnose_gru_step(make_gru(reset_before=True, swap_z=True))
    assert diagnosis is not None and diagnosis.startswith("unknown mistake")


def test_errors_wrong_types_and_shapes_are_reported(capfd: pytest.CaptureFixture[str]) -> None:
    def raises(*args):
        raise NotImplementedError("fill me in")

    assert diagnose_gru_step(raises) == "step_fn raised NotImplementedError: fill me in"
    assert "tuple (h_next, c_next)" in diagnose_lstm_step(lambda *a: a[1])
    assert "expected a numpy array" in diagnose_gru_step(lambda *a: "h")
    assert "shape (5, 4)" in diagnose_gru_step(lambda x, h, *w: h.T)

    def overflowing(x, h, *weights):
        return np.exp(np.full_like(h, 1000.0))  # overflow warning must not reach stderr

    assert diagnose_gru_step(overflowing).startswith("unknown mistake")
    assert capfd.readouterr().err == ""


def test_inputs_are_not_mutated_between_candidates() -> None:
    def mutating(x, h, W_ih, W_hh, b_ih, b_hh):
        out = reference.gru_step(x, h, W_ih, W_hh, b_ih, b_hh)
        b_hh[:] = 0.0
        return out

    assert diagnose_gru_step(mutating) is None


def test_mistake_tables_cover_the_listed_mistakes() -> None:
    lstm = {m.name for m in diagnose.LSTM_MISTAKES}
    gru = {m.name for m in diagnose.GRU_MISTAKES}
    assert {"missing hidden bias", "cell state not carried",
            "sigmoid and tanh swapped on the candidate"} <= lstm
    assert len([n for n in lstm if n.startswith("gates in the order")]) == 22
    assert {"reset gate applied before the matmul", "z and (1 - z) swapped"} <= gru
