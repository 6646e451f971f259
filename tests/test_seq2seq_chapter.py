"""Chapter 7 (deeper, bidirectional, sequence-to-sequence): the code on the page and the quiz keys.

The stack, the encoder-decoder, the teacher-forced loss, the decoders and the attention are
defined in the chapter itself; these tests execute those cells (see ``chapter_code``) on tiny,
untrained models and check properties that hold for any weights.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from chapter_code import CHAPTERS, code_cells, load_definitions
from torch import nn
from torch.nn.functional import cross_entropy
from torch.nn.utils.rnn import pack_padded_sequence

from rnncourse.data.digit_strings import EOS, PAD, SOS, DigitBatch, reversal_batch

CHAPTER = "07-deeper-and-seq2seq.md"
PREAMBLE = """
import math
import time
import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from rnncourse.data.digit_strings import EOS, PAD, SOS, VOCAB_SIZE, decode_tokens, reversal_batch
"""


@pytest.fixture(scope="module")
def page() -> dict:
    torch.manual_seed(0)
    return load_definitions(
        CHAPTER,
        ["stacked_gru", "Seq2Seq", "teacher_forced_logits", "greedy_decode", "beam_search",
         "AdditiveAttention"],
        preamble=PREAMBLE,
    )


def _models(page: dict) -> list[nn.Module]:
    torch.manual_seed(1)
    vocab = 13
    plain = page["Seq2Seq"](vocab, emb=8, hidden=12).eval()
    attentive = page["Seq2Seq"](vocab, emb=8, hidden=12,
                                attention=page["AdditiveAttention"](12, 24, 10)).eval()
    return [plain, attentive]


def test_the_page_defines_its_algorithms_itself() -> None:
    source = "\n".join(code_cells(CHAPTER))
    for needle in ("def stacked_gru", "class Seq2Seq", "def teacher_forced_loss",
                   "def greedy_decode", "def beam_search", "class AdditiveAttention",
                   "pack_padded_sequence(", "enforce_sorted=False", "ignore_index=PAD"):
        assert needle in source


def test_stacked_gru_matches_torch_in_eval_mode_and_drops_in_training(page: dict) -> None:
    torch.manual_seed(0)
    deep = nn.GRU(input_size=3, hidden_size=5, num_layers=2, dropout=0.5, batch_first=True).eval()
    cells = []
    for k in range(2):
        cell = nn.GRUCell(3 if k == 0 else 5, 5)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(deep, f"{name}_l{k}"))
        cells.append(cell)
    x = torch.randn(2, 7, 3)
    out, h = page["stacked_gru"](x, cells, dropout=0.5, training=False)
    ref_out, ref_h = deep(x)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h)
    dropped, _ = page["stacked_gru"](x, cells, dropout=0.5, training=True)
    assert not torch.allclose(dropped, ref_out)


def test_encoder_ignores_padding(page: dict) -> None:
    model = _models(page)[1]
    short = reversal_batch(3, 2, 4, seed=0)
    wide_src = torch.cat([short.src, torch.full((3, 5), PAD)], dim=1)
    memory, mask, s0 = model.encode(short.src, short.lengths)
    memory_w, mask_w, s0_w = model.encode(wide_src, short.lengths)
    torch.testing.assert_close(s0, s0_w)
    torch.testing.assert_close(memory, memory_w[:, : short.src.shape[1]])
    assert (memory_w[~mask_w] == 0).all() and mask.sum() == short.lengths.sum()


def test_attention_weights_are_a_distribution_over_real_positions(page: dict) -> None:
    torch.manual_seed(0)
    attention = page["AdditiveAttention"](6, 4, 5)
    memory = torch.randn(3, 5, 4, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False], [True] + [False] * 4])
    context, alpha = attention(torch.randn(3, 6), memory, mask)
    torch.testing.assert_close(alpha.sum(-1), torch.ones(3))
    assert (alpha[~mask] == 0).all() and torch.allclose(alpha[2, 0], torch.tensor(1.0))
    torch.testing.assert_close(context, torch.einsum("bs,bsm->bm", alpha, memory))
    context.sum().backward()
    assert memory.grad is not None and (memory.grad[~mask] == 0).all()


def test_teacher_forced_loss_ignores_padded_targets(page: dict) -> None:
    for model in _models(page):
        batch = reversal_batch(4, 1, 5, seed=3)
        logits = page["teacher_forced_logits"](model, batch)
        assert logits.shape == (*batch.tgt_out.shape, 13)
        real = batch.tgt_out != PAD
        by_hand = cross_entropy(logits[real], batch.tgt_out[real])
        torch.testing.assert_close(page["teacher_forced_loss"](model, batch), by_hand)


def _sequence_log_prob(page: dict, model: nn.Module, src: torch.Tensor, length: torch.Tensor,
                       tokens: list[int]) -> float:
    """Sum of the model's log-probabilities of ``tokens`` (teacher-forced)."""
    tgt_in = torch.tensor([[SOS, *tokens[:-1]]])
    batch = DigitBatch(src[None], length[None], tgt_in, torch.tensor([tokens]))
    with torch.no_grad():
        logp = page["teacher_forced_logits"](model, batch).log_softmax(-1)[0]
    return float(logp[torch.arange(len(tokens)), torch.tensor(tokens)].sum())


def test_beam_of_one_is_greedy_and_scores_are_log_probabilities(page: dict) -> None:
    batch = reversal_batch(6, 2, 6, seed=4)
    max_len = 8
    for model in _models(page):
        greedy, weights = page["greedy_decode"](model, batch.src, batch.lengths, max_len)
        assert greedy.shape == (6, max_len)
        assert (weights is None) == (model.attention is None)
        for i in range(len(batch)):
            tokens, score = page["beam_search"](model, batch.src[i], batch.lengths[i], k=1,
                                                max_len=max_len)
            assert tokens == greedy[i, : len(tokens)].tolist()
            assert EOS not in tokens[:-1]
            expected = _sequence_log_prob(page, model, batch.src[i], batch.lengths[i], tokens)
            assert math.isclose(score, expected, rel_tol=1e-4, abs_tol=1e-4)
            wide, wide_score = page["beam_search"](model, batch.src[i], batch.lengths[i], k=4,
                                                   max_len=max_len)
            assert math.isfinite(wide_score) and len(wide) <= max_len


# --------------------------------------------------------------------------- quiz and cards


def _quiz() -> list[dict]:
    return json.loads((CHAPTERS / "quizzes" / "ch07-seq2seq.json").read_text(encoding="utf-8"))


def _numeric_key(question: dict) -> float:
    (key,) = [a["value"] for a in question["answers"] if a.get("correct")]
    return key


def _question(fragment: str) -> dict:
    (question,) = [q for q in _quiz() if fragment in q["question"]]
    return question


def test_quiz_numeric_keys_are_what_torch_computes() -> None:
    gru = nn.GRU(input_size=10, hidden_size=20, batch_first=True, bidirectional=True)
    out, _ = gru(torch.randn(8, 15, 10))
    assert _numeric_key(_question("bidirectional=True")) == out.shape[-1]

    packed = pack_padded_sequence(torch.randn(4, 5, 1), torch.tensor([5, 3, 3, 1]),
                                  batch_first=True)
    assert _numeric_key(_question("batch_sizes")) == packed.batch_sizes[1]

    two_layers = nn.GRU(input_size=4, hidden_size=8, num_layers=2)
    count = sum(p.numel() for p in two_layers.parameters())
    question = _question("num_layers=2")
    assert _numeric_key(question) == count
    wrong = [a["value"] for a in question["answers"] if a.get("type") == "value"
             and not a.get("correct")]
    assert count not in wrong and 2 * sum(
        p.numel() for n, p in two_layers.named_parameters() if n.endswith("l0")) in wrong


def test_quiz_pack_padded_sequence_statements_hold() -> None:
    x = torch.randn(3, 4, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_padded_sequence(x, torch.tensor([2, 4, 3]), batch_first=True)
    packed = pack_padded_sequence(x, torch.tensor([2, 4, 3]), batch_first=True,
                                  enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1]


@pytest.mark.parametrize("name", ["ch07-seq2seq.json", "ch08-rnns-today.json"])
def test_quizzes_are_well_formed(name: str) -> None:
    quiz = json.loads((CHAPTERS / "quizzes" / name).read_text(encoding="utf-8"))
    assert len(quiz) >= 5
    for q in quiz:
        correct = [a for a in q["answers"] if a.get("correct")]
        if q["type"] == "multiple_choice":
            assert len(correct) == 1, q["question"]
        elif q["type"] == "many_choice":
            assert 1 <= len(correct) < len(q["answers"]), q["question"]
        else:
            assert q["type"] == "numeric"
            assert len(correct) == 1 and correct[0]["type"] == "value", q["question"]
            assert any(a["type"] == "default" for a in q["answers"]), q["question"]
        assert all(a.get("feedback") for a in q["answers"] if a.get("type") != "default")


@pytest.mark.parametrize("name", ["ch07-seq2seq.json", "ch08-rnns-today.json"])
def test_cards_are_well_formed(name: str) -> None:
    cards = json.loads((CHAPTERS / "cards" / name).read_text(encoding="utf-8"))
    assert len(cards) >= 8
    fronts = [c["front"] for c in cards]
    assert len(set(fronts)) == len(fronts)
    assert all(c["front"].strip() and c["back"].strip() and set(c) == {"front", "back"}
               for c in cards)


def test_chapters_use_their_cards_quizzes_and_dialogues() -> None:
    for chapter, cards, quiz, dialogue in (
        (CHAPTER, "ch07-seq2seq", "ch07-seq2seq", "deeper-seq2seq"),
        ("08-rnns-today.md", "ch08-rnns-today", "ch08-rnns-today", "rnns-today"),
    ):
        text = (CHAPTERS / chapter).read_text(encoding="utf-8")
        assert f'display_flashcards("cards/{cards}.json")' in text
        assert f'display_quiz("quizzes/{quiz}.json")' in text
        assert f"```{{dialogue}} {dialogue}\n" in text
        assert (CHAPTERS / "dialogues" / f"{dialogue}.yml").is_file()
        for tab in ("Quick", "Standard", "Detailed"):
            assert f":::{{tab-item}} {tab}" in text
        assert Path(CHAPTERS / "quizzes" / f"{quiz}.json").is_file()
