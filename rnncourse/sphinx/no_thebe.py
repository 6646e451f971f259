"""Drop sphinx-thebe's scripts from every page: the book runs no live kernels.

jupyter-book 1 always loads ``sphinx_thebe``, even with ``launch_buttons.thebe: false``. Its
inline configuration script is added twice with Sphinx 7.4, so each page logs "Identifier
'THEBE_JS_URL' has already been declared", and it names a CDN URL for a feature the offline
book does not offer. Launch buttons for Binder and Colab are unaffected.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def is_thebe_script(script: Any) -> bool:
    """True for sphinx-thebe's file or its inline configuration."""
    filename = getattr(script, "filename", None) or str(script)
    body = getattr(script, "attributes", {}).get("body", "") or ""
    return "sphinx-thebe" in filename or "THEBE_JS_URL" in body


def drop_thebe_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts if not is_thebe_script(s)]


def setup(app: Sphinx) -> dict[str, object]:
    app.connect("html-page-context", drop_thebe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
