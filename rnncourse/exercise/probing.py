r"""Explain a wrong answer: name the classic mistake, or find where it is by probing.

A test that finds a learner's output wrong explains it in three steps, all in numpy, wherever
the test runs (the learner's kernel, the judge, plain nbgrader):

1. **Named mistakes.** The oracle answers what each classic mistake gives on the test's inputs
   (:mod:`rnncourse.diagnose`); the first one the learner's output matches names the mistake.
2. **Probing.** The test reruns the learner's function on *probe inputs*: the same inputs with
   one part switched off (one gate block of a weight matrix or of a bias zeroed, one bias, the
   input or a state zeroed, one upstream gradient zeroed) or with one part isolated (only one
   gate's blocks on, every pre-activation zero). The oracle answers the probes too. A part whose
   removal makes the learner agree with torch is where the error enters: "look at where b_hn
   enters: h_next matches torch whenever b_hh's n block is zero".
3. **Localisation in the output.** Which outputs are right ("c_next matches; h_next is
   wrong"), which gate block of a weight gradient is wrong, from which time step on a sequence
   goes wrong.

Every probe input is chosen by the test from its own inputs, never from the learner's outputs,
so the oracle's answers on the probes are recorded with the visible cases at release time and
the learner's kernel explains offline, without torch (:mod:`rnncourse.exercise.replay`).
Messages lead with what to look at; their first 80 characters stand on their own.

This module imports only numpy.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnncourse.exercise.tester import Tester, elementwise_rel, to_array

#: Relative error below which two outputs count as the same in an explanation.
MATCH_TOL = 1e-6

Outputs = Mapping[str, Any]
Run = Callable[[dict[str, Any]], Any]
Mistakes = Sequence[Sequence[Any]]  # [[name, explanation, output], ...] from the oracle


# --- comparing ----------------------------------------------------------------------------


def agrees(actual: Any, expected: Any, tol: float = MATCH_TOL) -> bool:
    """True when ``actual`` is a numeric array of ``expected``'s shape within ``tol``."""
    x, y = to_array(actual), to_array(expected)
    if x is None or y is None or x.shape != y.shape:
        return False
    if x.size == 0:
        return True
    rel = elementwise_rel(x.astype(np.float64), y.astype(np.float64))
    return bool(np.max(rel) <= tol)


def agrees_all(actual: Outputs | None, expected: Outputs, keys: Iterable[str] | None = None,
               tol: float = MATCH_TOL) -> bool:
    """True when every output ``keys`` (default: all of ``expected``) agrees."""
    if not isinstance(actual, Mapping):
        return False
    return all(agrees(actual.get(k), expected[k], tol) for k in (keys or expected))


def named(actual: Any, expected: Any, mistakes: Mistakes, key: str | None = None,
          whole: Mapping[str, Any] | None = None) -> str | None:
    """``"name: explanation"`` of the mistake whose output ``actual`` matches.

    With ``key``, ``actual`` is the learner's value of output ``key`` and a mistake counts only
    where it changes that output (a mistake that leaves it right explains nothing about it);
    among those that match, the one that also agrees with the learner's ``whole`` output on the
    most other keys wins, then the first in the catalogue.
    """
    best, score = None, -1
    for name, explanation, output in mistakes:
        theirs = output if key is None else output.get(key)
        right = expected if key is None else expected[key]
        if isinstance(theirs, Mapping):
            matches = agrees_all(actual, theirs) and not agrees_all(theirs, right)
        else:
            matches = agrees(actual, theirs) and not agrees(theirs, right)
        if not matches:
            continue
        if key is None or whole is None:
            return f"{name}: {explanation}"
        points = sum(agrees(whole.get(k), output.get(k)) for k in output)
        if points > score:
            best, score = f"{name}: {explanation}", points
    return best


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _be(names: Sequence[str], single: str, plural: str) -> str:
    return single if len(names) == 1 else plural


def guarded(run: Callable[[dict[str, Any]], Any]) -> Run:
    """``run`` with the learner's exceptions and numpy warnings turned into ``None``."""

    def call(inputs: dict[str, Any]) -> Any:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return run(inputs)
        except Exception:  # the learner's code may raise anything on a probe
            return None

    return call


class Lazy:
    """A value computed on first use (the oracle's answers an explanation needs)."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self._compute = compute
        self._done = False
        self._value: Any = None

    def __call__(self) -> Any:
        if not self._done:
            self._value = self._compute()
            self._done = True
        return self._value


# --- probes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One probe: inputs for the learner's function and what they say when they agree.

    Attributes:
        inputs: keyword arguments of the learner's function (copies; parts zeroed).
        when: ``"b_hh's n block is zero"``: the condition under which the output agrees.
        look: ``"where b_hn enters"``: where to look when it does.
        kind: ``"off"`` (a part switched off: agreeing localises), ``"frozen"`` (every
            pre-activation zero: disagreeing localises the update equations) or ``"only"``
            (one gate isolated: disagreeing localises that gate).
        gate: the gate of an ``"only"`` probe.
    """

    inputs: dict[str, Any]
    when: str
    look: str
    kind: str = "off"
    gate: str = ""


@dataclass(frozen=True)
class Cell:
    """What probing needs to know about a gated cell in torch's layout.

    Attributes:
        name: ``"LSTM"`` or ``"GRU"``.
        gates: the gate blocks in torch's order, e.g. ``("i", "f", "g", "o")``.
        sigmoid_gates: the gates that use a sigmoid.
        states: the state inputs of a step, e.g. ``("h_prev", "c_prev")``.
        frozen: the gates' values when every pre-activation is zero.
        equations: output -> the equation that computes it from the gates.
        gate_values: gate -> its value when its block is zero (``"0.5"``, ``"0"``).
        enters: input -> where it enters the step.
        backward: gate -> the backward pass of that gate (for gradient messages).
    """

    name: str
    gates: tuple[str, ...]
    sigmoid_gates: tuple[str, ...]
    states: tuple[str, ...]
    frozen: str
    equations: dict[str, str]
    gate_values: dict[str, str]
    enters: dict[str, str]
    backward: dict[str, str] = field(default_factory=dict)

    def rows(self, gate: str, size: int) -> slice:
        """The rows of ``gate``'s block in an array of ``size`` stacked rows."""
        block = size // len(self.gates)
        k = self.gates.index(gate)
        return slice(k * block, (k + 1) * block)


WEIGHTS = ("W_ih", "W_hh", "b_ih", "b_hh")


def symbol(key: str, gate: str) -> str:
    """torch's name of a gate's block: ``symbol("b_hh", "n") == "b_hn"``."""
    return f"{key[0]}_{key[2]}{gate}"


def zeroed(inputs: Mapping[str, Any], parts: Iterable[tuple[str, str | None]],
           cell: Cell) -> dict[str, Any]:
    """A copy of ``inputs`` with ``(key, gate)`` parts zeroed (``gate=None``: all of key)."""
    out = {k: np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) else v
           for k, v in inputs.items()}
    for key, gate in parts:
        if gate is None:
            out[key] = np.zeros_like(out[key])
        else:
            out[key][cell.rows(gate, out[key].shape[0])] = 0.0
    return out


def step_probes(cell: Cell, inputs: Mapping[str, Any]) -> list[Probe]:
    """The probes of one forward step (``inputs``: x, the states and the four weights).

    The first is the frozen probe (every block zero); then one part switched off at a time,
    the most specific first (one block of one bias or weight, then whole biases, inputs, whole
    gates, the states together, the sigmoid gates); then one gate isolated at a time.
    """
    every = [(key, None) for key in WEIGHTS]
    probes = [Probe(zeroed(inputs, every, cell), f"every pre-activation is zero ({cell.frozen})",
                    "", kind="frozen")]
    for gate in cell.gates:
        for key in ("b_hh", "b_ih", "W_hh", "W_ih"):
            probes.append(Probe(zeroed(inputs, [(key, gate)], cell),
                                f"{key}'s {gate} block is zero",
                                f"where {symbol(key, gate)} enters"))
    for key in ("b_ih", "b_hh"):
        probes.append(Probe(zeroed(inputs, [(key, None)], cell), f"{key} is zero",
                            f"how you add {key}"))
    for name in ("x", *cell.states):
        probes.append(Probe(zeroed(inputs, [(name, None)], cell), f"{name} is zero",
                            cell.enters[name]))
    for gate in cell.gates:
        probes.append(Probe(zeroed(inputs, [(key, gate) for key in WEIGHTS], cell),
                            f"{gate}'s blocks are zero ({gate} = {cell.gate_values[gate]})",
                            f"how {gate} is computed and used"))
    if len(cell.states) > 1:
        probes.append(Probe(zeroed(inputs, [(s, None) for s in cell.states], cell),
                            f"{_join(cell.states)} are zero", "how the previous state enters"))
    sig = cell.sigmoid_gates
    probes.append(Probe(zeroed(inputs, [(k, g) for k in WEIGHTS for g in sig], cell),
                        f"every sigmoid gate is 0.5 ({_join(sig)}'s blocks zero)",
                        "your sigmoid gates (sigmoid is defined in the first cell)"))
    for gate in cell.gates:
        others = [(k, g) for k in WEIGHTS for g in cell.gates if g != gate]
        probes.append(Probe(zeroed(inputs, others, cell), f"only {gate}'s blocks are on",
                            f"the {gate} gate", kind="only", gate=gate))
    return probes


def gate_weight_probes(cell: Cell, inputs: Mapping[str, Any]) -> list[Probe]:
    """One gate's rows of W_ih and W_hh zeroed at a time: that gate's term drops out of the
    gradients of x and h_prev (for localising a backward pass)."""
    return [Probe(zeroed(inputs, [("W_ih", g), ("W_hh", g)], cell),
                  f"the {g} rows of W_ih and W_hh are zero",
                  f"the {g} gate's gradient ({cell.backward.get(g, g)})")
            for g in cell.gates]


# --- explanations ---------------------------------------------------------------------------


def explain_step(cell: Cell, got: Outputs, expected: Outputs, mistakes: Mistakes,
                 probes: Sequence[Probe], probe_answers: Sequence[Outputs], run: Run) -> str | None:
    """Why a forward step's outputs ``got`` differ from ``expected`` (``None`` if they agree).

    ``run(inputs)`` reruns the learner's step on a probe's inputs and returns its outputs as a
    dict like ``expected`` (``None`` when it fails); ``probe_answers`` are the oracle's.
    """
    names = list(expected)
    wrong = [k for k in names if not agrees(got.get(k), expected[k])]
    if not wrong:
        return None
    right = [k for k in names if k not in wrong]
    lead = ""
    if right:
        lead = (f"{_join(right)} {_be(right, 'matches', 'match')}; {_join(wrong)} "
                f"{_be(wrong, 'is', 'are')} wrong: ")
    mistake = named(dict(got), expected, mistakes)
    if mistake:
        return lead + mistake
    results = [agrees_all(guarded(run)(p.inputs), answer) for p, answer in
               zip(probes, probe_answers, strict=True)]
    them = _join(wrong)
    look = (lead or "") + ("look at" if lead else "Look at")
    for probe, ok in zip(probes, results, strict=True):
        if probe.kind == "frozen" and not ok:
            equation = next(eq for out, eq in cell.equations.items() if out in wrong)
            return (f"{look} {equation}: {them} {_be(wrong, 'is', 'are')} wrong even when "
                    f"{probe.when}")
    for probe, ok in zip(probes, results, strict=True):
        if probe.kind == "off" and ok:
            return f"{look} {probe.look}: {them} {_be(wrong, 'matches', 'match')} torch " \
                   f"whenever {probe.when}"
    bad = [p.gate for p, ok in zip(probes, results, strict=True) if p.kind == "only" and not ok]
    if bad and len(bad) < len(cell.gates):
        return (f"{look} the {_join(bad)} gate{'s' if len(bad) > 1 else ''}: {them} "
                f"{_be(wrong, 'is', 'are')} wrong with only {_join(bad)}'s blocks of the "
                "weights and biases on, right with any other gate alone")
    return (f"{lead or them + ' ' + _be(wrong, 'is', 'are') + ' wrong: '}no classic mistake, "
            "gate, bias or input alone explains it: compare each line with the equations")


def shape_problem(name: str, got: np.ndarray, expected: np.ndarray,
                  formula: str = "") -> str | None:
    """Name a wrong shape: a transposed matrix, a bias gradient not summed over the batch."""
    if got.shape == expected.shape:
        return None
    use = f"use {formula}, " if formula else ""
    if got.ndim == 2 and got.shape == expected.shape[::-1]:
        what = "is transposed" if got.size and agrees(got.T, expected) else \
            "has the transposed shape"
        return (f"{name} {what}: {use}shaped {expected.shape} like the weights, not "
                f"{got.shape}")
    if expected.ndim == 1 and got.ndim == 2 and got.shape[1] == expected.shape[0]:
        return (f"{name} is not summed over the batch: shape {got.shape}, expected "
                f"{expected.shape}; sum over axis 0")
    if expected.ndim == 1 and got.ndim == 1:
        return (f"{name} has shape {got.shape}, expected {expected.shape}: sum the bias "
                "gradient over the batch axis 0, not over the gates")
    return (f"{name} has shape {got.shape}, expected {expected.shape}: a gradient has the "
            "shape of what it is the gradient of")


def explain_gradient(cell: Cell, key: str, what: str, got: Outputs, expected: Outputs,
                     mistakes: Mistakes, probes: Sequence[Probe],
                     probe_answers: Sequence[Outputs], run: Run,
                     chain: Mapping[str, tuple[str, str]] | None = None) -> str | None:
    """Why the gradient ``key`` of a step backward is wrong (``None`` if it agrees).

    ``chain[key] = (witness, formula)``: when the gradient ``witness`` is right, the shared
    pre-activation gradient is right and ``key`` goes wrong in ``formula`` (e.g.
    ``"W_ih": ("b_ih", "dW_ih = da.T @ x")``). ``run(inputs)`` reruns the learner's forward and
    backward pass on a probe and returns its gradient dict.
    """
    if agrees(got.get(key), expected[key]):
        return None
    name = f"{what}['{key}']"
    mistake = named(got.get(key), expected, mistakes, key, whole=got)
    if mistake:
        return mistake
    actual = np.asarray(to_array(got.get(key)), dtype=np.float64)
    right = np.asarray(expected[key])
    if key in WEIGHTS and actual.shape == right.shape:
        bad = [g for g in cell.gates if not agrees(actual[cell.rows(g, len(right))],
                                                   right[cell.rows(g, len(right))])]
        if len(bad) < len(cell.gates):
            hints = "; ".join(cell.backward[g] for g in bad)
            return (f"Look at the {_join(bad)} gate{'s' if len(bad) > 1 else ''} ({hints}): "
                    f"{name} is wrong only in {_be(bad, 'that block', 'those blocks')}")
    if chain and key in chain:
        witness, formula = chain[key]
        if agrees(got.get(witness), expected[witness]):
            return (f"Look at {formula}: d{witness} is right, so the pre-activation gradient "
                    f"is right and {name} goes wrong after it")
    found = explain_by_probes(probes, probe_answers, run, key, name)
    if found:
        return found
    return (f"{name} is wrong: no classic mistake, gate or path alone explains it; work "
            "backwards through the forward equations one line at a time")


def first_wrong_step(actual: Any, expected: np.ndarray, axis: int = 1) -> int | None:
    """The first index along ``axis`` (time) where ``actual`` disagrees, or ``None``."""
    x = to_array(actual)
    if x is None or x.shape != expected.shape:
        return 0
    for k in range(expected.shape[axis]):
        if not agrees(np.take(x, k, axis=axis), np.take(expected, k, axis=axis)):
            return k
    return None


def last_right_suffix(actual: Any, expected: np.ndarray, axis: int = 1) -> int:
    """The smallest ``k`` such that every index ``>= k`` along ``axis`` agrees."""
    x = to_array(actual)
    size = expected.shape[axis]
    if x is None or x.shape != expected.shape:
        return size
    k = size
    while k > 0 and agrees(np.take(x, k - 1, axis=axis), np.take(expected, k - 1, axis=axis)):
        k -= 1
    return k


def explain_by_probes(probes: Sequence[Probe], probe_answers: Sequence[Outputs], run: Run,
                      key: str, name: str) -> str | None:
    """``"Look at <probe.look>: <name> matches torch whenever <probe.when>"`` for the first
    probe on which the learner's output ``key`` agrees with the oracle's, else ``None``."""
    for probe, answer in zip(probes, probe_answers, strict=True):
        out = guarded(run)(probe.inputs)
        if isinstance(out, Mapping) and agrees(out.get(key), answer[key]):
            return f"Look at {probe.look}: {name} matches torch whenever {probe.when}"
    return None


# --- checks written with a Tester (shared by the gated-cell suites) -------------------------


def check_gradients(t: Tester, grads: Any, expected: Mapping[str, Any], keys: Sequence[str],
                    what: str, explain: Callable[[str], str | None],
                    formulas: Mapping[str, str] | None = None, tol: float = 1e-6) -> None:
    """Each gradient ``keys`` of the learner's dict ``grads`` against ``expected``.

    A wrong shape is named (:func:`shape_problem`, with ``formulas[key]`` as the fix); a wrong
    value is explained by ``explain(key)``.
    """
    grads = t.keys(grads, list(keys), what)
    for key in keys:
        name = f"{what}['{key}']"
        actual = t.array(grads[key], name)
        problem = shape_problem(name, actual, np.asarray(expected[key]),
                                (formulas or {}).get(key, ""))
        if problem:
            t.fail(problem)
        t.close(actual, expected[key], name=name, tol=tol, explain=lambda k=key: explain(k))


def state_probes(inputs: Mapping[str, Any], states: Sequence[str]) -> list[Probe]:
    """The initial states zeroed one at a time, then together (for a sequence forward)."""
    parts = [(s,) for s in states] + ([tuple(states)] if len(states) > 1 else [])
    return [Probe({**inputs, **{s: np.zeros_like(inputs[s]) for s in part}},
                  f"{_join(part)} {_be(part, 'is', 'are')} zero",
                  f"how {_join(part)} start{_be(part, 's', '')} the loop")
            for part in parts]


def explain_sequence(t: Tester, oracle: str, inputs: dict[str, Any], hs: Any,
                     expected: np.ndarray, states: Sequence[str], forward: str,
                     step: str) -> str | None:
    """Why the states ``hs`` of the learner's sequence ``forward`` differ from ``expected``.

    Asks the oracle ``"<oracle>_mistakes"`` and ``oracle`` on :func:`state_probes`; names a
    mistake, else finds the initial state that explains it, else the first wrong time step.
    """
    mistakes = t.expect(f"{oracle}_mistakes", **inputs)
    probes = state_probes(inputs, states)
    answers = [t.expect(oracle, **probe.inputs) for probe in probes]
    if agrees(hs, expected):
        return None
    mistake = named({"hs": hs}, {"hs": expected}, mistakes)
    if mistake:
        return mistake
    first = first_wrong_step(hs, expected)
    if first == 0:
        first_step = {k: v for k, v in inputs.items() if k not in states and k != "x"}
        mine = guarded(lambda p: t.call(step, **p)[0])(
            {"x": inputs["x"][:, 0], **{_previous(s): inputs[s] for s in states}, **first_step})
        if not agrees(mine, np.take(expected, 0, axis=1)):
            return (f"Fix {step} first: hs[:, 0] is wrong because {step}(x[:, 0], "
                    f"{', '.join(states)}, ...) is, and {forward} runs on it")
        found = explain_by_probes(probes, answers, lambda p: {"hs": t.call(forward, **p)[0]},
                                  "hs", "hs")
        if found:
            return found
        return (f"Look at the first step: hs[:, 0] is wrong although {step} is right on "
                f"x[:, 0] and {', '.join(states)}: call it with exactly these")
    carried = " and ".join(s[0] for s in states)
    return (f"Look at what passes from step {first - 1} to step {first}: hs[:, :{first}] "
            f"matches torch, hs[:, {first}] does not (carry {carried} from step to step)")


def _previous(state: str) -> str:
    """The step's name of an initial state: ``"h0"`` -> ``"h_prev"``."""
    return f"{state[0]}_prev"


def bptt_probes(inputs: Mapping[str, Any]) -> list[Probe]:
    """For a BPTT: a one-step sequence, and only the last step's upstream gradient nonzero."""
    one = {**inputs, "x": np.array(inputs["x"][:, :1]), "dhs": np.array(inputs["dhs"][:, :1])}
    last = np.zeros_like(inputs["dhs"])
    last[:, -1] = inputs["dhs"][:, -1]
    return [Probe(one, "the sequence has one step", "the step backward"),
            Probe({**inputs, "dhs": last}, "only dhs[:, -1] is nonzero", "how dhs[:, t] joins")]


def explain_bptt(key: str, what: str, step: str, grads: Any, expected: Mapping[str, Any],
                 mistakes: Mistakes, probes: Sequence[Probe], answers: Sequence[Outputs],
                 run: Run, step_run: Run | None = None) -> str | None:
    """Why the gradient ``key`` of the learner's BPTT ``what`` differs from ``expected``.

    ``probes`` are :func:`bptt_probes`; ``run(inputs)`` reruns the learner's forward and
    backward pass and returns the gradient dict; ``step_run(inputs)`` runs the learner's step
    forward and backward on the one-step probe and returns the same keys. Names a mistake;
    else says from which step back ``dx`` goes wrong, whether a one-step sequence is already
    wrong (the step backward, or how it is called), or whether the gradients are right when
    only the last step's loss counts.
    """
    grads = grads if isinstance(grads, Mapping) else {}
    if agrees(grads.get(key), expected[key]):
        return None
    name = f"{what}['{key}']"
    mistake = named(grads.get(key), expected, mistakes, key, whole=grads)
    if mistake:
        return mistake
    T = np.shape(expected["x"])[1]
    if key == "x":
        k = last_right_suffix(grads.get("x"), np.asarray(expected["x"]))
        if 0 < k < T:
            return (f"Look at what flows back from step {k} to step {k - 1}: dx[:, {k}:] "
                    f"matches torch, dx[:, {k - 1}] does not")
    one_step, last_only = probes
    out = guarded(run)(one_step.inputs)
    if not (isinstance(out, Mapping) and agrees(out.get(key), answers[0][key])):
        mine = guarded(step_run)(one_step.inputs) if step_run else None
        if isinstance(mine, Mapping) and agrees(mine.get(key), answers[0][key]):
            return (f"Look at how you call {step}: on a one-step sequence it gives the right "
                    f"gradient and {what} does not")
        return (f"Fix {step} first: {name} is wrong even for a one-step sequence, and "
                f"{what} runs on {step}")
    out = guarded(run)(last_only.inputs)
    if isinstance(out, Mapping) and agrees(out.get(key), answers[1][key]):
        return (f"Look at how dhs[:, t] joins at every step: {name} matches torch when only "
                "dhs[:, -1] is nonzero")
    return (f"Look at what flows from step t+1 back to step t and at the sums over time: "
            f"{name} is right for one step, wrong for {T}")
