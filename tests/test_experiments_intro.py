"""Tests of rnncourse.experiments.intro: the experiments of chapters 1-3.

Small sizes throughout so that the whole file runs in a few seconds on one CPU core.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnncourse.data import CharVocab, train_val_split
from rnncourse.experiments import intro
from rnncourse.models import CharLM
from rnncourse.train import History

TEXT = "to be or not to be, that is the question.\n" * 40


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- detach_state ---------------------------------------------------------------------------


def test_detach_state_cuts_graph_keeps_values():
    w = torch.ones(3, requires_grad=True)
    h = w * 2
    cut = intro.detach_state(h)
    assert not cut.requires_grad and torch.equal(cut, h.detach())
    pair = intro.detach_state((h, h * 3))
    assert isinstance(pair, tuple) and len(pair) == 2
    assert all(not s.requires_grad for s in pair)
    assert torch.equal(pair[1], torch.full((3,), 6.0))
    assert intro.detach_state(None) is None


# --- gradient_reach -------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradient_reach_truncation_stops_gradient_not_values(cell):
    reach = intro.gradient_reach(cell, hidden_size=6, seq_len=4, seed=1)
    assert reach["full"] > 0
    assert reach["truncated"] == 0.0
    assert reach["same_forward"] == 1.0


# --- train_char_lm --------------------------------------------------------------------------


def _lm_data():
    vocab = CharVocab.from_text(TEXT)
    train_ids, val_ids = train_val_split(vocab.encode(TEXT), 0.2)
    return vocab, train_ids, val_ids


def test_train_char_lm_learns_and_records(capsys):
    vocab, train_ids, val_ids = _lm_data()
    torch.manual_seed(0)
    model = CharLM(len(vocab), 16, "rnn")
    run = intro.train_char_lm(model, train_ids, val_ids, batch_size=4, seq_len=8, lr=1e-2,
                              max_steps=120, eval_every=40, seed=0, progress=False)
    h = run.history
    assert h.steps == [40, 80, 120]
    assert h.stop_reason == "max_steps"
    assert len(run.grad_norms) == 120 and np.all(run.grad_norms > 0)
    assert len(h.val_metric) == len(h.train_loss) == len(h.seconds) == len(h.grad_norm) == 3
    # a highly repetitive text: far better than a uniform guess over the vocabulary
    assert run.val_perplexity < 0.5 * len(vocab)
    assert h.val_metric[-1] < h.val_metric[0]
    assert run.epochs >= 2  # 120 steps is more than one pass over this short text
    assert 0.0 <= run.clipped_fraction <= 1.0
    assert capsys.readouterr().err == ""


def test_train_char_lm_is_reproducible():
    vocab, train_ids, val_ids = _lm_data()
    results = []
    for _ in range(2):
        torch.manual_seed(3)
        model = CharLM(len(vocab), 8, "gru")
        run = intro.train_char_lm(model, train_ids, val_ids, batch_size=4, seq_len=8,
                                  max_steps=20, eval_every=10, progress=False)
        results.append(run.history.val_metric)
    assert results[0] == results[1]


def test_train_char_lm_clipping_records_norm_before_clipping():
    vocab, train_ids, val_ids = _lm_data()
    torch.manual_seed(0)
    model = CharLM(len(vocab), 16, "lstm")
    run = intro.train_char_lm(model, train_ids, val_ids, batch_size=4, seq_len=8, lr=1e-2,
                              clip=1e-3, max_steps=10, eval_every=5, progress=False)
    # a tiny threshold: every recorded (pre-clipping) norm exceeds it
    assert run.clipped_fraction == 1.0
    assert np.all(run.grad_norms > 1e-3)
    unclipped = intro.train_char_lm(CharLM(len(vocab), 8, "rnn"), train_ids, val_ids,
                                    batch_size=4, seq_len=8, clip=None, max_steps=5,
                                    eval_every=5, progress=False)
    assert unclipped.clip is None and unclipped.clipped_fraction == 0.0


def test_train_char_lm_time_budget_stops_early():
    vocab, train_ids, val_ids = _lm_data()
    run = intro.train_char_lm(CharLM(len(vocab), 8, "rnn"), train_ids, val_ids, batch_size=4,
                              seq_len=8, max_steps=10_000, eval_every=1000, time_budget=0.0,
                              progress=False)
    assert run.history.stop_reason == "time_budget"
    assert run.history.steps == [1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_steps": 0}, "max_steps"), ({"eval_every": 0}, "eval_every"),
     ({"clip": 0.0}, "clip"), ({"clip": -1.0}, "clip")],
)
def test_train_char_lm_rejects_bad_arguments(kwargs, match):
    vocab, train_ids, val_ids = _lm_data()
    with pytest.raises(ValueError, match=match):
        intro.train_char_lm(CharLM(len(vocab), 4, "rnn"), train_ids, val_ids,
                            progress=False, **kwargs)


def test_train_char_lm_rejects_too_short_text():
    vocab, train_ids, val_ids = _lm_data()
    with pytest.raises(ValueError, match="too few"):
        intro.train_char_lm(CharLM(len(vocab), 4, "rnn"), train_ids[:10], val_ids,
                            batch_size=4, seq_len=8, max_steps=2, progress=False)


# --- sample_text ----------------------------------------------------------------------------


def test_sample_text_per_temperature_and_seeded():
    vocab, _, _ = _lm_data()
    torch.manual_seed(0)
    model = CharLM(len(vocab), 8, "rnn")
    a = intro.sample_text(model, vocab, "to ", temperatures=(0.5, 2.0), n_chars=30, seed=4)
    b = intro.sample_text(model, vocab, "to ", temperatures=(0.5, 2.0), n_chars=30, seed=4)
    assert list(a) == [0.5, 2.0]
    assert a == b
    assert all(len(s) == 30 and set(s) <= set(vocab.chars) for s in a.values())
    with pytest.raises(ValueError, match="prefix"):
        intro.sample_text(model, vocab, "")
    with pytest.raises(ValueError, match="temperature"):
        intro.sample_text(model, vocab, "t", temperatures=(0.0,))


# --- unigram_perplexity ---------------------------------------------------------------------


def test_unigram_perplexity_known_values():
    # uniform training counts over 4 symbols: perplexity 4 whatever the validation text
    assert intro.unigram_perplexity(np.array([0, 1, 2, 3]), np.array([2, 2, 1]), 4) == (
        pytest.approx(4.0)
    )
    # skewed counts: p = (3+1)/(4+2) for symbol 0
    ppl = intro.unigram_perplexity(np.array([0, 0, 0, 1]), np.array([0]), 2)
    assert ppl == pytest.approx(6 / 4)
    with pytest.raises(ValueError):
        intro.unigram_perplexity(np.array([0, 5]), np.array([0]), 3)
    with pytest.raises(ValueError):
        intro.unigram_perplexity(np.array([0]), np.array([], dtype=np.int64), 3)


# --- perturbation_trace ---------------------------------------------------------------------


def test_perturbation_trace_starts_positive_and_fades():
    trace = intro.perturbation_trace(hidden_size=16, T=50, seed=0)
    assert trace.shape == (50,) and trace.dtype == np.float64
    assert trace[0] > 0.1
    assert trace[-1] < 1e-3 * trace[0]
    assert np.array_equal(trace, intro.perturbation_trace(hidden_size=16, T=50, seed=0))
    with pytest.raises(ValueError):
        intro.perturbation_trace(T=0)
    with pytest.raises(ValueError):
        intro.perturbation_trace(eps=0.0)


# --- spectral_sweep, orders_of_magnitude, decay_per_step -----------------------------------


def test_spectral_sweep_vanishes_below_one_and_grows_above():
    sweep = intro.spectral_sweep([0.5, 2.0], hidden_size=64, T=40, batch_size=2, seed=0)
    assert list(sweep) == [0.5, 2.0]
    small, large = sweep[0.5], sweep[2.0]
    assert small.shape == large.shape == (40,)
    # float64: even 0.5**39 stays representable, no underflow to 0
    assert np.all(small > 0)
    assert intro.orders_of_magnitude(small) < -8
    # the per-step factor never exceeds the bound gamma * sigma_max = 0.5
    assert intro.decay_per_step(small) <= 0.5 + 1e-9
    assert intro.orders_of_magnitude(large) > 0
    with pytest.raises(ValueError):
        intro.spectral_sweep([])
    with pytest.raises(ValueError):
        intro.spectral_sweep([0.0])


def test_orders_and_decay_on_a_geometric_sequence():
    norms = 0.1 ** np.arange(10, -1, -1)  # 1e-10 ... 1: entry t-1 for step t
    assert intro.orders_of_magnitude(norms) == pytest.approx(-10)
    assert intro.decay_per_step(norms) == pytest.approx(0.1)
    assert intro.orders_of_magnitude([0.0, 1.0]) == -math.inf
    with pytest.raises(ValueError):
        intro.orders_of_magnitude([1.0])
    with pytest.raises(ValueError):
        intro.orders_of_magnitude([1.0, 0.0])


# --- clipping_comparison, first_nonfinite_step --------------------------------------------


def test_clipping_comparison_unclipped_diverges_clipped_stays_finite():
    runs = intro.clipping_comparison(clips=(None, 1.0), T=6, recurrent_scale=1.5,
                                     hidden_size=32, lr=0.1, batch_size=16, max_steps=40,
                                     n_val=64, seed=0)
    unclipped, clipped = runs[None], runs[1.0]
    assert isinstance(unclipped, History) and len(clipped.steps) == 40
    # identical start: same first gradient
    assert unclipped.grad_norm[0] == pytest.approx(clipped.grad_norm[0])
    assert intro.first_nonfinite_step(unclipped) is not None
    assert intro.first_nonfinite_step(clipped) is None
    assert all(math.isfinite(v) for v in clipped.val_metric)
    with pytest.raises(ValueError):
        intro.clipping_comparison(clips=())


def test_first_nonfinite_step():
    h = History(steps=[1, 2, 3], train_loss=[1.0, float("inf"), float("nan")])
    assert intro.first_nonfinite_step(h) == 2
    assert intro.first_nonfinite_step(History(steps=[1], train_loss=[0.5])) is None
