"""The book's PDF: one file, every chapter, contents with page numbers and links, no raw TeX.

The HTML build prints ``_build/html/rnn-course.pdf`` at its end (``rnncourse.sphinx.pdf``;
``make pdf``). These tests read that PDF back with pypdf; the last ones print a small book
with known faults, to show that the printer and the checks can fail.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from bookcheck import require_browser, toc_files
from rnncourse.sphinx.offline_mathjax import mathjax_source
from rnncourse.sphinx.pdf import (
    PDF_NAME,
    Entry,
    PdfError,
    browser_context,
    build_pdf,
    find_chromium,
    missing_tools,
    page_title,
    pdf_is_current,
    print_after_build,
    print_page,
    read_entries,
    reading_order,
    serve,
    sphinx_reading_order,
    will_print,
    write_entries,
)

pypdf = pytest.importorskip("pypdf")

ROOT = Path(__file__).resolve().parents[1]
BUILT = Path(os.environ.get("RNNCOURSE_BOOK_HTML") or ROOT / "_build" / "html")

pytestmark = pytest.mark.browser

#: TeX that MathJax should have turned into a formula
RAW_TEX = re.compile(r"\$\$|\\(?:frac|begin|end|sum|prod|mathbf|mathrm|left|right|sqrt|partial)"
                     r"\b|\\[()\[\]]")


def raw_tex_lines(text: str, code: str = "") -> list[str]:
    """Lines of ``text`` with TeX left as TeX, except pieces of the program code ``code``.

    Printed code wraps at the page's edge, so a line of code in the PDF is any run of the
    code's text (whitespace aside), e.g. a matplotlib label ``r"$\\partial L$"``.
    """
    flat_code = _flat(code)
    return [line for line in text.splitlines()
            if RAW_TEX.search(line) and not (_flat(line) and _flat(line) in flat_code)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _missing(reason: str) -> None:
    if require_browser():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def book_pdf() -> pypdf.PdfReader:
    path = BUILT / PDF_NAME
    if not path.is_file():
        _missing(f"{path} is missing: build the book (make book) with chromium installed")
    return pypdf.PdfReader(path)


def page_texts_of(path: Path) -> list[str]:
    """The text of every page: poppler's ``pdftotext`` when installed (``.ci/run`` installs
    poppler-utils; ~1 s for the book), else pypdf (the same text, some 20 times slower)."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]
    out = subprocess.run([pdftotext, "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return out.split("\f")[:-1]  # every page ends with a form feed


@pytest.fixture(scope="module")
def page_texts(book_pdf) -> list[str]:
    texts = page_texts_of(BUILT / PDF_NAME)
    assert len(texts) == len(book_pdf.pages)
    return texts


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    """The pages the PDF must hold: every file of ``_toc.yml``, with its built title."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [f"{f}.html" for f in toc_files(toc)]
    missing = [p for p in pages if not (BUILT / p).is_file()]
    assert missing == [], "the book is older than _toc.yml: build it again"
    return [Entry(p, page_title((BUILT / p).read_text(encoding="utf-8"))) for p in pages]


def _outline_top(reader) -> list[tuple[str, int]]:
    return [(item.title, reader.get_destination_page_number(item))
            for item in reader.outline if not isinstance(item, list)]


def test_every_toc_page_is_in_the_pdf_in_order(book_pdf, entries) -> None:
    top = _outline_top(book_pdf)
    assert top[0] == ("Contents", 0)
    starts = [page for _, page in top[1:]]
    assert len(starts) == len(entries)
    assert starts == sorted(set(starts)), "each page of the book starts a new PDF page"
    assert [_flat(t) for t, _ in top[1:]] == [_flat(e.title) for e in entries]


def test_page_count_is_plausible(book_pdf, entries) -> None:
    # at least one page each plus the contents; at most 40 A4 pages for a chapter
    assert len(entries) + 1 <= len(book_pdf.pages) <= 40 * len(entries)


def test_every_chapter_title_is_in_the_text(page_texts, entries) -> None:
    text = _flat(" ".join(page_texts))
    missing = [e.title for e in entries if _flat(e.title) not in text]
    assert missing == []


def test_contents_page_lists_page_numbers_that_link_to_the_chapters(
    book_pdf, page_texts, entries
) -> None:
    starts = [page for _, page in _outline_top(book_pdf)[1:]]
    contents = _flat(page_texts[0])
    for entry, start in zip(entries, starts, strict=True):
        assert f"{_flat(entry.title)} {start + 1}" in contents, entry.title
        assert _flat(entry.title)[:30] in _flat(page_texts[start]), entry.title
    targets = []
    for annot in book_pdf.pages[0].get("/Annots", []):
        action = annot.get_object()["/A"]
        assert action["/S"] == "/GoTo"
        targets.append(book_pdf.get_page_number(action["/D"][0].get_object()))
    assert targets == starts


def test_no_link_points_at_the_local_server(book_pdf) -> None:
    uris = [str(a.get_object()["/A"].get("/URI")) for page in book_pdf.pages
            for a in page.get("/Annots", []) if "/A" in a.get_object()]
    local = [u for u in uris if "127.0.0.1" in u or "localhost" in u]
    assert local == []


def test_every_page_has_its_number(page_texts) -> None:
    numbered = [i for i, text in enumerate(page_texts, start=1)
                if str(i) in text.split()]
    assert len(numbered) == len(page_texts)


def test_no_page_contains_raw_tex(page_texts, entries) -> None:
    code = "\n".join(
        unescape(re.sub(r"<[^>]+>", "", block))
        for e in entries
        for block in re.findall(r"<pre[^>]*>(.*?)</pre>",
                                (BUILT / e.path).read_text(encoding="utf-8"), re.DOTALL)
    )
    found = {i: lines for i, text in enumerate(page_texts, start=1)
             if (lines := raw_tex_lines(text, code))}
    assert found == {}


def test_figures_are_in_the_pdf(book_pdf, entries) -> None:
    raster = set()
    for e in entries:
        html = (BUILT / e.path).read_text(encoding="utf-8")
        raster |= set(re.findall(r'<img[^>]+src="[^"]*?_images/([^"]+\.(?:png|jpe?g))"', html))
    seen: set[object] = set()
    assert sum(_images(page, seen) for page in book_pdf.pages) >= len(raster) > 0


def _images(obj, seen: set[object]) -> int:
    """Image XObjects drawn by ``obj`` (a page or form), each counted once."""
    resources = obj.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    count = 0
    for ref in (xobjects.get_object().values() if xobjects is not None else []):
        item = ref.get_object()
        key = getattr(ref, "idnum", id(item))
        if item.get("/Subtype") == "/Image" and key not in seen:
            seen.add(key)
            count += 1
        elif item.get("/Subtype") == "/Form":
            count += _images(item, seen)
    return count


def test_pdf_is_current_after_the_build(entries) -> None:
    if not (BUILT / PDF_NAME).is_file():
        _missing("the PDF is not built")
    assert pdf_is_current(BUILT, BUILT / PDF_NAME, entries)


# --- the printer and the checks can fail --------------------------------------------------------

PNG = base64.b64decode(  # one pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
    "AAAABJRU5ErkJggg=="
)


def _page(title: str, body: str, next_page: str = "", next_title: str = "",
          mathjax: bool = True) -> str:
    """A page as Sphinx writes it: MathJax from the book, a ``rel="next"`` link."""
    head = '<script src="_static/mathjax/tex-mml-chtml.js"></script>' if mathjax else ""
    link = f'<link rel="next" title="{next_title}" href="{next_page}" />' if next_page else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"{head}{link}</head><body><h1>{title}</h1>{body}</body></html>")


@pytest.fixture()
def small_book(tmp_path) -> Iterator[Path]:
    if find_chromium() is None:
        _missing("chromium is not installed")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "mathjax").symlink_to(mathjax_source(), target_is_directory=True)
    (tmp_path / "figure.png").write_bytes(PNG)
    (tmp_path / "index.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0; url=intro.html" /></head></html>')
    (tmp_path / "intro.html").write_text(_page(
        "Small book", '<p>Welcome. <a href="data.pdf">a download</a></p>', "one.html", "One"))
    (tmp_path / "one.html").write_text(_page(
        "One", '<p class="math">\\(\\frac{a}{b}\\)</p><img src="figure.png" alt="a dot" '
        'width="50"><p><a href="two.html#end">to the end of two</a></p>', "two.html", "Two"))
    (tmp_path / "two.html").write_text(_page(
        "Two", '<h2 id="end">The end</h2><p><a href="https://doi.org/10.1/x">a paper</a>'
        "</p>"))
    yield tmp_path


def test_a_small_book_is_printed_whole(small_book) -> None:
    done = build_pdf(small_book, workers=2)
    reader = pypdf.PdfReader(done["path"])
    assert done["entries"] == 3 and done["pages"] == len(reader.pages) == 4
    assert done["links"] == {"internal": 4, "dropped": 1, "external": 1}
    assert [t for t, _ in _outline_top(reader)] == ["Contents", "Small book", "One", "Two"]
    assert _flat(reader.pages[0].extract_text()).count("Small book") == 2  # title and entry
    assert raw_tex_lines(reader.pages[2].extract_text()) == []
    assert _images(reader.pages[2], set()) == 1
    assert pdf_is_current(small_book, Path(done["path"]))
    order = reading_order(small_book)
    assert not pdf_is_current(small_book, Path(done["path"]), order[:2])  # a page was added
    (small_book / "two.html").touch()
    assert not pdf_is_current(small_book, Path(done["path"]))


def test_the_reading_order_follows_next_links_or_is_given(small_book) -> None:
    order = reading_order(small_book)
    assert order == [Entry("intro.html", "Small book"), Entry("one.html", "One"),
                     Entry("two.html", "Two")]
    write_entries(order[1:], small_book / "pages.json")
    given = read_entries(small_book / "pages.json")
    assert given == order[1:]
    done = build_pdf(small_book, small_book / "two-pages.pdf", entries=given, workers=1)
    reader = pypdf.PdfReader(done["path"])
    assert [t for t, _ in _outline_top(reader)] == ["Contents", "One", "Two"]


def test_sphinx_order_walks_the_toctrees_depth_first() -> None:
    from docutils import nodes

    env = SimpleNamespace(
        toctree_includes={"intro": ["ch1", "exercises"], "exercises": ["ex/a"], "ch1": []},
        titles={d: nodes.title(text=t) for d, t in
                [("intro", "Book"), ("ch1", "Sequences"), ("exercises", "Exercises"),
                 ("ex/a", "Assignment  A")]},
        toc_secnumbers={"ch1": {"": (1,)}, "intro": {}},
    )
    app = SimpleNamespace(env=env, config=SimpleNamespace(root_doc="intro"),
                          builder=SimpleNamespace(get_target_uri=lambda d: f"{d}.html"))
    assert sphinx_reading_order(app) == [
        Entry("intro.html", "Book"), Entry("ch1.html", "1. Sequences"),
        Entry("exercises.html", "Exercises"), Entry("ex/a.html", "Assignment A"),
    ]


def test_a_formula_without_mathjax_stops_the_printer(small_book) -> None:
    (small_book / "two.html").write_text(
        _page("Two", '<p class="math">\\(\\frac{a}{b}\\)</p>', mathjax=False))
    with pytest.raises(PdfError, match="MathJax did not load"):
        build_pdf(small_book, small_book / "out.pdf", workers=1)
    assert not (small_book / "out.pdf").exists()


def test_a_missing_figure_or_a_tex_error_stops_the_printer(small_book) -> None:
    (small_book / "figure.png").unlink()
    (small_book / "two.html").write_text(_page("Two", '<p class="math">\\(\\nosuchmacro{x}\\)</p>'))
    with serve(small_book) as base, browser_context(find_chromium()) as context:
        with pytest.raises(PdfError, match="images did not load"):
            print_page(context, base + "one.html", small_book / "one.pdf")
        with pytest.raises(PdfError, match="nosuchmacro"):
            print_page(context, base + "two.html", small_book / "two.pdf")


def test_raw_tex_is_found_outside_code() -> None:
    text = ("The loss is\n$$\\frac{1}{N} \\sum_t L_t$$\nand \\(x\\) too\n"
            "plt.ylabel(r'$\\frac{a}{b}$')")
    code = "plt.ylabel(r'$\\frac{a}{b}$')\n"
    assert raw_tex_lines(text, code) == ["$$\\frac{1}{N} \\sum_t L_t$$", "and \\(x\\) too"]
    assert raw_tex_lines("A rendered formula: a/b = 0.5") == []


def test_without_chromium_the_landing_page_links_no_pdf(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("RNNCOURSE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    monkeypatch.delenv("RNNCOURSE_REQUIRE_BROWSER", raising=False)
    assert missing_tools()[0].startswith("chromium")
    app = SimpleNamespace(config=SimpleNamespace(rnncourse_pdf=True, html_title="Book"),
                          builder=SimpleNamespace(format="html"), outdir=str(tmp_path))
    assert not will_print(app)
    print_after_build(app, None)  # a learner's build goes on without the PDF
    assert not (tmp_path / PDF_NAME).exists()
    monkeypatch.setenv("RNNCOURSE_REQUIRE_BROWSER", "1")  # CI and make pdf: an error
    assert will_print(app)
    with pytest.raises(PdfError, match="chromium"):
        print_after_build(app, None)
