r"""Experiments of the introductory chapters: recurrent networks (1), training (2), gradients (3).

The chapters call these functions so that their cells stay short and their numbers
reproducible. Everything is built on :mod:`rnncourse.models`, :mod:`rnncourse.train`,
:mod:`rnncourse.gradients` and :mod:`rnncourse.data`.

* :func:`perturbation_trace`: how long a change in the first input stays visible in the
  hidden state of an untrained RNN.
* :func:`detach_state`: cut a recurrent state from the graph (truncated BPTT).
* :func:`train_char_lm`: a character language model trained with truncated backpropagation
  through time, the hidden state carried (detached) from one window to the next, gradients
  clipped by global norm, validation perplexity recorded.
* :func:`unigram_perplexity`: the context-free baseline of a character language model.
* :func:`sample_text`: samples of a :class:`~rnncourse.models.CharLM` at several temperatures.
* :func:`gradient_reach`: does a loss at the end of a window send gradient back into the
  previous window, with and without detaching the carried state?
* :func:`spectral_sweep`: :math:`\lVert \partial L / \partial h_t \rVert` of tanh RNNs whose
  recurrent matrix is orthogonal times a scale (all singular values equal to the scale).
* :func:`decay_per_step` and :func:`orders_of_magnitude`: summarise such a curve.
* :func:`clipping_comparison` and :func:`first_nonfinite_step`: the same SGD run on the
  exploding side with and without gradient clipping.

Weight layout follows torch (``weight_hh`` is ``(G*H, H)``); batches are batch first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnncourse.data import CharVocab, adding_problem, sequential_batches
from rnncourse.gradients import hidden_gradient_norms
from rnncourse.models import CharLM, SequenceRegressor, make_recurrent
from rnncourse.train import (
    History,
    detach_state,
    evaluate_mse,
    fit,
    lm_cross_entropy,
    perplexity,
    set_seed,
)

__all__ = [
    "CharLMRun",
    "clipping_comparison",
    "decay_per_step",
    "detach_state",
    "first_nonfinite_step",
    "gradient_reach",
    "orders_of_magnitude",
    "perturbation_trace",
    "sample_text",
    "spectral_sweep",
    "train_char_lm",
    "unigram_perplexity",
]

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class CharLMRun:
    """What :func:`train_char_lm` returns.

    Attributes:
        model: the trained model (on the CPU).
        history: records every ``eval_every`` steps (``val_metric`` is validation perplexity).
        grad_norms: global gradient norm of every step, before clipping ``(steps,)``.
        clip: the clipping threshold used (``None``: no clipping).
        epochs: passes over the training text started.
    """

    model: CharLM
    history: History
    grad_norms: np.ndarray = field(repr=False)
    clip: float | None
    epochs: int

    @property
    def val_perplexity(self) -> float:
        """Validation perplexity at the last record."""
        return self.history.val_metric[-1]

    @property
    def clipped_fraction(self) -> float:
        """Share of steps whose gradient norm exceeded the threshold (0 without clipping)."""
        if self.clip is None or len(self.grad_norms) == 0:
            return 0.0
        return float(np.mean(self.grad_norms > self.clip))


def train_char_lm(
    model: CharLM,
    train_ids: np.ndarray,
    val_ids: np.ndarray,
    *,
    batch_size: int = 32,
    seq_len: int = 32,
    lr: float = 3e-3,
    clip: float | None = 1.0,
    max_steps: int = 1000,
    eval_every: int = 100,
    time_budget: float | None = None,
    seed: int = 0,
    progress: bool = True,
) -> CharLMRun:
    r"""Train a character language model with truncated BPTT and gradient clipping.

    The training text is cut into ``batch_size`` parallel streams
    (:func:`rnncourse.data.sequential_batches`). Each step reads the next ``seq_len``
    characters of every stream, starting from the state the previous step ended in, detached
    (:func:`rnncourse.train.fit` with ``carry_state``); after the last window the streams start
    again from the beginning of the text. The loss is the mean cross-entropy (nats per
    character); the gradient is clipped by global norm,
    :math:`g \leftarrow \tau g / \lVert g \rVert` when :math:`\lVert g \rVert > \tau`, then
    Adam takes a step.

    Args:
        model: a :class:`~rnncourse.models.CharLM`; trained in place on the CPU.
        train_ids: training text as ids ``(n,)``.
        val_ids: validation text as ids ``(m,)``; perplexity is evaluated on it with the state
            carried through (a validation stream per row of a batch of 16).
        batch_size: parallel streams (B).
        seq_len: truncation length, characters per window (L).
        lr: Adam learning rate.
        clip: global-norm threshold :math:`\tau`; ``None`` disables clipping.
        max_steps: optimisation steps.
        eval_every: steps between records (the last step is always recorded).
        time_budget: stop after this many seconds (a safety net; ``max_steps`` should bind).
        seed: seed of the initialisation-independent randomness (``set_seed``).
        progress: show a plain tqdm bar on stdout.

    Returns:
        CharLMRun: the model, its history and the per-step gradient norms.

    Raises:
        ValueError: for non-positive ``max_steps``/``eval_every`` or a non-positive ``clip``.
    """
    if max_steps < 1 or eval_every < 1:
        raise ValueError("max_steps and eval_every must be >= 1")
    if clip is not None and not clip > 0:
        raise ValueError("clip must be positive (or None to disable clipping)")
    model.cpu().train()
    val_batch = min(16, max(1, (len(val_ids) - 1) // (seq_len + 1)))

    def validate(m: nn.Module) -> float:
        return perplexity(m, sequential_batches(val_ids, val_batch, seq_len))

    per_pass = len(train_ids) // batch_size // seq_len

    def windows() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:  # pass after pass over the text; fit stops after max_steps
            yield from sequential_batches(train_ids, batch_size, seq_len)

    history = fit(
        model, windows(), lm_cross_entropy, lr=lr, clip=clip, max_steps=max_steps,
        eval_every=eval_every, val_fn=validate, time_budget=time_budget, seed=seed,
        device="cpu", progress=progress, carry_state=True,
    )
    model.eval()
    steps = history.steps[-1]
    return CharLMRun(model=model, history=history, grad_norms=np.asarray(history.step_grad_norm),
                     clip=clip, epochs=-(-steps // per_pass))


def sample_text(
    model: CharLM,
    vocab: CharVocab,
    prefix: str,
    *,
    temperatures: Sequence[float] = (0.5, 1.0, 1.5),
    n_chars: int = 200,
    seed: int = 0,
) -> dict[float, str]:
    """Continue ``prefix`` at each temperature (same seed for all, so only τ differs).

    Args:
        model: a trained :class:`~rnncourse.models.CharLM`.
        vocab: the vocabulary the model was trained with.
        prefix: text to condition on (at least one character).
        temperatures: positive softmax temperatures.
        n_chars: characters to generate per sample.
        seed: sampling seed.

    Returns:
        dict: temperature -> generated text (without the prefix).
    """
    if not prefix:
        raise ValueError("prefix must hold at least one character")
    ids = vocab.encode(prefix).tolist()
    return {
        float(t): vocab.decode(model.sample(ids, n_chars, temperature=float(t), seed=seed))
        for t in temperatures
    }


def gradient_reach(
    cell: str = "rnn", *, hidden_size: int = 16, seq_len: int = 8, seed: int = 0
) -> dict[str, float]:
    r"""Gradient of a loss on window 2 with respect to the inputs of window 1.

    Two windows of ``seq_len`` random inputs are read one after the other, the final state of
    window 1 being the initial state of window 2. The loss is the sum of window 2's outputs.
    Without detaching, :math:`\lVert \partial L / \partial x^{(1)} \rVert > 0`: the backward
    pass runs through both windows (full BPTT). With the state detached it is exactly 0:
    truncated BPTT stops at the window boundary, although the forward pass still used window
    1's information.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: hidden units.
        seq_len: steps per window.
        seed: seed of weights and inputs.

    Returns:
        dict: ``{"full": norm, "truncated": norm}``; also ``"same_forward"``, 1.0 when both
        variants computed the same loss value (detaching changes gradients, never values).
    """
    set_seed(seed)
    rnn = make_recurrent(cell, 3, hidden_size)  # type: ignore[arg-type]
    x1 = torch.randn(1, seq_len, 3)
    x2 = torch.randn(1, seq_len, 3)
    result: dict[str, float] = {}
    losses = []
    for name, cut in (("full", False), ("truncated", True)):
        first = x1.clone().requires_grad_(True)
        _, state = rnn(first)
        out, _ = rnn(x2, detach_state(state) if cut else state)
        loss = out.sum()
        loss.backward()
        losses.append(float(loss.detach()))
        result[name] = 0.0 if first.grad is None else float(first.grad.norm())
    result["same_forward"] = float(math.isclose(losses[0], losses[1], rel_tol=1e-6))
    return result


def spectral_sweep(
    scales: Sequence[float],
    *,
    hidden_size: int = 64,
    T: int = 100,
    batch_size: int = 8,
    input_size: int = 1,
    seed: int = 0,
) -> dict[float, np.ndarray]:
    r"""Gradient norms :math:`\lVert \partial L / \partial h_t \rVert` for several scales of
    :math:`W_{hh}`.

    For each scale :math:`s` a tanh ``nn.RNN`` is built with an orthogonal recurrent matrix
    times :math:`s` (every singular value, hence the spectral norm and the spectral radius,
    equals :math:`s`), the same input weights for every scale, and is run on the same
    standard-normal inputs. The loss is the sum of the last hidden state. The computation is
    in float64 so that norms down to about :math:`10^{-300}` stay visible.

    Args:
        scales: positive scales of :math:`W_{hh}`.
        hidden_size: hidden units.
        T: sequence length.
        batch_size: sequences (the norm is over the whole batch's gradient).
        input_size: features per step.
        seed: seed of weights and inputs.

    Returns:
        dict: scale -> float64 ``(T,)`` norms, entry ``t-1`` for step ``t``.
    """
    if not scales:
        raise ValueError("scales is empty")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, T, input_size, generator=generator)
    out: dict[float, np.ndarray] = {}
    for scale in scales:
        if not scale > 0:
            raise ValueError(f"scales must be positive, got {scale}")
        set_seed(seed)  # same input weights, biases and orthogonal direction for every scale
        rnn = make_recurrent("rnn", input_size, hidden_size, recurrent_init="orthogonal",
                             recurrent_scale=float(scale)).double()
        out[float(scale)] = hidden_gradient_norms(rnn, x.double())
    return out


def orders_of_magnitude(norms: Sequence[float] | np.ndarray) -> float:
    r"""How many powers of ten the gradient changes from the last step back to the first:
    :math:`\log_{10}(\lVert g_1 \rVert / \lVert g_T \rVert)` (negative when it vanishes).

    Returns ``-inf`` when the first norm underflowed to zero.
    """
    values = np.asarray(norms, dtype=np.float64).reshape(-1)
    if values.size < 2 or not values[-1] > 0:
        raise ValueError("need at least two norms and a positive last one")
    if values[0] == 0:
        return -math.inf
    return float(np.log10(values[0] / values[-1]))


def decay_per_step(norms: Sequence[float] | np.ndarray) -> float:
    r"""Geometric mean factor by which the norm changes per step back in time,
    :math:`(\lVert g_1 \rVert / \lVert g_T \rVert)^{1/(T-1)}` (below 1: vanishing)."""
    values = np.asarray(norms, dtype=np.float64).reshape(-1)
    return float(10 ** (orders_of_magnitude(values) / (values.size - 1)))


def perturbation_trace(
    *, hidden_size: int = 32, T: int = 60, input_size: int = 4, eps: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    r"""How long a change in the first input stays visible in the hidden state.

    An untrained tanh ``nn.RNN`` reads a random sequence twice, the second time with the first
    input changed by ``eps`` in every feature. Entry ``t-1`` of the result is
    :math:`\lVert h_t - h'_t \rVert`: the trace the first input leaves at step ``t``. It is
    what "the hidden state remembers the past" means, and its decay previews the vanishing
    gradients of chapter 3.

    Args:
        hidden_size: hidden units.
        T: sequence length.
        input_size: features per step.
        eps: size of the change to the first input.
        seed: seed of weights and inputs.

    Returns:
        np.ndarray: float64 ``(T,)`` distances.
    """
    if T < 1 or not eps > 0:
        raise ValueError("T must be >= 1 and eps positive")
    set_seed(seed)
    rnn = make_recurrent("rnn", input_size, hidden_size).double()
    x = torch.randn(1, T, input_size, dtype=torch.float64)
    x_changed = x.clone()
    x_changed[:, 0] += eps
    with torch.no_grad():
        hs, _ = rnn(x)
        hs_changed, _ = rnn(x_changed)
    return (hs - hs_changed)[0].norm(dim=-1).numpy()


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    r"""Perplexity on ``val_ids`` of a model that ignores context: character frequencies of
    ``train_ids`` with add-one smoothing, :math:`p(c) = (n_c + 1) / (n + V)`.

    It is the baseline a language model must beat to have learned anything from context.
    """
    train = np.asarray(train_ids, dtype=np.int64)
    val = np.asarray(val_ids, dtype=np.int64)
    if vocab_size < 1 or val.size == 0:
        raise ValueError("need a positive vocab_size and at least one validation id")
    if (train.size and (train.min() < 0 or train.max() >= vocab_size)) or (
        val.min() < 0 or val.max() >= vocab_size
    ):
        raise ValueError(f"ids must lie in 0..{vocab_size - 1}")
    counts = np.bincount(train, minlength=vocab_size) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(np.exp(-log_p[val].mean()))


def clipping_comparison(
    *,
    clips: Sequence[float | None] = (None, 1.0),
    T: int = 10,
    recurrent_scale: float = 1.5,
    hidden_size: int = 64,
    lr: float = 0.1,
    batch_size: int = 64,
    max_steps: int = 300,
    eval_every: int = 1,
    n_val: int = 500,
    seed: int = 0,
) -> dict[float | None, History]:
    r"""Train the same tanh RNN on the adding problem with plain SGD, once per threshold.

    The recurrent matrix starts orthogonal times ``recurrent_scale`` (above 1: the exploding
    side). Every run uses the same initial weights, batches and validation set; only the
    clipping threshold differs (``None``: no clipping). Non-finite losses are recorded as
    they come (NaN), so a run that blows up shows where it did.

    Args:
        clips: thresholds to compare.
        T: sequence length of the adding problem.
        recurrent_scale: spectral norm of the initial :math:`W_{hh}`.
        hidden_size: hidden units.
        lr: SGD learning rate.
        batch_size: sequences per step.
        max_steps: SGD steps per run.
        eval_every: steps between records.
        n_val: validation sequences (fixed by ``seed``).
        seed: seed of weights, batches and validation set.

    Returns:
        dict: threshold -> :class:`~rnncourse.train.History` (``val_metric`` is the MSE,
        ``grad_norm`` the mean norm before clipping).
    """
    if not clips:
        raise ValueError("clips is empty")
    x_val, y_val = adding_problem(n_val, T, seed=10_000 + seed)
    runs: dict[float | None, History] = {}
    for clip in clips:
        set_seed(seed)
        model = SequenceRegressor(2, hidden_size, "rnn", recurrent_init="orthogonal",
                                  recurrent_scale=recurrent_scale)
        runs[clip] = fit(
            model,
            lambda step: adding_problem(batch_size, T, seed=1_000_000 * (seed + 1) + step),
            nn.functional.mse_loss,
            optimizer=lambda params: torch.optim.SGD(params, lr=lr),
            clip=clip,
            max_steps=max_steps,
            eval_every=eval_every,
            val_fn=lambda m: evaluate_mse(m, x_val, y_val),
            seed=seed,
            device="cpu",
            progress=False,
        )
    return runs


def first_nonfinite_step(history: History) -> int | None:
    """The first recorded step whose training loss is not finite, or ``None``."""
    for step, loss in zip(history.steps, history.train_loss, strict=True):
        if not math.isfinite(loss):
            return step
    return None
