"""The oracle of the assignments' tests, by name: torch computes what is right, in float64.

Tests ask ``t.expect(name, **inputs)`` (:mod:`rnncourse.exercise.tester`); the judge and plain
nbgrader answer with :func:`ask`, which looks ``name`` up in the ``ORACLES`` table of every
module of this package (one per assignment, e.g. :mod:`rnncourse.oracles.rnn_cell`: torch
modules and autograd, :mod:`rnncourse.reference` and :mod:`rnncourse.diagnose`). The learner's
kernel answers the visible cases from a recording of these answers instead (no torch needed).

Every oracle takes keyword arguments only (the inputs the test chose, never the learner's
outputs) and returns numpy arrays, numbers, or dicts/tuples/lists of them. Names are unique
across assignments and say what they compute.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any


@functools.cache
def registry() -> dict[str, Callable[..., Any]]:
    """Every oracle of every assignment module, by name."""
    table: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, oracle in getattr(module, "ORACLES", {}).items():
            if name in table:
                raise ValueError(f"two oracles named {name!r} (in {info.name})")
            table[name] = oracle
    return table


def ask(name: str, **inputs: Any) -> Any:
    """The oracle's answer ``name`` on ``inputs`` (computed now, with torch)."""
    try:
        oracle = registry()[name]
    except KeyError:
        raise KeyError(f"no oracle named {name!r}") from None
    return oracle(**inputs)
