"""Assignment 4, ``gru_cell``: the tests (visible cases; the hidden ones are the instructor's).

The learner writes a GRU in numpy with torch's layout (gates r, z, n; the reset gate after the
hidden matmul): ``gru_step_forward`` / ``gru_step_backward`` for one step, ``gru_forward`` /
``gru_backward`` over a sequence (BPTT), and ``parameter_counts`` of torch's RNN, GRU and LSTM
layers. Every expected value comes from ``torch.nn.GRUCell``, ``torch.nn.GRU``, autograd and
torch's modules (:mod:`rnncourse.oracles`).

A wrong answer is explained (:mod:`rnncourse.exercise.probing`): the classic mistake it
matches (:mod:`rnncourse.diagnose`), else the part of the input, the gate or the time step
where it goes wrong, found by rerunning the learner's function on probe inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnncourse.exercise import probing
from rnncourse.exercise.probing import Cell, Lazy
from rnncourse.exercise.tester import Tester
from rnncourse.suites import Suite

SUITE = Suite("gru_cell")
WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
STEP = ("x", "h_prev", *WEIGHTS)
SEQUENCE = ("x", "h0", *WEIGHTS)
LAYERS = ("rnn", "gru", "lstm")

GRU = Cell(
    name="GRU",
    gates=("r", "z", "n"),
    sigmoid_gates=("r", "z"),
    states=("h_prev",),
    frozen="r = z = 0.5, n = 0",
    equations={"h_next": "h_next = (1 - z) * n + z * h_prev"},
    gate_values={"r": "0.5", "z": "0.5", "n": "0"},
    enters={"x": "how x enters (x @ W_ih.T)",
            "h_prev": "how h_prev enters (h_prev @ W_hh.T, and z * h_prev)"},
    backward={"r": "dr = dan * (W_hn h_prev + b_hn), then r * (1 - r)",
              "z": "dz = dh_next * (h_prev - n), then z * (1 - z)",
              "n": "dan = dh_next * (1 - z) * (1 - n**2), times r on the hidden side"},
)
#: When the witness gradient is right, that side's pre-activation gradient is right.
CHAIN = {
    "W_ih": ("b_ih", "dW_ih = da_x.T @ x"),
    "W_hh": ("b_hh", "dW_hh = da_h.T @ h_prev"),
    "x": ("b_ih", "dx = da_x @ W_ih"),
    "h_prev": ("b_hh", "dh_prev = da_h @ W_hh + z * dh_next"),
}
FORMULAS = {"W_ih": "da_x.T @ x", "W_hh": "da_h.T @ h_prev", "b_ih": "da_x.sum(axis=0)",
            "b_hh": "da_h.sum(axis=0)", "x": "da_x @ W_ih", "h_prev": "da_h @ W_hh + ..."}
FIX_STEP_FIRST = ("Fix gru_step_forward first: its h_next differs from torch, and this "
                  "backward pass runs on its cache")
FIX_FORWARD_FIRST = ("Fix gru_forward first: its hs differs from torch, and this test runs on "
                     "its cache")


def random_weights(rng: np.random.Generator, D: int, H: int,
                   scale: float) -> dict[str, np.ndarray]:
    """W_ih (3H, D), W_hh (3H, H), b_ih (3H,), b_hh (3H,) with N(0, scale^2) entries."""
    return {
        "W_ih": rng.standard_normal((3 * H, D)) * scale,
        "W_hh": rng.standard_normal((3 * H, H)) * scale,
        "b_ih": rng.standard_normal(3 * H) * scale,
        "b_hh": rng.standard_normal(3 * H) * scale,
    }


def random_gru(seed: int, N: int, D: int, H: int, scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 inputs of one step: x (N, D), h_prev (N, H) and the weights."""
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * scale}
    p.update(random_weights(rng, D, H, scale))
    return p


def random_gru_sequence(seed: int, N: int, T: int, D: int, H: int,
                        scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 x (N, T, D), h0 (N, H) and the weights."""
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)) * scale}
    p.update(random_weights(rng, D, H, scale))
    return p


def _pick(inputs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: inputs[k] for k in keys}


def _step_output(value: Any) -> dict[str, Any] | None:
    if isinstance(value, tuple) and len(value) == 2:
        return {"h_next": value[0]}
    return None


# --- one step -------------------------------------------------------------------------------


@SUITE.test("test_gru_step_forward", level="forward",
            what="gru_step_forward matches torch.nn.GRUCell",
            visible=[dict(seed=0, N=3, D=4, H=5)])
def step_forward(t: Tester, seed: int, N: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_gru(seed, N, D, H, scale)
    expected = t.expect("gru_step", **p)
    h_next, _ = t.unpack(t.call("gru_step_forward", **p), 2, "gru_step_forward")

    def explain() -> str | None:
        mistakes = t.expect("gru_step_mistakes", **p)
        probes = probing.step_probes(GRU, p)
        answers = [t.expect("gru_step", **probe.inputs) for probe in probes]
        return probing.explain_step(
            GRU, {"h_next": h_next}, expected, mistakes, probes, answers,
            lambda inputs: _step_output(t.call("gru_step_forward", **inputs)))

    t.close(h_next, expected["h_next"], name="h_next", tol=1e-8, explain=Lazy(explain),
            hint="n = tanh(W_in x + b_in + r * (W_hn h_prev + b_hn)), "
                 "h_next = (1 - z) * n + z * h_prev")


def _step_grads(t: Tester, keys: tuple[str, ...], seed: int, N: int, D: int, H: int) -> None:
    p = random_gru(seed, N, D, H)
    p["dh_next"] = np.random.default_rng(seed + 1).standard_normal((N, H))
    expected = t.expect("gru_step_grads", **p)
    h_next, cache = t.unpack(t.call("gru_step_forward", **_pick(p, STEP)), 2,
                             "gru_step_forward")
    grads = t.call("gru_step_backward", p["dh_next"], cache)

    def run(inputs: dict[str, Any]) -> Any:
        _, probe_cache = t.call("gru_step_forward", **_pick(inputs, STEP))
        return t.call("gru_step_backward", inputs["dh_next"], probe_cache)

    def gather() -> tuple:
        forward = t.expect("gru_step", **_pick(p, STEP))
        mistakes = t.expect("gru_step_grad_mistakes", **p)
        probes = probing.gate_weight_probes(GRU, p)
        answers = [t.expect("gru_step_grads", **pr.inputs) for pr in probes]
        return forward, mistakes, probes, answers

    data = Lazy(gather)

    def explain(key: str) -> str | None:
        forward, mistakes, probes, answers = data()
        if not probing.agrees_all({"h_next": h_next}, forward):
            return FIX_STEP_FIRST
        return probing.explain_gradient(GRU, key, "gru_step_backward", grads, expected,
                                        mistakes, probes, answers, run, CHAIN)

    probing.check_gradients(t, grads, expected, keys, "gru_step_backward", explain, FORMULAS)


@SUITE.test("test_gru_step_backward_inputs", level="gated gradients",
            what="gru_step_backward: gradients of x and h_prev",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_inputs(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    _step_grads(t, ("x", "h_prev"), seed, N, D, H)


@SUITE.test("test_gru_step_backward_params", level="gated gradients",
            what="gru_step_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_params(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    _step_grads(t, WEIGHTS, seed, N, D, H)


# --- a sequence -----------------------------------------------------------------------------


@SUITE.test("test_gru_forward", level="forward", what="gru_forward matches torch.nn.GRU",
            visible=[dict(seed=2, N=2, T=4, D=3, H=5)])
def forward(t: Tester, seed: int, N: int, T: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_gru_sequence(seed, N, T, D, H, scale)
    expected = t.expect("gru_sequence", **p)["hs"]
    hs, _ = t.unpack(t.call("gru_forward", **p), 2, "gru_forward")
    t.close(hs, expected, name="hs", tol=1e-8, explain=Lazy(lambda: probing.explain_sequence(
        t, "gru_sequence", p, hs, expected, ("h0",), "gru_forward", "gru_step_forward")),
        hint="hs[:, t] is the state after reading x[:, t]; h0 itself is not part of hs")


def _sequence_grads(t: Tester, keys: tuple[str, ...], seed: int, N: int, T: int, D: int,
                    H: int) -> None:
    p = random_gru_sequence(seed, N, T, D, H)
    p["dhs"] = np.random.default_rng(seed + 1).standard_normal((N, T, H))
    expected = t.expect("gru_sequence_grads", **p)
    hs, cache = t.unpack(t.call("gru_forward", **_pick(p, SEQUENCE)), 2, "gru_forward")
    grads = t.call("gru_backward", p["dhs"], cache)

    def run(inputs: dict[str, Any]) -> Any:
        _, probe_cache = t.call("gru_forward", **_pick(inputs, SEQUENCE))
        return t.call("gru_backward", inputs["dhs"], probe_cache)

    def gather() -> tuple:
        forward = t.expect("gru_sequence", **_pick(p, SEQUENCE))["hs"]
        mistakes = t.expect("gru_sequence_grad_mistakes", **p)
        probes = probing.bptt_probes(p)
        answers = [t.expect("gru_sequence_grads", **pr.inputs) for pr in probes]
        return forward, mistakes, probes, answers

    def step_run(inputs: dict[str, Any]) -> dict[str, Any]:
        _, step_cache = t.call("gru_step_forward", x=inputs["x"][:, 0], h_prev=inputs["h0"],
                               **_pick(inputs, WEIGHTS))
        step = t.call("gru_step_backward", inputs["dhs"][:, 0], step_cache)
        return {"x": step["x"][:, None], "h0": step["h_prev"], **_pick(step, WEIGHTS)}

    data = Lazy(gather)

    def explain(key: str) -> str | None:
        forward, *rest = data()
        if not probing.agrees(hs, forward):
            return FIX_FORWARD_FIRST
        return probing.explain_bptt(key, "gru_backward", "gru_step_backward", grads,
                                    expected, *rest, run, step_run)

    probing.check_gradients(t, grads, expected, keys, "gru_backward", explain, FORMULAS)


@SUITE.test("test_gru_backward_inputs", level="gated gradients",
            what="gru_backward: gradients of x and h0",
            visible=[dict(seed=3, N=2, T=5, D=3, H=4)])
def backward_inputs(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    _sequence_grads(t, ("x", "h0"), seed, N, T, D, H)


@SUITE.test("test_gru_backward_params", level="gated gradients",
            what="gru_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=3, N=2, T=5, D=3, H=4)])
def backward_params(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    _sequence_grads(t, WEIGHTS, seed, N, T, D, H)


# --- parameter counts -----------------------------------------------------------------------


@SUITE.test("test_parameter_counts", level="one-liner",
            what="parameter_counts matches torch.nn.RNN, GRU and LSTM",
            visible=[dict(input_size=10, hidden_size=20, num_layers=1),
                     dict(input_size=10, hidden_size=20, num_layers=2)])
def parameter_counts(t: Tester, input_size: int, hidden_size: int, num_layers: int) -> None:
    sizes = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
    expected = t.expect("torch_parameter_counts", **sizes)
    counts = t.keys(t.call("parameter_counts", input_size, hidden_size, num_layers),
                    LAYERS, "parameter_counts")

    def gather() -> tuple:
        mistakes = t.expect("parameter_count_mistakes", **sizes)
        one_layer = t.expect("torch_parameter_counts", **{**sizes, "num_layers": 1})
        return mistakes, one_layer

    data = Lazy(gather)

    def explain(key: str) -> str | None:
        mistakes, one_layer = data()
        if probing.agrees(counts[key], expected[key], tol=0.0):
            return None
        mistake = probing.named(counts[key], expected, mistakes, key)
        if mistake:
            return mistake
        if num_layers > 1:
            mine = probing.guarded(lambda _: t.call("parameter_counts", input_size,
                                                     hidden_size, 1))({})
            if isinstance(mine, dict) and probing.agrees(mine.get(key), one_layer[key], 0.0):
                return (f"Look at the layers after the first: the {key} count is right for "
                        f"one layer, wrong for {num_layers}")
        gates = {"rnn": 1, "gru": 3, "lstm": 4}[key]
        return (f"Look at the {key} count: {gates} gate block(s), each with rows of W_ih, "
                "W_hh and both biases")

    for key in LAYERS:
        value = t.number(counts[key], f"parameter_counts(...)['{key}']")
        t.close(np.float64(value), np.float64(expected[key]), tol=0.0,
                name=f"{key} parameters for D={input_size}, H={hidden_size}, {num_layers} "
                     "layer(s)" if not t.hidden else f"the {key} count",
                explain=lambda k=key: explain(k))
