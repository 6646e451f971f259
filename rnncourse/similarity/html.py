"""The report's files: ``pairs.csv``, ``problems.csv``, ``index.html`` and one side-by-side view
per listed pair under ``views/``.

Everything shown comes from students (code, cell ids, folder names), so every string goes
through :func:`html.escape` and the pages forbid scripts and remote content with a
Content-Security-Policy; a view's file name is the pair's rank, never a student id.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnncourse.similarity.compare import Printed
from rnncourse.similarity.tokens import CellPrint, member

_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; }
th { background: #f2f2f2; text-align: left; } .num { text-align: right; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin-bottom: 1.5em; }
pre { background: #fafafa; border: 1px solid #ddd; padding: 0.5em; overflow-x: auto;
      font-size: 0.85em; line-height: 1.35; white-space: pre; margin: 0.2em 0; }
mark { background: #ffd54f; } h3 { margin-bottom: 0.2em; } .muted { color: #777; }
"""


@dataclass(frozen=True)
class PairView:
    """What one side-by-side page shows."""

    rank: int
    left: Printed
    right: Printed
    score: float
    coverage_left: float
    coverage_right: float
    cell_scores: dict[str, float]
    k: int
    excluded: np.ndarray  # boilerplate and common hashes: never highlighted


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _covered(starts: np.ndarray, length: int, k: int) -> np.ndarray:
    """Which of ``length`` tokens lie in a k-gram starting at one of ``starts``."""
    depth = np.zeros(length + 1, dtype=np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, starts + k, -1)
    return np.cumsum(depth)[:-1] > 0


def matched_ranges(cell: CellPrint, other_hashes: np.ndarray,
                   excluded: np.ndarray, k: int) -> list[tuple[int, int]]:
    """Character ranges of the cell's source in k-grams whose hash is in ``other_hashes``.

    Tokens that also lie in an ``excluded`` k-gram (released code, common code) are not
    marked; neither is anything between two marked tokens but whitespace (a comment or a
    docstring between them stays plain, since comparison ignored it).
    """
    hashes = cell.hashes
    if len(hashes) == 0 or len(other_hashes) == 0:
        return []
    starts = np.flatnonzero(member(hashes, other_hashes))
    if len(starts) == 0:
        return []
    covered = _covered(starts, len(cell.tokens), k)
    covered &= ~_covered(np.flatnonzero(member(hashes, excluded)), len(cell.tokens), k)
    index = np.flatnonzero(covered)
    if len(index) == 0:
        return []
    # A highlight runs on over neighbouring marked tokens with only layout between them.
    runs_on = np.zeros(len(index), dtype=bool)
    runs_on[1:] = (np.diff(index) == 1) & cell.tokens.joined[index[1:]]
    first = index[~runs_on]
    last = index[np.append(~runs_on[1:], True)]
    spans = cell.tokens.spans
    return [(int(spans[a, 0]), int(spans[b, 1])) for a, b in zip(first, last, strict=True)]


def highlight(source: str, ranges: Sequence[tuple[int, int]]) -> str:
    """``source`` escaped for HTML, with ``ranges`` wrapped in ``<mark>``."""
    parts = []
    position = 0
    for start, end in ranges:
        parts.append(html.escape(source[position:start]))
        parts.append(f"<mark>{html.escape(source[start:end])}</mark>")
        position = end
    parts.append(html.escape(source[position:]))
    return "".join(parts)


def _all_hashes(doc: Printed, excluded: np.ndarray) -> np.ndarray:
    hashes = [cell.hashes for cell in doc.cells]
    merged = np.unique(np.concatenate(hashes)) if hashes else np.empty(0, np.uint64)
    return merged[~member(merged, excluded)]


def render_view(view: PairView) -> str:
    """The side-by-side page of one pair, matched regions highlighted on both sides."""
    left_hashes = _all_hashes(view.left, view.excluded)
    right_hashes = _all_hashes(view.right, view.excluded)
    left_cells = {c.cell_id: (c, p) for c, p in zip(view.left.document.cells, view.left.cells,
                                                     strict=True)}
    right_cells = {c.cell_id: (c, p) for c, p in zip(view.right.document.cells,
                                                      view.right.cells, strict=True)}
    order = list(left_cells) + [cid for cid in right_cells if cid not in left_cells]
    a = html.escape(view.left.document.name)
    b = html.escape(view.right.document.name)
    rows = []
    for cell_id in order:
        panes = []
        for cells, other in ((left_cells, right_hashes), (right_cells, left_hashes)):
            if cell_id in cells:
                cell, printed = cells[cell_id]
                code = highlight(cell.source,
                                 matched_ranges(printed, other, view.excluded, view.k))
                panes.append(f"<pre>{code}</pre>")
            else:
                panes.append("<p class=\"muted\">(no such cell)</p>")
        score = view.cell_scores.get(cell_id)
        label = f" &middot; cell score {score:.2f}" if score is not None else ""
        rows.append(f"<h3>{html.escape(cell_id)}<span class=\"muted\">{label}</span></h3>\n"
                    f"<div class=\"pair\">{panes[0]}\n{panes[1]}</div>")
    body = (
        f"<p><a href=\"../index.html\">&larr; all pairs</a></p>\n"
        f"<h1>{a} &harr; {b}</h1>\n"
        f"<p>Score {view.score:.2f} (Jaccard of fingerprints); {view.coverage_left:.0%} of "
        f"{a} is found in {b}, {view.coverage_right:.0%} of {b} in {a}. "
        "Highlighted: code whose normalised tokens (names, literals, comments and layout "
        "ignored) also occur in the other side; the released stubs never count.</p>\n"
        f"<div class=\"pair\"><h2>{a}</h2><h2>{b}</h2></div>\n" + "\n".join(rows)
    )
    return _page(f"{view.left.document.name} vs {view.right.document.name}", body)


def _cell(value: object) -> str:
    """A CSV field that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    """A CSV file with ``header`` and ``rows`` (fields guarded against formula injection)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([[_cell(v) for v in row] for row in rows])
    return path


def render_index(title: str, summary: Sequence[tuple[str, str]],
                 histogram: Sequence[tuple[str, int]], groups: Sequence[Sequence[str]],
                 pairs: Sequence[tuple[str, str, float, float, float, int, str | None]],
                 problems: dict[str, str]) -> str:
    """The report's front page: settings, groups, listed pairs, problems, score distribution."""
    facts = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                      for k, v in summary)
    bins = "\n".join(f"<tr><td>{html.escape(label)}</td><td class=\"num\">{count}</td></tr>"
                     for label, count in histogram)
    pair_rows = []
    for rank, (a, b, score, cov_a, cov_b, group, view) in enumerate(pairs, start=1):
        link = f"<a href=\"{html.escape(view)}\">side by side</a>" if view else "(CSV only)"
        pair_rows.append(
            f"<tr><td class=\"num\">{rank}</td><td>{html.escape(a)}</td><td>{html.escape(b)}"
            f"</td><td class=\"num\">{score:.2f}</td><td class=\"num\">{cov_a:.0%}</td>"
            f"<td class=\"num\">{cov_b:.0%}</td><td class=\"num\">{group}</td>"
            f"<td>{link}</td></tr>")
    pairs_html = (
        "<table><tr><th>#</th><th>A</th><th>B</th><th>score</th><th>A found in B</th>"
        "<th>B found in A</th><th>group</th><th>view</th></tr>\n" + "\n".join(pair_rows)
        + "</table>" if pair_rows else "<p>No pair reaches the threshold.</p>")
    group_rows = "\n".join(
        f"<tr><td class=\"num\">{i}</td><td class=\"num\">{len(names)}</td>"
        f"<td>{html.escape(', '.join(names))}</td></tr>"
        for i, names in enumerate(groups, start=1))
    groups_html = (
        "<p>Submissions joined by listed pairs (a copied solution and its copies form one "
        "group).</p><table><tr><th>group</th><th>size</th><th>members</th></tr>\n"
        f"{group_rows}</table>" if groups else "")
    problem_rows = "\n".join(
        f"<tr><td>{html.escape(who)}</td><td>{html.escape(why)}</td></tr>"
        for who, why in sorted(problems.items()))
    problems_html = (f"<table><tr><th>submission</th><th>problem</th></tr>\n{problem_rows}"
                     "</table>" if problems else "<p>None.</p>")
    body = (
        f"<h1>{html.escape(title)}</h1>\n<table>{facts}</table>\n"
        + ("<h2>Groups</h2>\n" + groups_html if groups else "") +
        "\n<h2>Pairs at or above the threshold</h2>\n" + pairs_html +
        "\n<h2>Submissions not compared</h2>\n" + problems_html +
        "\n<h2>Distribution of all pair scores</h2>\n"
        f"<table><tr><th>score</th><th>pairs</th></tr>\n{bins}</table>\n"
        "<p class=\"muted\">A high score says the code is alike after names, literals, comments "
        "and layout are removed; it is a reason to read both, not a finding of misconduct.</p>"
    )
    return _page(title, body)
