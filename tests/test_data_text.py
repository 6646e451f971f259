"""Character vocabulary, split and language-model batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncourse.data.text import (
    UNKNOWN,
    CharVocab,
    random_batches,
    sequential_batches,
    train_val_split,
)


def test_vocab_round_trip_and_unknown() -> None:
    vocab = CharVocab.from_text("hello world")
    assert len(vocab) == 1 + len(set("hello world")) and vocab.chars[0] == UNKNOWN
    ids = vocab.encode("hello")
    assert ids.dtype == np.int64 and vocab.decode(ids) == "hello"
    assert vocab.decode(torch.as_tensor(ids)) == "hello"
    assert vocab.encode("hez")[2] == 0 and vocab.decode(vocab.encode("z")) == UNKNOWN
    assert vocab.encode("").shape == (0,)
    with pytest.raises(ValueError, match="ids must lie"):
        vocab.decode([len(vocab)])
    with pytest.raises(ValueError):
        CharVocab(("a", "b"))


def test_train_val_split() -> None:
    train, val = train_val_split(np.arange(100), 0.1)
    assert len(train) == 90 and len(val) == 10 and val[0] == 90
    for bad in (0.0, 1.0):
        with pytest.raises(ValueError):
            train_val_split(np.arange(100), bad)
    with pytest.raises(ValueError):
        train_val_split(np.arange(3), 0.01)


def test_sequential_batches_continue_each_row() -> None:
    ids = np.arange(103)
    batches = list(sequential_batches(ids, batch_size=4, seq_len=5))
    assert len(batches) == 5  # streams of 25 tokens, 5 windows of 5
    for x, y in batches:
        assert x.shape == y.shape == (4, 5) and x.dtype == torch.int64
        assert torch.equal(y, x + 1)
    first, second = batches[0][0], batches[1][0]
    assert torch.equal(second[:, 0], first[:, -1] + 1)  # rows continue
    assert torch.equal(batches[0][0][:, 0], torch.tensor([0, 25, 50, 75]))
    with pytest.raises(ValueError, match="too few"):
        list(sequential_batches(np.arange(10), 4, 5))


def test_random_batches_are_valid_and_seeded() -> None:
    ids = np.arange(50)
    a = list(random_batches(ids, 3, 7, n_batches=4, seed=1))
    b = list(random_batches(ids, 3, 7, n_batches=4, seed=1))
    assert len(a) == 4
    for (x, y), (x2, _) in zip(a, b, strict=True):
        assert torch.equal(x, x2) and torch.equal(y, x + 1)
        assert torch.all(x[:, 1:] - x[:, :-1] == 1) and int(y.max()) <= 49
    c = list(random_batches(ids, 3, 7, n_batches=4, seed=2))
    assert not all(torch.equal(p[0], q[0]) for p, q in zip(a, c, strict=True))
    with pytest.raises(ValueError):
        list(random_batches(np.arange(5), 2, 5, n_batches=1))
