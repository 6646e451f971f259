"""The strict build (`jupyter-book build -W -n`) turns a broken reference into a failure.

The real book is built by ``make test`` before pytest; here a tiny book with the same strict
flags shows that a broken internal link does fail the build (and that the clean twin passes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

CONFIG = """title: strict
only_build_toc_files: true
execute:
  execute_notebooks: "off"
sphinx:
  extra_extensions: [rnncourse.sphinx.offline_mathjax]
  config:
    mathjax_path: mathjax/tex-mml-chtml.js
"""


def build(book: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tiny_book(tmp_path: Path) -> Path:
    (tmp_path / "_config.yml").write_text(CONFIG)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: page\n")
    (tmp_path / "intro.md").write_text("# Intro\n\nSee [the page](page.md) and $a^2 + b^2$.\n")
    (tmp_path / "page.md").write_text("# Page\n\nBack to [the intro](intro.md).\n")
    return tmp_path


def test_clean_book_builds_and_serves_mathjax(tiny_book: Path) -> None:
    result = build(tiny_book)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    html = tiny_book / "_build" / "html"
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
    page = (html / "intro.html").read_text()
    assert "cdn.jsdelivr.net" not in page and "_static/mathjax/tex-mml-chtml.js" in page


def test_broken_link_fails_the_strict_build(tiny_book: Path) -> None:
    page = tiny_book / "page.md"
    page.write_text(page.read_text() + "\nA [broken link](missing-chapter.md).\n")
    shutil.rmtree(tiny_book / "_build", ignore_errors=True)
    result = build(tiny_book)
    assert result.returncode != 0
    assert "missing-chapter" in result.stdout + result.stderr
