"""Tests of rnncourse.data.digit_strings, the reversal task of chapter 7."""

from __future__ import annotations

import pytest
import torch

from rnncourse.data.digit_strings import (
    DIGIT_OFFSET,
    EOS,
    PAD,
    SOS,
    VOCAB_SIZE,
    decode_tokens,
    encode_digits,
    reversal_batch,
)


def test_batch_shapes_dtypes_and_lengths() -> None:
    batch = reversal_batch(50, 3, 9, seed=1)
    S = int(batch.lengths.max())
    assert batch.src.shape == (50, S) and batch.tgt_in.shape == batch.tgt_out.shape == (50, S + 1)
    for t in (batch.src, batch.lengths, batch.tgt_in, batch.tgt_out):
        assert t.dtype == torch.int64
    assert batch.lengths.device.type == "cpu" and batch.lengths.ndim == 1
    assert int(batch.lengths.min()) >= 3 and S <= 9
    assert len(batch) == 50


def test_every_row_is_padded_reversed_and_terminated() -> None:
    batch = reversal_batch(40, 1, 7, seed=2)
    for src, n, tin, tout in zip(batch.src.tolist(), batch.lengths.tolist(),
                                 batch.tgt_in.tolist(), batch.tgt_out.tolist(), strict=True):
        digits = src[:n]
        assert all(DIGIT_OFFSET <= d < VOCAB_SIZE for d in digits)
        assert set(src[n:]) <= {PAD}
        assert tout[: n + 1] == [*digits[::-1], EOS] and set(tout[n + 1 :]) <= {PAD}
        assert tin[: n + 1] == [SOS, *digits[::-1]] and set(tin[n + 1 :]) <= {PAD}
        # teacher forcing: the input at step t is the target of step t - 1
        assert tin[1 : n + 1] == tout[:n]


def test_batches_are_reproducible_and_seeds_differ() -> None:
    a, b = reversal_batch(20, 2, 6, seed=5), reversal_batch(20, 2, 6, seed=5)
    c = reversal_batch(20, 2, 6, seed=6)
    assert torch.equal(a.src, b.src) and torch.equal(a.tgt_out, b.tgt_out)
    assert not torch.equal(a.src, c.src)


def test_fixed_length_batch_and_subset() -> None:
    batch = reversal_batch(6, 4, 4, seed=0)
    assert batch.lengths.tolist() == [4] * 6 and batch.src.ne(PAD).all()
    part = batch.subset([0, 2])
    assert torch.equal(part.src, batch.src[[0, 2]]) and len(part) == 2
    masked = batch.subset(torch.tensor([True, False, False, False, False, True]))
    assert torch.equal(masked.tgt_in, batch.tgt_in[[0, 5]])


def test_encode_decode_round_trip() -> None:
    assert encode_digits("407") == [4 + DIGIT_OFFSET, DIGIT_OFFSET, 7 + DIGIT_OFFSET]
    assert decode_tokens(encode_digits("0123456789")) == "0123456789"
    tokens = [*encode_digits("12"), EOS, *encode_digits("9")]
    assert decode_tokens(tokens) == "12"
    assert decode_tokens(tokens, stop_at_eos=False) == "12<eos>9"
    assert decode_tokens([SOS, *encode_digits("5"), PAD, PAD]) == "<sos>5"
    assert decode_tokens(torch.tensor(encode_digits("31"))) == "31"


@pytest.mark.parametrize("bad", ["", "12a", "1.5", "٣"])
def test_encode_rejects_anything_but_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        encode_digits(bad)


def test_decode_rejects_tokens_outside_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="outside the vocabulary"):
        decode_tokens([VOCAB_SIZE])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        decode_tokens([-1])


@pytest.mark.parametrize(("n", "lo", "hi"), [(0, 1, 3), (5, 0, 3), (5, 4, 3)])
def test_invalid_arguments_raise(n: int, lo: int, hi: int) -> None:
    with pytest.raises(ValueError, match="reversal_batch"):
        reversal_batch(n, lo, hi)
