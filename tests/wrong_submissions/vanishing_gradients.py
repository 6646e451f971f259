"""Wrong submissions for ``vanishing_gradients`` and the points each must cost.

Each part is graded on its own (``rnncourse/suites/vanishing_gradients.py``): a later part is
accepted when it is exactly what the learner's own earlier part gives, so a wrong
``step_jacobian`` costs ``test_step_jacobian`` only, not the products, the norms and the
experiment built on it. The experiment loses its points only for its own mistakes (a slope
that is not a number, a curve that is not what the learner's functions give).
"""

from . import WrongSubmission

WRONG_SUBMISSIONS = [
    WrongSubmission(
        "jacobian_without_tanh_derivative",
        edits={"jacobians": ("return (1.0 - h_next**2)[:, None] * W_hh", "return W_hh.copy()")},
        lost={"test_step_jacobian": 1},
    ),
    WrongSubmission(
        "jacobian_product_in_wrong_order",
        edits={
            "jacobians": (
                "P[t] = P[t + 1] @ step_jacobian(hs[t], W_hh)",
                "P[t] = step_jacobian(hs[t], W_hh) @ P[t + 1]",
            )
        },
        lost={"test_jacobian_products": 2},
    ),
    WrongSubmission(
        # hs[k] is h_{k+1}: J_{t+1} needs hs[t]; hs[t - 1] is the classic off-by-one
        "jacobian_product_index_off_by_one",
        edits={"jacobians": ("step_jacobian(hs[t], W_hh)", "step_jacobian(hs[t - 1], W_hh)")},
        lost={"test_jacobian_products": 2},
    ),
    WrongSubmission(
        "frobenius_instead_of_spectral_norm",
        edits={"scale_to_spectral_norm": ("np.linalg.norm(W, ord=2)", "np.linalg.norm(W)")},
        lost={"test_scale_to_spectral_norm": 1},
    ),
    WrongSubmission(
        "frobenius_gradient_norms",
        edits={"norms": ("np.linalg.norm(P, ord=2, axis=(1, 2))",
                         "np.linalg.norm(P, axis=(1, 2))")},
        lost={"test_gradient_norms": 1},
    ),
    WrongSubmission(
        "log10_slope",
        edits={"norms": ("np.log(norms)", "np.log10(norms)")},
        lost={"test_log_slope": 1},
    ),
    WrongSubmission(
        # the slopes the experiment stores are then not numbers either
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
        "experiment_forgets_the_rescaling",
        edits={"experiment": ("W_hh = scale_to_spectral_norm(W_hh0, sigma)", "W_hh = W_hh0")},
        lost={"test_experiment": 2},
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
    WrongSubmission(
        # an epsilon far above torch's 1e-6 changes the clipped gradients by about 1e-3
        "clipping_epsilon_too_large",
        edits={
            "clip_by_global_norm": (
                "scale = threshold / norm if norm > threshold else 1.0",
                "scale = threshold / (norm + 1e-2) if norm > threshold else 1.0",
            )
        },
        lost={"test_clip_by_global_norm": 2},
    ),
]
