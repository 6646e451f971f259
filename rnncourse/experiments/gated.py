r"""Bookkeeping for the gated-unit chapters: LSTM (4), GRU (5) and applications (6).

The LSTM and GRU steps, the gradient measurements and the three application runs are written
out on the pages. What is left here runs a training loop the chapters have already shown and
records what happened, or formats results:

* :func:`train_adding`: a :class:`~rnncourse.models.SequenceRegressor` trained on the adding
  problem with :func:`rnncourse.train.fit` (the loop of chapter 2: fresh batch, MSE, backward,
  clip, Adam step), returning an :class:`AddingRun`; :func:`steps_to_reach` reads its history.
* :class:`RunResult` and :func:`results_markdown`: the comparison table of chapter 6;
  :data:`CELL_LABELS` names the cells in tables and legends.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from rnncourse.data import adding_problem
from rnncourse.models import CellName, SequenceRegressor, count_parameters
from rnncourse.train import History, evaluate_mse, fit, set_seed

__all__ = [
    "CELL_LABELS",
    "AddingRun",
    "RunResult",
    "results_markdown",
    "steps_to_reach",
    "train_adding",
]


# --------------------------------------------------------------------------- adding problem


@dataclass
class AddingRun:
    """A model trained on the adding problem and what happened.

    Attributes:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        T: sequence length.
        model: the trained :class:`~rnncourse.models.SequenceRegressor`.
        history: the :class:`~rnncourse.train.History` of :func:`rnncourse.train.fit`
            (``val_metric`` is the validation MSE).
        val_mse: validation MSE at the end.
        steps: optimisation steps done.
        seconds: wall-clock training time.
        parameters: trainable parameters.
        reached: whether the validation MSE reached the target.
    """

    cell: str
    T: int
    model: SequenceRegressor
    history: History
    val_mse: float
    steps: int
    seconds: float
    parameters: int
    reached: bool


def train_adding(
    cell: CellName,
    T: int,
    *,
    hidden_size: int = 32,
    lr: float = 1e-2,
    batch_size: int = 64,
    max_steps: int = 1500,
    target: float | None = 0.006,
    n_val: int = 1000,
    eval_every: int = 25,
    time_budget: float | None = None,
    clip: float | None = 1.0,
    forget_bias: float | None = None,
    seed: int = 0,
    progress: bool = False,
) -> AddingRun:
    """Train a recurrent regressor on the adding problem with Adam until a target MSE.

    Every step draws a fresh batch from :func:`rnncourse.data.adding_problem`; the validation
    set (``n_val`` sequences) is fixed by ``seed`` and never used for training. Always
    predicting 1 scores :data:`rnncourse.data.ADDING_TRIVIAL_MSE` (1/6).

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        T: sequence length.
        hidden_size: hidden units.
        lr: Adam learning rate.
        batch_size: sequences per step.
        max_steps: step limit.
        target: stop once the validation MSE is at or below it (``None``: never stop early).
        n_val: validation sequences.
        eval_every: steps between validations.
        time_budget: stop after this many seconds.
        clip: gradient clipping threshold (global norm).
        forget_bias: LSTM only, see :func:`rnncourse.models.make_recurrent`.
        seed: seed of the weights, the training batches and the validation set.
        progress: show tqdm's bar (stdout).

    Returns:
        AddingRun: the model, its history and summary numbers.
    """
    init = {} if forget_bias is None else {"forget_bias": forget_bias}
    set_seed(seed)
    model = SequenceRegressor(2, hidden_size, cell, **init)
    x_val, y_val = adding_problem(n_val, T, seed=10_000 + seed)
    base = 1_000_000 * (seed + 1)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return adding_problem(batch_size, T, seed=base + step)

    history = fit(
        model, batch, nn.functional.mse_loss, lr=lr, clip=clip, max_steps=max_steps,
        eval_every=eval_every, val_fn=lambda m: evaluate_mse(m, x_val, y_val),
        target=target, time_budget=time_budget, seed=seed, progress=progress,
    )
    model.cpu()
    val_mse = history.val_metric[-1]
    return AddingRun(
        cell=cell, T=T, model=model, history=history, val_mse=val_mse,
        steps=history.steps[-1], seconds=history.seconds[-1],
        parameters=count_parameters(model),
        reached=target is not None and val_mse <= target,
    )


def steps_to_reach(history: History, target: float) -> int | None:
    """First recorded step whose validation metric is at or below ``target`` (``None``: never)."""
    for step, value in zip(history.steps, history.val_metric, strict=True):
        if value <= target:
            return step
    return None


# --------------------------------------------------------------------------- chapter 6


@dataclass
class RunResult:
    """One row of the chapter 6 comparison table.

    Attributes:
        task: what was learned (``"sunspots"``, ``"spoken digits"``, ``"text"``).
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        metric_name: name and unit of the metric (``"test RMSE (sunspots)"``).
        metric: its value.
        parameters: trainable parameters of the model.
        seconds: wall-clock training time.
        steps: optimisation steps.
        higher_is_better: direction of the metric.
    """

    task: str
    cell: str
    metric_name: str
    metric: float
    parameters: int
    seconds: float
    steps: int
    higher_is_better: bool = False


CELL_LABELS: dict[str, str] = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
"""How tables and legends name the cells (other names, such as baselines, are shown as given)."""


def results_markdown(results: Sequence[RunResult], *, digits: int = 3) -> str:
    """A Markdown table of results: task, model, metric, parameters, steps, seconds.

    The best metric of each task is set in bold. Rows with ``steps == 0`` are untrained
    baselines: their parameters, steps and seconds are shown as a dash.

    Args:
        results: the rows, in the order to show.
        digits: significant digits of the metric.

    Returns:
        str: a GitHub-flavoured Markdown table.
    """
    if not results:
        raise ValueError("results is empty")
    best: dict[str, float] = {}
    for r in results:
        score = r.metric if r.higher_is_better else -r.metric
        best[r.task] = max(best.get(r.task, -math.inf), score)
    lines = [
        "| task | model | metric | value | parameters | steps | training seconds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        value = f"{r.metric:.{digits}g}"
        score = r.metric if r.higher_is_better else -r.metric
        if score == best[r.task]:
            value = f"**{value}**"
        cost = (f"{r.parameters:,} | {r.steps} | {r.seconds:.1f}" if r.steps
                else "\u2013 | \u2013 | \u2013")
        lines.append(
            f"| {r.task} | {CELL_LABELS.get(r.cell, r.cell)} | {r.metric_name} | {value} | {cost} |"
        )
    return "\n".join(lines)

