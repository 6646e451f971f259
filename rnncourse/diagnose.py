r"""The catalogue of classic mistakes in the LSTM and GRU assignments, reproduced by torch.

Each :class:`Mistake` names a mistake learners make, says what to do instead, and reproduces
the output a function with that mistake gives, computed by torch from the inputs a test chose.
The oracles of the assignments (:mod:`rnncourse.oracles.lstm_cell`,
:mod:`rnncourse.oracles.gru_cell`) answer ``"<what>_mistakes"`` questions with
:func:`answers`: every mistake's name, explanation and output on those inputs. A test compares
the learner's output with them (:mod:`rnncourse.exercise.probing`, numpy only): the first that
matches names the mistake. Since the answers depend only on the test's inputs, they are
recorded with the visible cases at release time and the learner's kernel names mistakes
without torch.

Forward mistakes are torch modules fed transformed weights (gate blocks permuted, a bias
zeroed) or a few torch functional lines. Backward mistakes are the *gradients* of a mistaken
backward pass: the forward graph keeps its values but one local derivative is replaced,

.. math:: \operatorname{st}(v, a, s) = \operatorname{detach}(v) + (a - \operatorname{detach}(a))
          \cdot \operatorname{detach}(s),

which has the value :math:`v` and the derivative :math:`\partial/\partial a = s`, so autograd
returns exactly what the mistaken hand-written backward pass returns.

=================================  ==========================================================
catalogue                          what a mistake returns
=================================  ==========================================================
:data:`LSTM_STEP`, :data:`GRU_STEP`                  ``{"h_next": ..., ["c_next": ...]}``
:data:`LSTM_STEP_GRADS`, :data:`GRU_STEP_GRADS`      the step's gradient dict
:data:`LSTM_SEQUENCE`, :data:`GRU_SEQUENCE`          ``{"hs": ...}``
:data:`LSTM_SEQUENCE_GRADS`, :data:`GRU_SEQUENCE_GRADS`  the BPTT gradient dict
:data:`CELL_STATE`                 ``dL/dc_k`` along the cell state ``(N, T + 1, H)``
:data:`FORGET_BIAS`                ``||dL/dx_t||`` for ``t = 1..T``
:data:`PARAMETER_COUNTS`           ``{"rnn": ..., "gru": ..., "lstm": ...}``
=================================  ==========================================================

The module holds no numpy implementation of a cell: it is not a solution to the exercises.
"""

from __future__ import annotations

# Weight names follow torch and the course (W_ih, W_hh): uppercase marks matrices.
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = [
    "CELL_STATE",
    "FORGET_BIAS",
    "GRU_SEQUENCE",
    "GRU_SEQUENCE_GRADS",
    "GRU_STEP",
    "GRU_STEP_GRADS",
    "LSTM_SEQUENCE",
    "LSTM_SEQUENCE_GRADS",
    "LSTM_STEP",
    "LSTM_STEP_GRADS",
    "PARAMETER_COUNTS",
    "Mistake",
    "answers",
    "gru_graph",
    "lstm_graph",
]

Arrays = Mapping[str, Any]
WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")
LSTM_ORDER = ("i", "f", "g", "o")
GRU_ORDER = ("r", "z", "n")


@dataclass(frozen=True)
class Mistake:
    """A classic mistake and how torch reproduces its output.

    Attributes:
        name: short name that leads the learner's message, e.g. ``"missing hidden bias"``.
        explanation: what the right computation is (follows the name after a colon).
        reproduce: the inputs a test chose (keyword names of the learner's function, plus the
            upstream gradients for a backward pass) -> what the mistaken function returns.
    """

    name: str
    explanation: str
    reproduce: Callable[[Arrays], Any]

    def describe(self) -> str:
        """``"name: explanation"``."""
        return f"{self.name}: {self.explanation}"


def answers(catalogue: tuple[Mistake, ...], inputs: Arrays) -> list[list[Any]]:
    """``[[name, explanation, output], ...]``: every mistake of ``catalogue`` on ``inputs``
    (the oracle's answer to a ``"<what>_mistakes"`` question)."""
    return [[m.name, m.explanation, m.reproduce(inputs)] for m in catalogue]


# -- torch helpers ----------------------------------------------------------------------------


def _tensor(value: Any, *, grad: bool = False) -> torch.Tensor:
    array = np.array(value, dtype=np.float64)
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().numpy().astype(np.float64, copy=True)


def _st(value: torch.Tensor, arg: torch.Tensor, slope: torch.Tensor | float) -> torch.Tensor:
    """``value`` whose derivative with respect to ``arg`` is ``slope`` (elementwise)."""
    if not isinstance(slope, torch.Tensor):
        slope = torch.full_like(arg, float(slope))
    return value.detach() + (arg - arg.detach()) * slope.detach()


def _kept(value: torch.Tensor) -> torch.Tensor:
    """``value`` with its own gradient: a term that passes ``d/d value = 1`` and is zero."""
    return value - value.detach()


# -- the cells, with one switch per mistake -----------------------------------------------------


def lstm_graph(x: torch.Tensor, h_prev: torch.Tensor, c_prev: torch.Tensor, W_ih: torch.Tensor,
               W_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor,
               bug: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step in torch functional ops (gates i, f, g, o), with an optional ``bug``.

    Without a bug it computes what ``torch.nn.LSTMCell`` computes (a test checks this). The
    backward bugs keep the forward values and change one local derivative (module docstring).
    """
    a = x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)
    i, f, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.sigmoid(a_o)
    g = torch.sigmoid(a_g) if bug == "sigmoid candidate" else torch.tanh(a_g)
    if bug == "gates with tanh derivative":
        i, f, o = (_st(s, pre, 1 - s * s) for s, pre in ((i, a_i), (f, a_f), (o, a_o)))
    if bug == "candidate with sigmoid derivative":
        g = _st(g, a_g, g * (1 - g))
    kept = f * c_prev
    if bug == "dc_prev without f":
        kept = kept.detach() + _kept(c_prev) + _kept(f) * c_prev.detach()
    c_next = kept + i * g
    tanh_c = torch.tanh(c_next)
    if bug == "dc without tanh derivative":
        tanh_c = _st(tanh_c, c_next, 1.0)
    if bug == "dc without h path":
        tanh_c = torch.tanh(c_next.detach())
    if bug == "no tanh on c":
        tanh_c = c_next
    if bug == "h from c_prev":
        tanh_c = torch.tanh(c_prev)
    h_next = o * tanh_c
    if bug == "do from c":
        h_next = o.detach() * tanh_c + _kept(o) * c_next.detach()
    return h_next, c_next


def gru_graph(x: torch.Tensor, h_prev: torch.Tensor, W_ih: torch.Tensor, W_hh: torch.Tensor,
              b_ih: torch.Tensor, b_hh: torch.Tensor, bug: str | None = None) -> torch.Tensor:
    """One GRU step in torch functional ops (gates r, z, n; r after the hidden matmul), with an
    optional ``bug`` (see :func:`lstm_graph`)."""
    H = h_prev.shape[-1]
    a_ir, a_iz, a_in = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    a_hr, a_hz, _ = (h_prev @ W_hh.T + b_hh).chunk(3, dim=-1)
    W_hn, b_hn = W_hh[2 * H:], b_hh[2 * H:]
    extra = 0.0
    if bug == "db_hh is db_ih":
        a_hn = h_prev @ W_hn.T + b_hn.detach()
        extra = _kept(b_hn)
    else:
        a_hn = h_prev @ W_hn.T + b_hn
    r, z = torch.sigmoid(a_ir + a_hr), torch.sigmoid(a_iz + a_hz)
    gated = r * a_hn
    if bug == "reset before matmul":
        gated = (r * h_prev) @ W_hn.T + b_hn
    elif bug == "reset gate ignored":
        gated = a_hn
    elif bug == "no reset path":
        gated = r.detach() * a_hn
    elif bug == "dr from h_prev":
        gated = gated.detach() + _kept(r) * h_prev.detach() + r.detach() * _kept(a_hn)
    elif bug == "hidden n without r":
        gated = gated.detach() + _kept(r) * a_hn.detach() + _kept(a_hn)
    pre = a_in + gated + extra
    n = torch.sigmoid(pre) if bug == "sigmoid candidate" else torch.tanh(pre)
    if bug == "dn without tanh derivative":
        n = _st(n, pre, 1.0)
    if bug == "z swapped":
        return z * n + (1 - z) * h_prev
    if bug == "no direct path":
        return (1 - z) * n + z * h_prev.detach()
    h_next = (1 - z) * n + z * h_prev
    if bug == "dz sign":
        h_next = (h_next.detach() + _kept(z) * (n - h_prev).detach()
                  + (1 - z).detach() * _kept(n) + z.detach() * _kept(h_prev))
    return h_next


def _step_tensors(p: Arrays, keys: tuple[str, ...], *, grad: bool) -> dict[str, torch.Tensor]:
    return {k: _tensor(p[k], grad=grad) for k in keys}


LSTM_KEYS = ("x", "h_prev", "c_prev", *WEIGHTS)
GRU_KEYS = ("x", "h_prev", *WEIGHTS)


def _lstm_step(p: Arrays, bug: str | None = None, **override: Any) -> dict[str, np.ndarray]:
    t = _step_tensors({**p, **override}, LSTM_KEYS, grad=False)
    with torch.no_grad():
        h_next, c_next = lstm_graph(**t, bug=bug)
    return {"h_next": _numpy(h_next), "c_next": _numpy(c_next)}


def _gru_step(p: Arrays, bug: str | None = None, **override: Any) -> dict[str, np.ndarray]:
    t = _step_tensors({**p, **override}, GRU_KEYS, grad=False)
    with torch.no_grad():
        return {"h_next": _numpy(gru_graph(**t, bug=bug))}


def _grads(leaves: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {k: (_numpy(v.grad) if v.grad is not None else np.zeros(tuple(v.shape)))
            for k, v in leaves.items()}


def _lstm_step_grads(p: Arrays, bug: str | None = None, *,
                     drop_dc_next: bool = False) -> dict[str, np.ndarray]:
    leaves = _step_tensors(p, LSTM_KEYS, grad=True)
    h_next, c_next = lstm_graph(**leaves, bug=bug)
    loss = (h_next * _tensor(p["dh_next"])).sum()
    if not drop_dc_next:
        loss = loss + (c_next * _tensor(p["dc_next"])).sum()
    loss.backward()
    return _grads(leaves)


def _gru_step_grads(p: Arrays, bug: str | None = None) -> dict[str, np.ndarray]:
    leaves = _step_tensors(p, GRU_KEYS, grad=True)
    (gru_graph(**leaves, bug=bug) * _tensor(p["dh_next"])).sum().backward()
    return _grads(leaves)


# -- one step forward -------------------------------------------------------------------------


def _permute_blocks(array: Any, learner: tuple[str, ...], order: tuple[str, ...]) -> np.ndarray:
    """Reorder gate blocks so torch's gate ``g`` gets the block the learner reads as ``g``."""
    blocks = np.split(np.asarray(array, dtype=np.float64), len(order), axis=0)
    return np.concatenate([blocks[learner.index(gate)] for gate in order], axis=0)


def _order_mistakes(kind: str) -> list[Mistake]:
    order, step = (LSTM_ORDER, _lstm_step) if kind == "lstm" else (GRU_ORDER, _gru_step)
    mistakes = []
    for learner in itertools.permutations(order):
        if learner == order:
            continue

        def reproduce(p: Arrays, learner: tuple[str, ...] = learner) -> dict[str, np.ndarray]:
            moved = {k: _permute_blocks(p[k], learner, order) for k in WEIGHTS}
            return step(p, **moved)

        text = ", ".join(learner)
        if kind == "lstm" and learner == ("f", "i", "g", "o"):
            name = "i and f swapped: the forget gate multiplies the candidate"
            explanation = ("c_next = f * c_prev + i * g: the forget gate f (block 1) scales "
                           "the old cell state, the input gate i (block 0) the candidate")
        else:
            name = f"gates in the order {text}"
            source = " (CS231n and char-rnn use it)" if learner == ("i", "f", "o", "g") else ""
            explanation = (f"torch stacks the blocks of W_ih, W_hh, b_ih and b_hh as "
                           f"{', '.join(order)}{source}: rows k*H:(k+1)*H belong to gate "
                           f"number k")
        mistakes.append(Mistake(name, explanation, reproduce))
    return mistakes


def _zero_lstm(*keys: str) -> Callable[[Arrays], dict[str, np.ndarray]]:
    return lambda p: _lstm_step(p, **{k: np.zeros_like(p[k]) for k in keys})


def _zero_gru(*keys: str) -> Callable[[Arrays], dict[str, np.ndarray]]:
    return lambda p: _gru_step(p, **{k: np.zeros_like(p[k]) for k in keys})


LSTM_STEP: tuple[Mistake, ...] = (
    Mistake("missing hidden bias", "torch adds both biases: a = x W_ih^T + b_ih + h_prev "
            "W_hh^T + b_hh", _zero_lstm("b_hh")),
    Mistake("missing input bias", "torch adds both biases: a = x W_ih^T + b_ih + h_prev "
            "W_hh^T + b_hh", _zero_lstm("b_ih")),
    Mistake("missing biases", "add b_ih and b_hh to the pre-activations", _zero_lstm("b_ih",
                                                                                      "b_hh")),
    Mistake("c_prev is ignored", "c_next = f * c_prev + i * g uses the cell state passed in",
            _zero_lstm("c_prev")),
    Mistake("h_prev is ignored", "the gates depend on h_prev through h_prev W_hh^T",
            _zero_lstm("h_prev")),
    Mistake("the tanh is missing", "h_next = o * tanh(c_next), not o * c_next",
            lambda p: _lstm_step(p, "no tanh on c")),
    Mistake("h_next uses the old cell state", "h_next = o * tanh(c_next), with the new cell "
            "state c_next, not c_prev", lambda p: _lstm_step(p, "h from c_prev")),
    Mistake("the candidate g uses a sigmoid", "g = tanh(a_g), so that it can be negative; i, f "
            "and o use sigmoids", lambda p: _lstm_step(p, "sigmoid candidate")),
    *_order_mistakes("lstm"),
)
"""LSTM step forward (``lstm_step_forward``), in the order they are tried."""

GRU_STEP: tuple[Mistake, ...] = (
    Mistake("reset gate applied before the matmul", "torch computes n = tanh(W_in x + b_in + "
            "r * (W_hn h_prev + b_hn)), not W_hn (r * h_prev) as in Cho et al. v3 and d2l",
            lambda p: _gru_step(p, "reset before matmul")),
    Mistake("z and (1 - z) swapped", "h_next = (1 - z) * n + z * h_prev: z close to 1 keeps "
            "the old state", lambda p: _gru_step(p, "z swapped")),
    Mistake("the reset gate is ignored", "n = tanh(W_in x + b_in + r * (W_hn h_prev + b_hn)) "
            "multiplies the hidden part by r", lambda p: _gru_step(p, "reset gate ignored")),
    Mistake("missing hidden bias", "torch adds b_hr and b_hz to the gates and b_hn inside "
            "r * (W_hn h_prev + b_hn)", _zero_gru("b_hh")),
    Mistake("missing input bias", "torch adds W_ih x + b_ih", _zero_gru("b_ih")),
    Mistake("missing biases", "add b_ih and b_hh", _zero_gru("b_ih", "b_hh")),
    Mistake("h_prev is ignored", "the gates and the update h_next = (1 - z) * n + z * h_prev "
            "depend on h_prev", _zero_gru("h_prev")),
    Mistake("the candidate n uses a sigmoid", "n = tanh(...); r and z use sigmoids",
            lambda p: _gru_step(p, "sigmoid candidate")),
    *_order_mistakes("gru"),
)
"""GRU step forward (``gru_step_forward``), in the order they are tried."""


# -- one step backward ------------------------------------------------------------------------

LSTM_STEP_GRADS: tuple[Mistake, ...] = (
    Mistake("dc misses the tanh derivative", "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)"
            ": h_next = o * tanh(c_next)",
            lambda p: _lstm_step_grads(p, "dc without tanh derivative")),
    Mistake("dc_next is dropped", "the gradient arriving along the cell state counts: dc = "
            "dc_next + dh_next * o * (1 - tanh(c_next)**2)",
            lambda p: _lstm_step_grads(p, drop_dc_next=True)),
    Mistake("dc misses the path through h_next", "c_next also reaches L through h_next: dc = "
            "dc_next + dh_next * o * (1 - tanh(c_next)**2)",
            lambda p: _lstm_step_grads(p, "dc without h path")),
    Mistake("dc_prev misses the forget gate", "c_next = f * c_prev + i * g, so dc_prev = dc * f",
            lambda p: _lstm_step_grads(p, "dc_prev without f")),
    Mistake("do uses c_next", "h_next = o * tanh(c_next), so do = dh_next * tanh(c_next)",
            lambda p: _lstm_step_grads(p, "do from c")),
    Mistake("g's derivative is a sigmoid's", "g = tanh(a_g), so da_g = dg * (1 - g**2), not "
            "dg * g * (1 - g)", lambda p: _lstm_step_grads(p, "candidate with sigmoid derivative")),
    Mistake("the gates' derivatives are tanh's", "i, f and o are sigmoids: da = d(gate) * gate "
            "* (1 - gate)", lambda p: _lstm_step_grads(p, "gates with tanh derivative")),
)
"""LSTM step backward (``lstm_step_backward``)."""

GRU_STEP_GRADS: tuple[Mistake, ...] = (
    Mistake("the reset gate's path is missing", "n depends on r: dr = dan * (W_hn h_prev + "
            "b_hn), then da_r = dr * r * (1 - r)", lambda p: _gru_step_grads(p, "no reset path")),
    Mistake("dr uses h_prev", "r multiplies W_hn h_prev + b_hn, so dr = dan * (W_hn h_prev + "
            "b_hn), not dan * h_prev", lambda p: _gru_step_grads(p, "dr from h_prev")),
    Mistake("the hidden n block misses r", "n = tanh(a_in + r * a_hn): the gradient reaching "
            "a_hn = W_hn h_prev + b_hn is dan * r", lambda p: _gru_step_grads(p,
                                                                            "hidden n without r")),
    Mistake("db_hh is db_ih", "b_hn sits inside r * (W_hn h_prev + b_hn): db_hh's n block is "
            "sum(dan * r), db_ih's is sum(dan)", lambda p: _gru_step_grads(p, "db_hh is db_ih")),
    Mistake("dh_prev misses the direct path", "h_next = (1 - z) * n + z * h_prev: add "
            "z * dh_next to dh_prev", lambda p: _gru_step_grads(p, "no direct path")),
    Mistake("dz has the wrong sign", "h_next = (1 - z) * n + z * h_prev, so dz = dh_next * "
            "(h_prev - n)", lambda p: _gru_step_grads(p, "dz sign")),
    Mistake("dn misses the tanh derivative", "n = tanh(...), so dan = dn * (1 - n**2)",
            lambda p: _gru_step_grads(p, "dn without tanh derivative")),
)
"""GRU step backward (``gru_step_backward``)."""


# -- sequences --------------------------------------------------------------------------------

def _detached_weights(weights: list[torch.Tensor]) -> list[torch.Tensor]:
    return [w.detach() for w in weights]


def _run_sequence(kind: str, t: dict[str, torch.Tensor], bug: str | None) -> torch.Tensor:
    """hs ``(N, T, H)`` of the functional cell over time, with a sequence ``bug``."""
    x = t["x"]
    T = x.shape[1]
    weights = [t[k] for k in WEIGHTS]
    h, c = t["h0"], t.get("c0")
    hs: list[torch.Tensor | None] = [None] * T
    steps = reversed(range(T)) if bug == "backwards in time" else range(T)
    for k, step in enumerate(steps):
        w = weights
        if (bug == "weights from step 0" and step > 0) or \
                (bug == "weights from the last step" and step < T - 1):
            w = _detached_weights(weights)
        h_in = t["h0"] if bug in ("state not carried", "h not carried") else h
        if bug in ("dh dropped", "dh and dc dropped") and k > 0:
            h_in = h_in.detach()
        if kind == "lstm":
            c_in = t["c0"] if bug in ("state not carried", "c not carried") else c
            if bug in ("dc dropped", "dh and dc dropped") and k > 0:
                c_in = c_in.detach()
            h, c = lstm_graph(x[:, step], h_in, c_in, *w)
        else:
            h = gru_graph(x[:, step], h_in, *w)
        hs[step] = h
    out = torch.stack(hs, dim=1)  # type: ignore[arg-type]
    if bug == "shifted":
        out = torch.cat([t["h0"][:, None], out[:, :-1]], dim=1)
    return out


def _sequence_keys(kind: str) -> tuple[str, ...]:
    return ("x", "h0", "c0", *WEIGHTS) if kind == "lstm" else ("x", "h0", *WEIGHTS)


def _sequence(kind: str, bug: str) -> Callable[[Arrays], dict[str, np.ndarray]]:
    def reproduce(p: Arrays) -> dict[str, np.ndarray]:
        t = _step_tensors(p, _sequence_keys(kind), grad=False)
        with torch.no_grad():
            return {"hs": _numpy(_run_sequence(kind, t, bug))}

    return reproduce


def _sequence_grads(kind: str, bug: str | None, *,
                    last_step_only: bool = False) -> Callable[[Arrays], dict[str, np.ndarray]]:
    def reproduce(p: Arrays) -> dict[str, np.ndarray]:
        leaves = _step_tensors(p, _sequence_keys(kind), grad=True)
        dhs = np.array(p["dhs"], dtype=np.float64)
        if last_step_only:
            dhs[:, :-1] = 0.0
        (_run_sequence(kind, leaves, bug) * _tensor(dhs)).sum().backward()
        return _grads(leaves)

    return reproduce


def _sequence_mistakes(kind: str) -> tuple[Mistake, ...]:
    state = "h and c" if kind == "lstm" else "h"
    mistakes = [
        Mistake("the state is not carried", f"every step must start from the {state} the "
                "previous step returned, not from the initial state",
                _sequence(kind, "state not carried")),
        Mistake("hs[:, t] is the state before step t", "store the state after reading "
                "x[:, t]; the initial state is not part of hs", _sequence(kind, "shifted")),
        Mistake("the loop runs backwards in time", "read x[:, 0] first, then x[:, 1], ...",
                _sequence(kind, "backwards in time")),
    ]
    if kind == "lstm":
        mistakes[1:1] = [
            Mistake("c is not carried", "every step must start from the cell state c the "
                    "previous step returned", _sequence(kind, "c not carried")),
            Mistake("h is not carried", "every step must start from the hidden state h the "
                    "previous step returned", _sequence(kind, "h not carried")),
        ]
    return tuple(mistakes)


def _sequence_grad_mistakes(kind: str) -> tuple[Mistake, ...]:
    mistakes = [
        Mistake("the gradient from step t+1 is missing", "add the dh_prev returned by step t+1 "
                "to dhs[:, t] before the step backward of step t", _sequence_grads(kind,
                                                                                   "dh dropped")),
        Mistake("only dhs[:, -1] is used", "the loss reads every hidden state: add dhs[:, t] at "
                "every step t", _sequence_grads(kind, None, last_step_only=True)),
        Mistake("the weights' gradients are overwritten", "the weights are shared by every "
                "step: add up (+=) the gradients of all steps",
                _sequence_grads(kind, "weights from step 0")),
        Mistake("the weights' gradients come from one step", "the weights are shared by every "
                "step: add up (+=) the gradients of all steps",
                _sequence_grads(kind, "weights from the last step")),
    ]
    if kind == "lstm":
        mistakes[1:1] = [
            Mistake("the cell-state gradient from step t+1 is missing", "pass the dc_prev "
                    "returned by step t+1 as dc_next of step t (zero at the last step)",
                    _sequence_grads(kind, "dc dropped")),
            Mistake("the gradients from step t+1 are missing", "pass dh_prev and dc_prev of "
                    "step t+1 back to step t", _sequence_grads(kind, "dh and dc dropped")),
        ]
    return tuple(mistakes)


LSTM_SEQUENCE = _sequence_mistakes("lstm")
"""``lstm_forward``."""
GRU_SEQUENCE = _sequence_mistakes("gru")
"""``gru_forward``."""
LSTM_SEQUENCE_GRADS = _sequence_grad_mistakes("lstm")
"""``lstm_backward`` (BPTT)."""
GRU_SEQUENCE_GRADS = _sequence_grad_mistakes("gru")
"""``gru_backward`` (BPTT)."""


# -- the LSTM's cell state and forget bias ----------------------------------------------------


def _lstm_gates(p: Arrays) -> dict[str, torch.Tensor]:
    """The gates i, f, o of every step, ``(N, T, H)`` each (torch, no grad)."""
    t = _step_tensors(p, ("x", "h0", "c0", *WEIGHTS), grad=False)
    h, c = t["h0"], t["c0"]
    gates: dict[str, list[torch.Tensor]] = {"i": [], "f": [], "o": []}
    with torch.no_grad():
        for step in range(t["x"].shape[1]):
            a = t["x"][:, step] @ t["W_ih"].T + t["b_ih"] + h @ t["W_hh"].T + t["b_hh"]
            a_i, a_f, _, a_o = a.chunk(4, dim=-1)
            for name, pre in (("i", a_i), ("f", a_f), ("o", a_o)):
                gates[name].append(torch.sigmoid(pre))
            h, c = lstm_graph(t["x"][:, step], h, c, *(t[k] for k in WEIGHTS))
    return {k: torch.stack(v, dim=1) for k, v in gates.items()}


def _carousel(p: Arrays, gate: str = "f", *, with_dc_last: bool = True,
              reverse: bool = False) -> np.ndarray:
    gates = _lstm_gates(p)[gate]
    N, T, H = gates.shape
    out = torch.ones(N, T + 1, H, dtype=torch.float64)
    for k in range(T - 1, -1, -1):
        out[:, k] = out[:, k + 1] * gates[:, k]
    if with_dc_last:
        out = out * _tensor(p["dc_last"])[:, None]
    if reverse:
        out = out.flip(1)
    return _numpy(out)


CELL_STATE: tuple[Mistake, ...] = (
    Mistake("a product of input gates", "along the cell state c_t = f_t * c_(t-1) + ..., so "
            "each step back multiplies by that step's forget gate f_t, not i_t",
            lambda p: _carousel(p, "i")),
    Mistake("a product of output gates", "each step back multiplies by that step's forget gate "
            "f_t, not o_t", lambda p: _carousel(p, "o")),
    Mistake("dc_last is missing", "[:, T] is dc_last and every earlier entry is dc_last times "
            "the forget gates in between", lambda p: _carousel(p, with_dc_last=False)),
    Mistake("the time axis is reversed", "[:, k] is dL/dc_k: [:, T] is dc_last, [:, 0] the "
            "gradient reaching the initial cell state", lambda p: _carousel(p, reverse=True)),
)
"""``cell_state_gradient``."""


def forget_bias_norms(p: Arrays, *, block: int = 1, times: float = 1.0, every_step: bool = False,
                      squared: bool = False) -> np.ndarray:
    """``||dL/dx_t||`` with the forget bias added to gate ``block`` of b_ih (``times`` over);
    ``L = sum(h_T)`` (``every_step``: the sum of every ``h_t``)."""
    x = np.asarray(p["x"], dtype=np.float64)
    N, T, _ = x.shape
    H = np.shape(p["W_hh"])[1]
    b_ih = np.array(p["b_ih"], dtype=np.float64)
    b_ih[block * H:(block + 1) * H] += times * float(p["forget_bias"])
    dhs = np.ones((N, T, H)) if every_step else np.zeros((N, T, H))
    dhs[:, -1] = 1.0
    dx = _sequence_grads("lstm", None)({"x": x, "h0": np.zeros((N, H)), "c0": np.zeros((N, H)),
                                        "W_ih": p["W_ih"], "W_hh": p["W_hh"], "b_ih": b_ih,
                                        "b_hh": p["b_hh"], "dhs": dhs})["x"]
    squares = (dx**2).sum(axis=(0, 2))
    return squares if squared else np.sqrt(squares)


FORGET_BIAS: tuple[Mistake, ...] = (
    *(Mistake(f"the bias went to the {gate} block", "add forget_bias to the forget gate's "
              "block b_ih[H:2H] (gates i, f, g, o)",
              lambda p, k=k: forget_bias_norms(p, block=k))
      for k, gate in enumerate(LSTM_ORDER) if gate != "f"),
    Mistake("the forget bias is added twice", "add forget_bias once, to b_ih[H:2H] only",
            lambda p: forget_bias_norms(p, times=2.0)),
    Mistake("the loss is the sum of every h_t", "L = sum(h_T): dhs is zero except dhs[:, -1] "
            "= 1", lambda p: forget_bias_norms(p, every_step=True)),
    Mistake("the norms are squared", "take the square root: sqrt(sum(dL/dx[:, t]**2))",
            lambda p: forget_bias_norms(p, squared=True)),
)
"""``forget_bias_gradients``."""


# -- parameter counts -------------------------------------------------------------------------


def _counts(p: Arrays, *, biases: int = 2, stacked_input: str = "H",
            one_layer: bool = False) -> dict[str, int]:
    D, H, layers = int(p["input_size"]), int(p["hidden_size"]), int(p["num_layers"])
    layers = 1 if one_layer else layers
    result = {}
    for name, gates in (("rnn", 1), ("gru", 3), ("lstm", 4)):
        total = 0
        for layer in range(layers):
            d = D if layer == 0 or stacked_input == "D" else H
            total += gates * H * (d + H + biases)
        result[name] = total
    return result


PARAMETER_COUNTS: tuple[Mistake, ...] = (
    Mistake("one bias per gate block", "torch has two biases, b_ih and b_hh, each (G*H,)",
            lambda p: _counts(p, biases=1)),
    Mistake("no biases", "count b_ih and b_hh, each (G*H,)", lambda p: _counts(p, biases=0)),
    Mistake("stacked layers read the input", "every layer after the first reads the hidden "
            "state of the layer below: its W_ih is (G*H, H)",
            lambda p: _counts(p, stacked_input="D")),
    Mistake("only one layer counted", "add the num_layers - 1 layers stacked on the first",
            lambda p: _counts(p, one_layer=True)),
)
"""``parameter_counts`` (arithmetic, no torch needed)."""
