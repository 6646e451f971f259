"""Tests of the bookkeeping and figures of chapters 7 and 8 (rnncourse.experiments.seq2seq,
rnncourse.experiments.figures)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from rnncourse.data.digit_strings import EOS, PAD, encode_digits
from rnncourse.experiments.figures import LINE_STYLES, MARKERS, plot_attention, plot_lines
from rnncourse.experiments.seq2seq import (
    accuracy_by_length,
    exact_match,
    position_accuracy,
    target_tokens,
)
from rnncourse.plots import COLORS


def _target(*answers: str) -> torch.Tensor:
    rows = [[*encode_digits(a), EOS] for a in answers]
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows])


# --------------------------------------------------------------------------- scoring


def test_exact_match_needs_every_symbol_and_the_end() -> None:
    targets = _target("123", "45", "6")
    d = encode_digits
    predictions = [
        [*d("123"), EOS, *d("9")],  # right; what follows EOS is ignored
        [*d("45"), *d("4")],        # right digits, but no end symbol
        [*d("7"), EOS],             # wrong digit
    ]
    assert exact_match(predictions, targets).tolist() == [True, False, False]
    assert exact_match(torch.tensor([[*d("12"), EOS, PAD]]), _target("12")).tolist() == [True]


def test_exact_match_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="predictions"):
        exact_match([[EOS]], _target("1", "2"))
    with pytest.raises(ValueError, match="no end-of-sequence"):
        target_tokens(torch.tensor([encode_digits("12")]))
    with pytest.raises(ValueError, match="batch, steps"):
        exact_match(torch.tensor([1, 2]), _target("1"))


def test_position_accuracy_counts_only_rows_that_reach_a_position() -> None:
    targets = _target("12", "3")                      # rows: [1 2 EOS], [3 EOS PAD]
    d = encode_digits
    predictions = [[*d("1"), *d("9"), EOS], [*d("3")]]  # second row stops early
    acc = position_accuracy(predictions, targets)
    # position 0: both right; position 1: row 0 wrong, row 1 missing its EOS; position 2: right
    np.testing.assert_allclose(acc, [1.0, 0.0, 1.0])
    wide = torch.cat([targets, torch.full((2, 2), PAD)], dim=1)
    assert math.isnan(position_accuracy(predictions, wide)[-1])
    with pytest.raises(ValueError, match="predictions"):
        position_accuracy(predictions[:1], targets)


def test_accuracy_by_length_groups_and_averages() -> None:
    result = accuracy_by_length(torch.tensor([True, False, True, True]), torch.tensor([3, 3, 5, 4]))
    assert result == {3: 0.5, 4: 1.0, 5: 1.0} and list(result) == [3, 4, 5]
    with pytest.raises(ValueError, match="scores"):
        accuracy_by_length([1.0], [3, 4])


# --------------------------------------------------------------------------- figures


def test_plot_lines_tells_curves_apart_without_colour() -> None:
    curves = {f"curve {i}": ([1, 2, 3], torch.tensor([1.0, 2.0, 4.0]) * (i + 1)) for i in range(5)}
    fig = plot_lines(curves, xlabel="step (count)", ylabel="loss (nats)", title="t", logy=True)
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    styles = {(line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(styles) == len(lines)  # no two curves share both dash pattern and marker
    assert lines[0].get_color() == COLORS[0] and lines[0].get_marker() == MARKERS[0]
    assert lines[4].get_linestyle() == LINE_STYLES[0] and lines[4].get_marker() == MARKERS[4]
    assert ax.get_xlabel() == "step (count)" and ax.get_yscale() == "log"
    assert ax.get_legend() is not None
    plt.close(fig)


def test_plot_lines_puts_plain_ticks_on_a_log_axis() -> None:
    fig = plot_lines({"a": ([32, 128, 512], [1.0, 2.0, 3.0])}, xlabel="T (steps)", ylabel="ms",
                     logx=True, xticks=[32, 128, 512])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and list(ax.get_xticks()) == [32, 128, 512]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["32", "128", "512"]
    assert len(ax.get_xticks(minor=True)) == 0
    plt.close(fig)


def test_plot_lines_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_lines({}, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="x has 2 values"):
        plot_lines({"a": ([1, 2], [1, 2, 3])}, xlabel="x", ylabel="y")


def test_plot_attention_labels_rows_columns_and_peaks() -> None:
    weights = torch.tensor([[0.1, 0.2, 0.7], [0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4]])
    fig = plot_attention(weights, "123", "321")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "2", "1", "<eos>"]
    peaks = ax.collections[0].get_offsets()
    np.testing.assert_array_equal(np.asarray(peaks)[:, 0], [2, 1, 0, 2])
    assert fig.axes[1].get_ylabel().startswith("attention weight")
    plt.close(fig)
    with pytest.raises(ValueError, match="weights must be"):
        plot_attention(weights, "12", "21")
