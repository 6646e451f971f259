"""Wrong submissions for ``gru_cell``: classic mistakes and the points each must cost.

The backward tests run the learner's forward step to get the cache, so a broken forward step
also breaks both backward tests and everything over a sequence; the parameter count is
independent of the cell. Points follow the rubric (:mod:`rnncourse.suites.rubric`): a forward
pass 2, one half of a gated backward pass 3, a count 1.
"""

from . import WrongSubmission

_FORWARD_AND_BACKWARD = {
    "test_gru_step_forward": 2,
    "test_gru_step_backward_inputs": 3,
    "test_gru_step_backward_params": 3,
    "test_gru_forward": 2,
    "test_gru_backward_inputs": 3,
    "test_gru_backward_params": 3,
}
_SEQUENCE = {"test_gru_forward": 2, "test_gru_backward_inputs": 3, "test_gru_backward_params": 3}

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "reset_before_matmul",
        edits={
            "gru_step_forward": (
                "n = np.tanh(ax[:, 2 * H:] + r * hn)",
                "n = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ W_hh[2 * H:].T + b_hh[2 * H:])",
            )
        },
        lost=_FORWARD_AND_BACKWARD,
    ),
    WrongSubmission(
        "z_and_one_minus_z_swapped",
        edits={
            "gru_step_forward": (
                "h_next = (1.0 - z) * n + z * h_prev",
                "h_next = z * n + (1.0 - z) * h_prev",
            )
        },
        # the cache (r, z, n) is unchanged, so the step backward tests still pass; a sequence
        # follows another trajectory
        lost={"test_gru_step_forward": 2, **_SEQUENCE},
    ),
    WrongSubmission(
        "missing_b_hh",
        edits={"gru_step_forward": ("ah = h_prev @ W_hh.T + b_hh", "ah = h_prev @ W_hh.T")},
        lost=_FORWARD_AND_BACKWARD,
    ),
    WrongSubmission(
        "db_hh_ignores_reset_gate",
        edits={"gru_step_backward": ('"b_hh": dah.sum(axis=0)', '"b_hh": dax.sum(axis=0)')},
        lost={"test_gru_step_backward_params": 3, "test_gru_backward_params": 3},
    ),
    WrongSubmission(
        "dh_prev_misses_direct_path",
        edits={
            "gru_step_backward": (
                '"h_prev": dah @ cache["W_hh"] + dh_next * z',
                '"h_prev": dah @ cache["W_hh"]',
            )
        },
        lost={"test_gru_step_backward_inputs": 3, "test_gru_backward_inputs": 3,
              "test_gru_backward_params": 3},
    ),
    WrongSubmission(
        "counts_one_bias_per_gate",
        edits={
            "parameter_counts": (
                "gates * hidden_size * (d + hidden_size + 2)",
                "gates * hidden_size * (d + hidden_size + 1)",
            )
        },
        lost={"test_parameter_counts": 1},
    ),
    WrongSubmission(
        # right for one layer: the visible two-layer case catches it
        "counts_stacked_layers_read_the_input",
        edits={
            "parameter_counts": (
                "(num_layers - 1) * layer(gates, hidden_size)",
                "(num_layers - 1) * layer(gates, input_size)",
            )
        },
        lost={"test_parameter_counts": 1},
    ),
    WrongSubmission(
        # issue 15's localisation example: right whenever b_hh's n block is zero
        "b_hn_outside_the_reset_gate",
        edits={"gru_step_forward": ("n = np.tanh(ax[:, 2 * H:] + r * hn)",
                                    "n = np.tanh(ax[:, 2 * H:] + r * (hn - b_hh[2 * H:]) "
                                    "+ b_hh[2 * H:])")},
        lost=_FORWARD_AND_BACKWARD,
    ),
    WrongSubmission(
        "bptt_drops_gradient_from_next_step",
        edits={"gru_backward": ("gru_step_backward(dhs[:, t] + dh_carry, step_caches[t])",
                                "gru_step_backward(dhs[:, t], step_caches[t])")},
        lost={"test_gru_backward_inputs": 3, "test_gru_backward_params": 3},
    ),
    WrongSubmission(
        "bptt_overwrites_weight_gradients",
        edits={"gru_backward": (
            "sums[name] = sums[name] + step[name] if name in sums else step[name].copy()",
            "sums[name] = step[name]")},
        lost={"test_gru_backward_params": 3},
    ),
]
