"""Launch buttons (Binder, Colab) only on the pages that are Jupyter notebooks: the exercises.

sphinx-book-theme adds the launch menu to every page myst-nb executes, the chapters' MyST
Markdown notebooks included. Its Colab link then names the ``.md`` file, which Colab cannot
open, and its Binder link opens the chapter as a Markdown file. The exercise notebooks
(``.ipynb``) open in both, and their first code cell installs the course package where it is
missing (:mod:`rnncourse.launch`); a chapter is read in the book, or run from the ``.ipynb``
its download button gives.

Both links point at the repository of ``_config.yml`` (``repository.url``, ``branch``): the
public learner edition, which holds ``exercises/`` and the Binder environment (``binder/``).
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

LAUNCH_GROUP = "launch-buttons"


def keeps_launch_buttons(source_suffix: str) -> bool:
    """True for a page whose source is a notebook file (``.ipynb``)."""
    return source_suffix == ".ipynb"


def drop_launch_buttons(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Remove the launch menu from a page whose source is not an ``.ipynb`` file."""
    buttons = context.get("header_buttons")
    if not buttons or keeps_launch_buttons(context.get("page_source_suffix", "")):
        return
    context["header_buttons"] = [b for b in buttons if b.get("label") != LAUNCH_GROUP]


def setup(app: Sphinx) -> dict[str, object]:
    # sphinx-book-theme adds the menu at priority 501; this runs after it
    app.connect("html-page-context", drop_launch_buttons, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
