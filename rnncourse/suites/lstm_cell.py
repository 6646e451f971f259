"""Assignment 3, ``lstm_cell``: the tests (visible cases; the hidden ones are the instructor's).

The learner writes an LSTM in numpy with torch's layout (gates i, f, g, o):
``lstm_step_forward`` / ``lstm_step_backward`` for one step, ``lstm_forward`` /
``lstm_backward`` over a sequence (BPTT), ``cell_state_gradient`` (the product of forget gates)
and ``forget_bias_gradients`` (an experiment). Every expected value comes from
``torch.nn.LSTMCell``, ``torch.nn.LSTM`` and autograd in float64 (:mod:`rnncourse.oracles`).

A wrong answer is explained (:mod:`rnncourse.exercise.probing`): the classic mistake it
matches (:mod:`rnncourse.diagnose`), else the part of the input, the gate or the time step
where it goes wrong, found by rerunning the learner's function on probe inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnncourse.exercise import probing
from rnncourse.exercise.probing import Cell, Lazy, Probe
from rnncourse.exercise.tester import Tester
from rnncourse.suites import Suite

SUITE = Suite("lstm_cell", course_files=("__init__.py", "exercise", "plots.py"))
WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
STEP = ("x", "h_prev", "c_prev", *WEIGHTS)
SEQUENCE = ("x", "h0", "c0", *WEIGHTS)

LSTM = Cell(
    name="LSTM",
    gates=("i", "f", "g", "o"),
    sigmoid_gates=("i", "f", "o"),
    states=("h_prev", "c_prev"),
    frozen="i = f = o = 0.5, g = 0",
    equations={"c_next": "c_next = f * c_prev + i * g",
               "h_next": "h_next = o * tanh(c_next)"},
    gate_values={"i": "0.5", "f": "0.5", "g": "0", "o": "0.5"},
    enters={"x": "how x enters (x @ W_ih.T)", "h_prev": "how h_prev enters (h_prev @ W_hh.T)",
            "c_prev": "how c_prev enters c_next = f * c_prev + i * g"},
    backward={"i": "di = dc * g, then i * (1 - i)", "f": "df = dc * c_prev, then f * (1 - f)",
              "g": "dg = dc * i, then 1 - g**2", "o": "do = dh_next * tanh(c_next), then "
                                                      "o * (1 - o)"},
)
#: When the witness gradient is right, the pre-activation gradient da is right.
CHAIN = {
    "W_ih": ("b_ih", "dW_ih = da.T @ x"),
    "W_hh": ("b_hh", "dW_hh = da.T @ h_prev"),
    "x": ("b_ih", "dx = da @ W_ih"),
    "h_prev": ("b_hh", "dh_prev = da @ W_hh"),
    "b_hh": ("b_ih", "db_hh = da.sum(axis=0), the same as db_ih"),
}
FORMULAS = {"W_ih": "da.T @ x", "W_hh": "da.T @ h_prev", "b_ih": "da.sum(axis=0)",
            "b_hh": "da.sum(axis=0)", "x": "da @ W_ih", "h_prev": "da @ W_hh"}


def random_weights(rng: np.random.Generator, D: int, H: int,
                   scale: float) -> dict[str, np.ndarray]:
    """W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,) with N(0, scale^2) entries."""
    return {
        "W_ih": rng.standard_normal((4 * H, D)) * scale,
        "W_hh": rng.standard_normal((4 * H, H)) * scale,
        "b_ih": rng.standard_normal(4 * H) * scale,
        "b_hh": rng.standard_normal(4 * H) * scale,
    }


def random_lstm(seed: int, N: int, D: int, H: int, scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 inputs of one step: x (N, D), h_prev (N, H), c_prev (N, H) and the weights."""
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * scale,
         "c_prev": rng.standard_normal((N, H))}
    p.update(random_weights(rng, D, H, scale))
    return p


def random_lstm_sequence(seed: int, N: int, T: int, D: int, H: int,
                         scale: float = 0.5) -> dict[str, np.ndarray]:
    """float64 x (N, T, D), h0 (N, H), c0 (N, H) and the weights."""
    rng = np.random.default_rng(seed)
    p = {"x": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)) * scale,
         "c0": rng.standard_normal((N, H))}
    p.update(random_weights(rng, D, H, scale))
    return p


def default_lstm_weights(D: int, H: int, seed: int) -> dict[str, np.ndarray]:
    """Weights drawn like torch's default: every entry ~ U(-1/sqrt(H), 1/sqrt(H))."""
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    return {"W_ih": rng.uniform(-k, k, (4 * H, D)), "W_hh": rng.uniform(-k, k, (4 * H, H)),
            "b_ih": rng.uniform(-k, k, 4 * H), "b_hh": rng.uniform(-k, k, 4 * H)}


FIX_STEP_FIRST = ("Fix lstm_step_forward first: its h_next or c_next differs from torch, and "
                  "this backward pass runs on its cache")
FIX_FORWARD_FIRST = ("Fix lstm_forward first: its hs differs from torch, and this test runs on "
                     "its cache")


def _pick(inputs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: inputs[k] for k in keys}


# --- one step -------------------------------------------------------------------------------


def _step_outputs(value: Any) -> dict[str, Any] | None:
    if isinstance(value, tuple) and len(value) == 3:
        return {"h_next": value[0], "c_next": value[1]}
    return None


@SUITE.test("test_lstm_step_forward", level="forward",
            what="lstm_step_forward matches torch.nn.LSTMCell",
            visible=[dict(seed=0, N=3, D=4, H=5)])
def step_forward(t: Tester, seed: int, N: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_lstm(seed, N, D, H, scale)
    expected = t.expect("lstm_step", **p)
    h_next, c_next, _ = t.unpack(t.call("lstm_step_forward", **p), 3, "lstm_step_forward")
    got = {"h_next": h_next, "c_next": c_next}

    def explain() -> str | None:
        mistakes = t.expect("lstm_step_mistakes", **p)
        probes = probing.step_probes(LSTM, p)
        answers = [t.expect("lstm_step", **probe.inputs) for probe in probes]
        return probing.explain_step(
            LSTM, got, expected, mistakes, probes, answers,
            lambda inputs: _step_outputs(t.call("lstm_step_forward", **inputs)))

    why = Lazy(explain)
    t.close(c_next, expected["c_next"], name="c_next", tol=1e-8, explain=why,
            hint="c_next = f * c_prev + i * g")
    t.close(h_next, expected["h_next"], name="h_next", tol=1e-8, explain=why,
            hint="h_next = o * tanh(c_next)")


def _upstream_probes(p: dict[str, Any]) -> list[Probe]:
    zero = np.zeros_like(p["dh_next"])
    return [
        Probe({**p, "dh_next": zero}, "dh_next is zero",
              "the path from h_next (do = dh_next * tanh(c_next), and dh_next * o * "
              "(1 - tanh(c_next)**2) into dc)"),
        Probe({**p, "dc_next": zero}, "dc_next is zero",
              "how dc_next joins dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)"),
    ]


def _step_grads(t: Tester, keys: tuple[str, ...], seed: int, N: int, D: int, H: int) -> None:
    p = random_lstm(seed, N, D, H)
    rng = np.random.default_rng(seed + 1)
    p["dh_next"], p["dc_next"] = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    expected = t.expect("lstm_step_grads", **p)
    h_next, c_next, cache = t.unpack(t.call("lstm_step_forward", **_pick(p, STEP)), 3,
                                     "lstm_step_forward")
    grads = t.call("lstm_step_backward", p["dh_next"], p["dc_next"], cache)

    def run(inputs: dict[str, Any]) -> Any:
        _, _, probe_cache = t.call("lstm_step_forward", **_pick(inputs, STEP))
        return t.call("lstm_step_backward", inputs["dh_next"], inputs["dc_next"], probe_cache)

    def gather() -> tuple:
        forward = t.expect("lstm_step", **_pick(p, STEP))
        mistakes = t.expect("lstm_step_grad_mistakes", **p)
        probes = [*probing.gate_weight_probes(LSTM, p), *_upstream_probes(p)]
        answers = [t.expect("lstm_step_grads", **pr.inputs) for pr in probes]
        return forward, mistakes, probes, answers

    data = Lazy(gather)

    def explain(key: str) -> str | None:
        forward, mistakes, probes, answers = data()
        if not probing.agrees_all({"h_next": h_next, "c_next": c_next}, forward):
            return FIX_STEP_FIRST
        return probing.explain_gradient(LSTM, key, "lstm_step_backward", grads, expected,
                                        mistakes, probes, answers, run, CHAIN)

    probing.check_gradients(t, grads, expected, keys, "lstm_step_backward", explain, FORMULAS)


@SUITE.test("test_lstm_step_backward_inputs", level="gated gradients",
            what="lstm_step_backward: gradients of x, h_prev and c_prev",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_inputs(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    _step_grads(t, ("x", "h_prev", "c_prev"), seed, N, D, H)


@SUITE.test("test_lstm_step_backward_params", level="gated gradients",
            what="lstm_step_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=1, N=3, D=4, H=5)])
def step_backward_params(t: Tester, seed: int, N: int, D: int, H: int) -> None:
    _step_grads(t, WEIGHTS, seed, N, D, H)


# --- a sequence -----------------------------------------------------------------------------


@SUITE.test("test_lstm_forward", level="forward", what="lstm_forward matches torch.nn.LSTM",
            visible=[dict(seed=2, N=2, T=4, D=3, H=5)])
def forward(t: Tester, seed: int, N: int, T: int, D: int, H: int, scale: float = 0.5) -> None:
    p = random_lstm_sequence(seed, N, T, D, H, scale)
    expected = t.expect("lstm_sequence", **p)["hs"]
    hs, _ = t.unpack(t.call("lstm_forward", **p), 2, "lstm_forward")
    t.close(hs, expected, name="hs", tol=1e-8, explain=Lazy(lambda: probing.explain_sequence(
        t, "lstm_sequence", p, hs, expected, ("h0", "c0"), "lstm_forward", "lstm_step_forward")))


def _sequence_grads(t: Tester, keys: tuple[str, ...], seed: int, N: int, T: int, D: int,
                    H: int) -> None:
    p = random_lstm_sequence(seed, N, T, D, H)
    p["dhs"] = np.random.default_rng(seed + 1).standard_normal((N, T, H))
    expected = t.expect("lstm_sequence_grads", **p)
    hs, cache = t.unpack(t.call("lstm_forward", **_pick(p, SEQUENCE)), 2, "lstm_forward")
    grads = t.call("lstm_backward", p["dhs"], cache)

    def run(inputs: dict[str, Any]) -> Any:
        _, probe_cache = t.call("lstm_forward", **_pick(inputs, SEQUENCE))
        return t.call("lstm_backward", inputs["dhs"], probe_cache)

    def gather() -> tuple:
        forward = t.expect("lstm_sequence", **_pick(p, SEQUENCE))["hs"]
        mistakes = t.expect("lstm_sequence_grad_mistakes", **p)
        probes = probing.bptt_probes(p)
        answers = [t.expect("lstm_sequence_grads", **pr.inputs) for pr in probes]
        return forward, mistakes, probes, answers

    def step_run(inputs: dict[str, Any]) -> dict[str, Any]:
        _, _, step_cache = t.call("lstm_step_forward", x=inputs["x"][:, 0],
                                  h_prev=inputs["h0"], c_prev=inputs["c0"],
                                  **_pick(inputs, WEIGHTS))
        step = t.call("lstm_step_backward", inputs["dhs"][:, 0],
                      np.zeros_like(inputs["h0"]), step_cache)
        return {"x": step["x"][:, None], "h0": step["h_prev"], "c0": step["c_prev"],
                **_pick(step, WEIGHTS)}

    data = Lazy(gather)

    def explain(key: str) -> str | None:
        forward, *rest = data()
        if not probing.agrees(hs, forward):
            return FIX_FORWARD_FIRST
        return probing.explain_bptt(key, "lstm_backward", "lstm_step_backward", grads,
                                    expected, *rest, run, step_run)

    probing.check_gradients(t, grads, expected, keys, "lstm_backward", explain, FORMULAS)


@SUITE.test("test_lstm_backward_inputs", level="gated gradients",
            what="lstm_backward: gradients of x, h0 and c0",
            visible=[dict(seed=3, N=2, T=5, D=3, H=4)])
def backward_inputs(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    _sequence_grads(t, ("x", "h0", "c0"), seed, N, T, D, H)


@SUITE.test("test_lstm_backward_params", level="gated gradients",
            what="lstm_backward: gradients of W_ih, W_hh, b_ih, b_hh",
            visible=[dict(seed=3, N=2, T=5, D=3, H=4)])
def backward_params(t: Tester, seed: int, N: int, T: int, D: int, H: int) -> None:
    _sequence_grads(t, WEIGHTS, seed, N, T, D, H)


# --- the cell state and the forget bias -----------------------------------------------------


@SUITE.test("test_cell_state_gradient", level="gradients",
            what="cell_state_gradient is the product of forget gates",
            visible=[dict(seed=7, N=2, T=6, D=3, H=4)])
def cell_state_gradient(t: Tester, seed: int, N: int, T: int, D: int, H: int,
                        scale: float = 0.5) -> None:
    p = random_lstm_sequence(seed, N, T, D, H, scale)
    p["dc_last"] = np.random.default_rng(seed + 1).standard_normal((N, H))
    expected = t.expect("lstm_cell_state_gradient", **p)
    hs, cache = t.unpack(t.call("lstm_forward", **_pick(p, SEQUENCE)), 2, "lstm_forward")
    dcs = t.call("cell_state_gradient", cache, p["dc_last"])

    def explain() -> str | None:
        forward = t.expect("lstm_sequence", **_pick(p, SEQUENCE))["hs"]
        mistakes = t.expect("lstm_cell_state_mistakes", **p)
        if probing.agrees(dcs, expected):
            return None
        if not probing.agrees(hs, forward):
            return FIX_FORWARD_FIRST
        mistake = probing.named(dcs, expected, mistakes)
        if mistake:
            return mistake
        k = probing.last_right_suffix(dcs, expected)
        if k == T + 1:
            return "Look at [:, T]: it is dc_last itself, the gradient that arrives at c_T"
        return (f"Look at the step from c_{k} back to c_{k - 1}: [:, {k}:] matches torch, "
                f"[:, {k - 1}] does not; multiply by that step's forget gate")

    t.close(dcs, expected, name="cell_state_gradient", tol=1e-7, explain=Lazy(explain),
            hint="[:, T] is dc_last; each step back multiplies by that step's forget gate")


@SUITE.test("test_forget_bias_gradients", level="experiment",
            what="forget_bias_gradients matches torch autograd",
            visible=[dict(seed=9, N=4, T=12, D=3, H=8, forget_bias=0.0),
                     dict(seed=9, N=4, T=12, D=3, H=8, forget_bias=2.0)])
def forget_bias_gradients(t: Tester, seed: int, N: int, T: int, D: int, H: int,
                          forget_bias: float) -> None:
    w = default_lstm_weights(D, H, seed)
    x = np.random.default_rng(seed + 1).standard_normal((N, T, D))
    expected = t.expect("lstm_forget_bias_norms", x=x, **w, forget_bias=forget_bias)
    norms = t.call("forget_bias_gradients", x, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"],
                   forget_bias)
    t.close(t.last_args[3], w["b_ih"], name="b_ih after forget_bias_gradients", tol=0.0,
            hint="add the forget bias to a copy of b_ih: the caller's b_ih must not change")

    def run(bias: float) -> Any:
        return t.call("forget_bias_gradients", x, w["W_ih"], w["W_hh"], w["b_ih"], w["b_hh"],
                      bias)

    shifted = {"x": x, "h0": np.zeros((N, H)), "c0": np.zeros((N, H)), **w,
               "b_ih": w["b_ih"] + np.where(np.arange(4 * H) // H == 1, forget_bias, 0.0)}
    dhs = np.zeros((N, T, H))
    dhs[:, -1] = 1.0

    def bptt_dx() -> Any:
        _, cache = t.call("lstm_forward", **shifted)
        return t.call("lstm_backward", dhs, cache)["x"]

    def explain() -> str | None:
        mistakes = t.expect("lstm_forget_bias_mistakes", x=x, **w, forget_bias=forget_bias)
        at_zero = t.expect("lstm_forget_bias_norms", x=x, **w, forget_bias=0.0)
        dx = t.expect("lstm_sequence_grads", **shifted, dhs=dhs)["x"]
        if probing.agrees(norms, expected):
            return None
        mistake = probing.named(norms, expected, mistakes)
        if mistake:
            return mistake
        if not probing.agrees(probing.guarded(lambda _: bptt_dx())({}), dx):
            return ("Fix lstm_forward and lstm_backward first: their dx differs from torch on "
                    "this experiment's sequence")
        if forget_bias != 0.0 and probing.agrees(probing.guarded(run)(0.0), at_zero):
            return ("Look at where you add the forget bias: the norms match torch with forget "
                    "bias 0; add it to b_ih[H:2H] only")
        return ("Look at the loss and the norms: L = sum(h_T) (dhs zero but dhs[:, -1] = 1), "
                "norms[t] = sqrt(sum(dL/dx[:, t]**2))")

    t.close(norms, expected, name=f"gradient norms with forget bias {forget_bias:g}", tol=1e-6,
            explain=Lazy(explain), hint="L = sum(h_T); norms[t] = sqrt(sum(dL/dx[:, t]**2))")
