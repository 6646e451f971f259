r"""Assignment 2, ``vanishing_gradients``: the tests (visible cases; the hidden ones are the
instructor's).

The learner measures how gradients vanish or explode in a tanh RNN, in numpy:
``scale_to_spectral_norm``, the one-step Jacobian ``step_jacobian`` and the products
:math:`P_t = \partial h_T / \partial h_t` (``jacobian_products``), their spectral norms
(``gradient_norms``) and log-slope (``log_slope``), an experiment over five largest singular
values (the notebook's ``curves`` and ``slopes``), and ``clip_by_global_norm``. Expected
values come from torch autograd and ``torch.linalg`` in float64
(:mod:`rnncourse.oracles.vanishing_gradients`).

One mistake costs its own points only: a later part is accepted when it matches torch, or when
it is exactly what the learner's own earlier part gives (``jacobian_products`` built from their
``step_jacobian``, ``gradient_norms`` from their ``jacobian_products``, the experiment from
their functions); the earlier part's test takes its points.

Clipping: the notebook states the exact formula and the tolerances below, which accept a small
epsilon (torch's ``threshold / (norm + 1e-6)``, or ``1e-12`` inside the square root).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rnncourse.exercise.tester import Tester, rel_error, to_array
from rnncourse.suites import Suite

SUITE = Suite("vanishing_gradients")

#: The experiment of the notebook's section 4 (its locked cell builds the same inputs).
SIGMAS = (0.5, 0.9, 1.0, 1.1, 1.5)
T_EXP, D_EXP, H_EXP = 60, 4, 32

#: Clipping tolerances, stated in the notebook: relative error of the clipped gradients, and
#: ``|norm - exact| <= NORM_TOL * max(1, exact)`` for the returned norm.
CLIP_TOL = 1e-5
NORM_TOL = 1e-5


# --- inputs (the notebook's set-up cell has the same recipes) ------------------------------


def random_rnn(seed: int, D: int, H: int) -> dict[str, np.ndarray]:
    """float64 weights of a tanh RNN in torch's layout: W_ih (H, D) with N(0, 1/D) entries,
    W_hh (H, H) with N(0, 1/H), biases N(0, 0.1^2)."""
    rng = np.random.default_rng(seed)
    return {
        "W_ih": rng.standard_normal((H, D)) / np.sqrt(D),
        "W_hh": rng.standard_normal((H, H)) / np.sqrt(H),
        "b_ih": 0.1 * rng.standard_normal(H),
        "b_hh": 0.1 * rng.standard_normal(H),
    }


def random_inputs(seed: int, T: int, D: int) -> np.ndarray:
    """A random input sequence x (T, D)."""
    return np.random.default_rng(seed).standard_normal((T, D))


def sequence(seed: int, T: int, D: int, H: int, recurrent: float = 1.0,
             h0_scale: float = 0.5) -> dict[str, np.ndarray]:
    """x (T, D), h0 (H,) and weights (W_hh multiplied by ``recurrent``) of one case."""
    w = random_rnn(seed, D, H)
    w["W_hh"] = w["W_hh"] * recurrent
    return {"x": random_inputs(seed + 1, T, D),
            "h0": np.random.default_rng(seed + 2).standard_normal(H) * h0_scale, **w}


def experiment_inputs() -> dict[str, np.ndarray]:
    """The experiment's RNN, as the notebook's locked cell builds it: an orthogonal
    ``W_hh0`` (H_EXP, H_EXP), a weak input drive, zero biases, x (T_EXP, D_EXP), h0 = 0."""
    rng = np.random.default_rng(0)
    W_hh0 = np.linalg.qr(rng.standard_normal((H_EXP, H_EXP)))[0]
    W_ih = 0.1 * rng.standard_normal((H_EXP, D_EXP)) / np.sqrt(D_EXP)
    return {"W_hh0": W_hh0, "W_ih": W_ih, "b": np.zeros(H_EXP),
            "x": random_inputs(1, T_EXP, D_EXP), "h0": np.zeros(H_EXP)}


# --- helpers ------------------------------------------------------------------------------


def _matches(value: Any, expected: Any, tol: float) -> bool:
    """``value`` is a numeric array of ``expected``'s shape within relative error ``tol``."""
    x, y = to_array(value), to_array(expected)
    return (x is not None and y is not None and x.shape == y.shape
            and rel_error(x, y) <= tol)


def _named(value: Any, candidates: dict[str, Any], names: dict[str, str],
           tol: float = 1e-8) -> str | None:
    """The message of the first mistake in ``names`` whose answer ``value`` equals."""
    for key, message in names.items():
        if _matches(value, candidates[key], tol):
            return message
    return None


def attempt(call: Callable[[], Any]) -> Any:
    """``call()``, or ``None`` when the learner's code it runs raises (a fallback path must
    not replace the message of the comparison that failed)."""
    try:
        return call()
    except Exception:  # the learner's error, or a CheckError from the judge
        return None


def spectral_norms(P: np.ndarray) -> np.ndarray:
    """The largest singular value of every matrix of ``P`` (..., H, H)."""
    return np.linalg.norm(P, ord=2, axis=(-2, -1))


# --- 1. rescaling ---------------------------------------------------------------------------


@SUITE.test("test_scale_to_spectral_norm", level="one-liner",
            what="scale_to_spectral_norm rescales W to a largest singular value",
            visible=[dict(seed=0, H=6, target=0.5), dict(seed=0, H=6, target=1.5)])
def scale_to_spectral_norm(t: Tester, seed: int, H: int, target: float,
                           uniform: bool = False) -> None:
    rng = np.random.default_rng(seed)
    W = rng.uniform(-2.0, 2.0, (H, H)) if uniform else rng.standard_normal((H, H)) / np.sqrt(H)
    expected = t.expect("spectral_rescaled", W=W, target=target)
    scaled = t.call("scale_to_spectral_norm", W.copy(), target)
    t.close(t.last_args[0], W, name="W after scale_to_spectral_norm", tol=0.0,
            hint="return a rescaled copy and leave W itself unchanged")
    names = {
        "frobenius": "You divided by the Frobenius norm: the largest singular value is "
                     "np.linalg.norm(W, ord=2)",
        "radius": "You divided by the spectral radius (largest |eigenvalue|): use the largest "
                  "singular value, np.linalg.norm(W, ord=2)",
    }
    t.close(scaled, expected["scaled"], name="scaled W", tol=1e-10,
            hint="multiply W by target / (its largest singular value)",
            explain=lambda: _named(scaled, expected, names))


# --- 2. Jacobians ---------------------------------------------------------------------------


@SUITE.test("test_step_jacobian", level="one-liner",
            what="step_jacobian matches torch autograd",
            visible=[dict(seed=1, D=3, H=4)])
def step_jacobian(t: Tester, seed: int, D: int, H: int, recurrent: float = 1.0) -> None:
    p = sequence(seed, 1, D, H, recurrent)
    expected = t.expect("rnn_jacobian_products", **p)
    h1 = expected["hs"][0]
    mistakes = t.expect("step_jacobian_mistakes", h_next=h1, W_hh=p["W_hh"])
    J = t.call("step_jacobian", h1.copy(), p["W_hh"].copy())
    names = {
        "no_derivative": "step_jacobian lacks the tanh derivative: multiply row i of W_hh by "
                         "1 - h_next[i]**2",
        "columns": "step_jacobian scales the columns of W_hh: diag(1 - h_next**2) multiplies "
                   "from the left, so it scales row i by 1 - h_next[i]**2",
        "transposed": "step_jacobian uses W_hh transposed: J = diag(1 - h_next**2) @ W_hh, "
                      "with W_hh as given (H, H)",
        "one_minus_h": "step_jacobian uses 1 - h_next: the derivative of tanh is "
                       "1 - tanh**2 = 1 - h_next**2",
    }
    t.close(J, expected["P"][0], name="dh_1/dh_0", tol=1e-8,
            hint="row i of the Jacobian is (1 - h_next[i]**2) * W_hh[i]",
            explain=lambda: _named(J, mistakes, names))


@SUITE.test("test_jacobian_products", level="gradients",
            what="jacobian_products: dh_T/dh_t for every t, P[t] = P[t+1] J_{t+1}",
            visible=[dict(seed=4, T=5, D=2, H=3)])
def jacobian_products(t: Tester, seed: int, T: int, D: int, H: int,
                      recurrent: float = 1.0) -> None:
    p = sequence(seed, T, D, H, recurrent, h0_scale=0.3)
    expected = t.expect("rnn_jacobian_products", **p)
    hs = expected["hs"]
    mistakes = t.expect("jacobian_product_mistakes", hs=hs, W_hh=p["W_hh"])
    P = t.call("jacobian_products", hs.copy(), p["W_hh"].copy())
    t.array(P, "P")
    if _matches(P, expected["P"], 1e-8):
        return
    # right given your own step_jacobian (its test takes the points of a wrong Jacobian): the
    # judge decides this; the learner's kernel has no recorded answer for their own Jacobians
    own = [to_array(attempt(lambda k=k: t.call("step_jacobian", hs[k].copy(),
                                                p["W_hh"].copy()))) for k in range(T)]
    if all(J is not None and J.shape == (H, H) for J in own):
        chained = attempt(lambda: t.expect("products_of", jacobians=own))
        if chained is not None and _matches(P, chained, 1e-8):
            return
    names = {
        "left_multiplied": "P[t] is multiplied in the wrong order: P[t] = P[t+1] @ J_{t+1} "
                           "(matrix products do not commute)",
        "index_minus_one": "Off by one in hs: J_{t+1} needs h_{t+1}, which is hs[t] (hs[k] is "
                           "h_{k+1}); you used hs[t - 1]",
        "index_plus_one": "Off by one in hs: J_{t+1} needs h_{t+1}, which is hs[t] (hs[k] is "
                          "h_{k+1}); you used hs[t + 1]",
        "reversed": "P is listed backwards: P[t] is dh_T/dh_t, so P[T] (the last entry) is "
                    "the identity",
    }
    t.close(P, expected["P"], name="P = dh_T/dh_t", tol=1e-8,
            hint="P has T+1 entries, P[T] = I and P[t] = P[t+1] @ step_jacobian(hs[t], W_hh)",
            explain=lambda: _named(P, mistakes, names))


# --- 3. norms and slopes --------------------------------------------------------------------


@SUITE.test("test_gradient_norms", level="one-liner",
            what="gradient_norms: spectral norms of dh_T/dh_t for t = 0..T",
            visible=[dict(seed=6, T=6, D=3, H=4)])
def gradient_norms(t: Tester, seed: int, T: int, D: int, H: int,
                   h0_scale: float = 0.0) -> None:
    p = sequence(seed, T, D, H, h0_scale=h0_scale)
    expected = t.expect("gradient_norm_curve", **p)
    hs = t.expect("rnn_jacobian_products", **p)["hs"]
    norms = t.call("gradient_norms", *(p[k].copy() for k in
                                       ("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh")))
    t.array(norms, "norms")
    if _matches(norms, expected["norms"], 1e-8):
        return
    # right given your own jacobian_products (its test takes the points of wrong products)
    own = to_array(attempt(lambda: t.call("jacobian_products", hs.copy(), p["W_hh"].copy())))
    if own is not None and own.ndim == 3 and own.shape[1] == own.shape[2] \
            and _matches(norms, spectral_norms(own), 1e-8):
        return
    names = {
        "frobenius": "These are Frobenius norms: the spectral norm is the largest singular "
                     "value, np.linalg.norm(P[t], ord=2)",
        "reversed": "The norms are listed backwards: norms[t] is the norm of dh_T/dh_t, so "
                    "norms[T] is 1",
    }
    t.close(norms, expected["norms"], name="norms", tol=1e-8,
            hint="one spectral norm per P[t] of jacobian_products(rnn_states(...), W_hh)",
            explain=lambda: _named(norms, expected, names))


@SUITE.test("test_log_slope", level="one-liner",
            what="log_slope: least-squares slope of log(norms) against T - t",
            visible=[dict(seed=8, n=10, noise=0.0), dict(seed=8, n=10, noise=1.0)])
def log_slope(t: Tester, seed: int, n: int, noise: float) -> None:
    """``norms[t] = 0.5 ** (T - t)``, times a factor in [1, 1 + noise) (exact floats)."""
    rng = np.random.default_rng(seed)
    norms = 0.5 ** (n - 1 - np.arange(n, dtype=np.float64)) * (1.0 + noise * rng.random(n))
    expected = t.expect("log_norm_slope", norms=norms)
    slope = t.number(t.call("log_slope", norms.copy()), "log_slope(norms)")
    names = {
        "log10": "log_slope uses log10: take the natural log, np.log",
        "against_t": "log_slope fits against t: use the distance T - t (norms[T] is at "
                     "distance 0), which flips the sign",
        "no_log": "log_slope fits the norms themselves: fit their natural log, np.log(norms)",
    }
    t.close(slope, expected["slope"], name="slope", tol=1e-9,
            hint="np.polyfit(T - t, np.log(norms), 1)[0]",
            explain=lambda: _named(slope, expected, names, tol=1e-9))


# --- 4. the experiment ----------------------------------------------------------------------


@SUITE.test("test_experiment", level="experiment",
            what="the experiment: curves and slopes for every sigma",
            visible=[dict()])
def experiment(t: Tester) -> None:
    expected = t.expect("experiment_curves", sigmas=SIGMAS)
    curves, slopes = t.get("curves"), t.get("slopes")
    for name, value in (("curves", curves), ("slopes", slopes)):
        keys = sorted(map(repr, value)) if isinstance(value, dict) else type(value).__name__
        t.require(isinstance(value, dict) and set(value) == set(SIGMAS),
                  f"Fill {name}[sigma] for every sigma in SIGMAS = {SIGMAS}",
                  f"{name} has the keys {keys}.")
    inputs = experiment_inputs()
    distance = T_EXP - np.arange(T_EXP + 1, dtype=np.float64)
    for sigma in SIGMAS:
        curve = t.array(curves[sigma], f"curves[{sigma}]")
        t.require(curve.shape == (T_EXP + 1,),
                  f"curves[{sigma}] must hold the T_EXP + 1 = {T_EXP + 1} norms of "
                  f"gradient_norms, got shape {curve.shape}")
        slope = t.number(slopes[sigma], f"slopes[{sigma}]")
        if not _matches(curve, expected["curves"][sigma], 1e-6):
            # an experiment run with your own functions (their tests take their points)
            own = attempt(lambda s=sigma: t.call(
                "gradient_norms", inputs["x"].copy(), inputs["h0"].copy(),
                inputs["W_ih"].copy(), t.call("scale_to_spectral_norm",
                                              inputs["W_hh0"].copy(), s),
                inputs["b"].copy(), inputs["b"].copy()))
            if not _matches(curve, own, 1e-10):
                t.close(curve, expected["curves"][sigma], name=f"curves[{sigma}]", tol=1e-6,
                        hint=f"curves[{sigma}] = gradient_norms(x_exp, h0_exp, W_ih_exp, "
                             f"scale_to_spectral_norm(W_hh0, {sigma}), b_exp, b_exp)")
        with np.errstate(all="ignore"):
            fitted = float(np.polyfit(distance, np.log(curve), 1)[0]) \
                if np.all(curve > 0) else np.nan
        if not _matches(slope, fitted, 1e-6):
            own_slope = attempt(lambda c=curve: t.call("log_slope", c.copy()))
            if not _matches(slope, own_slope, 1e-10):
                t.close(slope, fitted, name=f"slopes[{sigma}]", tol=1e-6,
                        hint=f"slopes[{sigma}] = log_slope(curves[{sigma}])")


# --- 5. clipping ----------------------------------------------------------------------------


def clip_grads(seed: int, shapes: list[tuple[int, ...]], norm: float) -> dict[str, np.ndarray]:
    """Random gradients of the given shapes, rescaled to global norm ``norm`` (0: zeros).

    The rescaling multiplies by a power of two near ``norm / ||g||`` so that the inputs are
    exact floats (the same on every machine); their norm is within a factor 2 of ``norm``.
    """
    rng = np.random.default_rng(seed)
    grads = {f"p{i}": rng.standard_normal(shape) for i, shape in enumerate(shapes)}
    if norm == 0:
        return {k: np.zeros_like(v) for k, v in grads.items()}
    total = np.sqrt(sum(float(np.sum(v**2)) for v in grads.values()))
    factor = 2.0 ** round(float(np.log2(norm / total)))
    return {k: v * factor for k, v in grads.items()}


EPSILON_MESSAGE = ("Your factor is close to threshold / norm but not equal: keep an epsilon in "
                   "norm + eps at most 1e-6")


def _norm_ok(norm: float, exact: float) -> bool:
    return abs(norm - exact) <= NORM_TOL * max(1.0, exact)


@SUITE.test("test_clip_by_global_norm", level="tool",
            what="clip_by_global_norm: one factor threshold / ||g|| for every gradient",
            visible=[dict(seed=9, shapes=[(4, 4), (4,)], norm=12.0, threshold=1.0),
                     dict(seed=9, shapes=[(4, 4), (4,)], norm=0.12, threshold=1.0)])
def clip_by_global_norm(t: Tester, seed: int, shapes: list[tuple[int, ...]], norm: float,
                        threshold: float | None = None) -> None:
    """``threshold=None``: exactly the gradients' global norm (nothing to clip)."""
    grads = clip_grads(seed, shapes, norm)
    if threshold is None:
        threshold = float(np.sqrt(sum(float(np.sum(v**2)) for v in grads.values())))
    expected = t.expect("clip_by_global_norm_reference", grads=grads, threshold=threshold)
    returned = t.call("clip_by_global_norm", {k: v.copy() for k, v in grads.items()},
                      threshold)
    clipped, got_norm = t.unpack(returned, 2, "clip_by_global_norm")
    for key, value in t.last_args[0].items():
        t.close(value, grads[key], name=f"grads['{key}'] after clip_by_global_norm", tol=0.0,
                hint="return new arrays and leave the input gradients unchanged")
    got_norm = t.number(got_norm, "the norm returned by clip_by_global_norm")
    exact = expected["norm"]
    if not _norm_ok(got_norm, exact):
        per_parameter = max(np.sqrt(np.sum(np.square(v))) for v in grads.values())
        lead = ("Return one norm over all parameters together, not the largest "
                "per-parameter norm") if _norm_ok(got_norm, per_parameter) else (
            "The returned norm is not the global norm before clipping")
        t.fail(lead, f"norm: got {got_norm:.10g}, expected {exact:.10g} = sqrt of the sum of "
                     f"all squared entries; tolerance {NORM_TOL:g} * max(1, norm).")
    clipped = t.keys(clipped, list(grads), "clip_by_global_norm")
    names = {
        "elementwise": "You clipped each element to [-threshold, threshold]: scale every "
                       "gradient by the same factor threshold / norm, keeping the direction",
        "per_parameter": "You clipped each parameter by its own norm: use one global norm "
                         "over all parameters and one factor threshold / norm",
        "always": "You rescaled gradients whose norm is already below the threshold: clip "
                  "only when norm > threshold",
    }
    for key in grads:
        value = clipped[key]
        t.close(value, expected["clipped"][key], name=f"clipped['{key}']", tol=CLIP_TOL,
                hint="multiply every gradient by threshold / norm when norm > threshold, else "
                     "leave it unchanged (an epsilon of at most 1e-6 in norm + eps is fine)",
                explain=lambda v=value, k=key: _named(
                    v, {n: expected[n][k] for n in names}, names, tol=CLIP_TOL) or (
                    EPSILON_MESSAGE if _matches(v, expected["clipped"][k], 1e-2) else None))
