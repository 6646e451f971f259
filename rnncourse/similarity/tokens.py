"""Normalised token streams and their winnowed k-gram fingerprints.

Normalisation (Python's :mod:`tokenize`) keeps what a copier cannot change cheaply and drops
what costs nothing to change:

- comments, blank lines, indentation and line breaks inside brackets are dropped; a statement
  end (a logical newline or ``;``) is one token ``;``;
- docstrings (a string alone as a statement) and the release's ``raise NotImplementedError``
  stub line are dropped;
- every identifier becomes ``V``, except keywords, builtins (``range``, ``sum``), the usual
  module names (``np``, ``torch``, ``math``), attribute names after a dot (``.T``, ``.sum``)
  and keyword-argument names (``axis=``), which are API, not the student's choice;
- every number becomes ``N`` and every string ``S``.

A cell that is not valid Python (a syntax error, an IPython magic) falls back to a plain regular
expression tokenizer with the same rules, so a broken cell is still compared.

Fingerprints follow Schleimer, Wilkerson and Aiken, *Winnowing: local algorithms for document
fingerprinting* (SIGMOD 2003), the method behind MOSS: hash every k-gram of the token stream
(a polynomial hash, wrapping in uint64), then keep the minimum hash of every window of ``w``
consecutive k-gram hashes (the rightmost on ties). Any shared run of at least ``w + k - 1``
tokens then shares at least one fingerprint.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import tokenize
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: Names kept as they are: builtins and the modules a numpy/torch course imports.
KEPT_NAMES = frozenset(dir(builtins)) | {"np", "numpy", "torch", "math", "scipy", "nn"}
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING,
            tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_FALLBACK = re.compile(r"#[^\n]*|[A-Za-z_]\w*|\d[\w.]*|\"[^\"\n]*\"|'[^'\n]*'|\n|\S")
_STUB = ("raise", "NotImplementedError")
#: Multiplier of the polynomial k-gram hash (odd, so it is invertible mod 2**64).
_BASE = np.uint64(0x100000001B3)


@dataclass(frozen=True)
class Tokens:
    """A normalised token stream: ``symbols[i]`` covers ``source[spans[i, 0]:spans[i, 1]]``."""

    symbols: tuple[str, ...]
    spans: np.ndarray  # (L, 2) int64 character offsets [start, end)
    joined: np.ndarray  # (L,) bool: only whitespace between token i - 1 and token i
    python: bool  # False when the cell did not tokenize and the fallback was used

    def __len__(self) -> int:
        return len(self.symbols)


def _name_symbol(name: str, previous: str | None, following: str | None, depth: int) -> str:
    if previous == ".":
        return f"a:{name}"
    if keyword.iskeyword(name) or name in KEPT_NAMES:
        return name
    if depth > 0 and following == "=":
        return f"k:{name}"
    return "V"


def _ends_statement(raw: list[tuple[int, str, int, int]], i: int) -> bool:
    """Whether the token at ``i`` ends a statement (or there is none)."""
    return i >= len(raw) or raw[i][0] == tokenize.NEWLINE or raw[i][1] == ";"


def _line_offsets(source: str) -> list[int]:
    """Offset of the first character of each line, as ``readline`` splits them (1-based)."""
    offsets = [0, 0]
    for line in io.StringIO(source).readlines():
        offsets.append(offsets[-1] + len(line))
    return offsets


def _python_tokens(source: str) -> list[tuple[int, str, int, int]]:
    """``(type, string, start, end)`` of every token (raises on invalid Python)."""
    offsets = _line_offsets(source)
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        start = offsets[tok.start[0]] + tok.start[1] if tok.start[0] < len(offsets) else 0
        end = offsets[tok.end[0]] + tok.end[1] if tok.end[0] < len(offsets) else len(source)
        out.append((tok.type, tok.string, start, end))
    return out


def _fallback_tokens(source: str) -> list[tuple[int, str, int, int]]:
    """A plain regular-expression tokenizer for cells that :mod:`tokenize` rejects."""
    out = []
    for match in _FALLBACK.finditer(source):
        text = match.group()
        if text.startswith("#"):
            kind = tokenize.COMMENT
        elif text == "\n":
            kind = tokenize.NEWLINE
        elif text[0].isalpha() or text[0] == "_":
            kind = tokenize.NAME
        elif text[0].isdigit():
            kind = tokenize.NUMBER
        elif text[0] in "\"'" and len(text) > 1:
            kind = tokenize.STRING
        else:
            kind = tokenize.OP
        out.append((kind, text, match.start(), match.end()))
    return out


def stub_line(line: str) -> str | None:
    """``line`` stripped, if it is substantial enough to be recognised as released code."""
    text = line.strip()
    return text if len(text) >= 6 and any(c.isalnum() for c in text) else None


def normalise(source: str, skip_lines: frozenset[str] = frozenset()) -> Tokens:
    """The normalised token stream of one cell of Python code (see the module docstring).

    Tokens on a line whose stripped text is in ``skip_lines`` (the release's own lines: the
    signature, ``return h_next, cache``) are dropped, so only the student's code is compared.
    """
    python = True
    try:
        raw = _python_tokens(source)
    except (tokenize.TokenError, SyntaxError):
        raw, python = _fallback_tokens(source), False
    raw = [t for t in raw if t[0] not in _SKIPPED and not (t[0] == tokenize.ERRORTOKEN
                                                           and not t[1].strip())]
    if skip_lines and raw:
        lines = io.StringIO(source).readlines()
        starts = np.cumsum([0] + [len(line) for line in lines])
        row = np.searchsorted(starts, [t[2] for t in raw], side="right") - 1
        skipped = {i for i, line in enumerate(lines) if stub_line(line) in skip_lines}
        raw = [t for t, r in zip(raw, row, strict=True)
               if r not in skipped or t[0] == tokenize.NEWLINE]
    symbols: list[str] = []
    spans: list[tuple[int, int]] = []
    depth = 0
    at_statement_start = True
    i = 0
    while i < len(raw):
        kind, text, start, end = raw[i]
        following = raw[i + 1][1] if i + 1 < len(raw) else None
        if kind == tokenize.NEWLINE or (kind == tokenize.OP and text == ";"):
            if symbols and symbols[-1] != ";":
                symbols.append(";")
                spans.append((start, end))
            at_statement_start, depth = True, 0
            i += 1
            continue
        if at_statement_start and (text, following) == _STUB:
            while i < len(raw) and raw[i][0] != tokenize.NEWLINE:
                i += 1
            continue
        if kind == _FSTRING_START:
            nesting = 0
            j = i
            while j < len(raw):
                nesting += (raw[j][0] == _FSTRING_START) - (raw[j][0] == _FSTRING_END)
                if nesting == 0:
                    break
                j += 1
            kind, end, i = tokenize.STRING, raw[min(j, len(raw) - 1)][3], j
            following = raw[i + 1][1] if i + 1 < len(raw) else None
        if kind == tokenize.STRING and at_statement_start and _ends_statement(raw, i + 1):
            # A docstring or a bare string statement: documentation, not code.
            i += 1
            continue
        if kind == tokenize.NAME:
            previous = symbols[-1] if symbols else None
            symbol = _name_symbol(text, previous, following, depth)
        elif kind == tokenize.NUMBER:
            symbol = "N"
        elif kind == tokenize.STRING:
            symbol = "S"
        else:
            symbol = text
            if text in "([{":
                depth += 1
            elif text in ")]}":
                depth = max(depth - 1, 0)
        symbols.append(symbol)
        spans.append((start, end))
        at_statement_start = False
        i += 1
    span_array = np.array(spans, dtype=np.int64).reshape(-1, 2)
    joined = np.array([False] + [not source[spans[i - 1][1]:spans[i][0]].strip()
                                 for i in range(1, len(spans))], dtype=bool)
    return Tokens(tuple(symbols), span_array, joined[: len(spans)], python)


_SYMBOL_IDS: dict[str, int] = {}


def encode(symbols: tuple[str, ...]) -> np.ndarray:
    """Stable uint64 ids of the symbols (CRC-32, the same in every process)."""
    ids = []
    for symbol in symbols:
        value = _SYMBOL_IDS.get(symbol)
        if value is None:
            value = _SYMBOL_IDS[symbol] = zlib.crc32(symbol.encode()) + 1
        ids.append(value)
    return np.array(ids, dtype=np.uint64)


def kgram_hashes(ids: np.ndarray, k: int) -> np.ndarray:
    """Hash of every k-gram, ``(L - k + 1,)`` uint64 (empty when ``L < k``).

    ``h_i = mix(sum_j ids[i + j] * B**(k - 1 - j) mod 2**64)`` with a final avalanche step
    (splitmix64's) so that the minimum in winnowing is a uniform pick.
    """
    if len(ids) < k:
        return np.empty(0, dtype=np.uint64)
    powers = np.ones(k, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k - 2, -1, -1):
            powers[j] = powers[j + 1] * _BASE
        h = sliding_window_view(ids, k) @ powers
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def winnow(hashes: np.ndarray, w: int) -> np.ndarray:
    """Positions of the fingerprints: the rightmost minimum of each window of ``w`` hashes."""
    if len(hashes) == 0:
        return np.empty(0, dtype=np.int64)
    if w <= 1:
        return np.arange(len(hashes))
    if len(hashes) <= w:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    windows = sliding_window_view(hashes, w)
    picks = w - 1 - np.argmin(windows[:, ::-1], axis=1) + np.arange(len(windows))
    return np.unique(picks)


def member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``values[i] in sorted_set`` for each ``i`` (``sorted_set`` sorted ascending).

    A binary search per value: unlike :func:`numpy.isin`, it never sorts ``sorted_set`` again.
    """
    if len(sorted_set) == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=bool)
    index = np.searchsorted(sorted_set, values)
    index[index == len(sorted_set)] = 0
    return sorted_set[index] == values


@dataclass(frozen=True)
class CellPrint:
    """One cell's normalised tokens, all its k-gram hashes and the winnowed ones."""

    tokens: Tokens
    hashes: np.ndarray  # (L - k + 1,) uint64, k-gram i starts at token i
    selected: np.ndarray  # unique winnowed hashes


def fingerprint(source: str, k: int, w: int, skip_lines: frozenset[str] = frozenset()
                ) -> CellPrint:
    """Normalise ``source`` and fingerprint it with ``k``-grams winnowed over ``w``."""
    tokens = normalise(source, skip_lines)
    hashes = kgram_hashes(encode(tokens.symbols), k)
    return CellPrint(tokens, hashes, np.unique(hashes[winnow(hashes, w)]))
