"""Tests of rnncourse.experiments.gated (bookkeeping of chapters 4-6), on tiny sizes."""

from __future__ import annotations

import math

import pytest

from rnncourse.experiments import gated as G  # noqa: N812
from rnncourse.train import History

# --------------------------------------------------------------------------- adding problem


def test_train_adding_runs_the_step_budget_without_target() -> None:
    run = G.train_adding("gru", 10, hidden_size=8, max_steps=30, eval_every=10, target=None)
    assert run.steps == 30 and run.history.steps == [10, 20, 30]
    assert run.cell == "gru" and run.T == 10
    assert math.isfinite(run.val_mse) and run.val_mse == run.history.val_metric[-1]
    assert not run.reached
    assert run.parameters == sum(p.numel() for p in run.model.parameters())
    again = G.train_adding("gru", 10, hidden_size=8, max_steps=30, eval_every=10, target=None)
    assert again.val_mse == run.val_mse  # seeded


def test_train_adding_stops_at_an_easy_target() -> None:
    run = G.train_adding("lstm", 8, hidden_size=4, max_steps=50, eval_every=5, target=10.0,
                         forget_bias=1.0)
    assert run.reached and run.steps == 5 and run.history.stop_reason == "target"
    total = run.model.rnn.bias_ih_l0 + run.model.rnn.bias_hh_l0
    assert total.shape == (16,)


def test_steps_to_reach() -> None:
    history = History(steps=[10, 20, 30], val_metric=[0.5, 0.05, 0.01])
    assert G.steps_to_reach(history, 0.1) == 20
    assert G.steps_to_reach(history, 0.5) == 10
    assert G.steps_to_reach(history, 0.001) is None


# --------------------------------------------------------------------------- chapter 6


def _result(task: str, cell: str, metric: float, higher: bool) -> G.RunResult:
    return G.RunResult(task, cell, "m", metric, 1234, 1.25, 10, higher)


def test_results_markdown_bolds_the_best_per_task() -> None:
    table = G.results_markdown([
        _result("a", "rnn", 2.0, False), _result("a", "lstm", 1.0, False),
        _result("b", "rnn", 0.5, True), _result("b", "gru", 0.9, True),
    ])
    lines = table.splitlines()
    assert len(lines) == 6 and lines[1].startswith("|---")
    assert "| **1** |" in lines[3] and "**" not in lines[2]
    assert "| **0.9** |" in lines[5] and "**" not in lines[4]
    assert "tanh RNN" in lines[2] and "1,234" in lines[2] and "| 1.2 |" in lines[2]


def test_results_markdown_shows_baselines_without_costs() -> None:
    baseline = G.RunResult("a", "persistence", "m", 3.0, 0, 0.0, 0)
    table = G.results_markdown([_result("a", "gru", 2.0, False), baseline])
    last = table.splitlines()[-1]
    assert last.startswith("| a | persistence | m | 3 |") and last.count("\u2013") == 3
    assert "**2**" in table.splitlines()[2]


def test_results_markdown_rejects_no_results() -> None:
    with pytest.raises(ValueError):
        G.results_markdown([])
