"""Wrong submissions for ``lstm_cell``: classic mistakes and the points each must cost.

Everything after part 1 reuses ``lstm_step_forward``, so a broken forward step breaks every
test that runs it; a broken backward step breaks the backward tests and the forget-bias
experiment (which backpropagates through time), but not the forward pass or the cell-state
product. Points follow the rubric (:mod:`rnncourse.suites.rubric`): a forward pass 2, one half
of a gated backward pass 3, the carousel product 2, the experiment 2.
"""

from . import WrongSubmission

_ALL = {
    "test_lstm_step_forward": 2,
    "test_lstm_step_backward_inputs": 3,
    "test_lstm_step_backward_params": 3,
    "test_lstm_forward": 2,
    "test_lstm_backward_inputs": 3,
    "test_lstm_backward_params": 3,
    "test_cell_state_gradient": 2,
    "test_forget_bias_gradients": 2,
}
_BPTT = {"test_lstm_backward_inputs": 3, "test_lstm_backward_params": 3,
         "test_forget_bias_gradients": 2}

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "gates_in_order_ifog",
        edits={
            "lstm_step_forward": (
                "g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:])",
                "o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:])",
            )
        },
        lost=_ALL,
    ),
    WrongSubmission(
        "missing_b_hh",
        edits={
            "lstm_step_forward": (
                "a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh",
                "a = x @ W_ih.T + b_ih + h_prev @ W_hh.T",
            )
        },
        lost=_ALL,
    ),
    WrongSubmission(
        # issue 15's example: c_next matches, h_next misses the tanh; the step backward still
        # passes (its cache holds tanh(c_next)), every test that runs a sequence does not
        "h_misses_tanh",
        edits={"lstm_step_forward": ("h_next = o * tanh_c", "h_next = o * c_next")},
        lost={k: v for k, v in _ALL.items() if "step_backward" not in k},
    ),
    WrongSubmission(
        "b_ho_missing_from_the_output_gate",
        edits={"lstm_step_forward": ("o = sigmoid(a[:, 3 * H:])",
                                     "o = sigmoid(a[:, 3 * H:] - b_hh[3 * H:])")},
        lost=_ALL,  # the cached o is wrong too
    ),
    WrongSubmission(
        "dW_hh_from_c_prev",
        edits={
            "lstm_step_backward": (
                '"W_hh": da.T @ cache["h_prev"]',
                '"W_hh": da.T @ cache["c_prev"]',
            )
        },
        lost={"test_lstm_step_backward_params": 3, "test_lstm_backward_params": 3},
    ),
    WrongSubmission(
        "dc_without_tanh_derivative",
        edits={
            "lstm_step_backward": (
                "dc = dc_next + dh_next * o * (1.0 - tanh_c**2)",
                "dc = dc_next + dh_next * o",
            )
        },
        lost={"test_lstm_step_backward_inputs": 3, "test_lstm_step_backward_params": 3,
              **_BPTT},
    ),
    WrongSubmission(
        "bptt_drops_cell_gradient",
        edits={
            "lstm_backward": (
                "lstm_step_backward(dhs[:, t] + dh, dc, steps[t])",
                "lstm_step_backward(dhs[:, t] + dh, np.zeros_like(dc), steps[t])",
            )
        },
        lost=_BPTT,
    ),
    WrongSubmission(
        "bptt_drops_hidden_gradient",
        edits={
            "lstm_backward": (
                "lstm_step_backward(dhs[:, t] + dh, dc, steps[t])",
                "lstm_step_backward(dhs[:, t], dc, steps[t])",
            )
        },
        lost=_BPTT,
    ),
    WrongSubmission(
        "carousel_uses_input_gate",
        edits={"cell_state_gradient": ('steps[t]["f"]', 'steps[t]["i"]')},
        lost={"test_cell_state_gradient": 2},
    ),
    WrongSubmission(
        "forget_bias_on_input_gate",
        edits={"forget_bias_gradients": ("b[H:2 * H] += forget_bias", "b[:H] += forget_bias")},
        lost={"test_forget_bias_gradients": 2},
    ),
    WrongSubmission(
        "forget_bias_modifies_b_ih_in_place",
        edits={"forget_bias_gradients": ("b = b_ih.copy()", "b = b_ih")},
        lost={"test_forget_bias_gradients": 2},
    ),
]
