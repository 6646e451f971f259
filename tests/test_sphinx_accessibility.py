"""The accessibility extension's markup fixes (the browser test runs axe-core on the result)."""

from __future__ import annotations

from markupsafe import Markup

from rnncourse.sphinx import accessibility as a11y

SIDEBAR = (
    '<ul><li class="toctree-l1 has-children"><a class="reference internal" '
    'href="exercises.html">Exercises</a><details><summary><span class="toctree-toggle" '
    'role="presentation"><i class="fa-solid fa-chevron-down"></i></span></summary>'
    '<ul><li><a href="a.html">A</a></li></ul></details></li>'
    '<li><details><summary><p class="caption">Chapters</p></summary></details></li></ul>'
)


def test_an_icon_only_summary_is_named_after_its_entry() -> None:
    fixed = a11y.name_summaries(SIDEBAR)
    assert '<summary aria-label="Show or hide the pages of Exercises">' in fixed
    assert "<summary><p class=\"caption\">Chapters</p></summary>" in fixed  # has text already
    assert fixed.count("aria-label") == 1
    assert a11y.name_summaries("<p>no summary</p>") == "<p>no summary</p>"


def test_a_summary_without_a_link_still_gets_a_name() -> None:
    fixed = a11y.name_summaries("<details><summary><i></i></summary></details>")
    assert 'aria-label="Show or hide"' in fixed


def test_bibliography_entries_become_list_items() -> None:
    body = '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">'
    assert a11y.fix_citation_roles(body) == body.replace("doc-biblioentry", "listitem")


def test_the_theme_sidebar_generator_is_wrapped() -> None:
    context = {"generate_toctree_html": lambda kind, **kw: Markup(SIDEBAR), "body": ""}
    a11y.fix_page(None, "intro", "page.html", context, None)  # type: ignore[arg-type]
    html = context["generate_toctree_html"]("sidebar", maxdepth=4)
    assert isinstance(html, Markup) and 'aria-label="Show or hide the pages of' in html


def test_static_files_and_templates_ship_with_the_package() -> None:
    assert (a11y.STATIC / a11y.CSS_FILE).is_file() and (a11y.STATIC / a11y.JS_FILE).is_file()
    for name in ("search-button-field.html", "theme-switcher.html"):
        template = (a11y.TEMPLATES / name).read_text(encoding="utf-8")
        assert "<button" in template
    assert 'aria-label="{{ _(\'Search\') }}"' not in (
        a11y.TEMPLATES / "search-button-field.html").read_text(encoding="utf-8")
