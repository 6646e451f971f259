"""Figures of chapters 7 and 8 that stay readable without colour.

Every curve gets a colour of the Okabe-Ito palette (:data:`rnncourse.plots.COLORS`) *and* its
own line style and marker, so a reader who cannot tell the colours apart, or who prints the page
in black and white, can still match curves to the legend. Heatmaps use ``viridis``, whose
lightness rises monotonically, and mark the largest value of each row with a symbol.

Like :mod:`rnncourse.plots`, each function returns the figure it drew on and never calls
``plt.show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rnncourse.plots import COLORS, style

__all__ = ["LINE_STYLES", "MARKERS", "plot_attention", "plot_lines"]

LINE_STYLES: tuple[str, ...] = ("-", "--", ":", "-.")
"""Line styles, in the order curves are drawn (cycled)."""

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")
"""Markers, in the order curves are drawn (cycled)."""


def _array(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64).reshape(-1)


def plot_lines(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    logx: bool = False,
    logy: bool = False,
    markevery: int | None = None,
    xticks: Sequence[float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """One line per entry, told apart by colour, line style and marker.

    Args:
        curves: label -> ``(x, y)``; ``x`` and ``y`` of equal length (lists, arrays, tensors).
        xlabel, ylabel: axis labels, with units.
        title: axes title.
        logx, logy: logarithmic axes.
        markevery: draw a marker on every n-th point only (long curves); all points if ``None``.
        xticks: put the x ticks exactly here, labelled with plain numbers (no minor ticks);
            useful on a logarithmic axis, whose default labels read ``3 x 10^1``.
        ax: axes to draw into (a new figure when ``None``).

    Returns:
        Figure: the figure drawn on.
    """
    if not curves:
        raise ValueError("curves is empty")
    with style():
        if ax is None:
            fig, ax = plt.subplots()
        else:
            fig = ax.figure
        for i, (label, (x, y)) in enumerate(curves.items()):
            xs, ys = _array(x), _array(y)
            if xs.shape != ys.shape:
                raise ValueError(f"{label!r}: x has {xs.size} values, y has {ys.size}")
            ax.plot(xs, ys, label=str(label), color=COLORS[i % len(COLORS)],
                    linestyle=LINE_STYLES[i % len(LINE_STYLES)],
                    marker=MARKERS[i % len(MARKERS)], markersize=4, markevery=markevery)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        if xticks is not None:
            ax.set_xticks(list(xticks), [f"{v:g}" for v in xticks])
            ax.set_xticks([], minor=True)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend()
    return fig


def plot_attention(
    weights: Any,
    source: str,
    output: str,
    *,
    title: str = "Attention weights",
    ax: Axes | None = None,
) -> Figure:
    """Attention weights of one decoded sequence: output step down, source position across.

    Args:
        weights: ``(P, S)`` array; row ``i`` is the distribution over the ``S`` source positions
            used to emit output symbol ``i`` (rows sum to one).
        source: the source symbols, one character per column (``len(source) == S``).
        output: the emitted symbols, one per row; may be shorter than ``P`` (the end-of-sequence
            step is labelled ``<eos>``).
        title: axes title.
        ax: axes to draw into.

    Returns:
        Figure: the figure drawn on; a white dot marks the largest weight of each row.
    """
    values = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights,
                        dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(source):
        raise ValueError(f"weights must be (P, {len(source)}), got shape {values.shape}")
    rows = [*output, "<eos>"][: values.shape[0]]
    rows += [""] * (values.shape[0] - len(rows))
    with style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(4.8, 4.2))
        else:
            fig = ax.figure
        image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto",
                          interpolation="nearest")
        peaks = values.argmax(axis=1)
        ax.scatter(peaks, np.arange(values.shape[0]), s=14, facecolor="white",
                   edgecolor="black", linewidth=0.6, label="largest weight in the row")
        ax.grid(False)
        ax.set_xticks(range(len(source)), list(source))
        ax.set_yticks(range(values.shape[0]), rows)
        ax.set_xlabel("source digit (reading order)")
        ax.set_ylabel("output symbol (emission order)")
        ax.set_title(title)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
        fig.colorbar(image, ax=ax, label="attention weight (fraction of 1)")
    return fig
