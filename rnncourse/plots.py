"""The book's figures, in one shared style.

Colours come from the Okabe-Ito palette, which readers with any common colour-vision
deficiency can tell apart, and no curve is told from another by colour alone: each series also
has its own dash pattern and marker (:func:`series_style`, :data:`SERIES_CYCLE`).

Every function returns the matplotlib :class:`~matplotlib.figure.Figure` it drew on (created
with ``pyplot``, so notebooks show it at the end of the cell; assign the result or end the
line with ``;`` to avoid showing it twice) and never calls ``plt.show()``. Pass ``ax=`` to draw
into an existing axes. Axes are labelled with quantities and units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "LINESTYLES",
    "MARKERS",
    "SERIES_CYCLE",
    "STYLE",
    "plot_forecast",
    "plot_gradient_norms",
    "plot_heatmap",
    "plot_spectral_sweep",
    "plot_training_curves",
    "series_style",
    "style",
]

COLORS: tuple[str, ...] = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
)
"""Okabe-Ito colour-blind-safe palette, in the order curves are drawn."""

LINESTYLES: tuple[str | tuple[float, tuple[float, ...]], ...] = (
    "-", "--", "-.", ":", (0, (6, 2)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 2)), (0, (8, 2, 2, 2)),
)
"""One dash pattern per series, so that curves differ without colour (greyscale, print)."""

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
"""One marker shape per series, drawn at a few points of each curve."""

SERIES_CYCLE = (
    mpl.cycler(color=list(COLORS))
    + mpl.cycler(linestyle=list(LINESTYLES))
    + mpl.cycler(marker=list(MARKERS))
)
"""Colour, dash pattern and marker together, for curves drawn by hand in a chapter:
``ax.set_prop_cycle(SERIES_CYCLE)`` (the helpers below use :func:`series_style`)."""

STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "axes.prop_cycle": mpl.cycler(color=list(COLORS)),
}
"""rcParams shared by every figure of the book."""


@contextmanager
def style() -> Iterator[None]:
    """Context manager applying :data:`STYLE` (for figures drawn by hand in a chapter).

    Only the keys of :data:`STYLE` are set and restored. ``plt.rc_context`` would restore
    every rcParam, ``interactive`` included: in a notebook the inline backend switches
    interactive mode on when the first figure activates it, so restoring it would hide every
    later figure of the page.
    """
    previous = {key: mpl.rcParams[key] for key in STYLE}
    mpl.rcParams.update(STYLE)
    try:
        yield
    finally:
        mpl.rcParams.update(previous)


def series_style(index: int, n_points: int, n_series: int = 1) -> dict[str, Any]:
    """Colour, dash pattern and marker of the ``index``-th curve of a figure.

    Markers go on about eight points of each curve (``markevery``), staggered between curves
    so that they do not sit on top of each other; a short curve gets a marker on every point.

    Args:
        index: position of the curve in the figure (wraps around after eight).
        n_points: number of points of the curve.
        n_series: number of curves in the figure (spreads the markers' offsets).

    Returns:
        dict: keyword arguments for :meth:`matplotlib.axes.Axes.plot`.
    """
    if n_points < 1 or n_series < 1:
        raise ValueError("n_points and n_series must be >= 1")
    i = index % len(COLORS)
    every = max(1, n_points // 8)
    offset = (index * every // max(n_series, 1)) % every
    return {"color": COLORS[i], "linestyle": LINESTYLES[i], "marker": MARKERS[i],
            "markevery": (offset, every), "markersize": 4.5}


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """The given axes and its figure, or a new styled figure with one axes."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, new_ax = plt.subplots()
    return fig, new_ax


def _label(ax: Axes, xlabel: str, ylabel: str, title: str | None, legend: bool = True) -> None:
    """Axis labels (quantities and units), an optional title and the legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend()


def _positive(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Float array with non-positive entries replaced by NaN (gaps on a log axis)."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.where(array > 0, array, np.nan)


def plot_gradient_norms(
    norms: Mapping[str, Sequence[float] | np.ndarray],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = r"gradient norm $\|\partial L / \partial h_t\|$",
    xlabel: str = "time step $t$",
) -> Figure:
    """Gradient norm against time step, one curve per entry, logarithmic y axis.

    Args:
        norms: label -> norms at steps ``t = 1..T`` (e.g. from
            :func:`rnncourse.gradients.hidden_gradient_norms`). Zeros leave gaps.
        ax: axes to draw into (a new figure when ``None``).
        title: axes title.
        ylabel, xlabel: axis labels.

    Returns:
        Figure: the figure drawn on.
    """
    if not norms:
        raise ValueError("norms is empty")
    with style():
        fig, ax = _axes(ax)
        for i, (label, values) in enumerate(norms.items()):
            y = _positive(values)
            ax.plot(np.arange(1, len(y) + 1), y, label=str(label),
                    **series_style(i, len(y), len(norms)))
        ax.set_yscale("log")
        _label(ax, xlabel, ylabel, title)
    return fig


def plot_heatmap(
    matrix: Any,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    colorbar_label: str,
    ax: Axes | None = None,
    cmap: str = "RdBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """A matrix as an image with a labelled colour bar (hidden states, gate activations).

    Rows run down the y axis, columns along the x axis (e.g. ``hs.T`` to put time along x).

    Args:
        matrix: 2-D array (or tensor).
        xlabel, ylabel, title: labels.
        colorbar_label: what the colour means, with units.
        ax: axes to draw into.
        cmap: colour map (diverging by default, centred when vmin/vmax are symmetric).
        vmin, vmax: colour limits (symmetric around 0 by default for signed data).

    Returns:
        Figure: the figure drawn on.
    """
    values = np.asarray(matrix.detach().cpu() if hasattr(matrix, "detach") else matrix, float)
    if values.ndim != 2:
        raise ValueError(f"matrix must be 2-D, got shape {values.shape}")
    if vmin is None and vmax is None and np.nanmin(values) < 0:
        limit = float(np.nanmax(np.abs(values))) or 1.0
        vmin, vmax = -limit, limit
    with style():
        fig, ax = _axes(ax)
        image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                          interpolation="nearest")
        ax.grid(False)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        fig.colorbar(image, ax=ax, label=colorbar_label)
    return fig


def plot_training_curves(
    history: Mapping[str, Sequence[float]] | Any,
    *,
    ylabel: str,
    xlabel: str = "training step",
    steps: Sequence[float] | None = None,
    logy: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Training and validation curves against training step.

    Args:
        history: label -> values, or a :class:`rnncourse.train.History` (anything with
            ``to_dict()``). A ``"steps"`` entry (or ``steps=``) gives the x values; the keys
            ``"seconds"``, ``"grad_norm"`` and ``"stop_reason"`` and all-NaN curves are skipped.
        ylabel: what the curves measure, with units (``"loss (nats per character)"``).
        xlabel: x-axis label.
        steps: x values shared by all curves (default ``history["steps"]`` or ``1..n``).
        logy: logarithmic y axis.
        title: axes title.
        ax: axes to draw into.

    Returns:
        Figure: the figure drawn on.
    """
    data = dict(history.to_dict() if hasattr(history, "to_dict") else history)
    x_values = steps if steps is not None else data.get("steps")
    skip = {"steps", "seconds", "grad_norm", "stop_reason"}
    curves = {k: np.asarray(v, float) for k, v in data.items() if k not in skip}
    curves = {k: v for k, v in curves.items() if v.size and not np.all(np.isnan(v))}
    if not curves:
        raise ValueError("history holds no curve to plot")
    with style():
        fig, ax = _axes(ax)
        for i, (label, values) in enumerate(curves.items()):
            x = np.arange(1, len(values) + 1) if x_values is None else np.asarray(x_values)
            if len(x) != len(values):
                raise ValueError(f"{label!r} has {len(values)} values but {len(x)} steps")
            ax.plot(x, values, label=label.replace("_", " "),
                    **series_style(i, len(values), len(curves)))
        if logy:
            ax.set_yscale("log")
        _label(ax, xlabel, ylabel, title)
    return fig


def plot_spectral_sweep(
    radii: Sequence[float],
    norms_by_radius: Mapping[float, Sequence[float]] | Sequence[Any],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str = "time steps back $k$",
    ylabel: str = r"gradient norm $\|\partial h_T / \partial h_{T-k}\|$",
) -> Figure:
    """How gradient norms depend on the scale (spectral radius / norm) of ``W_hh``.

    Two forms: when each entry of ``norms_by_radius`` is a sequence, one curve per radius
    against time (colour = radius, with a colour bar); when each entry is a single number,
    one curve of that number against the radius. Both use a logarithmic y axis.

    Args:
        radii: the scales swept.
        norms_by_radius: mapping radius -> values, or a sequence aligned with ``radii``.
        ax: axes to draw into.
        title: axes title.
        xlabel, ylabel: axis labels for the curves-over-time form (the scalar form labels the
            x axis "spectral radius of $W_{hh}$").

    Returns:
        Figure: the figure drawn on.
    """
    radii = [float(r) for r in radii]
    if not radii:
        raise ValueError("radii is empty")
    if isinstance(norms_by_radius, Mapping):
        series = [norms_by_radius[r] for r in radii]
    else:
        series = list(norms_by_radius)
    if len(series) != len(radii):
        raise ValueError(f"{len(radii)} radii but {len(series)} norm series")
    with style():
        fig, ax = _axes(ax)
        if all(np.ndim(s) == 0 for s in series):
            ax.plot(radii, _positive([float(s) for s in series]), marker="o")
            ax.axvline(1.0, color="0.5", linestyle="--", linewidth=1)
            xlabel = r"spectral radius of $W_{hh}$"
        else:
            cmap = mpl.colormaps["viridis"]
            norm = mpl.colors.Normalize(min(radii), max(radii) if max(radii) > min(radii) else
                                        min(radii) + 1)
            for i, (radius, values) in enumerate(zip(radii, series, strict=True)):
                y = _positive(values)
                ax.plot(np.arange(1, len(y) + 1), y, color=cmap(norm(radius)),
                        linestyle=LINESTYLES[i % len(LINESTYLES)])
            fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                         label=r"spectral radius of $W_{hh}$")
        ax.set_yscale("log")
        _label(ax, xlabel, ylabel, title, legend=False)
    return fig


def plot_forecast(
    t: Sequence[float] | np.ndarray,
    truth: Sequence[float] | np.ndarray,
    prediction: Sequence[float] | np.ndarray,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    split: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Observed series and model predictions on the same time axis.

    Args:
        t: times ``(n,)``.
        truth: observed values ``(n,)``.
        prediction: predicted values ``(n,)`` (NaN where there is no prediction).
        xlabel, ylabel: labels with units (``"year"``, ``"CO$_2$ (ppmv)"``).
        title: axes title.
        split: time where the training data ends (drawn as a dashed vertical line).
        ax: axes to draw into.

    Returns:
        Figure: the figure drawn on.
    """
    times = np.asarray(t, float).reshape(-1)
    observed = np.asarray(truth, float).reshape(-1)
    predicted = np.asarray(prediction, float).reshape(-1)
    if not len(times) == len(observed) == len(predicted):
        raise ValueError("t, truth and prediction must have the same length")
    with style():
        fig, ax = _axes(ax)
        ax.plot(times, observed, color=COLORS[7], linestyle="-", linewidth=1.0,
                label="observed")
        ax.plot(times, predicted, color=COLORS[1], linestyle="--", label="predicted")
        if split is not None:
            ax.axvline(split, color="0.5", linestyle="--", linewidth=1, label="end of training")
        _label(ax, xlabel, ylabel, title)
    return fig
