r"""A small, explicit training loop and the evaluation metrics of the book.

:func:`fit` runs Adam (or a given optimizer) with gradient clipping by global norm,

.. math:: g \leftarrow g \cdot \min\!\left(1, \frac{\text{clip}}{\lVert g \rVert_2}\right),

evaluates a validation metric every ``eval_every`` steps, stops early when the metric reaches
a target or when a time budget runs out, and returns a :class:`History` of plain lists. The
progress bar is plain ``tqdm`` on stdout (no notebook widgets, nothing on stderr).
"""

from __future__ import annotations

import itertools
import math
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from rnncourse.device import default_device

__all__ = [
    "History",
    "detach_state",
    "evaluate_mse",
    "fit",
    "lm_cross_entropy",
    "perplexity",
    "set_seed",
]

Batch = tuple[Any, ...]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class History:
    """What :func:`fit` recorded, one entry per evaluation (every ``eval_every`` steps).

    Attributes:
        steps: optimisation steps done at each record.
        train_loss: mean training loss over the steps since the previous record.
        val_metric: validation metric at the record (NaN without ``val_fn``).
        seconds: wall-clock seconds since the start of training.
        grad_norm: mean global gradient norm (before clipping) since the previous record.
        step_grad_norm: global gradient norm (before clipping) of every step.
        stop_reason: ``"max_steps"``, ``"target"``, ``"time_budget"`` or ``"data_exhausted"``.
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    step_grad_norm: list[float] = field(default_factory=list)
    stop_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The history as a dict of plain lists (JSON-serialisable)."""
        return asdict(self)


def _to_device(batch: Batch, device: torch.device) -> Batch:
    return tuple(b.to(device) if isinstance(b, torch.Tensor) else b for b in batch)


def _batches(source: Callable[[int], Batch] | Iterable[Batch]) -> Iterator[Batch]:
    """Normalise a step -> batch callable or an iterable into an iterator of batches."""
    if callable(source) and not isinstance(source, Iterable):
        return (source(step) for step in itertools.count())
    return iter(source)


def detach_state(state: Any) -> Any:
    """The same state cut from the computation graph (``h`` or ``(h, c)``; ``None`` stays).

    Carrying the values but not the graph is what makes backpropagation through time
    *truncated*: the next window starts where the previous one ended, but gradients stop at
    the window boundary.
    """
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def _output(result: Any) -> Any:
    """A model's prediction: the first element when it returns ``(prediction, state)``."""
    return result[0] if isinstance(result, tuple) else result


def fit(
    model: nn.Module,
    train_batches: Callable[[int], Batch] | Iterable[Batch],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    *,
    optimizer: torch.optim.Optimizer | OptimizerFactory | None = None,
    lr: float = 3e-3,
    clip: float | None = 1.0,
    max_steps: int,
    eval_every: int = 50,
    val_fn: Callable[[nn.Module], float] | None = None,
    target: float | None = None,
    time_budget: float | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
    carry_state: bool = False,
) -> History:
    """Train ``model`` and record its progress.

    Each batch is a tuple ``(*inputs, target)``; the loss is ``loss_fn(model(*inputs), target)``
    (for models returning ``(prediction, state)`` the prediction is used). With
    ``carry_state`` the model is called as ``model(*inputs, state)`` with the state the previous
    batch ended in, detached: truncated backpropagation through time over consecutive windows
    (e.g. :func:`rnncourse.data.sequential_batches`).

    Args:
        model: the module to train (moved to ``device``).
        train_batches: ``step -> batch`` callable or an iterable of batches (training stops
            when it is exhausted).
        loss_fn: ``(prediction, target) -> scalar tensor``.
        optimizer: an optimizer over ``model``'s parameters, a factory
            ``params -> optimizer``, or ``None`` for ``Adam(lr=lr)``.
        lr: learning rate of the default Adam.
        clip: maximum global gradient norm (``torch.nn.utils.clip_grad_norm_``); ``None``
            disables clipping (the norm is still recorded).
        max_steps: number of optimisation steps.
        eval_every: steps between records (a record is also made at the last step).
        val_fn: ``model -> metric`` (lower is better), called under ``torch.no_grad()`` in
            eval mode.
        target: stop once the validation metric is ``<= target`` (needs ``val_fn``).
        time_budget: stop after this many seconds of training.
        seed: passed to :func:`set_seed` before training.
        device: where to train; :func:`rnncourse.device.default_device` when ``None``.
        progress: show a plain tqdm bar on stdout.
        carry_state: pass each batch the detached final state of the previous one.

    Returns:
        History: the records, as plain lists.
    """
    if max_steps < 1 or eval_every < 1:
        raise ValueError("max_steps and eval_every must be >= 1")
    if target is not None and val_fn is None:
        raise ValueError("target needs a val_fn to compare against")
    set_seed(seed)
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    elif not isinstance(optimizer, torch.optim.Optimizer):
        optimizer = optimizer(model.parameters())
    params = [p for p in model.parameters() if p.requires_grad]
    max_norm = math.inf if clip is None else clip
    history = History()
    state: Any = None
    losses: list[float] = []
    norms: list[float] = []
    batches = _batches(train_batches)
    start = time.perf_counter()
    bar = tqdm(total=max_steps, file=sys.stdout, disable=not progress, desc="training",
               dynamic_ncols=False, ncols=80, mininterval=1.0)
    try:
        for step in range(1, max_steps + 1):
            try:
                *inputs, y = _to_device(next(batches), device)
            except StopIteration:
                history.stop_reason = "data_exhausted"
                break
            model.train()
            optimizer.zero_grad(set_to_none=True)
            if carry_state:
                prediction, state = model(*inputs, detach_state(state))
            else:
                prediction = _output(model(*inputs))
            loss = loss_fn(prediction, y)
            loss.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            optimizer.step()
            losses.append(float(loss.detach()))
            norms.append(norm)
            history.step_grad_norm.append(norm)
            bar.update(1)
            elapsed = time.perf_counter() - start
            out_of_time = time_budget is not None and elapsed >= time_budget
            if step % eval_every == 0 or step == max_steps or out_of_time:
                metric = _record(history, model, val_fn, step, losses, norms, start)
                losses, norms = [], []
                bar.set_postfix(loss=f"{history.train_loss[-1]:.4g}", val=f"{metric:.4g}")
                if target is not None and metric <= target:
                    history.stop_reason = "target"
                    break
            if out_of_time:
                history.stop_reason = "time_budget"
                break
        else:
            history.stop_reason = "max_steps"
    finally:
        bar.close()
    if losses:  # data ran out between records
        _record(history, model, val_fn, _history_step(history, len(losses)), losses, norms, start)
    return history


def _history_step(history: History, extra: int) -> int:
    """Step count after ``extra`` unrecorded steps following the last record."""
    return (history.steps[-1] if history.steps else 0) + extra


def _record(
    history: History,
    model: nn.Module,
    val_fn: Callable[[nn.Module], float] | None,
    step: int,
    losses: list[float],
    norms: list[float],
    start: float,
) -> float:
    """Append one record to ``history``; return the validation metric (NaN without val_fn)."""
    metric = math.nan
    if val_fn is not None:
        model.eval()
        with torch.no_grad():
            metric = float(val_fn(model))
        model.train()
    history.steps.append(step)
    history.train_loss.append(float(np.mean(losses)))
    history.val_metric.append(metric)
    history.seconds.append(time.perf_counter() - start)
    history.grad_norm.append(float(np.mean(norms)))
    return metric


def lm_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats per token) of ``logits (N, L, V)`` against ids ``(N, L)``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def perplexity(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], *,
    carry_state: bool = True,
) -> float:
    r"""Perplexity :math:`\exp(\frac{1}{n}\sum_t -\ln p(x_{t+1} \mid x_{\le t}))` of a char LM.

    Args:
        model: a :class:`rnncourse.models.CharLM` (or any ``(x, state) -> (logits, state)``).
        batches: ``(x, y)`` id batches ``(B, L)``, e.g. from
            :func:`rnncourse.data.sequential_batches`.
        carry_state: pass each batch's final state to the next (right for sequential batches).

    Returns:
        float: the perplexity (``exp`` of the mean cross-entropy per character).
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for x, y in batches:
            logits, new_state = model(x.to(device), state if carry_state else None)
            state = new_state
            total += float(lm_cross_entropy(logits, y.to(device))) * y.numel()
            count += y.numel()
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("perplexity needs at least one batch")
    return math.exp(total / count)


@torch.no_grad()
def evaluate_mse(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int | None = None
) -> float:
    """Mean squared error of ``model(x)`` against ``y`` (in eval mode, without gradients).

    Args:
        model: maps ``x`` to predictions shaped like ``y``.
        x: inputs ``(N, ...)``.
        y: targets ``(N, ...)``.
        batch_size: evaluate in chunks of this size (all at once when ``None``).

    Returns:
        float: the MSE averaged over all elements.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    size = batch_size or len(x)
    try:
        squared = 0.0
        for i in range(0, len(x), size):
            prediction = _output(model(x[i : i + size].to(device)))
            target = y[i : i + size].to(device)
            if prediction.shape != target.shape:
                raise ValueError(f"prediction {tuple(prediction.shape)} vs y {tuple(target.shape)}")
            squared += float(((prediction - target) ** 2).sum())
    finally:
        model.train(was_training)
    return squared / y.numel()
