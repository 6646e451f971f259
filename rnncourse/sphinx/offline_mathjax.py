"""Serve MathJax from the built book instead of a CDN.

Sphinx 7.4 loads MathJax 3 from jsDelivr by default. This extension copies the ES5 build
of MathJax (shipped on PyPI by ``django-static-mathjax``) into ``<outdir>/_static/mathjax``
after the build, and ``_config.yml`` points ``mathjax_path`` at ``mathjax/tex-mml-chtml.js``
(relative paths are resolved inside ``_static``). The files are copied into the *output*,
never into the book's source ``_static/``, which jupyter-book would inject into every page.

MathJax is also loaded synchronously rather than deferred. The flashcards and quizzes
(jupytercards, jupyterquiz) run inline scripts that read ``MathJax.version`` 500 ms after
they start; on a slow machine a deferred MathJax was not loaded yet and they threw
"Cannot read properties of undefined", or, with MathJax half started, fetched it again from
a CDN. Loaded from the book itself, MathJax costs no network time.
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.builders.html._assets import _JavaScript
from sphinx.errors import ExtensionError

#: The parts of MathJax's ES5 tree that the ``tex-mml-chtml`` component loads.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output", "ui", "a11y", "adaptors", "sre")


def mathjax_source() -> Path:
    """Return the installed MathJax ES5 directory."""
    source = Path(str(files("mathjax"))) / "static" / "mathjax" / "es5"
    if not (source / "tex-mml-chtml.js").is_file():
        raise ExtensionError(
            "MathJax was not found; install it with: pip install django-static-mathjax"
        )
    return source


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into the HTML output once the build succeeded."""
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target / part)


def is_mathjax(script: Any, mathjax_path: str) -> bool:
    """True for the script tag that loads MathJax itself."""
    return (getattr(script, "filename", None) or "").endswith(mathjax_path)


def load_mathjax_synchronously(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Drop ``defer``/``async`` from MathJax's script tag on this page."""
    scripts = context.get("script_files") or []
    for i, script in enumerate(scripts):
        if is_mathjax(script, app.config.mathjax_path):
            attributes = {k: v for k, v in script.attributes.items() if k not in ("defer", "async")}
            scripts[i] = _JavaScript(script.filename, priority=script.priority, **attributes)


def setup(app: Sphinx) -> dict[str, object]:
    mathjax_source()  # fail early, with a clear message, if MathJax is missing
    app.connect("build-finished", copy_mathjax)
    # after sphinx.ext.mathjax has added its script (priority 500)
    app.connect("html-page-context", load_mathjax_synchronously, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
