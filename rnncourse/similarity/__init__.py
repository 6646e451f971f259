"""Similarity report: which submissions look alike, and which look like the instructor's solution.

``similarity_report("gru_cell", course)`` reads ``submitted/<student>/gru_cell/gru_cell.ipynb``
and ``solutions/gru_cell/gru_cell.ipynb``, fingerprints the answer cells of each (normalised
tokens, winnowed k-grams: :mod:`.tokens`), removes what the release gives everyone and what
almost everyone writes (:mod:`.compare`), scores every pair and writes, under
``grading-report/gru_cell/similarity/``:

- ``pairs.csv``: the pairs whose score reaches the threshold, highest first;
- ``index.html``: groups of submissions joined by listed pairs, the pairs with links, the
  notebooks that could not be read (also ``problems.csv``), the distribution of all scores;
- ``views/NNNN.html``: the two submissions side by side, matched code highlighted.

It only reads notebooks (no kernel, no gradebook), so the grading runner can call it after
collecting, and an instructor can run it on its own: ``rnncourse similarity gru_cell``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from rnncourse.similarity.compare import (
    Boilerplate,
    Comparison,
    Printed,
    Settings,
    compare,
    print_document,
)
from rnncourse.similarity.html import PairView, render_index, render_view, write_csv
from rnncourse.similarity.notebooks import (
    Cell,
    NotebookError,
    load_release,
    load_source,
    load_submission,
    submission_paths,
)
from rnncourse.similarity.tokens import member

__all__ = ["SOLUTION", "NotebookError", "Pair", "Settings", "SimilarityReport",
           "similarity_report"]

#: The name the instructor's solution has in the report (no nbgrader student id has brackets).
SOLUTION = "(instructor solution)"
_READ_ERRORS = (NotebookError, OSError, ValueError, RecursionError)


@dataclass(frozen=True)
class Pair:
    """A listed pair: ``b`` is :data:`SOLUTION` when the match is with the instructor's code."""

    a: str
    b: str
    score: float
    shared: int
    coverage_a: float  # share of a's fingerprints found in b
    coverage_b: float
    view: Path | None  # the side-by-side page, None past ``max_views``
    group: int = 0  # 1-based index into SimilarityReport.groups


@dataclass
class SimilarityReport:
    """What :func:`similarity_report` found and wrote."""

    assignment: str
    out: Path
    settings: Settings
    compared: int  # submissions read and compared
    pairs: list[Pair]  # score >= threshold, highest first
    problems: dict[str, str]  # student -> why the notebook was not compared
    empty: list[str]  # submissions with no code beyond the release
    groups: list[list[str]]  # connected by listed pairs, largest first
    histogram: list[tuple[str, int]]  # (score bin, pairs) over every pair
    common: int  # fingerprints ignored because most submissions have them
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    @property
    def csv(self) -> Path:
        return self.out / "pairs.csv"


def _load_and_print(items: Sequence[tuple[str, Path]], settings: Settings,
                    boilerplate: Boilerplate) -> list[Printed | str]:
    """Fingerprint each ``(student, path)``; a string in place of one says why it failed."""
    out: list[Printed | str] = []
    for student, path in items:
        try:
            out.append(print_document(load_submission(student, path), settings, boilerplate))
        except _READ_ERRORS as exc:
            out.append(str(exc) or type(exc).__name__)
    return out


def _print_all(items: list[tuple[str, Path]], settings: Settings, boilerplate: Boilerplate,
               jobs: int) -> list[Printed | str]:
    if jobs <= 1 or len(items) < 4 * jobs:
        return _load_and_print(items, settings, boilerplate)
    chunks = [items[i::jobs] for i in range(jobs)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(_load_and_print, chunks, [settings] * jobs,
                                [boilerplate] * jobs))
    merged: list[Printed | str] = [""] * len(items)
    for i, result in enumerate(results):
        merged[i::jobs] = result
    return merged


def _histogram(scores: np.ndarray, total_pairs: int) -> list[tuple[str, int]]:
    edges = np.linspace(0.0, 1.0, 11)
    counts, _ = np.histogram(scores, bins=edges)
    counts[0] += total_pairs - len(scores)  # pairs sharing nothing score 0
    return [(f"{lo:.1f}-{hi:.1f}", int(c)) for lo, hi, c in zip(edges[:-1], edges[1:], counts,
                                                                strict=True)]


def _groups(pairs: list[Pair]) -> tuple[list[list[str]], list[Pair]]:
    """Groups of submissions joined by listed pairs (connected components), largest first,
    and the pairs with their group number: 50 copies of one solution are one group to read,
    not 1,225 pairs."""
    names = sorted({p.a for p in pairs} | {p.b for p in pairs},
                   key=lambda name: (name == SOLUTION, name))
    index = {name: i for i, name in enumerate(names)}
    edges = sparse.csr_matrix(
        (np.ones(len(pairs)), ([index[p.a] for p in pairs], [index[p.b] for p in pairs])),
        shape=(len(names), len(names)))
    _count, label = connected_components(edges, directed=False)
    members: dict[int, list[str]] = {}
    for name, component in zip(names, label, strict=True):
        members.setdefault(int(component), []).append(name)
    order = sorted(members, key=lambda c: (-len(members[c]), members[c][0]))
    number = {component: i for i, component in enumerate(order, start=1)}
    grouped = [dataclasses.replace(p, group=number[int(label[index[p.a]])]) for p in pairs]
    return [members[c] for c in order], grouped


def _cell_scores(comparison: Comparison, a: int, b: int) -> dict[str, float]:
    """Jaccard score of each cell the two documents both have."""
    left, right = comparison.printed[a], comparison.printed[b]
    right_cells = {c.cell_id: p for c, p in zip(right.document.cells, right.cells, strict=True)}
    scores = {}
    for cell, printed in zip(left.document.cells, left.cells, strict=True):
        other = right_cells.get(cell.cell_id)
        if other is None:
            continue
        x = printed.selected[~member(printed.selected, comparison.excluded)]
        y = other.selected[~member(other.selected, comparison.excluded)]
        union = len(np.union1d(x, y))
        if union:
            scores[cell.cell_id] = len(np.intersect1d(x, y)) / union
    return scores


def similarity_report(
    assignment: str,
    course: Path = Path("."),
    *,
    submitted: Path | None = None,
    source: Path | None = None,
    release: Path | None = None,
    out: Path | None = None,
    settings: Settings | None = None,
    max_views: int = 500,
    jobs: int = 1,
) -> SimilarityReport:
    """Compare every submission of ``assignment`` with every other and with the solution.

    Args:
        assignment: the assignment name (``NAME``); notebooks are ``NAME.ipynb``.
        course: the nbgrader course directory.
        submitted: ``<student>/<assignment>/`` folders (default ``course/submitted``).
        source: the instructor's notebook (default ``course/solutions/NAME/NAME.ipynb``).
        release: the released notebook, extra boilerplate (default: ``exercises/NAME`` or
            ``release/NAME`` of the course, if there).
        out: report folder (default ``course/grading-report/NAME/similarity``).
        settings: k-gram size, window, threshold, common-code filter.
        max_views: side-by-side pages written for at most this many top pairs.
        jobs: processes reading and fingerprinting notebooks.

    Raises:
        NotebookError: the source notebook cannot be read (without it the stubs cannot be
            told from the students' code). Unreadable submissions are reported instead.
        FileNotFoundError: no submissions folder.
    """
    started = time.perf_counter()
    settings = settings or Settings()
    course = Path(course)
    submitted = Path(submitted) if submitted else course / "submitted"
    source = Path(source) if source else course / "solutions" / assignment / f"{assignment}.ipynb"
    out = Path(out) if out else course / "grading-report" / assignment / "similarity"
    phases: dict[str, float] = {}

    solution, boilerplate = load_source(source, SOLUTION)
    boiler_cells: list[Cell] = list(boilerplate)
    candidates = [release] if release else [
        course / folder / assignment / f"{assignment}.ipynb" for folder in ("exercises", "release")]
    for path in candidates:
        if Path(path).is_file():
            boiler_cells += load_release(Path(path))
    release_code = Boilerplate.from_cells(boiler_cells, settings)
    paths, problems = submission_paths(submitted, assignment)
    phases["list"] = time.perf_counter() - started

    tick = time.perf_counter()
    printed_or_errors = _print_all(sorted(paths.items()), settings, release_code, jobs)
    printed: list[Printed] = []
    for (student, _path), item in zip(sorted(paths.items()), printed_or_errors, strict=True):
        if isinstance(item, str):
            problems[student] = item
        else:
            printed.append(item)
    printed.append(print_document(solution, settings, release_code))
    phases["fingerprint"] = time.perf_counter() - tick

    tick = time.perf_counter()
    students = [True] * (len(printed) - 1) + [False]
    comparison = compare(printed, release_code, settings, students=students)
    scores = comparison.scores()
    phases["compare"] = time.perf_counter() - tick

    tick = time.perf_counter()
    n = len(printed)
    sizes = comparison.sizes
    listed = np.flatnonzero(scores >= settings.threshold)
    listed = listed[np.lexsort((comparison.rows[listed], -scores[listed]))]
    (out / "views").mkdir(parents=True, exist_ok=True)
    for stale in (out / "views").glob("*.html"):
        stale.unlink()
    pairs: list[Pair] = []
    for rank, index in enumerate(listed, start=1):
        a, b = int(comparison.rows[index]), int(comparison.cols[index])  # b is the solution
        shared = int(comparison.shared[index])
        view_path = None
        if rank <= max_views:
            view_path = out / "views" / f"{rank:04d}.html"
            view = PairView(rank, printed[a], printed[b], float(scores[index]),
                            shared / sizes[a], shared / sizes[b],
                            _cell_scores(comparison, a, b), settings.k, comparison.excluded)
            view_path.write_text(render_view(view), encoding="utf-8")
        pairs.append(Pair(printed[a].document.name, printed[b].document.name,
                          float(scores[index]), shared, float(shared / sizes[a]),
                          float(shared / sizes[b]), view_path))
    empty = [doc.document.name for doc, size in zip(printed[:-1], sizes[:-1], strict=True)
             if size == 0]
    groups, pairs = _groups(pairs)
    histogram = _histogram(scores, n * (n - 1) // 2)
    report = SimilarityReport(assignment, out, settings, n - 1, pairs, problems, empty,
                              groups, histogram, comparison.common, 0.0, phases)
    _write(report, comparison)
    phases["report"] = time.perf_counter() - tick
    report.seconds = time.perf_counter() - started
    return report


def _write(report: SimilarityReport, comparison: Comparison) -> None:
    out, settings = report.out, report.settings
    write_csv(report.csv, ["student_a", "student_b", "score", "shared_fingerprints",
                           "a_found_in_b", "b_found_in_a", "group", "view"],
              [[p.a, p.b, f"{p.score:.3f}", p.shared, f"{p.coverage_a:.3f}",
                f"{p.coverage_b:.3f}", p.group,
                p.view.relative_to(out).as_posix() if p.view else ""] for p in report.pairs])
    write_csv(out / "problems.csv", ["student", "problem"], sorted(report.problems.items()))
    summary = [
        ("assignment", report.assignment),
        ("submissions compared", f"{report.compared} (and the instructor's solution)"),
        ("not compared", str(len(report.problems))),
        ("no code beyond the release", ", ".join(report.empty) or "none"),
        ("threshold", f"{settings.threshold:.2f} (Jaccard score of fingerprints)"),
        ("fingerprints", f"{settings.k}-grams of normalised tokens, winnowing window "
                         f"{settings.window}"),
        ("ignored as common", f"{report.common} fingerprints found in more than "
                              f"{settings.common_fraction:.0%} of the submissions "
                              f"(and at least {settings.common_min})"),
    ]
    rows = [(p.a, p.b, p.score, p.coverage_a, p.coverage_b, p.group,
             p.view.relative_to(out).as_posix() if p.view else None) for p in report.pairs]
    (out / "index.html").write_text(
        render_index(f"Similarity report: {report.assignment}", summary, report.histogram,
                     report.groups, rows, report.problems), encoding="utf-8")

