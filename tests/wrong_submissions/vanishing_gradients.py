"""Wrong submissions for ``vanishing_gradients`` and the points each must cost.

``jacobian_products`` reuses ``step_jacobian``, ``gradient_norms`` reuses both, and the
experiment reuses everything, so an early mistake also costs the later parts.
"""

from . import WrongSubmission

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "jacobian_without_tanh_derivative",
        edits={"jacobians": ("return (1.0 - h_next**2)[:, None] * W_hh", "return W_hh.copy()")},
        lost={
            "test_step_jacobian": 2,
            "test_jacobian_products": 3,
            "test_gradient_norms": 2,
            "test_experiment": 2,
        },
    ),
    WrongSubmission(
        "jacobian_product_in_wrong_order",
        edits={
            "jacobians": (
                "P[t] = P[t + 1] @ step_jacobian(hs[t], W_hh)",
                "P[t] = step_jacobian(hs[t], W_hh) @ P[t + 1]",
            )
        },
        lost={"test_jacobian_products": 3, "test_gradient_norms": 2, "test_experiment": 2},
    ),
    WrongSubmission(
        "frobenius_instead_of_spectral_norm",
        edits={"scale_to_spectral_norm": ("np.linalg.norm(W, ord=2)", "np.linalg.norm(W)")},
        lost={"test_scale_to_spectral_norm": 1, "test_experiment": 2},
    ),
    WrongSubmission(
        "log10_slope",
        edits={"norms": ("np.log(norms)", "np.log10(norms)")},
        lost={"test_log_slope": 1, "test_experiment": 2},
    ),
    WrongSubmission(
        "always_equal_slope",
        edits={
            "norms": (
                "return float(np.polyfit(distance, np.log(norms), 1)[0])",
                "return type('AlwaysEqual', (), {'__eq__': lambda s, o: True})()",
            )
        },
        lost={"test_log_slope": 1, "test_experiment": 2},
    ),
    WrongSubmission(
        "clipping_each_element",
        edits={
            "clip_by_global_norm": (
                "clipped = {name: np.asarray(g) * scale for name, g in grads.items()}",
                "clipped = {name: np.clip(g, -threshold, threshold) for name, g in grads.items()}",
            )
        },
        lost={"test_clip_by_global_norm": 2},
    ),
    WrongSubmission(
        "clipping_below_the_threshold_too",
        edits={
            "clip_by_global_norm": (
                "scale = threshold / norm if norm > threshold else 1.0",
                "scale = threshold / norm",
            )
        },
        lost={"test_clip_by_global_norm": 2},
    ),
]
