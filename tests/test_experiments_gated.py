"""Tests of rnncourse.experiments.gated (the experiments of chapters 4-6), on tiny sizes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from rnncourse.data import SpokenDigits, load_spoken_digits, load_sunspots
from rnncourse.experiments import gated as G  # noqa: N812
from rnncourse.train import History

# --------------------------------------------------------------------------- chapter 4


def test_init_module_and_input_differ_only_in_forget_bias() -> None:
    H = 6
    a, xa = G.init_module_and_input("lstm", hidden_size=H, T=9, forget_bias=0.0, seed=3)
    b, xb = G.init_module_and_input("lstm", hidden_size=H, T=9, forget_bias=3.0, seed=3)
    assert xa.shape == (1, 9, 1) and xa.dtype == torch.float64
    assert torch.equal(xa, xb)
    assert torch.equal(a.weight_hh_l0, b.weight_hh_l0)
    assert torch.equal(a.weight_ih_l0, b.weight_ih_l0)
    total = b.bias_ih_l0 + b.bias_hh_l0
    assert torch.allclose(total[H : 2 * H], torch.full((H,), 3.0, dtype=torch.float64))
    assert torch.equal(a.bias_ih_l0[:H], b.bias_ih_l0[:H])  # the input gate is untouched
    assert not torch.equal(a.bias_ih_l0[H : 2 * H], b.bias_ih_l0[H : 2 * H])


def test_init_module_and_input_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        G.init_module_and_input("lstm", T=0)
    with pytest.raises(ValueError):
        G.init_module_and_input("gru", forget_bias=1.0)


def test_forget_bias_opens_the_carousel_at_initialisation() -> None:
    closed = G.init_input_gradients("lstm", hidden_size=16, T=60, forget_bias=0.0)
    opened = G.init_input_gradients("lstm", hidden_size=16, T=60, forget_bias=3.0)
    assert closed.shape == opened.shape == (60,)
    assert np.all(np.isfinite(closed)) and np.all(closed >= 0)
    # Gradients reaching the first input vanish with a closed carousel, far less when open.
    assert closed[0] < 1e-3 * closed[-1]
    assert opened[0] > 1e4 * closed[0]


def _lstm(batch_first: bool = True, hidden: int = 5, inputs: int = 3) -> nn.LSTM:
    torch.manual_seed(0)
    return nn.LSTM(inputs, hidden, batch_first=batch_first).double()


@pytest.mark.parametrize("batch_first", [True, False])
def test_lstm_gate_activations_match_torch(batch_first: bool) -> None:
    lstm = _lstm(batch_first)
    x = torch.randn(7, 3, dtype=torch.float64)
    gates = G.lstm_gate_activations(lstm, x)
    assert set(gates) == {"i", "f", "g", "o", "c", "h"}
    assert all(v.shape == (7, 5) for v in gates.values())
    out, (_, c_n) = lstm(x.unsqueeze(0 if batch_first else 1))
    np.testing.assert_allclose(gates["h"], out.detach().reshape(7, 5).numpy(), atol=1e-12)
    np.testing.assert_allclose(gates["c"][-1], c_n.detach().reshape(5).numpy(), atol=1e-12)
    for name in "ifo":
        assert np.all((gates[name] > 0) & (gates[name] < 1))
    assert np.all(np.abs(gates["g"]) < 1)
    # The gates are labelled in torch's order: they reproduce the cell and hidden updates.
    c_prev = np.vstack([np.zeros((1, 5)), gates["c"][:-1]])
    np.testing.assert_allclose(gates["c"], gates["f"] * c_prev + gates["i"] * gates["g"],
                               atol=1e-12)
    np.testing.assert_allclose(gates["h"], gates["o"] * np.tanh(gates["c"]), atol=1e-12)


def test_lstm_gate_activations_accept_a_batch_of_one() -> None:
    lstm = _lstm()
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    np.testing.assert_array_equal(G.lstm_gate_activations(lstm, x)["h"],
                                  G.lstm_gate_activations(lstm, x[0])["h"])


def test_lstm_gate_activations_reject_other_modules_and_shapes() -> None:
    with pytest.raises(ValueError, match="one-layer"):
        G.lstm_gate_activations(nn.LSTM(3, 5, num_layers=2), torch.randn(4, 3))
    with pytest.raises(ValueError, match="one-layer"):
        G.lstm_gate_activations(nn.GRU(3, 5), torch.randn(4, 3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="without biases"):
        G.lstm_gate_activations(nn.LSTM(3, 5, bias=False), torch.randn(4, 3))
    with pytest.raises(ValueError, match="features"):
        G.lstm_gate_activations(_lstm(), torch.randn(4, 2))
    with pytest.raises(ValueError, match="shape"):
        G.lstm_gate_activations(_lstm(), torch.randn(2, 4, 3))


# --------------------------------------------------------------------------- chapter 5


def test_gru_reset_after_is_torch_and_before_is_not() -> None:
    torch.manual_seed(1)
    cell = nn.GRUCell(4, 6).double()
    x = torch.randn(3, 4, dtype=torch.float64)
    h = torch.randn(3, 6, dtype=torch.float64)
    steps = G.gru_reset_conventions(cell, x, h)
    expected = cell(x, h).detach()
    assert torch.allclose(steps["after"], expected, rtol=0, atol=1e-12)
    assert (steps["before"] - expected).abs().max() > 1e-3
    # From a zero state the conventions still differ through b_hn, which "after" scales by r;
    # with b_hn = 0 as well, the reset gate has nothing to act on and they agree.
    zero = torch.zeros(3, 6, dtype=torch.float64)
    both = G.gru_reset_conventions(cell, x, zero)
    assert (both["before"] - both["after"]).abs().max() > 1e-3
    with torch.no_grad():
        cell.bias_hh[12:] = 0.0
    both = G.gru_reset_conventions(cell, x, zero)
    assert (both["before"] - both["after"]).abs().max() < 1e-12


def test_gru_reset_conventions_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="GRUCell"):
        G.gru_reset_conventions(nn.LSTMCell(4, 6), torch.zeros(1, 4), torch.zeros(1, 6))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same N"):
        G.gru_reset_conventions(nn.GRUCell(4, 6), torch.zeros(2, 4), torch.zeros(1, 6))


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


def test_sunspot_forecast_result_and_baseline() -> None:
    result = G.sunspot_forecast("rnn", hidden_size=4, max_steps=5, window=10, split_year=1900)
    years, values = load_sunspots()
    assert result.task == "sunspots" and result.steps == 5 and not result.higher_is_better
    assert result.extra["n_train"] + result.extra["n_test"] == len(values) - 10
    prediction = result.extra["prediction"]
    assert prediction.shape == values.shape
    assert np.all(np.isnan(prediction[:10])) and np.all(np.isfinite(prediction[10:]))
    test = years >= 1900
    persistence = np.sqrt(np.mean((values[np.roll(test, -1)][: test.sum()] - values[test]) ** 2))
    assert result.extra["persistence_rmse"] == pytest.approx(persistence)
    expected_rmse = np.sqrt(np.mean((prediction[test] - values[test]) ** 2))
    assert result.metric == pytest.approx(expected_rmse, rel=1e-5)


def test_sunspot_forecast_rejects_a_split_outside_the_data() -> None:
    with pytest.raises(ValueError, match="split_year"):
        G.sunspot_forecast("rnn", split_year=1600, max_steps=1)


def test_spoken_digit_classifier_on_a_subset() -> None:
    full = load_spoken_digits()
    subset = SpokenDigits(full.features[:100], full.labels[:100])
    result = G.spoken_digit_classifier("gru", hidden_size=8, max_steps=4, batch_size=16,
                                       data=subset)
    assert result.higher_is_better and result.task == "spoken digits"
    assert 0.0 <= result.metric <= 1.0
    assert result.extra["n_train"] == 80 and result.extra["n_test"] == 20
    assert result.steps == 4
    assert 0.0 <= result.extra["majority_accuracy"] <= 1.0


def test_char_language_model_on_a_tiny_text() -> None:
    text = "to be or not to be, that is the question. " * 40
    result = G.char_language_model("lstm", text, hidden_size=8, embed_size=4, seq_len=8,
                                   batch_size=4, max_steps=3, val_batch_size=2, val_seq_len=8)
    vocab = result.extra["vocab"]
    assert result.task == "text" and result.steps == 3
    assert 1.0 < result.metric < 2 * len(vocab)
    assert 1.0 < result.extra["unigram_perplexity"] < len(vocab) + 1
    ids = result.extra["model"].sample(vocab.encode("to "), 5, seed=0)
    assert len(vocab.decode(ids)) == 5


def test_majority_accuracy() -> None:
    assert G.majority_accuracy(np.array([1, 1, 2]), np.array([1, 2, 2, 1])) == 0.5
    assert G.majority_accuracy(np.array([3, 3]), np.array([0, 1])) == 0.0
    with pytest.raises(ValueError):
        G.majority_accuracy(np.array([]), np.array([1]))


def test_unigram_perplexity() -> None:
    # Uniform training counts over 4 symbols (after add-one smoothing): perplexity 4.
    train = np.array([0, 1, 2, 3] * 5)
    assert G.unigram_perplexity(train, np.array([0, 3, 1]), 4) == pytest.approx(4.0)
    # A frequent symbol is cheap, a rare one expensive.
    skewed = np.array([0] * 50 + [1])
    cheap = G.unigram_perplexity(skewed, np.array([0, 0]), 2)
    costly = G.unigram_perplexity(skewed, np.array([1, 1]), 2)
    assert 1.0 < cheap < 1.1 < 20 < costly
    with pytest.raises(ValueError):
        G.unigram_perplexity(train, np.array([], dtype=int), 4)


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
