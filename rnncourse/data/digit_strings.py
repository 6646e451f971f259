r"""Digit-string reversal: a synthetic sequence-to-sequence task with variable lengths.

A source is a string of ``L`` random decimal digits, ``L`` drawn uniformly from
``[min_len, max_len]``; the target is the same string reversed. The task needs no data download
and has one right answer per input, so exact-match accuracy measures a model directly. Its
difficulty grows with ``L``: a decoder without attention must carry the whole string in one
fixed-size vector, while an attention decoder can look the digits up (Bahdanau et al. 2015 show
the same effect with sentence length in translation).

Tokens (one vocabulary for source and target)::

    0 <pad>   1 <sos>   2 <eos>   3..12 the digits 0..9

A batch holds, for ``n`` sequences padded to the longest source length ``S``:

* ``src`` ``(n, S)``: the digits, then ``PAD``;
* ``lengths`` ``(n,)``: the source lengths, an ``int64`` tensor **on the CPU** (what
  :func:`torch.nn.utils.rnn.pack_padded_sequence` requires);
* ``tgt_in`` ``(n, S + 1)``: ``SOS`` followed by the reversed digits (the decoder's inputs under
  teacher forcing), then ``PAD``;
* ``tgt_out`` ``(n, S + 1)``: the reversed digits followed by ``EOS`` (what the decoder must
  predict at each step), then ``PAD``.

Generated data, no licence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "DIGIT_OFFSET",
    "EOS",
    "PAD",
    "SOS",
    "VOCAB_SIZE",
    "DigitBatch",
    "decode_tokens",
    "encode_digits",
    "reversal_batch",
]

PAD: int = 0
"""Padding token: fills every sequence of a batch up to the longest one."""
SOS: int = 1
"""Start-of-sequence token: the decoder's first input."""
EOS: int = 2
"""End-of-sequence token: the decoder emits it to stop."""
DIGIT_OFFSET: int = 3
"""Token of the digit 0; digit ``d`` is token ``d + DIGIT_OFFSET``."""
VOCAB_SIZE: int = DIGIT_OFFSET + 10
"""Number of tokens: three specials and ten digits."""

_SPECIALS = {SOS: "<sos>", EOS: "<eos>"}


@dataclass(frozen=True)
class DigitBatch:
    """A padded batch of the reversal task; shapes in the module docstring."""

    src: torch.Tensor
    lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor

    def __len__(self) -> int:
        return int(self.src.shape[0])

    def subset(self, index: torch.Tensor | Sequence[int]) -> DigitBatch:
        """The sequences at ``index`` (a boolean mask or integer indices), same padding."""
        index = torch.as_tensor(index)
        return DigitBatch(self.src[index], self.lengths[index], self.tgt_in[index],
                          self.tgt_out[index])


def encode_digits(text: str) -> list[int]:
    """Tokens of a string of decimal digits (``"407"`` -> ``[7, 3, 10]``)."""
    if not text or not text.isdigit() or not text.isascii():
        raise ValueError(f"expected a non-empty string of digits 0-9, got {text!r}")
    return [int(ch) + DIGIT_OFFSET for ch in text]


def decode_tokens(tokens: Iterable[int], *, stop_at_eos: bool = True) -> str:
    """The digits of a token sequence as a string; stops at the first ``EOS`` by default.

    ``PAD`` tokens are skipped; ``SOS`` (and ``EOS`` when not stopping) are written as
    ``<sos>``, ``<eos>``; a token outside the vocabulary raises :class:`ValueError`.
    """
    out = []
    for token in (int(t) for t in tokens):
        if token == EOS and stop_at_eos:
            break
        if token == PAD:
            continue
        if token in _SPECIALS:
            out.append(_SPECIALS[token])
        elif DIGIT_OFFSET <= token < VOCAB_SIZE:
            out.append(str(token - DIGIT_OFFSET))
        else:
            raise ValueError(f"token {token} is outside the vocabulary 0..{VOCAB_SIZE - 1}")
    return "".join(out)


def reversal_batch(n: int, min_len: int, max_len: int, *, seed: int = 0) -> DigitBatch:
    """``n`` random digit strings of lengths ``min_len..max_len`` and their reversals.

    Args:
        n: number of sequences, at least 1.
        min_len, max_len: shortest and longest source length (``1 <= min_len <= max_len``).
        seed: seed of the generator; the same arguments give the same batch.

    Returns:
        DigitBatch: padded to ``S = max(lengths)``; ``lengths`` is ``int64`` on the CPU.
    """
    if n < 1:
        raise ValueError(f"reversal_batch: n must be >= 1, got {n}")
    if not 1 <= min_len <= max_len:
        raise ValueError(f"reversal_batch: need 1 <= min_len <= max_len, got {min_len}, {max_len}")
    rng = np.random.default_rng(seed)
    lengths = torch.from_numpy(rng.integers(min_len, max_len + 1, size=n)).long()
    S = int(lengths.max())
    digits = torch.from_numpy(rng.integers(0, 10, size=(n, S))).long() + DIGIT_OFFSET
    pos = torch.arange(S)
    inside = pos[None, :] < lengths[:, None]                         # (n, S)
    src = digits.masked_fill(~inside, PAD)
    # reversed[i, j] = src[i, L_i - 1 - j] for j < L_i
    back = (lengths[:, None] - 1 - pos[None, :]).clamp(min=0)
    reversed_ = src.gather(1, back).masked_fill(~inside, PAD)
    tgt_in = torch.full((n, S + 1), PAD, dtype=torch.long)
    tgt_in[:, 0] = SOS
    tgt_in[:, 1:] = reversed_
    tgt_out = torch.full((n, S + 1), PAD, dtype=torch.long)
    tgt_out[:, :S] = reversed_
    tgt_out[torch.arange(n), lengths] = EOS
    return DigitBatch(src=src, lengths=lengths, tgt_in=tgt_in, tgt_out=tgt_out)
