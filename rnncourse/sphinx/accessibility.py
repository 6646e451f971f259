"""Markup fixes that make every page of the book pass axe-core (no serious or critical issue).

What axe-core reported on the book built with jupyter-book 1.0.4 (sphinx-book-theme 1.3,
pydata-sphinx-theme 0.17.1, jupyterquiz 2.9.6, jupytercards 3.2) and where each is fixed:

- ``summary-name``: the sidebar's expand/collapse ``<summary>`` holds only a chevron icon.
  :func:`name_summaries` gives it an ``aria-label`` naming the pages it shows or hides.
- ``label-content-name-mismatch``: the search button is labelled "Search" but shows
  "Search Ctrl+K"; the colour-mode button's icons carry titles that become text inside it.
  ``templates/`` overrides those two theme components.
- ``aria-required-children``: docutils marks each bibliography entry with the deprecated
  DPUB-ARIA role ``doc-biblioentry`` inside a ``role="list"``; :func:`fix_citation_roles`
  makes them ``listitem``.
- ``color-contrast`` (quiz and flashcard colours) and ``label`` (the quiz's answer field has a
  label that is not tied to it): the widgets are drawn by scripts in the browser, so
  ``static/rnncourse-a11y.css`` and ``static/rnncourse-a11y.js`` fix them on every page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup
from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.config import Config

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
CSS_FILE = "rnncourse-a11y.css"
JS_FILE = "rnncourse-a11y.js"


def name_summaries(html: str) -> str:
    """Give every ``<summary>`` without text an ``aria-label`` from the link beside it.

    pydata-sphinx-theme draws ``<li><a>Exercises</a><details><summary><span
    class="toctree-toggle">`` (an icon only) for a sidebar entry with sub-pages. A screen
    reader announces such a summary as an unnamed button.
    """
    if "<summary" not in html:
        return html
    soup = BeautifulSoup(html, "html.parser")
    changed = False
    for summary in soup.find_all("summary"):
        if summary.get_text(strip=True) or summary.has_attr("aria-label"):
            continue
        item = summary.find_parent("li")
        link = item.find("a", recursive=False) if item is not None else None
        title = link.get_text(" ", strip=True) if link is not None else ""
        summary["aria-label"] = f"Show or hide the pages of {title}" if title else "Show or hide"
        changed = True
    return str(soup) if changed else html


def fix_citation_roles(html: str) -> str:
    """Replace the deprecated ``role="doc-biblioentry"`` by ``listitem`` (its list's child)."""
    return html.replace('role="doc-biblioentry"', 'role="listitem"')


def _named_summaries(generate: Callable[..., Any]) -> Callable[..., Markup]:
    """Wrap the theme's ``generate_toctree_html`` so its output has named summaries."""

    def wrapper(*args: Any, **kwargs: Any) -> Markup:
        return Markup(name_summaries(str(generate(*args, **kwargs))))

    return wrapper


def fix_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Patch the page body and the sidebar generator the theme put into the context."""
    if "body" in context:
        context["body"] = fix_citation_roles(context["body"])
    generate = context.get("generate_toctree_html")
    if generate is not None:
        context["generate_toctree_html"] = _named_summaries(generate)


def add_paths(app: Sphinx, config: Config) -> None:
    """Put the template overrides first and the CSS/JS into the HTML output's ``_static``."""
    config.templates_path.insert(0, str(TEMPLATES))
    config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("config-inited", add_paths)
    # after pydata-sphinx-theme (priority 500) has put generate_toctree_html in the context
    app.connect("html-page-context", fix_page, priority=900)
    app.add_css_file(CSS_FILE)
    app.add_js_file(JS_FILE)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
