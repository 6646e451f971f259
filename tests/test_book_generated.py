"""Numbers the built book takes from elsewhere match their source (``make test`` builds it first).

- Chapter 4 quotes the adding-problem benchmark: the page shows what ``benchmarks/results.json``
  holds now (a stale execution cache would show an older median).
- The Exercises page's rubric: each assignment's total equals nbgrader's maximum points of the
  instructor's source notebook and the sum of its suite's tests plus the written answers.
- The review chapter's table pastes measured values from chapters 7 and 8: they are the values
  those chapters' last execution glued.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from rnncourse import assignments
from rnncourse.suites import load

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"


def page(name: str) -> BeautifulSoup:
    path = BUILT / f"{name}.html"
    if not (BUILT / "index.html").is_file() or not path.is_file():
        pytest.skip("the book is not built: run `make book` first")
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def text_of(soup: BeautifulSoup) -> str:
    return " ".join(soup.get_text(" ").split())


def test_ch04_quotes_the_current_benchmark() -> None:
    text = text_of(page("chapters/04-lstm"))
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    models = results["adding_problem"]["T100"]
    for name in ("lstm_default", "lstm_chrono"):
        median, seeds = models[name]["median_sequences"], models[name]["seeds"]
        assert median, f"{name}: no median recorded"
        assert f"{median:,} sequences" in text, f"chapter 4 does not show {name}'s {median:,}"
        assert f"(median of {seeds} seeds)" in text
    assert "had not recorded its median" not in text


def nbgrader_max_points(name: str) -> tuple[float, float]:
    """(total, written) points of the graded cells of the source notebook."""
    nb = nbformat.read(assignments.source_notebook(name, ROOT), as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade")]
    total = sum(float(m["points"]) for m in graded)
    return total, sum(float(m["points"]) for m in graded if m.get("solution"))


@pytest.mark.parametrize("name", assignments.available(ROOT))
def test_exercises_page_totals_are_the_graders(name: str) -> None:
    soup = page("chapters/exercises")
    total, written = nbgrader_max_points(name)
    suite = load(name)
    assert total - written == sum(spec.points for spec in suite.tests.values())

    # the overview table: "18 (2 written)"
    overview = soup.find("table")
    row = next(tr for tr in overview("tr") if tr.find("a", string=re.compile(rf"^{name}$")))
    expected = f"{total:g}" + (f" ({written:g} written)" if written else "")
    assert row("td")[-1].get_text(strip=True) == expected

    # the assignment's rubric: one row per graded cell, then the total
    heading = soup.find(lambda tag: tag.name == "h3" and tag.get_text(strip=True)
                        .rstrip("#").endswith(f". {name}"))
    assert heading is not None, f"no rubric heading for {name}"
    table = heading.find_next("table")
    rows = [[td.get_text(" ", strip=True) for td in tr("td")] for tr in table.tbody("tr")]
    *cells, last = rows
    assert last[0] == "total" and float(last[2]) == total
    shown = {r[0]: float(r[2]) for r in cells}
    graded = {spec.grade_id: spec.points for spec in suite.tests.values()}
    assert {gid: shown[gid] for gid in graded} == graded
    assert sum(shown.values()) == total
    for gid, spec in suite.tests.items():  # Sphinx typesets ' as a curly apostrophe
        assert next(r for r in cells if r[0] == gid)[3].replace("\u2019", "'") == spec.what


def glued(chapter: str, key: str) -> str:
    data = json.loads((EXECUTED / "chapters" / f"{chapter}.glue.json").read_text())
    return data[key]["data"]["text/plain"]


def test_review_table_shows_the_values_of_chapters_7_and_8() -> None:
    soup = page("chapters/09-review")
    rows = {tr("td")[0].get_text(" ", strip=True): tr("td")[-1].get_text(" ", strip=True)
            for tr in soup.find("table").tbody("tr")}
    assert len(rows) == 8
    ch07 = next(v for k, v in rows.items() if "sequence-to-sequence" in k.lower())
    ch08 = next(v for k, v in rows.items() if "today" in k.lower())
    ch07_numbers = [f"{float(glued('07-deeper-and-seq2seq', k)):.1f} %"
                    for k in ("ch07_attn_exact", "ch07_plain_exact")]
    ch08_numbers = [f"{float(glued('08-rnns-today', k)):.4f}"
                    for k in ("ch08_mingru_mse", "ch08_gru_mse")]
    for number in ch07_numbers:
        assert number in ch07
    for number in ch08_numbers:
        assert number in ch08
    T = int(glued("08-rnns-today", "ch08_T"))
    assert re.search(rf"T =\\?\)?\s*{T}\b", ch08), ch08  # "\\(T =\\) 100" in the HTML
