"""The points rubric of every assignment: points follow the kind of work a test checks.

Each test of a suite names its ``level``; its points are :data:`POINTS` of that level, the
same in every assignment (a test checks that every notebook's metadata agrees). The book's
Exercises page prints this table.
"""

from __future__ import annotations

#: ``level: (points, what earns them)``, easiest first.
LEVELS: dict[str, tuple[int, str]] = {
    "one-liner": (1, "one expression or a formula: a rescaling, a slope, a count"),
    "forward": (2, "a forward pass: one step of a cell, or a loop over time"),
    "gradients": (2, "one half of a backward pass (inputs or parameters) of a tanh cell, "
                     "or a product of Jacobians"),
    "gated gradients": (3, "one half of the backward pass of a gated cell (LSTM, GRU): "
                           "every gate's path"),
    "tool": (2, "a tool you will reuse: a numeric gradient, a gradient check, clipping, a "
                "training step"),
    "experiment": (2, "an experiment run with your code, or a trained model's outcome"),
}
POINTS: dict[str, int] = {level: points for level, (points, _) in LEVELS.items()}


def points(level: str) -> int:
    """The points of a test of this ``level`` (a ``KeyError`` names the known levels)."""
    try:
        return POINTS[level]
    except KeyError:
        raise KeyError(f"unknown level {level!r}; choose from {sorted(POINTS)}") from None
