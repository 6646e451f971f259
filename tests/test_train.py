"""Training loop: learning, clipping, early stopping, budgets, stdout-only progress."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnncourse.data import adding_problem, sequential_batches
from rnncourse.models import CharLM, SequenceRegressor
from rnncourse.train import History, evaluate_mse, fit, lm_cross_entropy, perplexity, set_seed

X, Y = adding_problem(256, 8, seed=0)
XV, YV = adding_problem(128, 8, seed=1)


def batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    i = (step * 32) % 256
    return X[i : i + 32], Y[i : i + 32]


def test_fit_learns_and_records(capfd: pytest.CaptureFixture[str]) -> None:
    model = SequenceRegressor(2, 16, "gru")
    before = evaluate_mse(model, XV, YV)
    history = fit(model, batch, torch.nn.functional.mse_loss, max_steps=120, eval_every=40,
                  val_fn=lambda m: evaluate_mse(m, XV, YV), device="cpu", lr=1e-2)
    assert history.steps == [40, 80, 120] and history.stop_reason == "max_steps"
    assert history.val_metric[-1] < 0.5 * before
    assert len(history.grad_norm) == len(history.seconds) == 3
    assert history.seconds == sorted(history.seconds)
    out = capfd.readouterr()
    assert out.err == "" and "training" in out.out
    record = history.to_dict()
    assert set(record) == {"steps", "train_loss", "val_metric", "seconds", "grad_norm",
                           "step_grad_norm", "stop_reason"}
    assert all(isinstance(v, list) for k, v in record.items() if k != "stop_reason")


def test_fit_is_reproducible_and_clips() -> None:
    runs = []
    for _ in range(2):
        set_seed(123)
        model = SequenceRegressor(2, 8, "rnn")
        runs.append(fit(model, batch, torch.nn.functional.mse_loss, max_steps=10,
                        eval_every=5, seed=1, progress=False, clip=1e-3, device="cpu"))
    assert runs[0].train_loss == runs[1].train_loss
    assert all(g > 1e-3 for g in runs[0].grad_norm)  # recorded before clipping


def test_clipping_bounds_the_update() -> None:
    set_seed(0)
    model = SequenceRegressor(2, 8, "rnn")
    start = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    fit(model, batch, torch.nn.functional.mse_loss, optimizer=optimizer, max_steps=1,
        clip=0.01, progress=False, device="cpu")
    with torch.no_grad():
        moved = torch.sqrt(sum(((p - s) ** 2).sum() for p, s in
                               zip(model.parameters(), start, strict=True)))
    assert float(moved) == pytest.approx(0.01, rel=1e-4)


def test_target_time_budget_and_exhausted_data() -> None:
    model = SequenceRegressor(2, 8, "gru")
    history = fit(model, batch, torch.nn.functional.mse_loss, max_steps=500, eval_every=1,
                  val_fn=lambda m: 1.0, target=2.0, progress=False)
    assert history.stop_reason == "target" and history.steps == [1]
    history = fit(model, batch, torch.nn.functional.mse_loss, max_steps=10_000,
                  time_budget=0.0, progress=False)
    assert history.stop_reason == "time_budget" and history.steps == [1]
    assert math.isnan(history.val_metric[0])
    history = fit(model, [batch(0), batch(1), batch(2)], torch.nn.functional.mse_loss,
                  max_steps=100, eval_every=2, progress=False,
                  optimizer=lambda params: torch.optim.SGD(params, lr=0.1))
    assert history.stop_reason == "data_exhausted" and history.steps == [2, 3]


def test_fit_rejects_bad_arguments() -> None:
    model = SequenceRegressor(2, 8, "gru")
    with pytest.raises(ValueError, match="val_fn"):
        fit(model, batch, torch.nn.functional.mse_loss, max_steps=5, target=0.1)
    with pytest.raises(ValueError):
        fit(model, batch, torch.nn.functional.mse_loss, max_steps=0)


def test_perplexity_of_uniform_model_is_vocab_size() -> None:
    model = CharLM(7, 4, "rnn")
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    ids = np.random.default_rng(0).integers(0, 7, size=500)
    assert perplexity(model, sequential_batches(ids, 4, 10)) == pytest.approx(7.0)
    with pytest.raises(ValueError):
        perplexity(model, [])
    logits = torch.zeros(2, 3, 7)
    assert float(lm_cross_entropy(logits, torch.zeros(2, 3, dtype=torch.long))) == (
        pytest.approx(math.log(7))
    )


def test_evaluate_mse_batches_and_shape_check() -> None:
    model = SequenceRegressor(2, 8, "lstm")
    assert evaluate_mse(model, XV, YV, batch_size=50) == pytest.approx(evaluate_mse(model, XV, YV))
    with pytest.raises(ValueError, match="prediction"):
        evaluate_mse(model, XV, YV[:, 0])


def test_history_default_is_empty() -> None:
    assert History().to_dict()["steps"] == []


class _StateRecorder(torch.nn.Module):
    """A tiny recurrent LM that records the state it is given on each call."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(1, 3, batch_first=True)
        self.head = torch.nn.Linear(3, 1)
        self.seen: list[torch.Tensor | None] = []

    def forward(self, x, state=None):
        self.seen.append(state)
        out, state = self.rnn(x, state)
        return self.head(out), state


def test_fit_carries_the_detached_state_between_batches() -> None:
    from rnncourse.train import fit

    model = _StateRecorder()
    batches = [(torch.randn(2, 4, 1), torch.randn(2, 4, 1)) for _ in range(3)]
    history = fit(model, batches, torch.nn.functional.mse_loss, max_steps=3, eval_every=1,
                  device="cpu", progress=False, carry_state=True)
    first, second, third = model.seen
    assert first is None
    assert second is not None and third is not None
    assert not second.requires_grad and second.grad_fn is None  # truncated: no graph behind
    assert len(history.step_grad_norm) == 3


def test_fit_starts_each_batch_fresh_by_default() -> None:
    from rnncourse.train import fit

    model = _StateRecorder()
    batches = [(torch.randn(2, 4, 1), torch.randn(2, 4, 1)) for _ in range(2)]
    fit(model, batches, torch.nn.functional.mse_loss, max_steps=2, device="cpu", progress=False)
    assert model.seen == [None, None]
