"""Print the built HTML book to one PDF with Debian's chromium.

Every HTML build (through the Sphinx extension below, whenever a page changed), ``make pdf``
and ``python -m rnncourse.sphinx.pdf _build/html`` (an already built book) write
``<html>/rnn-course.pdf``; the ``{book-pdf}`` directive links it from the landing page.

1. **Reading order.** From the root page, each page's ``<link rel="next">`` (Sphinx writes it
   in table-of-contents order) gives the next page and its numbered title.
2. **One print per page.** Chromium (driven by Playwright with ``executable_path`` set to the
   system's chromium: no browser is ever downloaded) opens each page from a local server, with
   every off-host request blocked, waits until MathJax has typeset every formula and every
   image has loaded (a formula left as TeX, a MathJax error or a missing image is an error),
   shows every tab of the Quick/Standard/Detailed summaries, and prints A4 with an outline of
   the page's headings. Every chapter therefore starts on a new page.
3. **Merge** (pypdf): a title page with the table of contents (page numbers, each entry a
   link), then the pages; the PDF outline nests each page's headings under its title; a link to
   another page of the book jumps to that page in the PDF, other links to the local server are
   removed (external links stay); every page gets its number in the footer.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

PDF_NAME = "rnn-course.pdf"
#: metadata key of the PDF holding the pages it was printed from, in order
PAGES_KEY = "/RnncoursePages"
#: chromium's PDF links to this (never requested) host become jumps to a page of the PDF
PAGE_LINK = "http://rnncourse-print.invalid/page/"
PAPER = {"format": "A4", "margin": {"top": "16mm", "bottom": "18mm", "left": "16mm",
                                     "right": "16mm"}}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]

#: print-only CSS added to every page before printing
PRINT_CSS = """
@media print {
  .sd-tab-set { display: block !important; }
  .sd-tab-set > label.sd-tab-label { display: block !important; border: 0 !important;
    padding: 0.6em 0 0.2em 0 !important; font-weight: bold; color: inherit !important; }
  .sd-tab-set > .sd-tab-content { display: block !important; border: 0 !important;
    box-shadow: none !important; padding: 0 0 0.4em 0 !important; }
  audio, .dialogue-audio, .launch-buttons, .header-article, .prev-next-area, .bd-footer,
  .bd-footer-content, .bd-header-article { display: none !important; }
  /* the theme prints an unnumbered title and a contents list: the PDF has its own contents
     and outline, so print the chapter's numbered title instead */
  #jb-print-docs-body { display: none !important; }
  .bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
  img { break-inside: avoid; max-width: 100% !important; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere; overflow: visible !important; }
  figure, .cell_output { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
  a.headerlink { display: none !important; }
}
"""

#: true once MathJax has typeset the page; false when the page has no MathJax
WAIT_FOR_MATH = """async () => {
  if (!window.MathJax) return false;
  for (let i = 0; i < 200 && !(MathJax.startup && MathJax.startup.promise); i++)
    await new Promise(r => setTimeout(r, 50));
  await MathJax.startup.promise;  // resolves after the first typeset of the page
  return true;
}"""

WAIT_FOR_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.complete ? null :
    new Promise(r => { img.onload = r; img.onerror = r; })));
  return images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
}"""

#: the visible headings in document order, as chromium's outline lists them; their text from
#: the DOM (chromium's own outline titles repeat numbered runs and lose the spaces at line ends)
HEADINGS = """() => Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
  .filter(h => h.getClientRects().length > 0)
  .map(h => { const c = h.cloneNode(true);
              c.querySelectorAll('.headerlink').forEach(a => a.remove());
              return c.textContent.replace(/\\s+/g, ' ').trim(); })"""

MATH_PROBLEMS = """() => ({
  raw: Array.from(document.querySelectorAll('.math'))
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
  errors: Array.from(document.querySelectorAll(
      "mjx-merror, mjx-assistive-mml mtext[mathcolor='red']"))
    .map(e => e.getAttribute('data-mjx-error') || e.textContent),
})"""


class PdfError(RuntimeError):
    """The book cannot be printed faithfully (raw TeX, missing image, no browser...)."""


@dataclass(frozen=True)
class Entry:
    """One page of the book in reading order: its path under the HTML root and its title."""

    path: str
    title: str


# --- finding the tools -------------------------------------------------------------------------


def find_chromium() -> str | None:
    """The system chromium (``$RNNCOURSE_CHROMIUM`` first), or ``None``."""
    explicit = os.environ.get("RNNCOURSE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing_tools() -> list[str]:
    """What printing needs and is not installed (empty when the PDF can be printed)."""
    missing = []
    if find_chromium() is None:
        missing.append("chromium (apt-get install chromium)")
    for module, package in (("playwright", "playwright"), ("pypdf", "pypdf")):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{package} (pip install -e '.[dev]')")
    return missing


# --- reading order -----------------------------------------------------------------------------

_NEXT = re.compile(r'<link rel="next" title="([^"]*)" href="([^"]+)"\s*/?>')
_REFRESH = re.compile(r'http-equiv="refresh"[^>]*url=([^"\'>]+)', re.IGNORECASE)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def root_page(html_root: Path) -> str:
    """The page ``index.html`` redirects to (jupyter-book's root), or ``index.html``."""
    index = html_root / "index.html"
    if not index.is_file():
        raise PdfError(f"{html_root} holds no built book (no index.html)")
    match = _REFRESH.search(index.read_text(encoding="utf-8", errors="replace")[:4000])
    return match.group(1).strip() if match else "index.html"


def page_title(text: str) -> str:
    """A built page's numbered title: its article's first ``<h1>`` as plain text.

    The theme also writes an unnumbered copy of the title for print before the article.
    """
    article = text.find("<article")
    match = _H1.search(text, article if article >= 0 else 0) or _H1.search(text)
    if not match:
        return ""
    inner = re.sub(r'<a class="headerlink".*?</a>', "", match.group(1), flags=re.DOTALL)
    return " ".join(html.unescape(_TAG.sub("", inner)).split())


def reading_order(html_root: Path, start: str | None = None) -> list[Entry]:
    """Every page from the root in table-of-contents order, following ``rel="next"``.

    For a book built from scratch. An incremental Sphinx build does not rewrite the page
    before a newly added one, so its ``rel="next"`` may skip it: the extension passes the
    order from Sphinx's environment instead (:func:`sphinx_reading_order`).
    """
    path = start or root_page(html_root)
    first = (html_root / path).read_text(encoding="utf-8")
    entries = [Entry(path, page_title(first) or Path(path).stem)]
    seen = {path}
    text = first
    while match := _NEXT.search(text):
        title, href = html.unescape(match.group(1)), match.group(2)
        path = urlparse(urljoin(entries[-1].path, href)).path.lstrip("/")
        if path in seen:
            raise PdfError(f"the pages' next links loop at {path}")
        seen.add(path)
        entries.append(Entry(path, title))
        text = (html_root / path).read_text(encoding="utf-8")
    return entries


# --- printing ----------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port); yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _block_off_host(route: Any, request: Any) -> None:
    host = urlparse(request.url).hostname
    if request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def print_page(context: Any, url: str, out: Path) -> list[str]:
    """Open ``url``, check that it is ready to print, print it to ``out``; return its headings."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="load")
        has_math = page.locator(".math").count() > 0
        if has_math:
            typeset = page.evaluate(WAIT_FOR_MATH)
            if not typeset:
                raise PdfError(f"{url}: the page has formulas but MathJax did not load")
        problems = page.evaluate(MATH_PROBLEMS)
        if problems["raw"] or problems["errors"]:
            raise PdfError(f"{url}: formulas not typeset {problems['raw'][:3]}, "
                           f"MathJax errors {problems['errors'][:3]}")
        broken = page.evaluate(WAIT_FOR_IMAGES)
        if broken:
            raise PdfError(f"{url}: images did not load: {broken[:3]}")
        page.add_style_tag(content=PRINT_CSS)
        page.emulate_media(media="print")  # the headings that print (every tab's, say)
        headings = page.evaluate(HEADINGS)
        page.pdf(path=str(out), print_background=True, outline=True, tagged=True, **PAPER)
        return headings
    finally:
        page.close()


def _toc_html(book_title: str, entries: Sequence[Entry], first_pages: Sequence[int]) -> str:
    rows = "\n".join(
        f'<li><a href="{PAGE_LINK}{page}"><span class="t">{html.escape(e.title)}</span>'
        f'<span class="n">{page}</span></a></li>'
        for e, page in zip(entries, first_pages, strict=True)
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(book_title)}</title><style>
body {{ font-family: sans-serif; color: #111; }}
h1 {{ font-size: 22pt; margin: 30mm 0 4mm 0; }}
p.note {{ color: #444; margin-bottom: 14mm; }}
h2 {{ font-size: 14pt; }}
ol {{ list-style: none; padding: 0; }}
li {{ margin: 2.5mm 0; }}
a {{ display: flex; color: inherit; text-decoration: none; }}
.t {{ flex: 0 1 auto; }}
.n {{ flex: 1 0 auto; text-align: right; }}
</style></head><body>
<h1>{html.escape(book_title)}</h1>
<p class="note">Printed from the HTML book. Page numbers are those in the footer and in
your PDF viewer; every entry is a link.</p>
<h2>Contents</h2>
<ol>
{rows}
</ol></body></html>"""


def _numbers_html(n_pages: int) -> str:
    pages = '<div style="break-after: page; height: 1px"></div>' * n_pages
    return f'<!doctype html><html><head><meta charset="utf-8"></head><body>{pages}</body></html>'


FOOTER = ('<div style="width: 100%; font-size: 8pt; color: #444; text-align: center; '
          'font-family: sans-serif;"><span class="pageNumber"></span></div>')


def _print_html(context: Any, content: str, out: Path, **options: Any) -> None:
    page = context.new_page()
    try:
        page.set_content(content, wait_until="load")
        page.pdf(path=str(out), **{**PAPER, **options})
    finally:
        page.close()


# --- merging -----------------------------------------------------------------------------------


def _goto(writer: Any, index: int) -> Any:
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    return DictionaryObject({
        NameObject("/S"): NameObject("/GoTo"),
        NameObject("/D"): ArrayObject([writer.pages[index].indirect_reference,
                                       NameObject("/Fit")]),
    })


def relink(writer: Any, base_url: str, first_page_of: dict[str, int]) -> dict[str, int]:
    """Point links into the PDF: book pages and the contents' entries jump, other local links go.

    Returns counts: ``internal`` links rewritten, ``dropped`` local links, ``external`` kept.
    """
    from pypdf.generic import ArrayObject, NameObject

    counts = {"internal": 0, "dropped": 0, "external": 0}
    for page in writer.pages:
        annots = page.get("/Annots")
        if not annots:
            continue
        kept = ArrayObject()
        for ref in annots.get_object():
            annot = ref.get_object()
            action = annot.get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is None:
                kept.append(ref)
                continue
            uri = str(uri)
            target: int | None = None
            if uri.startswith(PAGE_LINK):
                target = int(uri[len(PAGE_LINK):]) - 1
            elif uri.startswith(base_url):
                path = urldefrag(uri)[0][len(base_url):]
                target = first_page_of.get(path)
                if target is None:  # a download, the PDF itself, a source file
                    counts["dropped"] += 1
                    continue
            else:
                counts["external"] += 1
                kept.append(ref)
                continue
            annot[NameObject("/A")] = _goto(writer, target)
            counts["internal"] += 1
            kept.append(ref)
        page[NameObject("/Annots")] = kept
    return counts


@contextlib.contextmanager
def browser_context(chromium: str) -> Iterator[Any]:
    """A light-mode browser context of the system chromium that never leaves the machine."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(color_scheme="light")
            context.route("**/*", _block_off_host)
            yield context
        finally:
            browser.close()


def _print_pages(chromium: str, jobs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Worker: print each ``(url, pdf path)`` with one browser; return each PDF's headings."""
    with browser_context(chromium) as context:
        return {out: print_page(context, url, Path(out)) for url, out in jobs}


def _outline_nodes(node: Any) -> Iterator[Any]:
    """The outline items under ``node`` in document order (depth first)."""
    child = node.get("/First")
    while child is not None:
        item = child.get_object()
        yield item
        yield from _outline_nodes(item)
        child = item.get("/Next")


def retitle_outline(reader: Any, titles: Sequence[str]) -> bool:
    """Give the outline of ``reader`` (a PdfReader, changed in memory) the headings' own text.

    Returns False, changing nothing, when the outline and ``titles`` differ in length.
    """
    from pypdf.generic import NameObject, TextStringObject

    outlines = reader.root_object.get("/Outlines")
    items = list(_outline_nodes(outlines.get_object())) if outlines is not None else []
    if not items or len(items) != len(titles):
        return False
    for item, title in zip(items, titles, strict=True):
        item[NameObject("/Title")] = TextStringObject(title)
    return True


def print_all(
    chromium: str, jobs: Sequence[tuple[str, str]], workers: int
) -> dict[str, list[str]]:
    """Print the pages with ``workers`` browsers at once; return each PDF's headings.

    Each worker is a thread with its own Playwright instance and chromium (Playwright's sync
    API is not shared between threads); the work happens in the browsers, so threads suffice.
    """
    from concurrent.futures import ThreadPoolExecutor

    shares = [list(jobs[i::workers]) for i in range(max(1, workers))]
    shares = [share for share in shares if share]
    headings: dict[str, list[str]] = {}
    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        for future in [pool.submit(_print_pages, chromium, share) for share in shares]:
            headings.update(future.result())  # re-raises a worker's PdfError
    return headings


def default_workers() -> int:
    """One printing process per core, at most four."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


def build_pdf(html_root: Path, out: Path | None = None, *, book_title: str | None = None,
              chromium: str | None = None, workers: int | None = None,
              entries: Sequence[Entry] | None = None) -> dict[str, Any]:
    """Print the book under ``html_root`` to one PDF; return what was done (pages, seconds).

    ``entries`` (the pages in reading order) default to :func:`reading_order`.

    Raises:
        PdfError: a page that cannot be printed faithfully, or a missing tool.
    """
    missing = missing_tools()
    if missing:
        raise PdfError("cannot print the book; missing: " + ", ".join(missing))
    from pypdf import PdfReader, PdfWriter

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # chromium's trailers draw warnings
    start = time.perf_counter()
    chromium = chromium or find_chromium() or ""
    html_root = Path(html_root)
    out = Path(out) if out is not None else html_root / PDF_NAME
    entries = list(entries) if entries is not None else reading_order(html_root)
    if not entries:
        raise PdfError("no page to print")
    title = book_title or entries[0].title
    with tempfile.TemporaryDirectory(prefix="rnncourse-pdf-") as tmp, serve(html_root) as base:
        tmpdir = Path(tmp)
        part_paths = [tmpdir / f"{i:03d}.pdf" for i in range(len(entries))]
        jobs = [(base + e.path, str(p)) for e, p in zip(entries, part_paths, strict=True)]
        headings = print_all(chromium, jobs, workers or default_workers())
        parts = [PdfReader(p) for p in part_paths]
        retitled = sum(retitle_outline(part, headings[str(path)])
                       for path, part in zip(part_paths, parts, strict=True))
        sizes = [len(p.pages) for p in parts]
        toc_path, numbers_path = tmpdir / "toc.pdf", tmpdir / "numbers.pdf"
        with browser_context(chromium) as context:
            toc_pages = 1
            for _ in range(3):  # the contents' own length shifts every number after it
                firsts = [toc_pages + 1 + sum(sizes[:i]) for i in range(len(entries))]
                _print_html(context, _toc_html(title, entries, firsts), toc_path)
                printed = len(PdfReader(toc_path).pages)
                if printed == toc_pages:
                    break
                toc_pages = printed
            total = toc_pages + sum(sizes)
            _print_html(context, _numbers_html(total), numbers_path,
                        display_header_footer=True, header_template="<span></span>",
                        footer_template=FOOTER)
        writer = PdfWriter()
        writer.append(PdfReader(toc_path), outline_item="Contents", import_outline=False)
        for part in parts:
            writer.append(part, import_outline=True)
        numbers = PdfReader(numbers_path)
        if len(numbers.pages) < total:
            raise PdfError(f"page numbers: {len(numbers.pages)} pages printed, {total} needed")
        for page, number in zip(writer.pages, numbers.pages, strict=False):
            page.merge_page(number)
        first_page_of = {e.path: f - 1 for e, f in zip(entries, firsts, strict=True)}
        links = relink(writer, base, first_page_of)
        writer.add_metadata({"/Title": title, "/Creator": "rnncourse.sphinx.pdf (chromium)",
                             PAGES_KEY: json.dumps([e.path for e in entries])})
        writer.page_mode = "/UseOutlines"
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".pdf.part")
        with partial.open("wb") as handle:
            writer.write(handle)
        partial.replace(out)
    return {"path": str(out), "pages": total, "entries": len(entries), "links": links,
            "outlines_retitled": retitled,
            "seconds": time.perf_counter() - start, "bytes": out.stat().st_size}


# --- the Sphinx extension ----------------------------------------------------------------------


def _require_pdf() -> bool:
    """With ``RNNCOURSE_REQUIRE_BROWSER=1`` (``.ci/run``, ``make pdf``) no PDF is an error.

    Elsewhere (a learner's ``make book``, a hosted runner without Debian's chromium) the build
    goes on without it and the landing page says how to get one.
    """
    return os.environ.get("RNNCOURSE_REQUIRE_BROWSER") == "1"


def pdf_is_current(html_root: Path, pdf: Path, entries: Sequence[Entry] | None = None) -> bool:
    """True when ``pdf`` holds the pages in reading order and is newer than each, and images."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not pdf.is_file():
        return False
    try:
        entries = list(entries or reading_order(html_root))
        printed = (PdfReader(pdf).metadata or {}).get(PAGES_KEY)
    except (PdfError, PdfReadError, OSError):
        return False
    if printed is None or json.loads(printed) != [e.path for e in entries]:
        return False
    sources = [html_root / e.path for e in entries]
    images = html_root / "_images"
    sources += [p for p in images.iterdir() if p.is_file()] if images.is_dir() else []
    built = pdf.stat().st_mtime
    return all(p.is_file() and p.stat().st_mtime < built for p in sources)


def sphinx_reading_order(app: Any) -> list[Entry]:
    """The pages in table-of-contents order from Sphinx's environment, with numbered titles."""
    env = app.env

    def walk(doc: str) -> Iterator[str]:
        yield doc
        for child in env.toctree_includes.get(doc, []):
            yield from walk(child)

    entries = []
    for doc in dict.fromkeys(walk(app.config.root_doc)):
        title = env.titles[doc].astext() if doc in env.titles else doc
        number = env.toc_secnumbers.get(doc, {}).get("")
        if number:
            title = ".".join(map(str, number)) + ". " + title
        entries.append(Entry(app.builder.get_target_uri(doc), " ".join(title.split())))
    return entries


def write_entries(entries: Sequence[Entry], path: Path) -> None:
    """Save a reading order for ``--pages`` (JSON: a list of ``{path, title}``)."""
    path.write_text(json.dumps([e.__dict__ for e in entries], indent=1), encoding="utf-8")


def read_entries(path: Path) -> list[Entry]:
    """Load a reading order written by :func:`write_entries`."""
    return [Entry(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


def will_print(app: Any) -> bool:
    """Whether this build ends with a PDF (the link on the landing page depends on it)."""
    return bool(app.config.rnncourse_pdf) and (_require_pdf() or not missing_tools())


def print_after_build(app: Any, exception: Exception | None) -> None:
    """Print the PDF once the HTML (and MathJax, copied at priority 500) is in place."""
    from sphinx.util import logging as sphinx_logging

    logger = sphinx_logging.getLogger(__name__)
    if exception is not None or app.builder.format != "html" or not app.config.rnncourse_pdf:
        return
    missing = missing_tools()
    if missing:
        message = "the book's PDF was not printed; missing: " + ", ".join(missing)
        if _require_pdf():
            raise PdfError(message)
        logger.info(message)
        return
    outdir = Path(app.outdir)
    entries = sphinx_reading_order(app)
    if pdf_is_current(outdir, outdir / PDF_NAME, entries):
        logger.info("%s is newer than every page: not printed again", PDF_NAME)
        return
    logger.info("printing the book to %s ...", PDF_NAME)
    title = app.config.html_title or ""  # jupyter-book's title (Sphinx's project is unset)
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages.json"
        write_entries(entries, pages)
        # a separate process: Playwright's sync API must not run in a thread with an event loop
        result = subprocess.run(
            [sys.executable, "-m", "rnncourse.sphinx.pdf", str(outdir), "--pages", str(pages),
             *(["--title", title] if title else [])],
            capture_output=True, text=True, check=False,
        )
    if result.returncode:
        raise PdfError("printing the PDF failed:\n" + result.stdout + result.stderr)
    logger.info(result.stdout.strip())


class BookPdfDirective(SphinxDirective):
    """``{book-pdf}``: a link to the book's PDF, or, when this build prints none, how to get it."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        env = self.env
        env.rnncourse_pdf_docs = getattr(env, "rnncourse_pdf_docs", set()) | {env.docname}
        available = will_print(env.app)
        env.rnncourse_pdf_available = available
        para = nodes.paragraph(classes=["book-pdf"])
        if available:
            href = "../" * env.docname.count("/") + PDF_NAME
            para += nodes.raw(
                "", f'<a class="reference external" href="{href}" download>'
                "Download the whole book as one PDF</a>", format="html",
            )
            para += nodes.Text(
                " (printed from these pages: a table of contents with page numbers, bookmarks, "
                "every formula and figure)."
            )
        else:
            para += nodes.Text("This build has no PDF of the book: with Debian's chromium "
                               "installed, ")
            para += nodes.literal(text="make pdf")
            para += nodes.Text(" prints one.")
        return [para]


def _outdated(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]
              ) -> list[str]:
    """Re-read the pages with the link when printing became possible or impossible."""
    docs = getattr(env, "rnncourse_pdf_docs", set())
    if docs and getattr(env, "rnncourse_pdf_available", None) != will_print(app):
        return sorted(docs - removed)
    return []


def _purge(app: Any, env: Any, docname: str) -> None:
    getattr(env, "rnncourse_pdf_docs", set()).discard(docname)


def _merge(app: Any, env: Any, docnames: set[str], other: Any) -> None:
    env.rnncourse_pdf_docs = getattr(env, "rnncourse_pdf_docs", set()) | (
        getattr(other, "rnncourse_pdf_docs", set()) & docnames)


def setup(app: Any) -> dict[str, object]:
    app.add_config_value("rnncourse_pdf", True, "html", bool)
    app.add_directive("book-pdf", BookPdfDirective)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", print_after_build, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built book (e.g. _build/html)")
    parser.add_argument("-o", "--output", type=Path, help=f"default: <html>/{PDF_NAME}")
    parser.add_argument("--title", help="title of the PDF (default: the root page's)")
    parser.add_argument("--workers", type=int, help="browsers at once (default: one a core)")
    parser.add_argument("--pages", type=Path,
                        help="reading order as JSON [{path, title}] (default: rel=next links)")
    args = parser.parse_args(argv)
    try:
        entries = read_entries(args.pages) if args.pages else None
        done = build_pdf(args.html, args.output, book_title=args.title, workers=args.workers,
                         entries=entries)
    except PdfError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{done['path']}: {done['pages']} pages from {done['entries']} pages of the book, "
          f"{done['bytes'] / 2**20:.1f} MiB, {done['seconds']:.0f} s; links: {done['links']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
