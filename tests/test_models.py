"""Models: initialisation options, shapes, padding, sampling."""

from __future__ import annotations

import pytest
import torch

from rnncourse.models import (
    CharLM,
    SequenceClassifier,
    SequenceRegressor,
    count_parameters,
    make_recurrent,
)


@pytest.mark.parametrize(("cell", "cls"), [("rnn", torch.nn.RNN), ("lstm", torch.nn.LSTM),
                                            ("gru", torch.nn.GRU)])
def test_make_recurrent_kinds(cell: str, cls: type) -> None:
    module = make_recurrent(cell, 3, 8, num_layers=2)  # type: ignore[arg-type]
    assert isinstance(module, cls) and module.batch_first and module.num_layers == 2


def test_forget_bias_sum_and_other_blocks_untouched() -> None:
    torch.manual_seed(0)
    lstm = make_recurrent("lstm", 3, 8, forget_bias=3.0, num_layers=2)
    for layer in range(2):
        total = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        assert torch.allclose(total[8:16], torch.full((8,), 3.0))
        assert not torch.allclose(total[:8], torch.full((8,), 3.0))
    with pytest.raises(ValueError, match="LSTM only"):
        make_recurrent("gru", 3, 8, forget_bias=1.0)


def test_orthogonal_and_scaled_recurrent_weights() -> None:
    gru = make_recurrent("gru", 3, 6, recurrent_init="orthogonal", recurrent_scale=1.3)
    for block in gru.weight_hh_l0.detach().view(3, 6, 6):
        assert torch.allclose(torch.linalg.svdvals(block), torch.full((6,), 1.3), atol=1e-5)
    rnn = make_recurrent("rnn", 3, 6, recurrent_scale=0.5)
    sigma = float(torch.linalg.matrix_norm(rnn.weight_hh_l0.detach(), ord=2))
    assert sigma == pytest.approx(0.5, 1e-5)
    with pytest.raises(ValueError):
        make_recurrent("rnn", 3, 6, recurrent_scale=0.0)
    with pytest.raises(ValueError):
        make_recurrent("rnn", 3, 6, recurrent_init="xavier")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_recurrent("transformer", 3, 6)  # type: ignore[arg-type]


@pytest.mark.parametrize("embed_size", [None, 4])
def test_char_lm_forward_state_and_sampling(embed_size: int | None) -> None:
    torch.manual_seed(0)
    model = CharLM(11, 16, "lstm", embed_size=embed_size)
    x = torch.randint(0, 11, (2, 7))
    logits, state = model(x)
    assert logits.shape == (2, 7, 11) and state[0].shape == (1, 2, 16)
    # carrying the state equals running the whole sequence at once
    first, mid = model(x[:, :3])
    second, _ = model(x[:, 3:], mid)
    assert torch.allclose(torch.cat([first, second], 1), logits, atol=1e-6)
    sample = model.sample([1, 2, 3], 20, temperature=0.8, seed=5)
    assert len(sample) == 20 and all(0 <= s < 11 for s in sample)
    assert sample == model.sample([1, 2, 3], 20, temperature=0.8, seed=5)
    assert sample != model.sample([1, 2, 3], 20, temperature=0.8, seed=6)
    assert model.training
    with pytest.raises(ValueError):
        model.sample([1], 3, temperature=0.0)
    with pytest.raises(ValueError):
        model.sample([], 3)


def test_low_temperature_is_greedy() -> None:
    torch.manual_seed(0)
    model = CharLM(5, 8, "gru")
    greedy = model.sample([0], 1, temperature=1e-4, seed=0)
    logits, _ = model(torch.tensor([[0]]))
    assert greedy == [int(logits[0, -1].argmax())]


def test_classifier_ignores_padding() -> None:
    torch.manual_seed(0)
    model = SequenceClassifier(3, 8, 4, "gru")
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 3])
    padded = x.clone()
    padded[1, 3:] = 99.0
    out = model(padded, lengths)
    assert out.shape == (2, 4)
    assert torch.allclose(out[1], model(x[1:, :3])[0], atol=1e-6)
    with pytest.raises(ValueError, match="lengths"):
        model(x, torch.tensor([7, 1]))
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        model(x[0])


def test_regressor_and_parameter_count() -> None:
    model = SequenceRegressor(2, 4, "rnn", output_size=3)
    assert model(torch.randn(5, 7, 2)).shape == (5, 3)
    # rnn: 4*2 + 4*4 + 4 + 4 = 32; head: 4*3 + 3 = 15
    assert count_parameters(model) == 47
    model.head.weight.requires_grad_(False)
    assert count_parameters(model) == 35
