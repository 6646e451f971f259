"""The built book shows no solution code and no hidden test (``make test`` builds it first)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from leaks import MARKERS, solution_lines

from rnncourse.assignments import available

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"
TEXT_SUFFIXES = {".html", ".txt", ".md", ".ipynb", ".js", ".json", ".py"}


def book_files() -> list[Path]:
    if not (BUILT / "index.html").is_file():
        pytest.skip("the book is not built: run `make book` first")
    return sorted(
        p for p in BUILT.rglob("*")
        if p.is_file() and p.suffix in TEXT_SUFFIXES and "mathjax" not in p.parts
    )


def code_lines(path: Path) -> set[str]:
    """Stripped lines of the code a reader can see or download from ``path``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = "\n".join(pre.get_text() for pre in BeautifulSoup(text, "html.parser")("pre"))
    return {line.strip() for line in text.splitlines() if line.strip()}


def test_no_marker_in_the_built_book() -> None:
    for path in book_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        found = [m for m in MARKERS if m in text]
        assert not found, f"{path.relative_to(BUILT)} contains {found}"


@pytest.mark.parametrize("name", available(ROOT))
def test_no_solution_line_in_the_built_book(name: str) -> None:
    secret = solution_lines(name)
    files = book_files()
    assert any(p.name == f"{name}.html" for p in files), f"{name} has no page in the book"
    for path in files:
        leaked = sorted(secret & code_lines(path))
        assert not leaked, f"{path.relative_to(BUILT)} shows solution lines of {name}: {leaked[:5]}"


def test_code_lines_reads_html_code_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<p>h = np.tanh(a)</p><pre><span>cache</span> = (x, h)\n</pre>")
    assert code_lines(page) == {"cache = (x, h)"}


@pytest.mark.parametrize("name", available(ROOT))
def test_exercise_page_offers_the_released_notebook(name: str) -> None:
    book_files()  # skips when the book is not built
    page = BUILT / "exercises" / name / f"{name}.html"
    links = {a.get("href") for a in BeautifulSoup(page.read_text(), "html.parser")("a")}
    download = f"../../_sources/exercises/{name}/{name}.ipynb"
    assert download in links, f"{page.name} has no download button for the notebook"
    served = (page.parent / download).resolve().read_bytes()
    assert served == (ROOT / "exercises" / name / f"{name}.ipynb").read_bytes()
