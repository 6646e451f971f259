# ruff: noqa: E501  (the table of buggy implementations is data: one edit per line)
"""Diagnosis by probing (issue 15): every deliberately buggy LSTM or GRU gets a named mistake
or a localisation, forward and backward, explained offline from the recorded fixtures.

Each buggy implementation is the instructor's solution with one edit (a test double, like the
wrong submissions). It runs the visible cases of one test in this process against the
recorded oracle answers only (:class:`~rnncourse.exercise.replay.Replay`, no live torch), the
way the learner's kernel checks, and the failure's first line must lead with the expected
words within its first 80 characters (``nbgrader validate`` shows about 90).
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnncourse.exercise import fixtures_path, probing
from rnncourse.exercise.replay import Replay
from rnncourse.exercise.tester import CheckError, InKernelStudent
from rnncourse.judge.engine import hidden_cases, hidden_rng, load_hidden
from rnncourse.suites import load, run_cases

ROOT = Path(__file__).resolve().parents[1]
FALLBACK = "no classic mistake"


@functools.cache
def source_cells(name: str) -> tuple[str, dict[str, str]]:
    """The set-up cell and the answer cells of the solution notebook."""
    nb = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    setup = next(c.source for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "setup")
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
               if c.metadata["nbgrader"].get("solution") and c.cell_type == "code"}
    return setup, answers


def buggy(name: str, edits: dict[str, tuple[str, str]]) -> dict:
    """The notebook namespace of the solution with ``edits`` (each ``old`` found once)."""
    setup, answers = source_cells(name)
    namespace: dict = {"__name__": "__main__"}
    exec(setup, namespace)
    for gid, source in answers.items():
        if gid in edits:
            old, new = edits[gid]
            assert source.count(old) == 1, (gid, old)
            source = source.replace(old, new)
        exec(source, namespace)
    return namespace


def first_failure(name: str, edits: dict, grade_id: str) -> str:
    """The message of ``grade_id``'s visible cases on the buggy notebook, replayed offline."""
    spec = load(name).tests[grade_id]
    oracle = Replay(fixtures_path(name))
    with pytest.raises(CheckError) as failure:
        list(run_cases(spec, InKernelStudent(buggy(name, edits)), oracle, spec.visible))
    return str(failure.value)


F, B, S, SB = "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"
LSTM_BUGS = [
    # forward step: named
    ("order_ifog", {F: ("g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:])",
                        "o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])")},
     "test_lstm_step_forward", "gates in the order i, f, o, g: torch stacks"),
    ("missing_b_hh", {F: ("a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh",
                          "a = x @ W_ih.T + b_ih + h_prev @ W_hh.T")},
     "test_lstm_step_forward", "missing hidden bias: torch adds both biases"),
    ("h_misses_tanh", {F: ("h_next = o * tanh_c", "h_next = o * c_next")},
     "test_lstm_step_forward",
     "c_next matches; h_next is wrong: the tanh is missing: h_next = o * tanh(c_next)"),
    ("h_from_c_prev", {F: ("tanh_c = np.tanh(c_next)", "tanh_c = np.tanh(c_prev)")},
     "test_lstm_step_forward", "c_next matches; h_next is wrong: h_next uses the old cell"),
    ("sigmoid_candidate", {F: ("g = np.tanh(a[:, 2 * H:3 * H])", "g = sigmoid(a[:, 2 * H:3 * H])")},
     "test_lstm_step_forward", "the candidate g uses a sigmoid"),
    # forward step: localised by probes
    ("b_ho_missing", {F: ("o = sigmoid(a[:, 3 * H:])", "o = sigmoid(a[:, 3 * H:] - b_hh[3 * H:])")},
     "test_lstm_step_forward",
     "c_next matches; h_next is wrong: look at where b_ho enters: h_next matches torch"),
    ("g_without_W_hg", {F: ("g = np.tanh(a[:, 2 * H:3 * H])",
                            "g = np.tanh(a[:, 2 * H:3 * H] - h_prev @ W_hh[2 * H:3 * H].T)")},
     "test_lstm_step_forward", "Look at where W_hg enters: h_next and c_next match torch"),
    ("i_with_b_ii_twice", {F: ("i = sigmoid(a[:, :H])", "i = sigmoid(a[:, :H] + b_ih[:H])")},
     "test_lstm_step_forward", "Look at where b_ii enters"),
    ("sigmoid_sign", {F: ("i = sigmoid(a[:, :H])\n    f = sigmoid(a[:, H:2 * H])",
                          "i = 1 / (1 + np.exp(a[:, :H]))\n    f = 1 / (1 + np.exp(a[:, H:2 * H]))")},
     "test_lstm_step_forward", "Look at your sigmoid gates"),
    ("forget_gate_on_h_prev", {F: ("c_next = f * c_prev + i * g", "c_next = f * h_prev + i * g")},
     "test_lstm_step_forward", "Look at c_next = f * c_prev + i * g: h_next and c_next are wrong"),
    ("h_scaled", {F: ("h_next = o * tanh_c", "h_next = 2 * o * tanh_c")},
     "test_lstm_step_forward", "c_next matches; h_next is wrong: look at h_next = o * tanh(c_next)"),
    ("forward_cascades", {F: ("a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh",
                              "a = x @ W_ih.T + b_ih + h_prev @ W_hh.T")},
     "test_lstm_step_backward_params", "Fix lstm_step_forward first"),
    # backward step: named
    ("dc_without_tanh_derivative", {B: ("dc = dc_next + dh_next * o * (1.0 - tanh_c**2)",
                                        "dc = dc_next + dh_next * o")},
     "test_lstm_step_backward_inputs", "dc misses the tanh derivative"),
    ("dc_next_dropped", {B: ("dc = dc_next + dh_next * o * (1.0 - tanh_c**2)",
                             "dc = dh_next * o * (1.0 - tanh_c**2)")},
     "test_lstm_step_backward_params", "dc_next is dropped"),
    ("dc_prev_without_f", {B: ('"c_prev": dc * f', '"c_prev": dc')},
     "test_lstm_step_backward_inputs", "dc_prev misses the forget gate"),
    ("do_from_c", {B: ("do = dh_next * tanh_c", "do = dh_next * np.arctanh(tanh_c)")},
     "test_lstm_step_backward_params", "do uses c_next"),
    ("g_sigmoid_derivative", {B: ("dg * (1.0 - g**2)", "dg * g * (1.0 - g)")},
     "test_lstm_step_backward_params", "g's derivative is a sigmoid's"),
    # backward step: localised
    ("df_from_c_next", {B: ('df = dc * cache["c_prev"]', 'df = dc * (f * cache["c_prev"] + i * g)')},
     "test_lstm_step_backward_params", "Look at the f gate (df = dc * c_prev"),
    ("df_from_c_next_inputs", {B: ('df = dc * cache["c_prev"]',
                                   'df = dc * (f * cache["c_prev"] + i * g)')},
     "test_lstm_step_backward_inputs", "Look at the f gate's gradient"),
    ("di_without_sigmoid_derivative", {B: ("di * i * (1.0 - i)", "di")},
     "test_lstm_step_backward_params", "Look at the i gate (di = dc * g"),
    ("dW_hh_from_c_prev", {B: ('"W_hh": da.T @ cache["h_prev"]', '"W_hh": da.T @ cache["c_prev"]')},
     "test_lstm_step_backward_params", "Look at dW_hh = da.T @ h_prev: db_hh is right"),
    ("dx_scaled", {B: ('"x": da @ cache["W_ih"]', '"x": 1.5 * da @ cache["W_ih"]')},
     "test_lstm_step_backward_inputs", "Look at dx = da @ W_ih: db_ih is right"),
    ("dW_ih_transposed", {B: ('"W_ih": da.T @ cache["x"]', '"W_ih": cache["x"].T @ da')},
     "test_lstm_step_backward_params", "lstm_step_backward['W_ih'] is transposed: use da.T @ x"),
    ("db_not_summed", {B: ('"b_ih": da.sum(axis=0)', '"b_ih": da')},
     "test_lstm_step_backward_params", "lstm_step_backward['b_ih'] is not summed over the batch"),
    # a sequence forward
    ("c_not_carried", {S: ("h, c, step_cache = lstm_step_forward(",
                           "h, _, step_cache = lstm_step_forward(")},
     "test_lstm_forward", "c is not carried"),
    ("h0_ignored", {S: ("h, c = h0, c0", "h, c = np.zeros_like(h0), c0")},
     "test_lstm_forward", "Look at how h0 starts the loop: hs matches torch whenever h0 is zero"),
    ("c_decays_after_step_1", {S: ("hs[:, t] = h", "hs[:, t] = h\n        c = c * 0.9 if t == 1 else c")},
     "test_lstm_forward", "Look at what passes from step 1 to step 2"),
    ("sequence_cascades", {F: ("h_next = o * tanh_c", "h_next = o * c_next")},
     "test_lstm_forward", "Fix lstm_step_forward first: hs[:, 0] is wrong"),
    # BPTT
    ("bptt_drops_dc", {SB: ("lstm_step_backward(dhs[:, t] + dh, dc, steps[t])",
                            "lstm_step_backward(dhs[:, t] + dh, 0 * dc, steps[t])")},
     "test_lstm_backward_inputs", "the cell-state gradient from step t+1 is missing"),
    ("bptt_drops_dh", {SB: ("lstm_step_backward(dhs[:, t] + dh, dc, steps[t])",
                            "lstm_step_backward(dhs[:, t], dc, steps[t])")},
     "test_lstm_backward_params", "the gradient from step t+1 is missing"),
    ("bptt_overwrites", {SB: ("grads[k] += step[k]", "grads[k] = step[k]")},
     "test_lstm_backward_params", "the weights' gradients are overwritten"),
    ("bptt_dh_halved", {SB: ('dh, dc = step["h_prev"], step["c_prev"]',
                             'dh, dc = 0.5 * step["h_prev"], step["c_prev"]')},
     "test_lstm_backward_inputs", "Look at what flows back from step 4 to step 3"),
    ("bptt_skips_step_0", {SB: ("for t in reversed(range(len(steps))):",
                                "for t in reversed(range(1, len(steps))):")},
     "test_lstm_backward_params", "Look at how you call lstm_step_backward"),
    ("bptt_cascades", {B: ('"c_prev": dc * f', '"c_prev": dc')},
     "test_lstm_backward_params", "Look at what flows from step t+1 back to step t"),
    # the cell state and the forget bias
    ("carousel_input_gate", {"cell_state_gradient": ('steps[t]["f"]', 'steps[t]["i"]')},
     "test_cell_state_gradient", "a product of input gates"),
    ("carousel_off_by_one", {"cell_state_gradient": ('steps[t]["f"]', 'steps[max(t - 1, 0)]["f"]')},
     "test_cell_state_gradient", "Look at the step from c_6 back to c_5"),
    ("forget_bias_on_input_gate", {"forget_bias_gradients": ("b[H:2 * H] += forget_bias",
                                                             "b[:H] += forget_bias")},
     "test_forget_bias_gradients", "the bias went to the i block"),
    ("forget_bias_in_place", {"forget_bias_gradients": ("b = b_ih.copy()", "b = b_ih")},
     "test_forget_bias_gradients", "b_ih after forget_bias_gradients is wrong"),
    ("forget_bias_norm_is_a_mean", {"forget_bias_gradients": (".sum(axis=(0, 2))",
                                                              ".mean(axis=(0, 2))")},
     "test_forget_bias_gradients", "Look at the loss and the norms"),
]

GF, GB, GS, GSB = "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward"
GRU_BUGS = [
    ("reset_before_matmul", {GF: ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                                  "n = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T "
                                  "+ b_hh[2 * H:])")},
     "test_gru_step_forward", "reset gate applied before the matmul"),
    ("z_swapped", {GF: ("h_next = (1.0 - z) * n + z * h_prev", "h_next = z * n + (1.0 - z) * h_prev")},
     "test_gru_step_forward", "z and (1 - z) swapped"),
    ("missing_b_hh", {GF: ("ah = h_prev @ W_hh.T + b_hh", "ah = h_prev @ W_hh.T")},
     "test_gru_step_forward", "missing hidden bias"),
    ("order_zrn", {GF: ("r = sigmoid(ax[:, :H] + ah[:, :H])\n    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])",
                        "z = sigmoid(ax[:, :H] + ah[:, :H])\n    r = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])")},
     "test_gru_step_forward", "gates in the order z, r, n"),
    ("b_hn_outside_reset", {GF: ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                                 "n = np.tanh(ax[:, 2 * H:] + r * (hn - b_hh[2 * H:]) + b_hh[2 * H:])")},
     "test_gru_step_forward",
     "Look at where b_hn enters: h_next matches torch whenever b_hh's n block is zero"),
    ("reset_on_input_side", {GF: ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                                  "n = np.tanh(r * ax[:, 2 * H:] + hn)")},
     "test_gru_step_forward", "Look at how n is computed and used"),
    ("z_without_W_hz", {GF: ("z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])",
                             "z = sigmoid(ax[:, H:2 * H] + b_hh[H:2 * H])")},
     "test_gru_step_forward", "Look at where W_hz enters"),
    ("sigmoid_sign", {GF: ("r = sigmoid(ax[:, :H] + ah[:, :H])", "r = 1 / (1 + np.exp(ax[:, :H] + ah[:, :H]))")},
     "test_gru_step_forward", "Look at how r is computed and used"),
    ("update_scaled", {GF: ("h_next = (1.0 - z) * n + z * h_prev",
                            "h_next = (1.0 - z) * n + 0.9 * z * h_prev")},
     "test_gru_step_forward", "Look at h_next = (1 - z) * n + z * h_prev: h_next is wrong even"),
    ("forward_cascades", {GF: ("ah = h_prev @ W_hh.T + b_hh", "ah = h_prev @ W_hh.T")},
     "test_gru_step_backward_inputs", "Fix gru_step_forward first"),
    ("no_reset_path", {GB: ("dar = dan * hn * r * (1.0 - r)", "dar = 0 * dan")},
     "test_gru_step_backward_inputs", "the reset gate's path is missing"),
    ("dr_from_h_prev", {GB: ("dar = dan * hn * r * (1.0 - r)", "dar = dan * h_prev * r * (1.0 - r)")},
     "test_gru_step_backward_params", "dr uses h_prev"),
    ("hidden_n_without_r", {GB: ("dah = np.concatenate([dar, daz, dan * r], axis=1)",
                                 "dah = np.concatenate([dar, daz, dan], axis=1)")},
     "test_gru_step_backward_params", "the hidden n block misses r"),
    ("db_hh_is_db_ih", {GB: ('"b_hh": dah.sum(axis=0)', '"b_hh": dax.sum(axis=0)')},
     "test_gru_step_backward_params", "db_hh is db_ih"),
    ("no_direct_path", {GB: ('"h_prev": dah @ cache["W_hh"] + dh_next * z', '"h_prev": dah @ cache["W_hh"]')},
     "test_gru_step_backward_inputs", "dh_prev misses the direct path"),
    ("dz_sign", {GB: ("dz = dh_next * (h_prev - n)", "dz = dh_next * (n - h_prev)")},
     "test_gru_step_backward_inputs", "dz has the wrong sign"),
    ("dn_without_tanh_derivative", {GB: ("dan = dn * (1.0 - n**2)", "dan = dn")},
     "test_gru_step_backward_params", "dn misses the tanh derivative"),
    ("dz_without_sigmoid_derivative", {GB: ("daz = dz * z * (1.0 - z)", "daz = dz * z")},
     "test_gru_step_backward_params", "Look at the z gate (dz = dh_next * (h_prev - n)"),
    ("dz_without_sigmoid_derivative_inputs", {GB: ("daz = dz * z * (1.0 - z)", "daz = dz * z")},
     "test_gru_step_backward_inputs", "Look at the z gate's gradient"),
    ("dW_ih_scaled", {GB: ('"W_ih": dax.T @ cache["x"]', '"W_ih": 2 * dax.T @ cache["x"]')},
     "test_gru_step_backward_params", "Look at dW_ih = da_x.T @ x: db_ih is right"),
    ("dW_hh_transposed", {GB: ('"W_hh": dah.T @ h_prev', '"W_hh": h_prev.T @ dah')},
     "test_gru_step_backward_params", "gru_step_backward['W_hh'] is transposed"),
    ("sequence_not_carried", {GS: ("gru_step_forward(x[:, t], h, W_ih", "gru_step_forward(x[:, t], h0, W_ih")},
     "test_gru_forward", "the state is not carried"),
    ("sequence_shifted", {GS: ("hs[:, t] = h\n", "hs[:, t] = h0 if t == 0 else hs_prev\n        hs_prev = h\n")},
     "test_gru_forward", "hs[:, t] is the state before step t"),
    ("h0_ignored", {GS: ("h = h0\n", "h = 0 * h0\n")},
     "test_gru_forward", "Look at how h0 starts the loop"),
    ("bptt_drops_dh", {GSB: ("gru_step_backward(dhs[:, t] + dh_carry, step_caches[t])",
                             "gru_step_backward(dhs[:, t], step_caches[t])")},
     "test_gru_backward_inputs", "the gradient from step t+1 is missing"),
    ("bptt_only_last_dhs", {GSB: ("gru_step_backward(dhs[:, t] + dh_carry, step_caches[t])",
                                  "gru_step_backward(dhs[:, t] * (t == len(step_caches) - 1) "
                                  "+ dh_carry, step_caches[t])")},
     "test_gru_backward_params", "only dhs[:, -1] is used"),
    ("bptt_keeps_last_step_only", {GSB: ("sums[name] + step[name] if name in sums",
                                         "sums[name] if name in sums")},
     "test_gru_backward_params", "the weights' gradients come from one step"),
    ("bptt_dh_halved", {GSB: ('dh_carry = step["h_prev"]', 'dh_carry = 0.5 * step["h_prev"]')},
     "test_gru_backward_inputs", "Look at what flows back from step 4 to step 3"),
    ("bptt_skips_step_0", {GSB: ("range(len(step_caches) - 1, -1, -1)",
                                 "range(len(step_caches) - 1, 0, -1)")},
     "test_gru_backward_inputs", "Look at what flows back from step 1 to step 0"),
    ("bptt_cascades", {GB: ("dar = dan * hn * r * (1.0 - r)", "dar = 0 * dan")},
     "test_gru_backward_params", "Fix gru_step_backward first"),
    ("counts_one_bias", {"parameter_counts": ("(d + hidden_size + 2)", "(d + hidden_size + 1)")},
     "test_parameter_counts", "one bias per gate block"),
    ("counts_stack_reads_input", {"parameter_counts": ("layer(gates, hidden_size)",
                                                       "layer(gates, input_size)")},
     "test_parameter_counts", "stacked layers read the input"),
    ("counts_stack_doubled", {"parameter_counts": ("layer(gates, hidden_size)",
                                                   "layer(gates, 2 * hidden_size)")},
     "test_parameter_counts", "Look at the layers after the first: the rnn count is right for"),
]

CASES = [("lstm_cell", *bug) for bug in LSTM_BUGS] + [("gru_cell", *bug) for bug in GRU_BUGS]


@pytest.mark.parametrize(("name", "bug", "edits", "grade_id", "lead"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_buggy_implementation_is_named_or_localised(name: str, bug: str, edits: dict,
                                                          grade_id: str, lead: str) -> None:
    message = first_failure(name, edits, grade_id)
    first = message.splitlines()[0]
    assert lead in first[:80 + len(lead)] and first.index(lead) + len(lead) <= 90, first
    assert FALLBACK not in first, first
    assert len(message.splitlines()) >= 1


def test_the_solution_passes_against_the_recording_alone() -> None:
    """The recorded answers hold every question the solution's checks ask, explanations
    included (the recording asks them even when a check passes)."""
    for name in ("lstm_cell", "gru_cell"):
        namespace = buggy(name, {})
        oracle = Replay(fixtures_path(name))
        for spec in load(name).tests.values():
            assert len(list(run_cases(spec, InKernelStudent(namespace), oracle,
                                      spec.visible))) == len(spec.visible)


def test_a_hidden_case_explains_without_showing_inputs() -> None:
    """With the live oracle on a hidden case, the localisation is given, inputs are not."""
    from rnncourse.oracles import ask

    name = "gru_cell"
    spec = load(name).tests["test_gru_step_forward"]
    cases = hidden_cases(load_hidden(ROOT / "solutions" / name), hidden_rng(name, "x", b"s"))
    namespace = buggy(name, {GF: ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                                  "n = np.tanh(ax[:, 2 * H:] + r * (hn - b_hh[2 * H:]) + "
                                  "b_hh[2 * H:])")})
    with pytest.raises(CheckError) as failure:
        list(run_cases(spec, InKernelStudent(namespace), ask, cases[spec.grade_id][1:],
                       hidden=True))
    message = str(failure.value)
    assert message.startswith("Hidden case 1 of 2: Look at where b_hn enters"), message
    assert "N=" not in message and "seed" not in message


def test_the_learners_kernel_explains_without_torch() -> None:
    """A buggy step checked in a fresh interpreter: named offline, torch never imported."""
    setup, answers = source_cells("lstm_cell")
    answers = {**answers, F: answers[F].replace("h_next = o * tanh_c", "h_next = o * c_next")}
    code = f"""
import sys
from rnncourse.exercise import Checker
namespace = {{"__name__": "__main__"}}
for source in {[setup, *answers.values()]!r}:
    exec(source, namespace)
try:
    Checker("lstm_cell", namespace=namespace)("test_lstm_step_forward")
except AssertionError as error:
    print(str(error).splitlines()[0])
print("torch" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("c_next matches; h_next is wrong: the tanh is missing"), lines
    assert lines[-1] == "False", "the learner's kernel imported torch"
    assert result.stderr == ""


# --- the probing module's parts ---------------------------------------------------------------


def test_agrees_rejects_other_shapes_types_and_nan() -> None:
    a = np.arange(1.0, 7.0).reshape(2, 3)
    assert probing.agrees(a, a * (1 + 1e-9))
    assert not probing.agrees(a, a.T)
    assert not probing.agrees(None, a) and not probing.agrees("x", a)
    assert not probing.agrees(np.full((2, 3), np.nan), a)
    assert not probing.agrees(a * 1.001, a)
    assert probing.agrees_all({"h": a}, {"h": a}) and not probing.agrees_all(None, {"h": a})


def test_named_prefers_the_mistake_that_explains_most_keys() -> None:
    right = {"x": np.ones(3), "b": np.ones(3)}
    mistakes = [["only b", "b only", {"x": np.ones(3), "b": np.zeros(3)}],
                ["both", "x and b", {"x": np.full(3, 2.0), "b": np.zeros(3)}],
                ["no change", "nothing", dict(right)]]
    learner = {"x": np.full(3, 2.0), "b": np.zeros(3)}
    assert probing.named(learner["b"], right, mistakes, "b", whole=learner) == "both: x and b"
    assert probing.named(learner["b"], right, mistakes, "b") == "only b: b only"
    assert probing.named(np.ones(3), right, mistakes, "b") is None  # a right answer


def test_shape_problems_are_named() -> None:
    expected = np.arange(12.0).reshape(4, 3)
    assert "is transposed: use da.T @ x" in probing.shape_problem(
        "dW", expected.T.copy(), expected, "da.T @ x")
    assert "has the transposed shape" in probing.shape_problem("dW", np.zeros((3, 4)), expected)
    bias = np.zeros(4)
    assert "not summed over the batch" in probing.shape_problem("db", np.zeros((5, 4)), bias)
    assert "batch axis 0" in probing.shape_problem("db", np.zeros(5), bias)
    assert "has shape (2,)" in probing.shape_problem("dx", np.zeros(2), expected)
    assert probing.shape_problem("dW", expected, expected) is None


def test_step_probes_switch_off_one_part_and_isolate_gates() -> None:
    from rnncourse.suites.gru_cell import GRU, random_gru

    p = random_gru(0, 2, 3, 4)
    probes = probing.step_probes(GRU, p)
    assert probes[0].kind == "frozen" and not any(np.any(probes[0].inputs[k])
                                                  for k in probing.WEIGHTS)
    b_hn = next(pr for pr in probes if pr.when == "b_hh's n block is zero")
    assert b_hn.look == "where b_hn enters"
    assert not np.any(b_hn.inputs["b_hh"][8:]) and np.all(b_hn.inputs["b_hh"][:8] == p["b_hh"][:8])
    assert np.all(p["b_hh"][8:] != 0), "the probe changed a copy, not the test's inputs"
    assert [pr.gate for pr in probes if pr.kind == "only"] == ["r", "z", "n"]
    assert len({pr.when for pr in probes}) == len(probes)
    assert probing.symbol("W_ih", "r") == "W_ir" and probing.symbol("b_hh", "o") == "b_ho"


def test_guarded_turns_errors_into_none(capfd: pytest.CaptureFixture[str]) -> None:
    def broken(_):
        raise ValueError("no")

    def noisy(_):
        return np.log(np.zeros(2))  # a numpy warning must not reach stderr

    assert probing.guarded(broken)({}) is None
    assert probing.guarded(noisy)({}) is not None
    assert capfd.readouterr().err == ""
