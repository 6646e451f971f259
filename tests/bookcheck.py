"""Check a built HTML book in a real browser (Debian's chromium driven by Playwright).

The checks a reader would notice: a request that leaves the machine, a formula MathJax could
not typeset, an image that does not load, a console error, a link that does not answer 200,
and what the axe-core accessibility engine (``axe-playwright-python``, which bundles it) finds:
missing labels and alt text, low contrast, heading order, ARIA misuse.
The tests use :class:`BookChecker` on the real ``_build/html`` and on small broken fixtures,
to show that each check can fail.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-extension"}
#: axe-core impacts that fail the book (axe also reports "moderate" and "minor")
BLOCKING_IMPACTS = ("critical", "serious")
#: axe.run options: violations only, plus label-content-name-mismatch (WCAG 2.5.3), which
#: axe-core 4.12 marks experimental and 4.14 runs by default. No preload: axe would fetch the
#: stylesheets again and resolve the theme's ``@import "../basic.css"`` against the page
#: instead of the stylesheet (a 404 in the console); only css-orientation-lock needs it.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "preload": False,
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}
#: true once every jupyterquiz and jupytercards container has been filled by its script
WIDGETS_DRAWN = (
    "() => Array.from(document.querySelectorAll('[data-numquestions], .flip-container'))"
    ".every(e => e.children.length > 0)"
)
# A TeX error renders as <mjx-merror>; an undefined macro (MathJax's "noundefined" package)
# renders as red text, visible in the assistive MathML as <mtext mathcolor="red">.
MATH_ERROR_SELECTOR = "mjx-merror, mjx-assistive-mml mtext[mathcolor='red']"


def find_chromium() -> str | None:
    """Return the path of Debian's chromium, or ``None`` when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files plus single byte-range requests (HTTP 206), quietly.

    Browsers read the last page of an Ogg file to learn its duration; without range support
    (plain ``http.server``) chromium reports ``duration == Infinity``. Real hosts (GitHub
    Pages, nginx) answer ranges, so the test server must too.
    """

    _remaining: int | None = None

    def send_head(self):  # type: ignore[override]
        self._remaining = None
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        path = self.translate_path(self.path)
        if not match or match.groups() == ("", "") or not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start >= size:
            self.send_error(416)
            return None
        handle = open(path, "rb")  # noqa: SIM115 (closed by the base class after copyfile)
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        remaining = self._remaining
        if remaining is None:
            super().copyfile(source, outputfile)
            return
        while remaining > 0:
            chunk = source.read(min(65536, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 (a free port) and yield the base URL."""
    handler = functools.partial(RangeRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Violation:
    """One axe-core rule a page breaks, with the elements that break it."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:3]) + (" ..." if len(self.targets) > 3 else "")
        return f"{self.rule} ({self.impact}, {len(self.targets)} elements): {self.help}: {shown}"


def axe_violations(page) -> list[Violation]:
    """Run axe-core in ``page`` (a Playwright page) and return its violations."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, options=AXE_OPTIONS).response
    return [
        Violation(
            rule=v["id"], impact=v.get("impact") or "unknown", help=v["help"],
            targets=tuple(" ".join(map(str, n["target"])) for n in v["nodes"]),
        )
        for v in response["violations"]
    ]


@dataclass
class PageReport:
    """What one visit of one page found."""

    url: str
    off_host_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    math_rendered: int = 0
    math_expected: bool = False
    math_untypeset: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    links: set[str] = field(default_factory=set)
    accessibility: list[Violation] = field(default_factory=list)

    def blocking_violations(self) -> list[Violation]:
        """axe-core's critical and serious findings on this page."""
        return [v for v in self.accessibility if v.impact in BLOCKING_IMPACTS]

    def problems(self) -> list[str]:
        """Human-readable problems; empty when the page is clean."""
        out = [f"off-host request: {u}" for u in self.off_host_requests]
        out += [f"console error: {m}" for m in self.console_errors]
        out += [f"MathJax error: {m}" for m in self.math_errors]
        out += [f"formula left as raw TeX: {m}" for m in self.math_untypeset]
        if self.math_expected and self.math_rendered == 0:
            out.append("page has math but MathJax rendered nothing")
        out += [f"image did not load: {s}" for s in self.broken_images]
        out += [f"accessibility: {v}" for v in self.blocking_violations()]
        return [f"{self.url}: {p}" for p in out]


def is_local(url: str) -> bool:
    """True for URLs that stay on this machine (loopback hosts, data: and friends)."""
    parsed = urlparse(url)
    if parsed.scheme in LOCAL_SCHEMES:
        return True
    return parsed.hostname in LOCAL_HOSTS


class BookChecker:
    """Visit pages of a served book with one headless chromium and report problems."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context()
        self.off_host: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route, request) -> None:
        if is_local(request.url):
            route.continue_()
        else:  # record it and never let it leave the machine
            self.off_host.append(request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def visit(
        self, path: str, *, math_timeout_ms: int = 15000, accessibility: bool = True
    ) -> PageReport:
        """Open one page, wait for MathJax when the page has math, and collect problems.

        With ``accessibility``, axe-core runs once the page has settled (formulas typeset,
        quizzes and flashcards drawn by their scripts).
        """
        url = urljoin(self.base_url, path)
        report = PageReport(url=url)
        page = self.context.new_page()
        page.on(
            "console",
            lambda msg: report.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: report.console_errors.append(str(exc)))
        before = len(self.off_host)
        page.goto(url, wait_until="load")
        report.math_expected = page.locator(".math").count() > 0
        if report.math_expected:
            with contextlib.suppress(Exception):
                page.wait_for_selector("mjx-container", timeout=math_timeout_ms)
            page.wait_for_timeout(300)  # let MathJax finish the remaining formulas
        report.math_rendered = page.locator("mjx-container").count()
        report.math_untypeset = page.eval_on_selector_all(
            ".math", "els => els.filter(e => !e.querySelector('mjx-container'))"
            ".map(e => e.textContent.slice(0, 80))",
        )
        report.math_errors = page.eval_on_selector_all(
            MATH_ERROR_SELECTOR,
            "els => els.map(e => e.getAttribute('data-mjx-error') || e.textContent)",
        )
        report.broken_images = page.eval_on_selector_all(
            "img",
            "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)",
        )
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        report.links = {urldefrag(h)[0] for h in hrefs if h.startswith(self.base_url)}
        if accessibility:
            with contextlib.suppress(Exception):  # quizzes and flashcards draw themselves
                page.wait_for_function(WIDGETS_DRAWN, timeout=20000)
            report.accessibility = axe_violations(page)
        page.close()
        report.off_host_requests = self.off_host[before:]
        return report


def check_pages(base_url: str, pages: list[str], *, workers: int = 2) -> dict[str, PageReport]:
    """Visit ``pages`` with ``workers`` browsers at once (threads, one chromium each).

    Each thread starts its own Playwright (its sync API is not shared between threads); the
    work is done in the browsers, so two of them use both cores of a CI machine. Reports come
    back in the order of ``pages``.
    """
    from concurrent.futures import ThreadPoolExecutor

    def work(share: list[str]) -> dict[str, PageReport]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=find_chromium(), headless=True, args=CHROMIUM_FLAGS
            )
            checker = BookChecker(browser, base_url)
            try:
                return {page: checker.visit(page) for page in share}
            finally:
                checker.close()
                browser.close()

    shares = [s for s in (pages[i::max(1, workers)] for i in range(max(1, workers))) if s]
    reports: dict[str, PageReport] = {}
    with ThreadPoolExecutor(max_workers=max(1, len(shares))) as pool:
        for future in [pool.submit(work, share) for share in shares]:
            reports.update(future.result())
    return {page: reports[page] for page in pages}


def browser_workers() -> int:
    """Browsers to run at once: one a core, at most two (each also uses helper threads)."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


def broken_links(links: set[str]) -> list[str]:
    """GET every link and return those that do not answer 200, with the status."""
    bad = []
    for link in sorted(links):
        try:
            with urllib.request.urlopen(link, timeout=10) as response:
                if response.status != 200:
                    bad.append(f"{link} -> {response.status}")
        except urllib.error.HTTPError as err:
            bad.append(f"{link} -> {err.code}")
    return bad


def is_redirect(path: Path) -> bool:
    """True for jupyter-book's stub pages that only redirect (``index.html`` to the root)."""
    head = path.read_text(encoding="utf-8", errors="replace")[:2000].lower()
    return 'http-equiv="refresh"' in head


def html_pages(root: Path) -> list[str]:
    """Relative paths of the HTML pages of a built book (sources and assets excluded)."""
    skip = {"_static", "_sources", "_images", "_downloads", ".doctrees", ".jupyter_cache"}
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if skip.intersection(rel.parts) or is_redirect(path):
            continue
        pages.append(rel.as_posix())
    return pages


def require_browser() -> bool:
    """In CI a missing browser is a failure, not a skip."""
    return os.environ.get("RNNCOURSE_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"


def toc_files(toc: dict) -> list[str]:
    """Every file a jupyter-book ``_toc.yml`` names (root, chapters, nested sections)."""
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part["chapters"])
    return files
