r"""What a test of an assignment sees: the learner's code, an oracle, and comparisons.

A test of an assignment is one function ``check(t, **case)`` (see :mod:`rnncourse.suites`). It
calls the learner's functions through ``t`` (:meth:`Tester.call`), asks the oracle for the
right answer on the same inputs (:meth:`Tester.expect`), and compares (:meth:`Tester.close`).
The same function runs in three places:

- in the learner's kernel, for the visible cases (the *Validate* button): the learner's
  functions are called directly (:class:`InKernelStudent`) and the oracle's answers are read
  from fixtures recorded at release time (:mod:`rnncourse.exercise.replay`), so no torch is
  needed;
- in the judge, outside the process that runs the learner's code (:mod:`rnncourse.judge`): the
  functions are called through the narrow channel and the oracle is torch, live, in float64,
  on the visible cases and on hidden cases drawn per student;
- in plain ``nbgrader autograde`` (in-kernel, the weaker model): directly, with live torch.

Rules for test authors: the oracle only ever sees inputs the test chose, never the learner's
outputs, and an explanation asks it the same questions whatever the learner answered (so its
answers can be recorded at release time); everything a test compares goes
through :meth:`Tester.close`, :meth:`Tester.require` or :meth:`Tester.fail`, whose message
leads with what to do, so that its first 80 characters stand on their own.

The relative error is, as everywhere in the course,

.. math:: \operatorname{rel}(a, b) = \max_k \frac{|a_k - b_k|}{\max(10^{-8},\ |a_k| + |b_k|)} .

This module imports only numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

_FLOOR = 1e-8


class CheckError(AssertionError):
    """A test failed; ``str(failure)`` is the message for the learner."""


@dataclass
class Returned:
    """What a call of the learner's function gave: its value and its arguments afterwards
    (to see in-place changes)."""

    value: Any
    args_after: tuple


class Student(Protocol):
    """The learner's code, wherever it runs."""

    def call(self, name: str, args: tuple, kwargs: dict) -> Returned:
        """Call the notebook's function ``name``."""

    def call_object(self, target: Any, args: tuple, kwargs: dict) -> Returned:
        """Call an object the learner's code returned (e.g. a model)."""

    def get(self, name: str) -> Any:
        """The value of the notebook's variable ``name``."""

    def function(self, name: str, **params: Any) -> Any:
        """A function of :mod:`rnncourse.exercise.library` to pass to the learner's code."""

    def optimizer(self, name: str, module: Any, **kwargs: Any) -> Any:
        """A torch optimiser (``"SGD"``, ``"Adam"``) over a module's parameters."""

    def state(self, module: Any) -> dict:
        """``{"structure": [...], "state": {name: tensor}}`` of a torch module."""

    def load_state(self, module: Any, state: dict) -> None:
        """Load ``state`` (name -> tensor) into a torch module."""


Oracle = Callable[..., Any]
"""``oracle(name, **inputs)``: the right answer, computed by torch (or recorded)."""


def to_array(value: Any) -> np.ndarray | None:
    """``value`` as a real numeric numpy array, or ``None`` when it is not one.

    Accepts numpy arrays and scalars, Python numbers, nested lists/tuples of numbers and torch
    tensors; rejects ``None``, booleans, complex and object arrays and any other object (in
    particular an object whose ``__eq__`` always returns ``True``).
    """
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, bool | np.bool_):
        return None
    if not isinstance(value, np.ndarray | np.number | int | float | list | tuple):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "iuf" else None


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if type(value).__name__ == "Ref":  # an object that stayed in the student's process
        return f"an object of type {value.type}"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return f"a {type(value).__name__}"


def elementwise_rel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise relative error; a non-finite disagreement counts as ``inf``."""
    with np.errstate(all="ignore"):
        rel = np.abs(x - y) / np.maximum(_FLOOR, np.abs(x) + np.abs(y))
    same = (~np.isfinite(x)) & (x == y) | (np.isnan(x) & np.isnan(y))
    rel = np.where(same, 0.0, rel)
    return np.where(np.isnan(rel), np.inf, rel)


def rel_error(a: Any, b: Any) -> float:
    """The largest elementwise relative error between two arrays of the same shape."""
    x = np.asarray(to_array(a), dtype=np.float64)
    y = np.asarray(to_array(b), dtype=np.float64)
    return float(np.max(elementwise_rel(x, y))) if x.size else 0.0


def mismatch(x: np.ndarray, y: np.ndarray) -> str:
    """Numbers that say how two same-shaped arrays differ (for the end of a message)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    rel = elementwise_rel(x, y)
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape)
    with np.errstate(all="ignore"):
        diff = np.abs(x - y)
        abs_err = float(np.max(np.where(np.isfinite(diff), diff, np.inf)))
    text = (f"max rel error {float(rel[worst]):.3g}, max abs error {abs_err:.3g}, worst at "
            f"index {tuple(int(i) for i in worst)} (got {float(x[worst]):.6g}, expected "
            f"{float(y[worst]):.6g})")
    bad = int(np.sum(~np.isfinite(x)))
    if bad:
        text += f"; {bad} element(s) are NaN or infinite"
    return text


class Tester:
    """The interface a test function gets; see the module docstring.

    Args:
        student: the learner's code.
        oracle: ``oracle(name, **inputs)`` gives the right answer.
        case: the label of the current case, shown in messages of visible cases.
        hidden: a hidden case: messages name no input, only what differs.
    """

    def __init__(self, student: Student, oracle: Oracle, *, case: str = "",
                 hidden: bool = False) -> None:
        self.student = student
        self.oracle = oracle
        self.case = case
        self.hidden = hidden
        self.last_args: tuple = ()
        #: Recording the oracle's answers at release time: explanations are asked for even
        #: when the check passes, so that a learner's failure can be explained offline.
        self.recording = bool(getattr(oracle, "records", False))

    # --- the learner's code --------------------------------------------------------------

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the learner's ``name``; :attr:`last_args` holds the arguments afterwards."""
        returned = self.student.call(name, args, kwargs)
        self.last_args = returned.args_after
        return returned.value

    def call_object(self, target: Any, *args: Any, **kwargs: Any) -> Any:
        """Call an object the learner's code made (e.g. ``model(x)``)."""
        returned = self.student.call_object(target, args, kwargs)
        self.last_args = returned.args_after
        return returned.value

    def get(self, name: str) -> Any:
        """The notebook's variable ``name``."""
        return self.student.get(name)

    def function(self, name: str, **params: Any) -> Any:
        """A library function (:mod:`rnncourse.exercise.library`) to pass to the learner."""
        return self.student.function(name, **params)

    def expect(self, name: str, **inputs: Any) -> Any:
        """The oracle's answer ``name`` on ``inputs``: inputs the test chose, or, for a
        lenient path only the judge takes, values the learner's code returned (the learner's
        kernel has no recorded answer for those and raises
        :class:`~rnncourse.exercise.replay.MissingAnswerError`)."""
        return self.oracle(name, **inputs)

    # --- checks --------------------------------------------------------------------------

    def where(self) -> str:
        """`` (case ...)`` for a visible case, ``""`` for a hidden one."""
        return f" ({self.case})" if self.case and not self.hidden else ""

    def fail(self, lead: str, details: str = "") -> None:
        """Fail with ``lead`` (what is wrong and what to do) first, then ``details``."""
        where = " in a hidden case" if self.hidden else self.where()
        message = lead.rstrip(".") + where + "."
        if details:
            message += "\n" + details
        raise CheckError(message)

    def require(self, condition: Any, lead: str, details: str = "") -> None:
        """Fail with ``lead`` unless ``condition`` holds."""
        if not condition:
            self.fail(lead, details)

    def array(self, value: Any, name: str) -> np.ndarray:
        """``value`` as a numeric array, or fail saying what it was instead."""
        array = to_array(value)
        if array is None:
            self.fail(f"{name} must be a numeric numpy array, got {_describe(value)}")
        return array

    def number(self, value: Any, name: str) -> float:
        """``value`` as a float: a Python or numpy scalar, or a one-element array."""
        array = self.array(value, name)
        self.require(array.size == 1,
                     f"{name} must be one number, got an array of shape {array.shape}")
        return float(array.reshape(()))

    def unpack(self, value: Any, n: int, what: str) -> tuple:
        """``value`` as a tuple of ``n`` items, or fail."""
        if not (isinstance(value, tuple) and len(value) == n):
            got = (f"a tuple of {len(value)}" if isinstance(value, tuple) else _describe(value))
            self.fail(f"{what} must return a tuple of {n} items, got {got}")
        return value

    def keys(self, value: Any, keys: list[str] | tuple[str, ...], what: str) -> dict:
        """``value`` as a dict holding ``keys``, or fail naming the missing ones."""
        if not isinstance(value, dict):
            self.fail(f"{what} must return a dict, got {_describe(value)}")
        missing = [k for k in keys if k not in value]
        self.require(not missing, f"{what}: the returned dict lacks the key(s) {missing}")
        return value

    def close(self, actual: Any, expected: Any, *, name: str, tol: float,
              hint: str = "", explain: Callable[[], str | None] | None = None) -> float:
        """Check ``actual`` against ``expected`` to relative error ``tol``; return the error.

        On failure the message leads with ``explain()`` (e.g. a named mistake) when it returns
        one, else with ``hint``; the numbers follow on the next line.
        """
        x = self.array(actual, name)
        y = np.asarray(to_array(expected))
        if x.shape != y.shape:
            lead = f"{name} has shape {x.shape}, expected {y.shape}"
            self.fail(lead + (f": {hint}" if hint else ""),
                      "Check which axis is the batch (N) and which the hidden size (H).")
        if y.dtype.kind == "f" and (x.dtype.kind != "f" or x.dtype.itemsize < y.dtype.itemsize):
            self.fail(f"{name} has dtype {x.dtype}, expected {y.dtype}: compute in {y.dtype}")
        if x.size == 0:
            return 0.0
        error = float(np.max(elementwise_rel(x.astype(np.float64), y.astype(np.float64))))
        if self.recording and explain is not None:
            explain()
        if not error <= tol:
            reason = explain() if explain is not None else None
            lead = reason or f"{name} is wrong" + (f": {hint}" if hint else "")
            self.fail(lead, f"{name}: {mismatch(x, y)}; tolerance {tol:g}.")
        return error

    def gradients(self, grads: Any, expected: dict, keys: list[str] | tuple[str, ...],
                  what: str, *, tol: float = 1e-6,
                  explain: Callable[[str], str | None] | None = None) -> None:
        """Check a dict of gradients against ``expected`` for ``keys``.

        ``explain(key)`` may name the likely mistake behind a wrong gradient ``key``.
        """
        grads = self.keys(grads, keys, what)
        for key in keys:
            self.close(grads[key], expected[key], name=f"{what}['{key}']", tol=tol,
                       explain=(lambda k=key: explain(k)) if explain else None)


def _copied(value: Any) -> Any:
    """``value`` with every numpy array inside tuples, lists and dicts copied."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value) in (tuple, list):
        return type(value)(_copied(v) for v in value)
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value


class InKernelStudent:
    """The learner's code in this very process (the learner's kernel, or plain nbgrader).

    Args:
        namespace: the notebook's global namespace.
    """

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def _lookup(self, name: str) -> Any:
        if name not in self.namespace:
            raise CheckError(f"Define {name}: the notebook has no {name!r} (run its cell first, "
                          "and do not rename it).")
        return self.namespace[name]

    def call(self, name: str, args: tuple, kwargs: dict) -> Returned:
        args, kwargs = _copied(args), _copied(kwargs)  # as the judge's channel would
        return Returned(self._lookup(name)(*args, **kwargs), args)

    def call_object(self, target: Any, args: tuple, kwargs: dict) -> Returned:
        args, kwargs = _copied(args), _copied(kwargs)
        return Returned(target(*args, **kwargs), args)

    def get(self, name: str) -> Any:
        return self._lookup(name)

    def function(self, name: str, **params: Any) -> Any:
        from rnncourse.exercise import library

        return library.make(name, **params)

    def optimizer(self, name: str, module: Any, **kwargs: Any) -> Any:
        import torch

        return {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}[name](
            module.parameters(), **kwargs)

    def state(self, module: Any) -> dict:
        from rnncourse.exercise import library

        return library.module_state(module)

    def load_state(self, module: Any, state: dict) -> None:
        import torch

        with torch.no_grad():
            module.load_state_dict(state, strict=True)
