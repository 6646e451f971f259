"""Wrong submissions for ``rnn_cell``: classic mistakes and the points each must cost.

The sequence functions reuse the step functions, so a broken step also breaks the sequence
tests; the gradient-check tests use the torch reference and depend only on the checker.
"""

from . import WrongSubmission

_FORWARD_AND_ALL_GRADIENTS = {
    "test_rnn_step_forward": 2,
    "test_rnn_step_backward_inputs": 2,
    "test_rnn_step_backward_params": 2,
    "test_rnn_forward": 2,
    "test_rnn_backward_inputs": 2,
    "test_rnn_backward_params": 2,
}

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "missing_b_hh",
        edits={"rnn_step_forward": ("h_prev @ W_hh.T + b_hh", "h_prev @ W_hh.T")},
        lost=_FORWARD_AND_ALL_GRADIENTS,
    ),
    WrongSubmission(
        "always_equal_object",
        edits={
            "rnn_step_forward": (
                "h_next = np.tanh(a)",
                "h_next = type('AlwaysEqual', (), {'__eq__': lambda s, o: True})()",
            )
        },
        lost=_FORWARD_AND_ALL_GRADIENTS,
    ),
    WrongSubmission(
        "db_hh_without_tanh_derivative",
        edits={"rnn_step_backward": ('"b_hh": da.sum(axis=0)', '"b_hh": dh_next.sum(axis=0)')},
        lost={"test_rnn_step_backward_params": 2, "test_rnn_backward_params": 2},
    ),
    WrongSubmission(
        "transposed_W_hh_in_dh_prev",
        edits={"rnn_step_backward": ('"h_prev": da @ W_hh,', '"h_prev": da @ W_hh.T,')},
        lost={
            "test_rnn_step_backward_inputs": 2,
            "test_rnn_backward_inputs": 2,
            "test_rnn_backward_params": 2,
        },
    ),
    WrongSubmission(
        "bptt_drops_gradient_from_next_step",
        edits={
            "rnn_backward": (
                "rnn_step_backward(dhs[:, t] + dh, caches[t])",
                "rnn_step_backward(dhs[:, t], caches[t])",
            )
        },
        lost={"test_rnn_backward_inputs": 2, "test_rnn_backward_params": 2},
    ),
    WrongSubmission(
        "gradient_check_skips_biases",
        edits={
            "numeric_gradient_impl": (
                "for name, value in inputs.items():",
                'for name, value in [(k, v) for k, v in inputs.items() if not k.startswith("b")]:',
            )
        },
        lost={"test_gradient_check": 2},
    ),
    WrongSubmission(
        "numeric_gradient_ignores_df",
        edits={
            "numeric_gradient_impl": (
                "np.sum((plus - minus) * df)",
                "np.sum(plus - minus)",
            )
        },
        lost={"test_numeric_gradient": 2, "test_gradient_check": 2},
    ),
]
