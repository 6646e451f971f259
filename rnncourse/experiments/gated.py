r"""Experiments of the gated-unit chapters: LSTM (4), GRU (5) and applications (6).

Everything here is built on :mod:`rnncourse.models`, :mod:`rnncourse.train`,
:mod:`rnncourse.gradients` and :mod:`rnncourse.data`; the chapters call these functions so that
their cells stay short and their numbers reproducible.

* :func:`init_module_and_input`, :func:`init_input_gradients`:
  :math:`\lVert \partial L / \partial x_t \rVert` of a freshly initialised module (the
  forget-bias experiment of chapter 4).
* :func:`lstm_gate_activations`: the gates ``i, f, g, o`` (torch's order), the cell state and
  the hidden state of a trained ``nn.LSTM`` along one sequence, for heatmaps.
* :func:`gru_reset_conventions`: one GRU step computed with the reset gate applied after
  (torch, Cho et al. 2014 v1) and before (Cho et al. v3, d2l) the recurrent matrix product.
* :func:`train_adding`: a :class:`~rnncourse.models.SequenceRegressor` on the adding problem.
* :func:`sunspot_forecast`, :func:`spoken_digit_classifier`, :func:`char_language_model`: the
  three short application runs of chapter 6, each returning a :class:`RunResult`;
  :func:`results_markdown` turns results into the chapter's comparison table.

Weight layout follows torch: ``weight_ih`` is ``(G*H, D)`` with gate blocks in the order
``i, f, g, o`` (LSTM, G = 4) or ``r, z, n`` (GRU, G = 3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnncourse.data import (
    CharVocab,
    SpokenDigits,
    adding_problem,
    load_shakespeare,
    load_spoken_digits,
    load_sunspots,
    make_windows,
    pad_sequences,
    random_batches,
    sequential_batches,
    standardize,
    train_val_split,
)
from rnncourse.gradients import input_gradient_norms
from rnncourse.models import (
    CellName,
    CharLM,
    SequenceClassifier,
    SequenceRegressor,
    count_parameters,
    make_recurrent,
)
from rnncourse.train import History, evaluate_mse, fit, lm_cross_entropy, perplexity, set_seed

__all__ = [
    "CELL_LABELS",
    "GRU_GATES",
    "LSTM_GATES",
    "AddingRun",
    "RunResult",
    "char_language_model",
    "gru_reset_conventions",
    "init_input_gradients",
    "init_module_and_input",
    "lstm_gate_activations",
    "majority_accuracy",
    "results_markdown",
    "spoken_digit_classifier",
    "steps_to_reach",
    "sunspot_forecast",
    "train_adding",
    "unigram_perplexity",
]

LSTM_GATES: tuple[str, ...] = ("i", "f", "g", "o")
"""torch's LSTM gate blocks, in the order they are stacked in ``weight_ih`` and ``weight_hh``."""

GRU_GATES: tuple[str, ...] = ("r", "z", "n")
"""torch's GRU blocks, in the order they are stacked in ``weight_ih`` and ``weight_hh``."""


# --------------------------------------------------------------------------- chapter 4


def init_module_and_input(
    cell: CellName,
    *,
    hidden_size: int = 64,
    T: int = 100,
    input_size: int = 1,
    forget_bias: float | None = None,
    seed: int = 0,
) -> tuple[nn.RNNBase, torch.Tensor]:
    r"""A freshly initialised float64 module and one random input sequence.

    The module comes from :func:`rnncourse.models.make_recurrent` (torch's default
    initialisation) after :func:`rnncourse.train.set_seed`; the input is
    :math:`x \sim \mathcal{N}(0, 1)` of shape ``(1, T, input_size)`` from a generator seeded with
    ``seed``. The same ``seed`` gives the same weights and input for every ``forget_bias``, so
    only the forget-gate bias differs between LSTM runs.

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: hidden units (H).
        T: sequence length.
        input_size: features per step (D).
        forget_bias: LSTM only: the forget-gate bias (sum of both torch biases); ``None``
            keeps torch's default initialisation.
        seed: seed of the weights and of the input.

    Returns:
        tuple: the batch-first module and ``x (1, T, input_size)``, both float64.
    """
    if T < 1:
        raise ValueError("T must be >= 1")
    set_seed(seed)
    rnn = make_recurrent(cell, input_size, hidden_size, forget_bias=forget_bias).double()
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, T, input_size, generator=generator, dtype=torch.float64)
    return rnn, x


def init_input_gradients(
    cell: CellName,
    *,
    hidden_size: int = 64,
    T: int = 100,
    input_size: int = 1,
    forget_bias: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    r"""Input-gradient norms :math:`\lVert \partial L / \partial x_t \rVert` at initialisation.

    The module and input of :func:`init_module_and_input` (same arguments); the loss is
    :math:`L = \sum h_T`, as in :func:`rnncourse.gradients.input_gradient_norms`.

    Returns:
        np.ndarray: float64 ``(T,)``; entry ``t-1`` is
        :math:`\lVert\partial L/\partial x_t\rVert`.
    """
    rnn, x = init_module_and_input(
        cell, hidden_size=hidden_size, T=T, input_size=input_size, forget_bias=forget_bias,
        seed=seed,
    )
    return input_gradient_norms(rnn, x)


def lstm_gate_activations(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, np.ndarray]:
    r"""Gate values, cell state and hidden state of a one-layer ``nn.LSTM`` along a sequence.

    The module itself is stepped through the sequence (so ``c`` and ``h`` are torch's own);
    the gates are read off its weights from the previous hidden state, in torch's order:

    .. math::

        \begin{pmatrix} i_t \\ f_t \\ g_t \\ o_t \end{pmatrix} =
        \begin{pmatrix} \sigma \\ \sigma \\ \tanh \\ \sigma \end{pmatrix}
        \left(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}\right).

    Args:
        lstm: a one-layer, unidirectional ``nn.LSTM`` (batch first or not).
        x: one sequence ``(T, D)`` or ``(1, T, D)``.

    Returns:
        dict: ``"i"``, ``"f"``, ``"g"``, ``"o"``, ``"c"``, ``"h"``, each a float64 ``(T, H)``
        array (row t-1 for step t).
    """
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or lstm.bidirectional:
        raise ValueError("lstm must be a one-layer, unidirectional torch.nn.LSTM")
    if lstm.proj_size or not lstm.bias:
        raise ValueError("LSTMs with proj_size or without biases are not supported")
    seq = x[0] if x.ndim == 3 else x
    if seq.ndim != 2 or (x.ndim == 3 and x.shape[0] != 1):
        raise ValueError(f"x must be (T, D) or (1, T, D), got shape {tuple(x.shape)}")
    if seq.shape[1] != lstm.input_size:
        raise ValueError(f"x has {seq.shape[1]} features, the LSTM expects {lstm.input_size}")
    weight = lstm.weight_ih_l0
    seq = seq.to(device=weight.device, dtype=weight.dtype)
    hidden = lstm.hidden_size
    h = torch.zeros(1, 1, hidden, dtype=weight.dtype, device=weight.device)
    c = torch.zeros_like(h)
    records: dict[str, list[torch.Tensor]] = {name: [] for name in (*LSTM_GATES, "c", "h")}
    with torch.no_grad():
        for t in range(seq.shape[0]):
            step = seq[t : t + 1]
            pre = (step @ lstm.weight_ih_l0.T + lstm.bias_ih_l0
                   + h[0] @ lstm.weight_hh_l0.T + lstm.bias_hh_l0)[0]
            blocks = pre.view(4, hidden)
            for k, name in enumerate(LSTM_GATES):
                act = torch.tanh if name == "g" else torch.sigmoid
                records[name].append(act(blocks[k]))
            step_in = step.unsqueeze(0) if lstm.batch_first else step.unsqueeze(1)
            _, (h, c) = lstm(step_in, (h, c))
            records["c"].append(c[0, 0])
            records["h"].append(h[0, 0])
    return {name: torch.stack(v).double().cpu().numpy() for name, v in records.items()}


# --------------------------------------------------------------------------- chapter 5


def gru_reset_conventions(
    cell: nn.GRUCell, x: torch.Tensor, h: torch.Tensor
) -> dict[str, torch.Tensor]:
    r"""One GRU step under the two conventions for where the reset gate acts.

    With torch's blocks ``r, z, n`` of ``weight_ih`` (:math:`W_{i\cdot}`) and ``weight_hh``
    (:math:`W_{h\cdot}`):

    .. math::

        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\quad
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),\\
        n_{\text{after}} &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})),\\
        n_{\text{before}} &= \tanh(W_{in} x + b_{in} + W_{hn} (r \odot h) + b_{hn}),\\
        h' &= (1 - z) \odot n + z \odot h.

    ``"after"`` is torch's (and Cho et al. 2014 v1, Keras ``reset_after=True``); ``"before"``
    is Cho et al. v3 and d2l. The two differ by
    :math:`r \odot (W_{hn} h + b_{hn}) - W_{hn}(r \odot h) - b_{hn}` inside the tanh: they agree
    when ``r`` is all ones, or when ``h`` and :math:`b_{hn}` are both zero.

    Args:
        cell: the ``nn.GRUCell`` whose weights are used.
        x: inputs ``(N, D)``.
        h: previous hidden state ``(N, H)``.

    Returns:
        dict: ``"after"`` and ``"before"``, each the new hidden state ``(N, H)``.
    """
    if not isinstance(cell, nn.GRUCell):
        raise ValueError("cell must be a torch.nn.GRUCell")
    if x.ndim != 2 or h.ndim != 2 or x.shape[0] != h.shape[0]:
        raise ValueError("x must be (N, D) and h (N, H) with the same N")
    w_ir, w_iz, w_in = cell.weight_ih.chunk(3)
    w_hr, w_hz, w_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    with torch.no_grad():
        r = torch.sigmoid(x @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = torch.sigmoid(x @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        candidates = {
            "after": torch.tanh(x @ w_in.T + b_in + r * (h @ w_hn.T + b_hn)),
            "before": torch.tanh(x @ w_in.T + b_in + (r * h) @ w_hn.T + b_hn),
        }
        return {name: (1 - z) * n + z * h for name, n in candidates.items()}


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
        extra: anything else the chapter shows (predictions, the model...).
    """

    task: str
    cell: str
    metric_name: str
    metric: float
    parameters: int
    seconds: float
    steps: int
    higher_is_better: bool = False
    extra: dict[str, object] = field(default_factory=dict, repr=False)


CELL_LABELS: dict[str, str] = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}
"""How tables and legends name the cells (other names, such as baselines, are shown as given)."""


def sunspot_forecast(
    cell: CellName,
    *,
    window: int = 22,
    split_year: int = 1920,
    hidden_size: int = 32,
    lr: float = 1e-2,
    max_steps: int = 300,
    seed: int = 0,
) -> RunResult:
    """One-year-ahead forecast of the yearly sunspot number from the previous ``window`` years.

    Windows whose target year is before ``split_year`` train the model (full batch, Adam);
    the later ones test it. Values are standardised with the training statistics and the
    metric is the test RMSE in sunspot-number units. ``extra`` holds ``years``, ``values``,
    ``prediction`` (NaN where no forecast was made), ``n_train`` and ``n_test`` (windows) and
    ``persistence_rmse``, the RMSE of predicting last year's value, a baseline any model should
    beat.

    Returns:
        RunResult: ``task="sunspots"``.
    """
    years, values = load_sunspots()
    inputs, targets = make_windows(values, window)
    target_years = years[window:]
    train = target_years < split_year
    if train.all() or not train.any():
        raise ValueError("split_year must leave windows on both sides")
    _, mean, std = standardize(targets[train])
    x = torch.tensor((inputs - mean) / std, dtype=torch.float32).unsqueeze(-1)
    y = torch.tensor((targets - mean) / std, dtype=torch.float32)
    x_train, y_train = x[train], y[train]
    x_test, y_test = x[~train], y[~train]
    set_seed(seed)
    model = SequenceRegressor(1, hidden_size, cell)
    history = fit(
        model, lambda step: (x_train, y_train), nn.functional.mse_loss, lr=lr, clip=1.0,
        max_steps=max_steps, eval_every=max(1, max_steps // 10),
        val_fn=lambda m: evaluate_mse(m, x_test, y_test), seed=seed, progress=False,
    )
    model.cpu()
    with torch.no_grad():
        predicted = model(x).squeeze(-1).numpy() * std + mean
    rmse = float(np.sqrt(np.mean((predicted[~train] - targets[~train, 0]) ** 2)))
    persistence = float(np.sqrt(np.mean((inputs[~train, -1] - targets[~train, 0]) ** 2)))
    prediction = np.full(len(values), np.nan)
    prediction[window:] = predicted
    return RunResult(
        task="sunspots", cell=cell, metric_name="test RMSE (sunspot number)", metric=rmse,
        parameters=count_parameters(model), seconds=history.seconds[-1],
        steps=history.steps[-1],
        extra={"years": years, "values": values, "prediction": prediction,
               "persistence_rmse": persistence, "split_year": split_year, "history": history,
               "n_train": int(train.sum()), "n_test": int((~train).sum())},
    )


def _digit_tensors(
    data: SpokenDigits, mean: np.ndarray, std: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x, lengths = pad_sequences([(f - mean) / std for f in data.features])
    return x, lengths, torch.as_tensor(data.labels)


def spoken_digit_classifier(
    cell: CellName,
    *,
    hidden_size: int = 32,
    lr: float = 1e-2,
    batch_size: int = 64,
    max_steps: int = 200,
    test_fraction: float = 0.2,
    data: SpokenDigits | None = None,
    seed: int = 0,
) -> RunResult:
    """Classify Free Spoken Digit Dataset utterances (13 MFCCs per frame) into the ten digits.

    The utterances are shuffled and split with :meth:`SpokenDigits.split` (``seed``), every
    MFCC is standardised with the training statistics, and a
    :class:`~rnncourse.models.SequenceClassifier` reads each padded utterance up to its own
    length. The metric is the test accuracy; ``extra["majority_accuracy"]`` is the accuracy of
    always answering the most frequent training digit (about 0.1: the classes are balanced).

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        hidden_size: hidden units.
        lr: Adam learning rate.
        batch_size: utterances per step.
        max_steps: optimisation steps.
        test_fraction: share of utterances held out.
        data: the dataset (loaded with :func:`rnncourse.data.load_spoken_digits` if ``None``).
        seed: seed of the split, the weights and the batches.

    Returns:
        RunResult: ``task="spoken digits"``, ``higher_is_better=True``.
    """
    data = load_spoken_digits() if data is None else data
    train, test = data.split(test_fraction, seed=seed)
    frames = np.concatenate(train.features)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    x_train, len_train, y_train = _digit_tensors(train, mean, std)
    x_test, len_test, y_test = _digit_tensors(test, mean, std)
    rng = np.random.default_rng(seed)

    def batch(step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = torch.as_tensor(rng.choice(len(y_train), size=batch_size, replace=False))
        longest = int(len_train[rows].max())
        return x_train[rows, :longest], len_train[rows], y_train[rows]

    def error_rate(model: nn.Module) -> float:
        device = next(model.parameters()).device
        logits = model(x_test.to(device), len_test)
        return float((logits.argmax(-1).cpu() != y_test).float().mean())

    set_seed(seed)
    model = SequenceClassifier(data.features[0].shape[1], hidden_size, 10, cell)
    history = fit(
        model, batch, nn.functional.cross_entropy, lr=lr, clip=1.0, max_steps=max_steps,
        eval_every=max(1, max_steps // 4), val_fn=error_rate, seed=seed, progress=False,
    )
    model.cpu()
    return RunResult(
        task="spoken digits", cell=cell, metric_name="test accuracy",
        metric=1.0 - history.val_metric[-1], parameters=count_parameters(model),
        seconds=history.seconds[-1], steps=history.steps[-1], higher_is_better=True,
        extra={"history": history, "n_train": len(train), "n_test": len(test),
               "majority_accuracy": majority_accuracy(train.labels, test.labels)},
    )


def char_language_model(
    cell: CellName,
    text: str | None = None,
    *,
    hidden_size: int = 64,
    embed_size: int = 32,
    seq_len: int = 32,
    batch_size: int = 32,
    lr: float = 1e-2,
    max_steps: int = 200,
    val_fraction: float = 0.1,
    val_batch_size: int = 16,
    val_seq_len: int = 64,
    seed: int = 0,
) -> RunResult:
    """A character language model trained briefly on Shakespeare (Adam, random windows).

    Args:
        cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
        text: the corpus (default: *Hamlet* from :func:`rnncourse.data.load_shakespeare`).
        hidden_size, embed_size: model sizes.
        seq_len, batch_size: training windows and windows per step.
        lr: Adam learning rate.
        max_steps: optimisation steps.
        val_fraction: share of the text (its end) held out.
        val_batch_size, val_seq_len: shape of the sequential validation batches (the state is
            carried from batch to batch).
        seed: seed of the weights and of the windows.

    Returns:
        RunResult: ``task="text"``, metric = validation perplexity (characters); ``extra``
        holds the ``model`` and the ``vocab`` for sampling, and ``unigram_perplexity``, the
        perplexity of the context-free character frequencies (:func:`unigram_perplexity`).
    """
    text = load_shakespeare(plays=["hamlet"]) if text is None else text
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), val_fraction)
    set_seed(seed)
    model = CharLM(len(vocab), hidden_size, cell, embed_size=embed_size)
    batches = random_batches(train_ids, batch_size, seq_len, n_batches=max_steps, seed=seed)
    history = fit(model, batches, lm_cross_entropy, lr=lr, clip=1.0, max_steps=max_steps,
                  eval_every=max_steps, seed=seed, progress=False)
    model.cpu()
    val_ppl = perplexity(model, sequential_batches(val_ids, val_batch_size, val_seq_len))
    return RunResult(
        task="text", cell=cell, metric_name="validation perplexity (characters)",
        metric=val_ppl, parameters=count_parameters(model), seconds=history.seconds[-1],
        steps=history.steps[-1],
        extra={"model": model, "vocab": vocab, "history": history,
               "unigram_perplexity": unigram_perplexity(train_ids, val_ids, len(vocab))},
    )


def majority_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    """Test accuracy of always predicting the most frequent training label (a baseline)."""
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if train_labels.size == 0 or test_labels.size == 0:
        raise ValueError("majority_accuracy needs labels on both sides")
    values, counts = np.unique(train_labels, return_counts=True)
    return float(np.mean(test_labels == values[np.argmax(counts)]))


def unigram_perplexity(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    r"""Perplexity of a model that ignores context: character frequencies of the training text.

    :math:`\exp\bigl(-\frac{1}{n}\sum_t \ln p(x_t)\bigr)` over the validation ids, with
    :math:`p` the training frequencies plus one (add-one smoothing, so unseen characters keep a
    finite cost). A recurrent model is useful only insofar as it beats this.
    """
    train_ids, val_ids = np.asarray(train_ids), np.asarray(val_ids)
    if val_ids.size == 0:
        raise ValueError("unigram_perplexity needs validation ids")
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    log_p = np.log(counts / counts.sum())
    return float(np.exp(-log_p[val_ids].mean()))


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

