r"""Schematic diagrams of the book, drawn with matplotlib when the book is built.

Every function returns a :class:`~matplotlib.figure.Figure` and never calls ``plt.show()``.
Nothing is read from disk: the book contains no hand-edited image. The diagrams follow the
rules of :mod:`rnncourse.plots`: colours from the Okabe-Ito palette
(:data:`rnncourse.plots.COLORS`), and no meaning carried by colour alone. The forward pass is
drawn with solid arrows, the backward pass (gradients) with dashed arrows, the constant error
carousel with a thick line, and every element carries a text label.

Each labelled element has a matplotlib ``gid`` (see :func:`element_ids`), so tests can check
that a diagram holds what its alt text promises.

* :func:`unrolled_rnn`: the RNN unrolled over time, optionally with the BPTT gradient paths.
* :func:`truncated_bptt`: windows of truncated BPTT: values cross the window boundary,
  gradients do not.
* :func:`lstm_cell`: one LSTM step in torch's notation, the carousel highlighted.
* :func:`gru_cell`: one GRU step in torch's notation, the update path highlighted.
* :func:`rnn_taxonomy`: one-to-many, many-to-one and the two many-to-many shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from rnncourse.plots import COLORS, style

__all__ = [
    "BACKWARD",
    "CAROUSEL",
    "FORWARD",
    "element_ids",
    "gru_cell",
    "lstm_cell",
    "rnn_taxonomy",
    "truncated_bptt",
    "unrolled_rnn",
]

FORWARD = COLORS[0]
"""Colour of the forward pass (blue), always drawn solid."""
BACKWARD = COLORS[1]
"""Colour of the backward pass (vermillion), always drawn dashed."""
CAROUSEL = COLORS[2]
"""Colour of the carousel / update path (bluish green), always drawn thick."""
INK = "#222222"
PAPER = "#ffffff"
_INPUT_FILL = "#d8eaf6"   # light tint of the palette's blue
_STATE_FILL = "#d4efe5"   # light tint of the palette's green
_OUTPUT_FILL = "#f6dccc"  # light tint of the palette's vermillion
_GATE_FILL = "#fbeccb"    # light tint of the palette's orange


def element_ids(fig: Figure) -> set[str]:
    """The ``gid`` of every artist of ``fig`` that has one (the diagram's labelled elements)."""
    return {a.get_gid() for a in fig.findobj(lambda a: a.get_gid() is not None)}


def _canvas(width: float, height: float, xlim: tuple[float, float],
            ylim: tuple[float, float], ax: Axes | None = None) -> tuple[Figure, Axes]:
    """A figure with one axes without ticks or frame, equal aspect, fixed limits."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(width, height))
    else:
        fig = ax.figure  # type: ignore[assignment]
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax  # type: ignore[return-value]


def _box(ax: Axes, xy: tuple[float, float], text: str, *, gid: str, fill: str = PAPER,
         width: float = 0.9, height: float = 0.6, fontsize: float = 11,
         edge: str = INK, linewidth: float = 1.2) -> FancyBboxPatch:
    """A rounded box centred on ``xy`` with a label inside."""
    x, y = xy
    patch = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                           boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=fill,
                           edgecolor=edge, linewidth=linewidth, zorder=3, gid=gid)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4,
            gid=f"{gid}-label")
    return patch


def _operator(ax: Axes, xy: tuple[float, float], symbol: str, *, gid: str,
              radius: float = 0.2) -> Circle:
    """A small circle holding an element-wise operator (product or sum)."""
    circle = Circle(xy, radius, facecolor=PAPER, edgecolor=INK, linewidth=1.2, zorder=5, gid=gid)
    ax.add_patch(circle)
    ax.text(*xy, symbol, ha="center", va="center", fontsize=11, zorder=6, gid=f"{gid}-label")
    return circle


def _name(ax: Axes, xy: tuple[float, float], text: str) -> None:
    """A small caption on a white patch (so a line passing behind it stays readable)."""
    ax.text(*xy, text, ha="center", va="center", fontsize=8, zorder=4,
            bbox={"facecolor": PAPER, "edgecolor": "none", "pad": 1.0})


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], *, gid: str,
           color: str = INK, dashed: bool = False, width: float = 1.3, rad: float = 0.0,
           shrink: float = 0.0, head: bool = True) -> FancyArrowPatch:
    """An arrow from ``start`` to ``end`` (dashed for gradients); ``rad`` bends it."""
    arrow = FancyArrowPatch(
        start, end, arrowstyle="-|>,head_length=5,head_width=3" if head else "-",
        connectionstyle=f"arc3,rad={rad}", color=color, linewidth=width,
        linestyle=(0, (4, 2.5)) if dashed else "solid", shrinkA=shrink, shrinkB=shrink,
        zorder=2, gid=gid, mutation_scale=1.6,
    )
    ax.add_patch(arrow)
    return arrow


def _path(ax: Axes, points: Sequence[tuple[float, float]], *, gid: str, color: str = INK,
          width: float = 1.3, arrow: bool = True) -> None:
    """A polyline through ``points``; the last segment ends in an arrow head."""
    xs, ys = zip(*points, strict=True)
    ax.add_line(Line2D(xs[:-1], ys[:-1], color=color, linewidth=width, zorder=2,
                       solid_capstyle="round", gid=gid))
    _arrow(ax, points[-2], points[-1], gid=f"{gid}-end", color=color, width=width, head=arrow)


def _legend(ax: Axes, entries: Sequence[tuple[str, str, str, float]], *, loc: str,
            ncol: int = 1) -> None:
    """A legend of line samples: (label, colour, linestyle, width)."""
    handles = [Line2D([0], [0], color=c, linestyle=s, linewidth=w, label=label)
               for label, c, s, w in entries]
    legend = ax.legend(handles=handles, loc=loc, ncol=ncol, frameon=False, fontsize=9,
                       handlelength=3)
    legend.set_gid("legend")


# --------------------------------------------------------------------------- unrolled RNN


def unrolled_rnn(T: int = 4, *, gradients: bool = True, ax: Axes | None = None) -> Figure:
    r"""The tanh RNN unrolled over ``T`` steps, with the BPTT gradient paths.

    Each column is one time step: the input :math:`x_t` (bottom), the hidden state
    :math:`h_t` (middle) and the per-step loss :math:`L_t` (top). Solid blue arrows are the
    forward pass, :math:`h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`; with
    ``gradients`` dashed vermillion arrows show the backward pass: every :math:`L_t` sends
    :math:`\partial L_t / \partial h_t` down into :math:`h_t`, and every :math:`h_t` sends
    gradient back to :math:`h_{t-1}` through :math:`(\partial h_t/\partial h_{t-1})^\top`,
    so :math:`\partial L / \partial h_t` collects what :math:`h_t` does now and later.

    Element ids: ``state-0`` (:math:`h_0`), ``state-t``, ``input-t``, ``loss-t``,
    ``forward-in-t``, ``forward-out-t``, ``forward-state-t`` (from step ``t-1`` to ``t``),
    and with ``gradients`` ``backward-loss-t``, ``backward-state-t`` and ``legend``; also
    ``shared-weights`` (the note that every step uses the same weights).

    Args:
        T: number of time steps drawn (2 to 8).
        gradients: draw the backward pass.
        ax: axes to draw into (a new figure when ``None``).

    Returns:
        Figure: the figure drawn on.
    """
    if not 2 <= T <= 8:
        raise ValueError(f"T must lie in 2..8, got {T}")
    step = 2.0
    with style():
        fig, ax = _canvas(1.9 + 1.45 * T, 3.9, (-1.4, step * T + 1.4), (-1.2, 4.1), ax)
        _box(ax, (0.0, 1.5), "$h_0$", gid="state-0", fill=_STATE_FILL)
        for t in range(1, T + 1):
            x = step * t
            _box(ax, (x, 0.0), f"$x_{{{t}}}$", gid=f"input-{t}", fill=_INPUT_FILL)
            _box(ax, (x, 1.5), f"$h_{{{t}}}$", gid=f"state-{t}", fill=_STATE_FILL)
            _box(ax, (x, 3.0), f"$L_{{{t}}}$", gid=f"loss-{t}", fill=_OUTPUT_FILL)
            _arrow(ax, (x - 0.12, 0.32), (x - 0.12, 1.18), gid=f"forward-in-{t}",
                   color=FORWARD)
            _arrow(ax, (x - 0.12, 1.82), (x - 0.12, 2.68), gid=f"forward-out-{t}",
                   color=FORWARD)
            _arrow(ax, (x - step + 0.47, 1.58), (x - 0.47, 1.58), gid=f"forward-state-{t}",
                   color=FORWARD)
            if gradients:
                _arrow(ax, (x + 0.14, 2.68), (x + 0.14, 1.82), gid=f"backward-loss-{t}",
                       color=BACKWARD, dashed=True)
                _arrow(ax, (x - 0.47, 1.36), (x - step + 0.47, 1.36),
                       gid=f"backward-state-{t}", color=BACKWARD, dashed=True)
        ax.text(step * 0.5, 1.78, "$W_{hh}$", ha="center", va="bottom", fontsize=9,
                color=INK)
        ax.text(step - 0.2, 0.75, "$W_{ih}$", ha="right", va="center", fontsize=9, color=INK)
        ax.text(step * (T + 1) / 2, -0.75,
                r"the same $W_{ih}$, $W_{hh}$, $b_{ih}$, $b_{hh}$ at every step",
                ha="center", va="center", fontsize=9, style="italic", gid="shared-weights")
        if gradients:
            ax.text(step * T + 0.3, 2.25, r"$\partial L_t / \partial h_t$", fontsize=9,
                    ha="left", va="center", color=INK)
            ax.text(step * (T - 0.5), 1.05,
                    r"$(\partial h_t / \partial h_{t-1})^{\top}$", fontsize=9, ha="center",
                    va="top", color=INK)
            _legend(ax, [("forward pass (values)", FORWARD, "solid", 1.5),
                         ("backward pass (gradients)", BACKWARD, (0, (4, 2.5)), 1.5)],
                    loc="upper left")
    return fig


# --------------------------------------------------------------------------- truncated BPTT


def truncated_bptt(n_windows: int = 3, window: int = 4, *, ax: Axes | None = None) -> Figure:
    r"""Truncated backpropagation through time over consecutive windows.

    A stream of ``n_windows * window`` hidden states, grouped into windows of ``window``
    steps. Solid blue arrows (the forward pass) link every state to the next, across window
    boundaries too: the last state of a window is the first state of the next. Dashed
    vermillion arrows (the backward pass) run only inside a window: at each boundary the
    carried state is detached (marked "detach()"), so gradients stop there.

    Element ids: ``window-w`` (brackets, ``w`` from 1), ``state-j`` (``j`` from 1),
    ``forward-j`` (into state ``j``), ``backward-j`` (from state ``j`` to ``j-1``, inside a
    window only), ``detach-w`` (boundary after window ``w``), ``legend``.

    Args:
        n_windows: windows drawn (1 to 4).
        window: steps per window (2 to 6).
        ax: axes to draw into.

    Returns:
        Figure: the figure drawn on.
    """
    if not 1 <= n_windows <= 4 or not 2 <= window <= 6:
        raise ValueError("n_windows must lie in 1..4 and window in 2..6")
    gap = 1.0
    n = n_windows * window
    with style():
        fig, ax = _canvas(1.0 + 0.78 * n, 2.3, (-0.8, gap * n + 0.3), (-1.35, 1.2), ax)
        for j in range(1, n + 1):
            x = gap * j - 0.5
            _box(ax, (x, 0.0), f"$h_{{{j}}}$", gid=f"state-{j}", fill=_STATE_FILL,
                 width=0.58, height=0.5, fontsize=9)
            if j > 1:
                _arrow(ax, (x - gap + 0.3, 0.08), (x - 0.3, 0.08), gid=f"forward-{j}",
                       color=FORWARD)
                if (j - 1) % window:  # same window: the gradient flows back
                    _arrow(ax, (x - 0.3, -0.12), (x - gap + 0.3, -0.12), gid=f"backward-{j}",
                           color=BACKWARD, dashed=True)
        for w in range(1, n_windows + 1):
            left, right = gap * (w - 1) * window, gap * w * window
            ax.plot([left + 0.08, left + 0.08, right - 0.08, right - 0.08],
                    [0.55, 0.7, 0.7, 0.55], color=INK, linestyle="-", linewidth=1.0,
                    gid=f"window-{w}")
            ax.text((left + right) / 2, 0.82, f"window {w}: {window} steps", ha="center",
                    va="bottom", fontsize=9)
            if w < n_windows:
                ax.plot([right, right], [-0.55, 0.5], color=INK, linestyle=":",
                        linewidth=1.4, gid=f"detach-{w}")
                ax.text(right, -0.62, "detach()", ha="center", va="top", fontsize=8.5,
                        family="monospace")
        _legend(ax, [("forward: the state is carried", FORWARD, "solid", 1.5),
                     ("backward: gradients stay in their window", BACKWARD, (0, (4, 2.5)),
                      1.5)],
                loc="lower center", ncol=2)
    return fig


# --------------------------------------------------------------------------- LSTM cell


def lstm_cell(*, ax: Axes | None = None) -> Figure:
    r"""One LSTM step in torch's notation, with the constant error carousel highlighted.

    :math:`c_{t-1}` runs along the top to :math:`c_t` through one element-wise product with
    the forget gate and one sum, drawn thick and labelled; with :math:`f_t = 1` it is the
    constant error carousel, the weight-one self-connection of the original LSTM. Below it the four
    blocks of one affine map of :math:`[x_t, h_{t-1}]`, in torch's order i, f, g, o
    (sigmoid gates, tanh candidate); :math:`i_t \odot g_t` is added to the cell, and
    :math:`h_t = o_t \odot \tanh(c_t)`.

    Element ids: ``carousel`` (the :math:`c` path), ``carousel-label``, ``gate-i``,
    ``gate-f``, ``gate-g``, ``gate-o``, ``op-forget`` (:math:`f \odot c_{t-1}`),
    ``op-write`` (:math:`i \odot g`), ``op-add``, ``op-output`` (:math:`o \odot \tanh c`),
    ``tanh-c``, ``input-x``, ``state-h-prev``, ``state-h``, ``cell-c-prev``, ``cell-c``.

    Returns:
        Figure: the figure drawn on.
    """
    top, bus, gates = 4.0, 0.4, 1.8
    xf, xi, xg, xo, xout = 2.6, 3.8, 4.9, 6.3, 7.7
    with style():
        fig, ax = _canvas(7.6, 4.6, (-0.9, 10.2), (-1.0, 5.2), ax)
        # the carousel: c_{t-1} -> (x f) -> (+) -> c_t
        ax.add_line(Line2D([0.35, 9.0], [top, top], color=CAROUSEL, linewidth=4.5, zorder=1,
                           gid="carousel", solid_capstyle="butt"))
        _arrow(ax, (8.7, top), (9.1, top), gid="carousel-end", color=CAROUSEL, width=4.5)
        _box(ax, (-0.25, top), "$c_{t-1}$", gid="cell-c-prev", fill=_STATE_FILL, width=1.0)
        _box(ax, (9.6, top), "$c_t$", gid="cell-c", fill=_STATE_FILL, width=0.8)
        ax.text(5.2, top + 0.45,
                r"cell state: $c_t = f_t \odot c_{t-1} + i_t \odot g_t$, no weight matrix"
                "\n" r"(with $f_t = 1$: the constant error carousel)",
                ha="center", va="bottom", fontsize=9, gid="carousel-label")
        _operator(ax, (xf, top), r"$\times$", gid="op-forget")
        _operator(ax, (4.35, top), "$+$", gid="op-add")
        # inputs: h_{t-1} from the left, x_t from below, joined on a bus
        _box(ax, (-0.25, bus), "$h_{t-1}$", gid="state-h-prev", fill=_STATE_FILL, width=1.0)
        _box(ax, (1.3, -0.6), "$x_t$", gid="input-x", fill=_INPUT_FILL, width=0.7)
        ax.add_line(Line2D([0.25, xo], [bus, bus], color=INK, linewidth=1.3, zorder=2))
        _arrow(ax, (1.3, -0.3), (1.3, bus), gid="input-x-arrow", head=False)
        for x, gid, label in ((xi, "gate-i", r"$i_t\ \sigma$"), (xf, "gate-f", r"$f_t\ \sigma$"),
                              (xg, "gate-g", r"$g_t\ \tanh$"), (xo, "gate-o", r"$o_t\ \sigma$")):
            _box(ax, (x, gates), label, gid=gid, fill=_GATE_FILL, width=0.95, height=0.55,
                 fontsize=10)
            _arrow(ax, (x, bus), (x, gates - 0.28), gid=f"{gid}-in")
        for x, name in ((xf, "forget"), (xi, "input"), (xg, "candidate"), (xo, "output")):
            _name(ax, (x, gates - 0.62), name)
        # f gates the old cell; i * g is written into it
        _arrow(ax, (xf, gates + 0.28), (xf, top - 0.2), gid="gate-f-out")
        _operator(ax, (4.35, 3.0), r"$\times$", gid="op-write")
        _arrow(ax, (xi, gates + 0.28), (4.2, 2.84), gid="gate-i-out")
        _arrow(ax, (xg, gates + 0.28), (4.5, 2.84), gid="gate-g-out")
        _arrow(ax, (4.35, 3.2), (4.35, top - 0.2), gid="op-write-out")
        # h_t = o * tanh(c_t)
        _box(ax, (xout, 3.05), r"$\tanh$", gid="tanh-c", width=0.8, height=0.45, fontsize=10)
        _arrow(ax, (xout, top), (xout, 3.28), gid="tanh-c-in")
        _operator(ax, (xout, gates), r"$\times$", gid="op-output")
        _arrow(ax, (xout, 2.82), (xout, gates + 0.2), gid="tanh-c-out")
        _arrow(ax, (xo + 0.48, gates), (xout - 0.2, gates), gid="gate-o-out")
        _path(ax, [(xout, gates - 0.2), (xout, bus), (9.1, bus)], gid="output-path")
        _box(ax, (9.6, bus), "$h_t$", gid="state-h", fill=_STATE_FILL, width=0.8)
        _legend(ax, [("cell state path", CAROUSEL, "solid", 4.5),
                     ("other connections", INK, "solid", 1.3)], loc="lower right")
    return fig


# --------------------------------------------------------------------------- GRU cell


def gru_cell(*, ax: Axes | None = None) -> Figure:
    r"""One GRU step in torch's notation, with the update path highlighted.

    :math:`h_{t-1}` runs along the top to :math:`h_t`, scaled by the update gate
    :math:`z_t` and added to :math:`(1 - z_t) \odot n_t`: with :math:`z_t = 1` the state is
    copied (the thick path). The reset gate :math:`r_t` scales
    :math:`W_{hn} h_{t-1} + b_{hn}` inside the candidate
    :math:`n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))`.
    There is no separate memory cell and no output gate.

    Element ids: ``carry`` (the :math:`h` path), ``carry-label``, ``gate-r``, ``gate-z``,
    ``candidate-n``, ``one-minus-z``, ``op-keep`` (:math:`z \odot h_{t-1}`), ``op-write``
    (:math:`(1 - z) \odot n`), ``op-add``, ``reset-link``, ``input-x``, ``state-h-prev``,
    ``state-h``.

    Returns:
        Figure: the figure drawn on.
    """
    top, bus, gates = 4.0, 0.4, 1.8
    xz, xr, xn, xflip = 2.6, 4.6, 7.0, 4.3
    with style():
        fig, ax = _canvas(7.6, 4.6, (-0.9, 10.2), (-1.0, 5.2), ax)
        ax.add_line(Line2D([0.35, 9.0], [top, top], color=CAROUSEL, linewidth=4.5, zorder=1,
                           gid="carry", solid_capstyle="butt"))
        _arrow(ax, (8.7, top), (9.1, top), gid="carry-end", color=CAROUSEL, width=4.5)
        _box(ax, (-0.25, top), "$h_{t-1}$", gid="state-h-prev", fill=_STATE_FILL, width=1.0)
        _box(ax, (9.6, top), "$h_t$", gid="state-h", fill=_STATE_FILL, width=0.8)
        ax.text(5.0, top + 0.45,
                r"$h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t$"
                "\n" r"($z_t = 1$ copies the state: the GRU's carousel)",
                ha="center", va="bottom", fontsize=9, gid="carry-label")
        _operator(ax, (xz, top), r"$\times$", gid="op-keep")
        _operator(ax, (xn, top), "$+$", gid="op-add")
        # h_{t-1} also feeds the gates: down to the bus, x_t from below
        _path(ax, [(0.7, top), (0.7, bus), (0.75, bus)], gid="state-to-bus", arrow=False)
        ax.add_line(Line2D([0.7, xn], [bus, bus], color=INK, linewidth=1.3, zorder=2))
        _box(ax, (1.4, -0.6), "$x_t$", gid="input-x", fill=_INPUT_FILL, width=0.7)
        _arrow(ax, (1.4, -0.3), (1.4, bus), gid="input-x-arrow", head=False)
        for x, gid, label, name in ((xz, "gate-z", r"$z_t\ \sigma$", "update"),
                                    (xr, "gate-r", r"$r_t\ \sigma$", "reset"),
                                    (xn, "candidate-n", r"$n_t\ \tanh$", "candidate")):
            _box(ax, (x, gates), label, gid=gid, fill=_GATE_FILL, width=0.95, height=0.55,
                 fontsize=10)
            _arrow(ax, (x, bus), (x, gates - 0.28), gid=f"{gid}-in")
            _name(ax, (x, gates - 0.62), name)
        # r scales the recurrent part of the candidate
        _arrow(ax, (xr + 0.48, gates), (xn - 0.48, gates), gid="reset-link")
        ax.text(xn + 0.55, gates - 0.62, r"uses $r_t \odot (W_{hn} h_{t-1} + b_{hn})$",
                ha="left", va="center", fontsize=8)
        # z keeps the old state, 1 - z takes the candidate
        _arrow(ax, (xz, gates + 0.28), (xz, top - 0.2), gid="gate-z-out")
        _arrow(ax, (xz, 3.0), (xflip - 0.43, 3.0), gid="gate-z-flip")
        _box(ax, (xflip, 3.0), "$1 - z_t$", gid="one-minus-z", width=0.85, height=0.45,
             fontsize=9)
        _operator(ax, (xn, 3.0), r"$\times$", gid="op-write")
        _arrow(ax, (xflip + 0.43, 3.0), (xn - 0.2, 3.0), gid="one-minus-z-out")
        _arrow(ax, (xn, gates + 0.28), (xn, 2.8), gid="candidate-out")
        _arrow(ax, (xn, 3.2), (xn, top - 0.2), gid="op-write-out")
        _legend(ax, [("state path (update gate near 1)", CAROUSEL, "solid", 4.5),
                     ("other connections", INK, "solid", 1.3)], loc="lower right")
    return fig


# --------------------------------------------------------------------------- taxonomy

_SHAPES: dict[str, tuple[str, str, list[bool], list[bool], str]] = {
    # name: (title, example, input at step?, output at step?, gid)
    "one-to-many": ("one to many", "image -> caption,\nmusic from a seed note",
                    [True, False, False, False], [False, True, True, True], "one-to-many"),
    "many-to-one": ("many to one", "spoken digit -> label\n(chapter 6)",
                    [True, True, True, True], [False, False, False, True], "many-to-one"),
    "many-to-many": ("many to many (aligned)", "next-character prediction\n(chapter 2)",
                     [True, True, True, True], [True, True, True, True], "many-to-many"),
    "encoder-decoder": ("many to many (encoder-decoder)", "translation,\nsequence to sequence",
                        [True, True, False, False], [False, False, True, True],
                        "encoder-decoder"),
}


def rnn_taxonomy(shapes: Sequence[str] = tuple(_SHAPES)) -> Figure:
    r"""The shapes of sequence problems, one panel each, four time steps per panel.

    Inputs :math:`x` (bottom, blue tint), hidden states :math:`h` (middle, green tint) and
    outputs :math:`y` (top, vermillion tint) are boxes with their letter inside, so the roles
    do not depend on colour. Panels, in the default order: one to many, many to one, many to
    many (aligned, one output per input) and many to many (encoder-decoder: read everything,
    then write).

    Element ids: ``panel-<shape>`` for each panel, and inside it ``<shape>-x-t``,
    ``<shape>-h-t``, ``<shape>-y-t`` for the boxes present.

    Args:
        shapes: which panels, from ``"one-to-many"``, ``"many-to-one"``, ``"many-to-many"``,
            ``"encoder-decoder"``.

    Returns:
        Figure: the figure drawn on.
    """
    unknown = [s for s in shapes if s not in _SHAPES]
    if unknown or not shapes:
        raise ValueError(f"shapes must be a non-empty selection of {list(_SHAPES)}, got {unknown}")
    with style():
        fig, axes = plt.subplots(1, len(shapes), figsize=(2.55 * len(shapes), 3.3))
        axes = [axes] if len(shapes) == 1 else list(axes)
        for ax, shape in zip(axes, shapes, strict=True):
            title, example, has_in, has_out, gid = _SHAPES[shape]
            _canvas(0, 0, (-0.1, 4.3), (-1.6, 3.1), ax)
            ax.set_gid(f"panel-{gid}")
            ax.set_title(title, fontsize=10)
            for t in range(4):
                x = 0.5 + t * 1.1
                _box(ax, (x, 1.0), "$h$", gid=f"{gid}-h-{t + 1}", fill=_STATE_FILL,
                     width=0.6, height=0.5, fontsize=10)
                if t:
                    _arrow(ax, (x - 0.8, 1.0), (x - 0.3, 1.0), gid=f"{gid}-state-{t + 1}",
                           color=FORWARD)
                if has_in[t]:
                    _box(ax, (x, -0.1), "$x$", gid=f"{gid}-x-{t + 1}", fill=_INPUT_FILL,
                         width=0.6, height=0.45, fontsize=10)
                    _arrow(ax, (x, 0.13), (x, 0.75), gid=f"{gid}-in-{t + 1}", color=FORWARD)
                if has_out[t]:
                    _box(ax, (x, 2.1), "$y$", gid=f"{gid}-y-{t + 1}", fill=_OUTPUT_FILL,
                         width=0.6, height=0.45, fontsize=10)
                    _arrow(ax, (x, 1.25), (x, 1.87), gid=f"{gid}-out-{t + 1}", color=FORWARD)
            ax.text(2.15, -0.65, example, ha="center", va="top", fontsize=8.5,
                    style="italic")
    return fig
