"""Real time series for forecasting, read offline from the files statsmodels ships.

* Sunspots: yearly mean sunspot numbers 1700-2008 (309 values), from NOAA's National
  Geophysical Data Center, public domain; file ``statsmodels/datasets/sunspots/sunspots.csv``.
* CO2: weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001 (2,284 weeks, 59
  missing), Keeling & Whorf (2004), Scripps Institution of Oceanography via CDIAC, public
  domain; file ``statsmodels/datasets/co2/co2.csv``.

The CSV files are parsed with numpy; statsmodels itself is not imported.
"""

from __future__ import annotations

import csv
from typing import Literal

import numpy as np

from rnncourse.data._resources import package_path

__all__ = ["load_co2", "load_sunspots", "make_windows", "standardize"]


def _read_csv(*parts: str) -> tuple[list[str], list[list[str]]]:
    path = package_path("statsmodels", "datasets", *parts)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def load_sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly sunspot numbers, 1700-2008 (source and licence in the module docstring).

    Returns:
        tuple: ``years (309,)`` int64 and ``values (309,)`` float64 (mean sunspot number).

    Raises:
        MissingDataPackageError: if statsmodels is not installed (``pip install statsmodels``).
    """
    _, rows = _read_csv("sunspots", "sunspots.csv")
    years = np.array([int(float(r[0])) for r in rows], dtype=np.int64)
    values = np.array([float(r[1]) for r in rows], dtype=np.float64)
    return years, values


def load_co2(freq: Literal["weekly", "monthly"] = "weekly") -> tuple[np.ndarray, np.ndarray]:
    """Mauna Loa CO2 (ppmv), missing weeks filled by linear interpolation in time.

    Args:
        freq: ``"weekly"`` (2,284 values) or ``"monthly"`` (means of the filled weekly values
            in each calendar month, 526 values).

    Returns:
        tuple: ``times`` in decimal years (float64; mid-month for monthly) and ``co2`` float64.

    Raises:
        MissingDataPackageError: if statsmodels is not installed (``pip install statsmodels``).
        ValueError: for an unknown ``freq``.
    """
    if freq not in ("weekly", "monthly"):
        raise ValueError(f"freq must be 'weekly' or 'monthly', got {freq!r}")
    _, rows = _read_csv("co2", "co2.csv")
    dates = np.array(
        [f"{r[0][:4]}-{r[0][4:6]}-{r[0][6:8]}" for r in rows], dtype="datetime64[D]"
    )
    values = np.array([float(r[1]) if r[1].strip() else np.nan for r in rows])
    years = _decimal_years(dates)
    missing = np.isnan(values)
    values[missing] = np.interp(years[missing], years[~missing], values[~missing])
    if freq == "weekly":
        return years, values
    months = dates.astype("datetime64[M]")
    unique, inverse = np.unique(months, return_inverse=True)
    means = np.bincount(inverse, weights=values) / np.bincount(inverse)
    mid = _decimal_years(unique.astype("datetime64[D]")) + 1 / 24
    return mid, means


def _decimal_years(dates: np.ndarray) -> np.ndarray:
    """datetime64[D] array to decimal years (float64)."""
    year = dates.astype("datetime64[Y]")
    start = year.astype("datetime64[D]")
    length = (year + 1).astype("datetime64[D]") - start
    return year.astype(np.int64) + 1970 + (dates - start) / length


def make_windows(
    series: np.ndarray, window: int, horizon: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows for forecasting: ``window`` past values predict the next ``horizon``.

    Sample ``i`` has ``X[i] = series[i : i + window]`` and
    ``y[i] = series[i + window : i + window + horizon]``.

    Args:
        series: 1-D array ``(n,)``.
        window: input length, at least 1.
        horizon: number of future values to predict, at least 1.

    Returns:
        tuple: ``X (n - window - horizon + 1, window)`` and ``y (same, horizon)`` (copies).
    """
    values = np.asarray(series)
    if values.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {values.shape}")
    if window < 1 or horizon < 1:
        raise ValueError("window and horizon must be >= 1")
    count = len(values) - window - horizon + 1
    if count < 1:
        raise ValueError(f"series of length {len(values)} is too short for window+horizon")
    frames = np.lib.stride_tricks.sliding_window_view(values, window + horizon)[:count]
    return frames[:, :window].copy(), frames[:, window:].copy()


def standardize(
    x: np.ndarray, mean: float | None = None, std: float | None = None
) -> tuple[np.ndarray, float, float]:
    r"""Rescale to zero mean and unit standard deviation: :math:`z = (x - \mu) / \sigma`.

    Pass the training statistics as ``mean`` and ``std`` to transform validation data the same
    way; invert with ``z * std + mean``.

    Args:
        x: array of any shape.
        mean, std: statistics to use; computed from ``x`` when ``None``.

    Returns:
        tuple: ``(z, mean, std)``.
    """
    values = np.asarray(x, dtype=np.float64)
    mu = float(values.mean()) if mean is None else float(mean)
    sigma = float(values.std()) if std is None else float(std)
    if not sigma > 0:
        raise ValueError("standard deviation must be positive (constant series?)")
    return (values - mu) / sigma, mu, sigma
