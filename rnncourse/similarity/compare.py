"""Score every pair of documents by the fingerprints they share.

Each document (a submission, or the instructor's solution) becomes the set ``F`` of winnowed
fingerprints of its cells, less two kinds of shared code that say nothing about copying:

- the **boilerplate**, which every student received: the released notebook's own lines
  (signatures, ``return`` lines of the stubs, setup) are left out of the token streams, and any
  remaining k-gram found in the released code is ignored;
- **common** fingerprints: those found in more than ``max(common_min, common_fraction * n)``
  of the ``n`` submissions (the idioms almost everyone writes; MOSS's ``-m`` option).

The documents form the rows of a sparse 0/1 matrix ``M`` (documents x distinct fingerprints);
``M @ M.T`` gives every pair's shared count ``|F_a & F_b|`` at once, so 500 submissions cost one
sparse product, not 125,000 set intersections. The pair's score is the Jaccard index

    score(a, b) = |F_a & F_b| / |F_a | F_b|   in [0, 1],

which is symmetric and is not inflated by a near-empty submission; the report also gives each
side's coverage ``|F_a & F_b| / |F_a|`` (the share of ``a`` found in ``b``), as MOSS does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from rnncourse.similarity.notebooks import Cell, Document
from rnncourse.similarity.tokens import CellPrint, fingerprint, member, stub_line


@dataclass(frozen=True)
class Settings:
    """How documents are fingerprinted and compared.

    ``k`` tokens per k-gram and a winnowing window of ``window`` k-grams: any run of at least
    ``k + window - 1`` equal normalised tokens is found. ``threshold`` is the Jaccard score at
    and above which a pair is listed.
    """

    k: int = 10
    window: int = 4
    threshold: float = 0.5
    common_fraction: float = 0.5
    common_min: int = 10


@dataclass(frozen=True)
class Printed:
    """A document with the fingerprints of each of its cells."""

    document: Document
    cells: tuple[CellPrint, ...]


@dataclass(frozen=True)
class Comparison:
    """Every document's fingerprint set and the shared counts of every pair sharing any."""

    printed: tuple[Printed, ...]
    sets: tuple[np.ndarray, ...]  # sorted unique uint64 fingerprints per document
    excluded: np.ndarray  # sorted boilerplate and common k-gram hashes, never counted
    common: int  # how many fingerprints were dropped as common
    rows: np.ndarray  # pairs (rows[i] < cols[i]) with at least one shared fingerprint
    cols: np.ndarray
    shared: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(s) for s in self.sets], dtype=np.int64)

    def scores(self) -> np.ndarray:
        """Jaccard score of each pair in ``rows``/``cols``."""
        sizes = self.sizes
        union = sizes[self.rows] + sizes[self.cols] - self.shared
        return np.divide(self.shared, union, out=np.zeros(len(union)), where=union > 0)

    def score(self, a: int, b: int) -> float:
        """Jaccard score of documents ``a`` and ``b`` (0 for two empty ones)."""
        shared = len(np.intersect1d(self.sets[a], self.sets[b], assume_unique=True))
        union = len(self.sets[a]) + len(self.sets[b]) - shared
        return shared / union if union else 0.0


@dataclass(frozen=True)
class Boilerplate:
    """What the release gives every student: its lines and every k-gram hash of its code."""

    lines: frozenset[str]
    hashes: np.ndarray  # sorted unique uint64

    @classmethod
    def from_cells(cls, cells: Sequence[Cell], settings: Settings) -> Boilerplate:
        lines = frozenset(filter(None, (stub_line(line) for cell in cells
                                        for line in cell.source.splitlines())))
        hashes = [fingerprint(cell.source, settings.k, settings.window).hashes
                  for cell in cells]
        merged = np.unique(np.concatenate(hashes)) if hashes else np.empty(0, np.uint64)
        return cls(lines, merged)


NO_BOILERPLATE = Boilerplate(frozenset(), np.empty(0, np.uint64))


def print_document(document: Document, settings: Settings,
                   boilerplate: Boilerplate = NO_BOILERPLATE) -> Printed:
    """Fingerprint every cell of ``document``, the release's own lines left out."""
    return Printed(document, tuple(
        fingerprint(cell.source, settings.k, settings.window, boilerplate.lines)
        for cell in document.cells))


def compare(printed: Sequence[Printed], boilerplate: Boilerplate, settings: Settings,
            students: Sequence[bool] | None = None) -> Comparison:
    """Fingerprint sets and pairwise shared counts of ``printed``.

    ``students[i]`` says whether document ``i`` counts towards the common-fingerprint filter
    (the instructor's solution does not); default: all.
    """
    n = len(printed)
    students = np.ones(n, bool) if students is None else np.asarray(students, bool)
    sets = []
    for doc in printed:
        selected = [cell.selected for cell in doc.cells]
        merged = np.unique(np.concatenate(selected)) if selected else np.empty(0, np.uint64)
        sets.append(merged[~member(merged, boilerplate.hashes)])
    lengths = np.array([len(s) for s in sets], dtype=np.int64)
    values = np.concatenate(sets) if sets else np.empty(0, np.uint64)
    doc_of = np.repeat(np.arange(n), lengths)
    distinct, column = np.unique(values, return_inverse=True)
    matrix = sparse.csr_matrix(
        (np.ones(len(values), np.int32), (doc_of, column)), shape=(n, len(distinct)))
    frequency = np.asarray(matrix[np.flatnonzero(students)].sum(axis=0)).ravel()
    limit = max(settings.common_min, settings.common_fraction * int(students.sum()))
    common = frequency > limit
    excluded = np.union1d(boilerplate.hashes, distinct[common])
    if common.any():
        keep = sparse.diags((~common).astype(np.int32), dtype=np.int32)
        matrix = (matrix @ keep).tocsr()
        matrix.eliminate_zeros()
        sets = [s[~member(s, distinct[common])] for s in sets]
    product = sparse.triu(matrix @ matrix.T, k=1).tocoo()
    return Comparison(tuple(printed), tuple(sets), excluded, int(common.sum()),
                      product.row.astype(np.int64), product.col.astype(np.int64),
                      product.data.astype(np.int64))
