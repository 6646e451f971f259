"""Plots return labelled figures, never show, and validate inputs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from rnncourse import plots
from rnncourse.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_gradient_norms_log_scale_and_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show called"))
    fig = plots.plot_gradient_norms({"RNN": np.logspace(-20, 0, 50), "LSTM": [0.0, 1.0, 2.0]},
                                    title="at initialisation")
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "time step $t$" and "partial L" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RNN", "LSTM"]
    assert np.isnan(ax.lines[1].get_ydata()[0])  # zero becomes a gap on a log axis
    assert list(ax.lines[0].get_xdata()[:2]) == [1, 2]
    with pytest.raises(ValueError):
        plots.plot_gradient_norms({})


def test_draw_into_existing_axes() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.plot_gradient_norms({"a": [1, 2]}, ax=right) is fig
    assert right.get_yscale() == "log" and left.get_yscale() == "linear"


def test_heatmap() -> None:
    fig = plots.plot_heatmap(np.array([[-2.0, 1.0], [0.5, 0.0]]), xlabel="time step",
                             ylabel="hidden unit", title="h", colorbar_label="activation")
    image = fig.axes[0].images[0]
    assert image.get_clim() == (-2.0, 2.0)
    assert fig.axes[1].get_ylabel() == "activation"
    with pytest.raises(ValueError):
        plots.plot_heatmap(np.ones(3), xlabel="", ylabel="", title="", colorbar_label="")


def test_training_curves_from_history() -> None:
    history = History(steps=[50, 100], train_loss=[1.0, 0.5], val_metric=[float("nan")] * 2,
                      seconds=[1.0, 2.0], grad_norm=[3.0, 2.0])
    fig = plots.plot_training_curves(history, ylabel="MSE")
    ax = fig.axes[0]
    assert len(ax.lines) == 1 and list(ax.lines[0].get_xdata()) == [50, 100]
    assert ax.get_xlabel() == "training step"
    fig = plots.plot_training_curves({"train": [3, 2, 1], "val": [4, 3, 2]}, ylabel="loss",
                                     logy=True)
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="steps"):
        plots.plot_training_curves({"a": [1, 2]}, ylabel="x", steps=[1])
    with pytest.raises(ValueError):
        plots.plot_training_curves({"steps": [1]}, ylabel="x")


def test_spectral_sweep_both_forms() -> None:
    fig = plots.plot_spectral_sweep([0.5, 1.5], {0.5: [1, 0.5], 1.5: [1, 1.5]})
    assert len(fig.axes[0].lines) == 2 and "spectral radius" in fig.axes[1].get_ylabel()
    fig = plots.plot_spectral_sweep([0.5, 1.0, 1.5], [1e-3, 1.0, 1e3])
    assert fig.axes[0].get_xlabel() == r"spectral radius of $W_{hh}$"
    with pytest.raises(ValueError):
        plots.plot_spectral_sweep([1.0], [[1], [2]])


def test_forecast() -> None:
    fig = plots.plot_forecast(np.arange(5), np.arange(5), np.arange(5) + 0.1, xlabel="year",
                              ylabel="sunspot number", split=2.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "year" and ax.get_ylabel() == "sunspot number"
    assert len(ax.lines) == 3
    with pytest.raises(ValueError):
        plots.plot_forecast([1, 2], [1], [1], xlabel="", ylabel="")


def test_every_figure_of_a_notebook_is_shown(monkeypatch) -> None:
    """Regression: restoring all rcParams after the first figure hid the later ones."""
    import nbformat
    from nbclient import NotebookClient

    # the kernel inherits the environment: a grading test in this process may have chosen Agg
    monkeypatch.delenv("MPLBACKEND", raising=False)

    draw = "plot_training_curves({'loss': [3.0, 2.0, 1.0]}, ylabel='loss (nats)');"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from rnncourse.plots import plot_training_curves\n" + draw),
        nbformat.v4.new_code_cell(draw),
        nbformat.v4.new_code_cell(draw),
    ]
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    shown = [
        sum("image/png" in out.get("data", {}) for out in cell.outputs) for cell in nb.cells
    ]
    assert shown == [1, 1, 1]


def test_curves_differ_by_more_than_colour() -> None:
    """Okabe-Ito colours, and each curve its own dash pattern and marker (colour-blind safe)."""
    assert plots.COLORS[:3] == ("#0072B2", "#D55E00", "#009E73")
    labels = [f"curve {i}" for i in range(8)]
    fig = plots.plot_training_curves({k: np.linspace(1, 2, 100) + i for i, k in
                                      enumerate(labels)}, ylabel="loss (nats)")
    lines = fig.axes[0].lines
    for prop in ("get_color", "get_marker"):
        assert len({str(getattr(line, prop)()) for line in lines}) == 8, prop
    # matplotlib names every custom dash pattern "--": compare the patterns drawn
    assert len({str(line._unscaled_dash_pattern) for line in lines}) == 8
    assert {line.get_markevery()[1] for line in lines} == {12}  # about 8 markers per curve
    fig = plots.plot_gradient_norms({"RNN": [1.0, 0.5], "LSTM": [1.0, 0.9]})
    first, second = fig.axes[0].lines
    assert first.get_linestyle() != second.get_linestyle()
    assert first.get_marker() != second.get_marker()
    assert plots.series_style(8, 5) == plots.series_style(0, 5)  # wraps around
    with pytest.raises(ValueError):
        plots.series_style(0, 0)
