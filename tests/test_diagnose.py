"""The catalogue of classic mistakes (:mod:`rnncourse.diagnose`) reproduces what each mistake
computes.

Every mistake's torch reproduction is compared with a numpy implementation that makes that
mistake (test doubles: tests may contain numpy cells, the package may not), every mistake
changes the answer (none is vacuous), and the functional torch cells without a mistake are
torch's own cells.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from rnncourse import diagnose, reference
from rnncourse.oracles import ask

WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
N, D, H, T = 3, 4, 5, 4


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def weights(rng: np.random.Generator, gates: int) -> dict[str, np.ndarray]:
    return {"W_ih": rng.normal(scale=0.6, size=(gates * H, D)),
            "W_hh": rng.normal(scale=0.6, size=(gates * H, H)),
            "b_ih": rng.normal(scale=0.5, size=gates * H),
            "b_hh": rng.normal(scale=0.5, size=gates * H)}


@pytest.fixture(scope="module")
def lstm_p() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"x": rng.normal(size=(N, D)), "h_prev": rng.normal(size=(N, H)),
            "c_prev": rng.normal(size=(N, H)), **weights(rng, 4),
            "dh_next": rng.normal(size=(N, H)), "dc_next": rng.normal(size=(N, H))}


@pytest.fixture(scope="module")
def gru_p() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"x": rng.normal(size=(N, D)), "h_prev": rng.normal(size=(N, H)), **weights(rng, 3),
            "dh_next": rng.normal(size=(N, H))}


def close(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=1e-12)


def by_name(catalogue, p) -> dict:
    return {name: output for name, _, output in diagnose.answers(catalogue, p)}


# --- numpy doubles: a step with one switch per mistake ------------------------------------------


def lstm_step(p, order="ifgo", candidate=np.tanh, zero=(), h_tanh=True, h_from_prev=False,
              swap_roles=False):
    q = {k: (np.zeros_like(v) if k in zero else v) for k, v in p.items()}
    a = q["x"] @ q["W_ih"].T + q["b_ih"] + q["h_prev"] @ q["W_hh"].T + q["b_hh"]
    blocks = dict(zip(order, np.split(a, 4, axis=1), strict=True))
    i, f, o = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"])
    g = candidate(blocks["g"])
    c_next = i * q["c_prev"] + f * g if swap_roles else f * q["c_prev"] + i * g
    cell = np.tanh(q["c_prev"]) if h_from_prev else (np.tanh(c_next) if h_tanh else c_next)
    return {"h_next": o * cell, "c_next": c_next}


def gru_step(p, order="rzn", candidate=np.tanh, zero=(), reset_before=False, swap_z=False,
             reset_ignored=False):
    q = {k: (np.zeros_like(v) if k in zero else v) for k, v in p.items()}
    gi = dict(zip(order, np.split(q["x"] @ q["W_ih"].T + q["b_ih"], 3, axis=1), strict=True))
    Wh = dict(zip(order, np.split(q["W_hh"], 3, axis=0), strict=True))
    bh = dict(zip(order, np.split(q["b_hh"], 3), strict=True))
    h = q["h_prev"]
    r = sigmoid(gi["r"] + h @ Wh["r"].T + bh["r"])
    z = sigmoid(gi["z"] + h @ Wh["z"].T + bh["z"])
    if reset_before:
        hidden = (r * h) @ Wh["n"].T + bh["n"]
    else:
        hidden = (1.0 if reset_ignored else r) * (h @ Wh["n"].T + bh["n"])
    n = candidate(gi["n"] + hidden)
    return {"h_next": z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h}


def lstm_backward(p, bug=None):
    x, h, c = p["x"], p["h_prev"], p["c_prev"]
    a = x @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_next = f * c + i * g
    tc = np.tanh(c_next)
    dh = p["dh_next"]
    through_h = {"dc without tanh derivative": dh * o, "dc without h path": 0.0}.get(
        bug, dh * o * (1 - tc**2))
    dc = (0.0 if bug == "drop dc_next" else p["dc_next"]) + through_h
    do = dh * (c_next if bug == "do from c" else tc)
    slope = (lambda s: 1 - s**2) if bug == "gates with tanh derivative" else \
        (lambda s: s * (1 - s))
    da = np.concatenate([dc * g * slope(i), dc * c * slope(f),
                         dc * i * (g * (1 - g) if bug == "g sigmoid derivative" else 1 - g**2),
                         do * slope(o)], axis=1)
    return {"x": da @ p["W_ih"], "h_prev": da @ p["W_hh"],
            "c_prev": dc * (1.0 if bug == "dc_prev without f" else f),
            "W_ih": da.T @ x, "W_hh": da.T @ h, "b_ih": da.sum(0), "b_hh": da.sum(0)}


def gru_backward(p, bug=None):
    x, h = p["x"], p["h_prev"]
    a_ir, a_iz, a_in = np.split(x @ p["W_ih"].T + p["b_ih"], 3, axis=1)
    a_hr, a_hz, a_hn = np.split(h @ p["W_hh"].T + p["b_hh"], 3, axis=1)
    r, z = sigmoid(a_ir + a_hr), sigmoid(a_iz + a_hz)
    n = np.tanh(a_in + r * a_hn)
    dh = p["dh_next"]
    dz = dh * ((n - h) if bug == "dz sign" else (h - n))
    dan = dh * (1 - z) * (1.0 if bug == "dn without tanh derivative" else 1 - n**2)
    dr = {"no reset path": 0.0 * dan, "dr from h_prev": dan * h}.get(bug, dan * a_hn)
    dar, daz = dr * r * (1 - r), dz * z * (1 - z)
    dax = np.concatenate([dar, daz, dan], axis=1)
    dah = np.concatenate([dar, daz, dan * (1.0 if bug == "hidden n without r" else r)], axis=1)
    return {"x": dax @ p["W_ih"],
            "h_prev": dah @ p["W_hh"] + (0.0 if bug == "no direct path" else dh * z),
            "W_ih": dax.T @ x, "W_hh": dah.T @ h, "b_ih": dax.sum(0),
            "b_hh": dax.sum(0) if bug == "db_hh is db_ih" else dah.sum(0)}


# --- the functional cells are torch's cells -----------------------------------------------------


def test_functional_cells_without_a_mistake_are_torchs(lstm_p, gru_p) -> None:
    step = {k: v for k, v in lstm_p.items() if not k.startswith("d")}
    h_ref, c_ref = reference.lstm_step(*(step[k] for k in ("x", "h_prev", "c_prev", *WEIGHTS)))
    t = {k: torch.tensor(v) for k, v in step.items()}
    h_next, c_next = diagnose.lstm_graph(**t)
    assert close(h_next, h_ref) and close(c_next, c_ref)
    step = {k: v for k, v in gru_p.items() if not k.startswith("d")}
    t = {k: torch.tensor(v) for k, v in step.items()}
    assert close(diagnose.gru_graph(**t), reference.gru_step(*step.values()))
    assert close(ask("gru_step", **step)["h_next"], gru_step(step)["h_next"])
    expected = ask("lstm_step_grads", **lstm_p)
    assert all(close(lstm_backward(lstm_p)[k], expected[k]) for k in expected)
    expected = ask("gru_step_grads", **gru_p)
    assert all(close(gru_backward(gru_p)[k], expected[k]) for k in expected)


# --- one step forward -------------------------------------------------------------------------

LSTM_DOUBLES = {
    "missing hidden bias": dict(zero=("b_hh",)),
    "missing input bias": dict(zero=("b_ih",)),
    "missing biases": dict(zero=("b_ih", "b_hh")),
    "c_prev is ignored": dict(zero=("c_prev",)),
    "h_prev is ignored": dict(zero=("h_prev",)),
    "the tanh is missing": dict(h_tanh=False),
    "h_next uses the old cell state": dict(h_from_prev=True),
    "the candidate g uses a sigmoid": dict(candidate=sigmoid),
    "i and f swapped: the forget gate multiplies the candidate": dict(swap_roles=True),
    **{f"gates in the order {', '.join(o)}": dict(order="".join(o))
       for o in itertools.permutations("ifgo") if o not in (tuple("ifgo"), tuple("figo"))},
}
GRU_DOUBLES = {
    "reset gate applied before the matmul": dict(reset_before=True),
    "z and (1 - z) swapped": dict(swap_z=True),
    "the reset gate is ignored": dict(reset_ignored=True),
    "missing hidden bias": dict(zero=("b_hh",)),
    "missing input bias": dict(zero=("b_ih",)),
    "missing biases": dict(zero=("b_ih", "b_hh")),
    "h_prev is ignored": dict(zero=("h_prev",)),
    "the candidate n uses a sigmoid": dict(candidate=sigmoid),
    **{f"gates in the order {', '.join(o)}": dict(order="".join(o))
       for o in itertools.permutations("rzn") if o != tuple("rzn")},
}


def test_every_lstm_step_mistake_is_what_its_double_computes(lstm_p) -> None:
    step = {k: v for k, v in lstm_p.items() if not k.startswith("d")}
    outputs = by_name(diagnose.LSTM_STEP, step)
    assert set(outputs) == set(LSTM_DOUBLES)
    correct = lstm_step(step)
    for name, output in outputs.items():
        double = lstm_step(step, **LSTM_DOUBLES[name])
        assert all(close(output[k], double[k]) for k in double), name
        assert not all(close(output[k], correct[k]) for k in correct), f"{name} is vacuous"


def test_every_gru_step_mistake_is_what_its_double_computes(gru_p) -> None:
    step = {k: v for k, v in gru_p.items() if not k.startswith("d")}
    outputs = by_name(diagnose.GRU_STEP, step)
    assert set(outputs) == set(GRU_DOUBLES)
    correct = gru_step(step)["h_next"]
    for name, output in outputs.items():
        assert close(output["h_next"], gru_step(step, **GRU_DOUBLES[name])["h_next"]), name
        assert not close(output["h_next"], correct), f"{name} is vacuous"


# --- one step backward ------------------------------------------------------------------------

LSTM_GRAD_DOUBLES = {
    "dc misses the tanh derivative": "dc without tanh derivative",
    "dc_next is dropped": "drop dc_next",
    "dc misses the path through h_next": "dc without h path",
    "dc_prev misses the forget gate": "dc_prev without f",
    "do uses c_next": "do from c",
    "g's derivative is a sigmoid's": "g sigmoid derivative",
    "the gates' derivatives are tanh's": "gates with tanh derivative",
}
GRU_GRAD_DOUBLES = {
    "the reset gate's path is missing": "no reset path",
    "dr uses h_prev": "dr from h_prev",
    "the hidden n block misses r": "hidden n without r",
    "db_hh is db_ih": "db_hh is db_ih",
    "dh_prev misses the direct path": "no direct path",
    "dz has the wrong sign": "dz sign",
    "dn misses the tanh derivative": "dn without tanh derivative",
}


@pytest.mark.parametrize(("kind", "doubles"), [("lstm", LSTM_GRAD_DOUBLES),
                                               ("gru", GRU_GRAD_DOUBLES)])
def test_every_backward_mistake_is_what_its_double_computes(kind, doubles, lstm_p,
                                                            gru_p) -> None:
    p, catalogue, backward = ((lstm_p, diagnose.LSTM_STEP_GRADS, lstm_backward) if kind == "lstm"
                              else (gru_p, diagnose.GRU_STEP_GRADS, gru_backward))
    outputs = by_name(catalogue, p)
    assert set(outputs) == set(doubles)
    correct = backward(p)
    for name, grads in outputs.items():
        double = backward(p, doubles[name])
        assert set(grads) == set(correct)
        wrong = [k for k in correct if not close(grads[k], double[k])]
        assert not wrong, f"{name}: {wrong} differ from the double"
        assert not all(close(grads[k], correct[k]) for k in correct), f"{name} is vacuous"


# --- sequences --------------------------------------------------------------------------------


def lstm_sequence_double(p, bug=None):
    h, c = p["h0"], p["c0"]
    order = range(T - 1, -1, -1) if bug == "backwards" else range(T)
    hs = np.zeros((N, T, H))
    for t in order:
        step = {"x": p["x"][:, t], "h_prev": p["h0"] if bug in ("state", "h") else h,
                "c_prev": p["c0"] if bug in ("state", "c") else c,
                **{k: p[k] for k in WEIGHTS}}
        out = lstm_step(step)
        h, c = out["h_next"], out["c_next"]
        hs[:, t] = h
    if bug == "shifted":
        hs = np.concatenate([p["h0"][:, None], hs[:, :-1]], axis=1)
    return hs


def test_sequence_mistakes_are_what_their_doubles_compute() -> None:
    rng = np.random.default_rng(2)
    p = {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
         "c0": rng.normal(size=(N, H)), **weights(rng, 4)}
    doubles = {"the state is not carried": "state", "c is not carried": "c",
               "h is not carried": "h", "hs[:, t] is the state before step t": "shifted",
               "the loop runs backwards in time": "backwards"}
    outputs = by_name(diagnose.LSTM_SEQUENCE, p)
    assert set(outputs) == set(doubles)
    correct = ask("lstm_sequence", **p)["hs"]
    assert close(lstm_sequence_double(p), correct)
    for name, output in outputs.items():
        assert close(output["hs"], lstm_sequence_double(p, doubles[name])), name
        assert not close(output["hs"], correct), name
    gru = {"x": p["x"], "h0": p["h0"], **weights(rng, 3)}
    assert {n for n, *_ in diagnose.answers(diagnose.GRU_SEQUENCE, gru)} == {
        "the state is not carried", "hs[:, t] is the state before step t",
        "the loop runs backwards in time"}


def test_bptt_mistakes_change_what_they_say() -> None:
    """Each BPTT mistake against torch's autograd on a changed problem that computes it."""
    rng = np.random.default_rng(3)
    p = {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
         "c0": rng.normal(size=(N, H)), **weights(rng, 4), "dhs": rng.normal(size=(N, T, H))}
    out = by_name(diagnose.LSTM_SEQUENCE_GRADS, p)
    correct = ask("lstm_sequence_grads", **p)
    last = dict(p, dhs=np.where(np.arange(T)[None, :, None] == T - 1, p["dhs"], 0.0))
    assert all(close(out["only dhs[:, -1] is used"][k], v)
               for k, v in ask("lstm_sequence_grads", **last).items())
    # the inputs' gradients are untouched by how the weights' gradients are summed
    for name in ("the weights' gradients are overwritten",
                 "the weights' gradients come from one step"):
        assert all(close(out[name][k], correct[k]) for k in ("x", "h0", "c0")), name
        assert not close(out[name]["W_hh"], correct["W_hh"]), name
    # without the gradients from step t+1, dx[:, t] is what step t alone gives for dhs[:, t]
    no_dh = out["the gradients from step t+1 are missing"]
    h, c = p["h0"], p["c0"]
    for t in range(T):
        step = {"x": p["x"][:, t], "h_prev": h, "c_prev": c, **{k: p[k] for k in WEIGHTS}}
        alone = ask("lstm_step_grads", **step, dh_next=p["dhs"][:, t], dc_next=np.zeros((N, H)))
        assert close(no_dh["x"][:, t], alone["x"]), t
        h, c = lstm_step(step).values()
    for name in ("the cell-state gradient from step t+1 is missing",
                 "the gradient from step t+1 is missing"):
        assert close(out[name]["x"][:, -1], correct["x"][:, -1]), name
        assert not close(out[name]["x"][:, 0], correct["x"][:, 0]), name


def test_carousel_forget_bias_and_count_mistakes() -> None:
    rng = np.random.default_rng(4)
    p = {"x": rng.normal(size=(N, T, D)), "h0": rng.normal(size=(N, H)),
         "c0": rng.normal(size=(N, H)), **weights(rng, 4), "dc_last": rng.normal(size=(N, H))}
    correct = ask("lstm_cell_state_gradient", **p)
    out = by_name(diagnose.CELL_STATE, p)
    assert close(out["the time axis is reversed"], correct[:, ::-1])
    assert close(out["dc_last is missing"] * p["dc_last"][:, None], correct)
    gates, h, c = [], p["h0"], p["c0"]
    for t in range(T):
        a = p["x"][:, t] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"]
        gates.append(sigmoid(a[:, :H]))
        step = lstm_step({"x": p["x"][:, t], "h_prev": h, "c_prev": c,
                          **{k: p[k] for k in WEIGHTS}})
        h, c = step["h_next"], step["c_next"]
    product = np.stack([np.prod(gates[k:], axis=0) if k < T else np.ones((N, H))
                        for k in range(T + 1)], axis=1) * p["dc_last"][:, None]
    assert close(out["a product of input gates"], product)

    fb = {"x": p["x"], **{k: p[k] for k in WEIGHTS}, "forget_bias": 1.5}
    norms = ask("lstm_forget_bias_norms", **fb)
    out = by_name(diagnose.FORGET_BIAS, fb)
    assert close(out["the norms are squared"], norms**2)
    assert close(out["the forget bias is added twice"],
                 ask("lstm_forget_bias_norms", **{**fb, "forget_bias": 3.0}))
    moved = p["b_ih"].copy()
    moved[:H] += 1.5
    assert close(out["the bias went to the i block"],
                 ask("lstm_forget_bias_norms", **{**fb, "b_ih": moved, "forget_bias": 0.0}))

    sizes = {"input_size": 10, "hidden_size": 20, "num_layers": 2}
    counts = by_name(diagnose.PARAMETER_COUNTS, sizes)
    assert ask("torch_parameter_counts", **sizes) == {"rnn": 1480, "gru": 4440, "lstm": 5920}
    assert counts["one bias per gate block"]["gru"] == 3 * 20 * (10 + 20 + 1) + 3 * 20 * 41
    assert counts["stacked layers read the input"]["lstm"] == 2 * 4 * 20 * (10 + 20 + 2)
    assert counts["only one layer counted"]["rnn"] == 20 * 32
    assert counts["no biases"]["rnn"] == 20 * 30 + 20 * 40


def test_catalogues_have_unique_names_and_describe_themselves() -> None:
    for catalogue in (diagnose.LSTM_STEP, diagnose.GRU_STEP, diagnose.LSTM_STEP_GRADS,
                      diagnose.GRU_STEP_GRADS, diagnose.LSTM_SEQUENCE, diagnose.GRU_SEQUENCE,
                      diagnose.LSTM_SEQUENCE_GRADS, diagnose.GRU_SEQUENCE_GRADS,
                      diagnose.CELL_STATE, diagnose.FORGET_BIAS, diagnose.PARAMETER_COUNTS):
        names = [m.name for m in catalogue]
        assert len(names) == len(set(names))
        for mistake in catalogue:
            assert mistake.describe() == f"{mistake.name}: {mistake.explanation}"
            assert len(mistake.name) <= 60, mistake.name
    assert len([m for m in diagnose.LSTM_STEP if m.name.startswith("gates in the order")]) == 22
