r"""Name the classic mistake behind a learner's LSTM or GRU step that disagrees with torch.

:func:`diagnose_lstm_step` and :func:`diagnose_gru_step` run the learner's step on random
float64 inputs, compare it with the torch oracle (:mod:`rnncourse.reference`), and when they
disagree, compare it with the output of each classic mistake. Every mistake is reproduced with
torch, mostly by transforming what is fed to ``torch.nn.LSTMCell`` / ``GRUCell``:

========================================  ===================================================
mistake                                   torch reproduction
========================================  ===================================================
gates in another order (i, f, o, g ...)   gate blocks of the weights and biases permuted
forget gate multiplies the candidate      i and f blocks swapped (:math:`c' = i c + f g`)
missing hidden bias                       ``b_hh = 0``
missing input bias / both biases          ``b_ih = 0`` / both zero
cell state not carried                    ``c = 0``
previous hidden state ignored             ``h = 0``
z and 1 - z swapped (GRU)                 z blocks negated, since :math:`1 - \sigma(a) = \sigma(-a)`
sigmoid instead of tanh on the candidate  torch functional ops (no weight transformation)
reset before the matmul (GRU, Cho v3)     torch functional ops: :math:`W_{hn}(r \odot h)`
========================================  ===================================================

The module holds no numpy cell: it is not a solution to the exercises.
"""

from __future__ import annotations

# Weight names follow torch and the course (W_ih, W_hh): uppercase marks matrices.
import itertools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from rnncourse import reference
from rnncourse.checks import as_real_array, explain_mismatch, rel_error

__all__ = [
    "GRU_MISTAKES",
    "LSTM_MISTAKES",
    "Mistake",
    "assert_gru_step",
    "assert_lstm_step",
    "diagnose_gru_step",
    "diagnose_lstm_step",
    "explain_mismatch",
]

Arrays = dict[str, np.ndarray]
LSTM_ORDER = ("i", "f", "g", "o")
GRU_ORDER = ("r", "z", "n")
_MATCH_TOL = 1e-6


@dataclass(frozen=True)
class Mistake:
    """A classic implementation mistake and how to reproduce its output with torch.

    Attributes:
        name: short name, e.g. ``"missing hidden bias"``.
        explanation: what the buggy code does and how to fix it.
        reproduce: maps the step inputs (``x, h, [c,] W_ih, W_hh, b_ih, b_hh``) to the buggy
            output, computed by torch.
    """

    name: str
    explanation: str
    reproduce: Callable[[Arrays], tuple[np.ndarray, ...]]

    def describe(self) -> str:
        """``"name: explanation"``, the text a diagnosis returns."""
        return f"{self.name}: {self.explanation}"


# -- torch reproductions --------------------------------------------------------------------


def _permute_blocks(
    array: np.ndarray, learner: tuple[str, ...], torch_order: tuple[str, ...]
) -> np.ndarray:
    """Reorder gate blocks so torch's gate ``g`` gets the block the learner reads as ``g``."""
    blocks = np.split(array, len(torch_order), axis=0)
    return np.concatenate([blocks[learner.index(gate)] for gate in torch_order], axis=0)


def _lstm(a: Arrays, **override: np.ndarray) -> tuple[np.ndarray, ...]:
    p = {**a, **override}
    return reference.lstm_step(p["x"], p["h"], p["c"], p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])


def _gru(a: Arrays, **override: np.ndarray) -> tuple[np.ndarray, ...]:
    p = {**a, **override}
    return (reference.gru_step(p["x"], p["h"], p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"]),)


def _permuted(kind: str, learner: tuple[str, ...]) -> Callable[[Arrays], tuple[np.ndarray, ...]]:
    order, step = (LSTM_ORDER, _lstm) if kind == "lstm" else (GRU_ORDER, _gru)

    def reproduce(a: Arrays) -> tuple[np.ndarray, ...]:
        moved = {k: _permute_blocks(a[k], learner, order) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
        return step(a, **moved)

    return reproduce


def _pre_activations(a: Arrays, gates: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Input and hidden pre-activation blocks ``W_i* x + b_i*`` and ``W_h* h + b_h*`` (torch)."""
    t = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in a.items()}
    gi = functional.linear(t["x"], t["W_ih"], t["b_ih"]).chunk(gates, dim=-1)
    gh = functional.linear(t["h"], t["W_hh"], t["b_hh"]).chunk(gates, dim=-1)
    return list(gi), list(gh)


def _lstm_sigmoid_candidate(a: Arrays) -> tuple[np.ndarray, ...]:
    gi, gh = _pre_activations(a, 4)
    i, f, g, o = (x + y for x, y in zip(gi, gh, strict=True))
    c_next = torch.sigmoid(f) * torch.as_tensor(a["c"]) + torch.sigmoid(i) * torch.sigmoid(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next.numpy(), c_next.numpy()


def _gru_sigmoid_candidate(a: Arrays) -> tuple[np.ndarray, ...]:
    (ir, iz, in_), (hr, hz, hn) = _pre_activations(a, 3)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.sigmoid(in_ + r * hn)
    return (((1 - z) * n + z * torch.as_tensor(a["h"])).numpy(),)


def _gru_reset_before_matmul(a: Arrays) -> tuple[np.ndarray, ...]:
    (ir, iz, in_), (hr, hz, _) = _pre_activations(a, 3)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    h = torch.as_tensor(a["h"])
    H = h.shape[-1]
    W_hn = torch.as_tensor(a["W_hh"])[2 * H :]
    b_hn = torch.as_tensor(a["b_hh"])[2 * H :]
    n = torch.tanh(in_ + functional.linear(r * h, W_hn, b_hn))
    return (((1 - z) * n + z * h).numpy(),)


def _negate_block(array: np.ndarray, block: int, gates: int) -> np.ndarray:
    out = array.copy()
    size = len(array) // gates
    out[block * size : (block + 1) * size] *= -1
    return out


def _gru_z_swapped(a: Arrays) -> tuple[np.ndarray, ...]:
    flipped = {k: _negate_block(a[k], 1, 3) for k in ("W_ih", "W_hh", "b_ih", "b_hh")}
    return _gru(a, **flipped)


def _order_mistakes(kind: str) -> list[Mistake]:
    order = LSTM_ORDER if kind == "lstm" else GRU_ORDER
    mistakes = []
    for learner in itertools.permutations(order):
        if learner == order:
            continue
        text = ", ".join(learner)
        if kind == "lstm" and learner == ("f", "i", "g", "o"):
            name = "forget gate multiplying the candidate (i and f swapped)"
            explanation = (
                "the cell update computes c' = i * c + f * g; it must be c' = f * c + i * g: "
                "the forget gate scales the old cell state, the input gate the candidate."
            )
        else:
            name = f"gates in the order {text}"
            source = " (as in CS231n and char-rnn)" if learner == ("i", "f", "o", "g") else ""
            explanation = (
                f"your code slices the stacked weights as {text}{source}, but torch stacks "
                f"them as {', '.join(order)}: block k of W_ih, W_hh, b_ih and b_hh belongs "
                f"to gate {order[0]!r} for k = 0, and so on."
            )
        mistakes.append(Mistake(name, explanation, _permuted(kind, learner)))
    return mistakes


def _zero(
    *keys: str, step: Callable[..., tuple[np.ndarray, ...]]
) -> Callable[[Arrays], tuple[np.ndarray, ...]]:
    """Reproduce ``step`` with the named inputs set to zero."""
    return lambda a: step(a, **{k: np.zeros_like(a[k]) for k in keys})


LSTM_MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "missing hidden bias",
        "b_hh is ignored; torch adds both biases: W_ih x + b_ih + W_hh h + b_hh.",
        _zero("b_hh", step=_lstm),
    ),
    Mistake(
        "missing input bias",
        "b_ih is ignored; torch adds both biases: W_ih x + b_ih + W_hh h + b_hh.",
        _zero("b_ih", step=_lstm),
    ),
    Mistake(
        "missing biases",
        "neither b_ih nor b_hh is added to the pre-activations.",
        _zero("b_ih", "b_hh", step=_lstm),
    ),
    Mistake(
        "cell state not carried",
        "the previous cell state c is treated as zero; c' = f * c + i * g must use the c "
        "passed in.",
        _zero("c", step=_lstm),
    ),
    Mistake(
        "previous hidden state ignored",
        "h is treated as zero; the gates depend on W_hh h + b_hh.",
        _zero("h", step=_lstm),
    ),
    Mistake(
        "sigmoid and tanh swapped on the candidate",
        "the candidate g uses a sigmoid; it must be g = tanh(a_g) so that it can be negative "
        "(the gates i, f, o use sigmoids).",
        _lstm_sigmoid_candidate,
    ),
    *_order_mistakes("lstm"),
)
"""The LSTM mistakes :func:`diagnose_lstm_step` tries, in order."""

GRU_MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "reset gate applied before the matmul",
        "your candidate is n = tanh(W_in x + b_in + W_hn (r * h) + b_hn), the form of Cho et "
        "al. (2014, v3) and d2l; torch applies r after the matmul: "
        "n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).",
        _gru_reset_before_matmul,
    ),
    Mistake(
        "z and (1 - z) swapped",
        "your update is h' = z * n + (1 - z) * h; torch uses h' = (1 - z) * n + z * h (z close "
        "to 1 keeps the old state).",
        _gru_z_swapped,
    ),
    Mistake(
        "missing hidden bias",
        "b_hh is ignored; torch adds b_hr and b_hz to the gates and b_hn inside r * (W_hn h + "
        "b_hn).",
        _zero("b_hh", step=_gru),
    ),
    Mistake(
        "missing input bias",
        "b_ih is ignored; torch adds W_ih x + b_ih.",
        _zero("b_ih", step=_gru),
    ),
    Mistake(
        "missing biases",
        "neither b_ih nor b_hh is added.",
        _zero("b_ih", "b_hh", step=_gru),
    ),
    Mistake(
        "previous hidden state ignored",
        "h is treated as zero; the gates and the update depend on h.",
        _zero("h", step=_gru),
    ),
    Mistake(
        "sigmoid and tanh swapped on the candidate",
        "the candidate n uses a sigmoid; it must be n = tanh(...), r and z use sigmoids.",
        _gru_sigmoid_candidate,
    ),
    *_order_mistakes("gru"),
)
"""The GRU mistakes :func:`diagnose_gru_step` tries, in order."""


# -- diagnosis -------------------------------------------------------------------------------


def _random_inputs(kind: str, seed: int) -> Arrays:
    """Random float64 step inputs that tell every mistake apart."""
    rng = np.random.default_rng(seed)
    n, d, hidden = 4, 3, 5
    gates = 4 if kind == "lstm" else 3
    arrays = {
        "x": rng.normal(size=(n, d)),
        "h": rng.normal(size=(n, hidden)),
        "W_ih": rng.normal(scale=0.8, size=(gates * hidden, d)),
        "W_hh": rng.normal(scale=0.8, size=(gates * hidden, hidden)),
        "b_ih": rng.normal(scale=0.5, size=gates * hidden),
        "b_hh": rng.normal(scale=0.5, size=gates * hidden),
    }
    if kind == "lstm":
        arrays["c"] = rng.normal(size=(n, hidden))
    return arrays


def _call(
    step_fn: Callable[..., Any], a: Arrays, kind: str, names: tuple[str, ...]
) -> tuple[np.ndarray, ...] | str:
    """Call the learner's step with copies of the inputs; return outputs or an error text."""
    order = ("x", "h", "c") if kind == "lstm" else ("x", "h")
    args = [a[k].copy() for k in (*order, "W_ih", "W_hh", "b_ih", "b_hh")]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = step_fn(*args)
    except Exception as error:  # the learner's code may raise anything
        return f"step_fn raised {type(error).__name__}: {error}"
    if kind == "lstm":
        if not isinstance(result, tuple | list) or len(result) != 2:
            return "step_fn must return a tuple (h_next, c_next)"
        values = result
    else:
        values = (result,)
    try:
        return tuple(
            as_real_array(v, name=n).astype(np.float64) for v, n in zip(values, names, strict=True)
        )
    except AssertionError as error:
        return str(error)


def _diagnose(
    kind: str, step_fn: Callable[..., Any], mistakes: tuple[Mistake, ...], seed: int
) -> str | None:
    names = ("h_next", "c_next") if kind == "lstm" else ("h_next",)
    a = _random_inputs(kind, seed)
    got = _call(step_fn, a, kind, names)
    if isinstance(got, str):
        return got
    expected = _lstm(a) if kind == "lstm" else _gru(a)
    for value, want, name in zip(got, expected, names, strict=True):
        if value.shape != want.shape:
            return f"{name} has shape {value.shape}, expected {want.shape} (N, H)"
    if _matches(got, expected):
        return None
    for mistake in mistakes:
        if _matches(got, mistake.reproduce(a)):
            return mistake.describe()
    details = "; ".join(
        explain_mismatch(v, w, name=n) if rel_error(v, w) >= _MATCH_TOL else f"{n} matches"
        for v, w, n in zip(got, expected, names, strict=True)
    )
    return f"unknown mistake: no classic mistake explains the output. {details}"


def _matches(got: tuple[np.ndarray, ...], expected: tuple[np.ndarray, ...]) -> bool:
    return all(rel_error(g, e) < _MATCH_TOL for g, e in zip(got, expected, strict=True))


def diagnose_lstm_step(step_fn: Callable[..., Any], *, seed: int = 0) -> str | None:
    """Explain why an LSTM step disagrees with ``torch.nn.LSTMCell``, or return ``None``.

    Args:
        step_fn: ``(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h_next, c_next)`` with the signature
            of :func:`rnncourse.reference.lstm_step`, returning numpy arrays.
        seed: seed of the random test inputs.

    Returns:
        ``None`` when the step matches torch (relative error below 1e-6); otherwise
        ``"<mistake>: <explanation>"`` for the first of :data:`LSTM_MISTAKES` that reproduces
        the output, a note about an exception, a wrong return type or shape, or
        ``"unknown mistake: ..."`` with the largest error and where it occurs.
    """
    return _diagnose("lstm", step_fn, LSTM_MISTAKES, seed)


def diagnose_gru_step(step_fn: Callable[..., Any], *, seed: int = 0) -> str | None:
    """Explain why a GRU step disagrees with ``torch.nn.GRUCell``, or return ``None``.

    Args:
        step_fn: ``(x, h, W_ih, W_hh, b_ih, b_hh) -> h_next`` with the signature of
            :func:`rnncourse.reference.gru_step`, returning a numpy array.
        seed: seed of the random test inputs.

    Returns:
        ``None`` when the step matches torch, else the diagnosis (see
        :func:`diagnose_lstm_step`), tried over :data:`GRU_MISTAKES`.
    """
    return _diagnose("gru", step_fn, GRU_MISTAKES, seed)


def assert_lstm_step(step_fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Raise ``AssertionError`` with the diagnosis when ``step_fn`` disagrees with torch."""
    diagnosis = diagnose_lstm_step(step_fn, seed=seed)
    if diagnosis is not None:
        raise AssertionError(f"LSTM step differs from torch.nn.LSTMCell. {diagnosis}")


def assert_gru_step(step_fn: Callable[..., Any], *, seed: int = 0) -> None:
    """Raise ``AssertionError`` with the diagnosis when ``step_fn`` disagrees with torch."""
    diagnosis = diagnose_gru_step(step_fn, seed=seed)
    if diagnosis is not None:
        raise AssertionError(f"GRU step differs from torch.nn.GRUCell. {diagnosis}")
