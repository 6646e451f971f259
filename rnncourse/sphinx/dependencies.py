"""Pages rebuilt when what they read changes, not only when their own text changes.

An incremental Jupyter Book 1 build misses two kinds of change:

1. **Files a notebook's code reads.** myst-nb's execution cache keys on a notebook's code
   cells, and Sphinx re-reads a page when its source changes. A page whose code reads a file
   (chapter 4 quotes ``benchmarks/results.json``) keeps its old outputs when only the file
   changes. The Sphinx setting ``rnncourse_execution_inputs`` maps such pages to what they read::

       rnncourse_execution_inputs:
         chapters/04-lstm: ["benchmarks/results.json#adding_problem.T100"]

   Paths are relative to the book's root; ``#a.b`` restricts a JSON file to one entry, so that
   other benchmarks writing the same file do not re-execute the page. When the content differs
   from the one the page was last executed with, the page's cache record is dropped and the
   page is re-read, so it executes again. The fingerprints live beside the execution cache
   (``rnncourse-inputs.json``), so a cache kept from an older build is caught too.

2. **Glue pasted from another page** (``{glue:text}`other.md::key```): myst-nb fills it in
   when the page is written, from the other page's glue file, but Sphinx rewrites the page
   only when its own source changes. Here every page that pastes from a page read in this
   build is written again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

STAMPS = "rnncourse-inputs.json"


def fingerprint(root: Path, inputs: Iterable[str]) -> str:
    """sha256 over the content of ``inputs`` (``path`` or ``path#json.key.path``, relative
    to ``root``); a missing file or key counts as content of its own."""
    digest = hashlib.sha256()
    for spec in sorted(inputs):
        path, _, key = spec.partition("#")
        file = root / path
        digest.update(spec.encode() + b"\0")
        if not file.is_file():
            digest.update(b"<missing file>")
            continue
        if not key:
            digest.update(file.read_bytes())
            continue
        value: Any = json.loads(file.read_text("utf-8"))
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        digest.update(json.dumps(value, sort_keys=True).encode())
    return digest.hexdigest()


def _stamp_file(app: Sphinx) -> tuple[Path, Path | None]:
    """Where the fingerprints live, and the execution cache (``None`` unless mode "cache")."""
    config = app.env.mystnb_config  # type: ignore[attr-defined]
    if config.execution_mode == "cache":
        cache = Path(config.execution_cache_path)
        return cache / STAMPS, cache
    return Path(app.doctreedir) / STAMPS, None


def drop_cache_records(cache_path: Path, source: Path) -> int:
    """Remove the execution-cache records of the notebook at ``source``; return how many."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.db import DB_NAME

    if not (cache_path / DB_NAME).is_file():
        return 0

    cache = get_cache(cache_path)
    dropped = 0
    for record in cache.list_cache_records():
        if record.uri and Path(record.uri).resolve() == source.resolve():
            cache.remove_cache(record.pk)
            dropped += 1
    return dropped


def outdated_by_inputs(app: Sphinx, env: BuildEnvironment, added: set[str],
                       changed: set[str], removed: set[str]) -> list[str]:
    """``env-get-outdated``: pages whose inputs changed since they were last executed."""
    inputs: dict[str, list[str]] = app.config.rnncourse_execution_inputs
    if not inputs:
        return []
    stamp_file, cache = _stamp_file(app)
    stamps = json.loads(stamp_file.read_text()) if stamp_file.is_file() else {}
    root = Path(app.srcdir)
    outdated = []
    for docname, files in sorted(inputs.items()):
        if docname not in env.found_docs:
            logger.warning(f"rnncourse_execution_inputs names {docname!r}, which is not a page "
                           "of the book")
            continue
        now = fingerprint(root, files)
        if stamps.get(docname) == now:
            continue
        if cache is not None:
            dropped = drop_cache_records(cache, Path(env.doc2path(docname)))
            if dropped:
                logger.info(f"{docname}: {', '.join(files)} changed; executing it again")
        stamps[docname] = now
        if docname not in added | removed:
            outdated.append(docname)
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(json.dumps(stamps, indent=1, sort_keys=True) + "\n")
    return outdated


# --- pages that paste glue from other pages -------------------------------------------------


def _glue_sources(env: BuildEnvironment) -> dict[str, set[str]]:
    if not hasattr(env, "rnncourse_glue_sources"):
        env.rnncourse_glue_sources = {}  # type: ignore[attr-defined]
    return env.rnncourse_glue_sources  # type: ignore[attr-defined]


def note_glue_sources(app: Sphinx, doctree: nodes.document) -> None:
    """``doctree-read``: remember which pages this page pastes glue from."""
    from myst_nb.ext.glue.utils import PendingGlueReference

    refdocs = {node.refdoc for node in doctree.findall(PendingGlueReference)}
    if refdocs:
        _glue_sources(app.env)[app.env.docname] = refdocs


def purge_glue_sources(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _glue_sources(env).pop(docname, None)


def merge_glue_sources(app: Sphinx, env: BuildEnvironment, docnames: set[str],
                       other: BuildEnvironment) -> None:
    for docname in docnames:
        if docname in _glue_sources(other):
            _glue_sources(env)[docname] = _glue_sources(other)[docname]


def remember_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """``env-before-read-docs``: the pages read (and possibly executed) in this build."""
    app.rnncourse_read = set(docnames)  # type: ignore[attr-defined]


def glue_dependents(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-get-updated``: pages that paste glue from a page read in this build."""
    read: set[str] = getattr(app, "rnncourse_read", set())
    return sorted(doc for doc, sources in _glue_sources(env).items()
                  if sources & read and doc not in read and doc in env.all_docs)


def setup(app: Sphinx) -> dict[str, object]:
    app.add_config_value("rnncourse_execution_inputs", {}, "env", types=(dict,))
    # after myst-nb's own handlers (priority 500), which set up its configuration
    app.connect("env-get-outdated", outdated_by_inputs, priority=600)
    app.connect("doctree-read", note_glue_sources)
    app.connect("env-purge-doc", purge_glue_sources)
    app.connect("env-merge-info", merge_glue_sources)
    app.connect("env-before-read-docs", remember_read)
    app.connect("env-get-updated", glue_dependents)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
