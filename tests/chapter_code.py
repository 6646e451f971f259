"""Run the code a chapter shows on its page, outside the book build, so that tests can check it.

A chapter's central algorithm lives in its MyST source (``chapters/*.md``), not in
``rnncourse``. :func:`code_cells` reads the ``{code-cell}`` blocks of a chapter (without their
metadata), :func:`cell_defining` finds the cell that defines a function or class, and
:func:`load_definitions` executes such cells in a fresh namespace and returns it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"

_OPEN = re.compile(r"^```\{code-cell\}")


def code_cells(chapter: str | Path) -> list[str]:
    """Source of every code cell of a MyST chapter, in page order, metadata removed."""
    path = Path(chapter) if Path(chapter).is_absolute() else CHAPTERS / chapter
    lines = path.read_text(encoding="utf-8").splitlines()
    cells: list[str] = []
    i = 0
    while i < len(lines):
        if not _OPEN.match(lines[i]):
            i += 1
            continue
        i += 1
        if i < len(lines) and lines[i].strip() == "---":  # YAML metadata block
            i += 1
            while lines[i].strip() != "---":
                i += 1
            i += 1
        while i < len(lines) and lines[i].startswith(":") and ":" in lines[i][1:]:
            i += 1  # short metadata such as ":tags: [remove-cell]"
        body = []
        while lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        cells.append("\n".join(body).strip("\n"))
        i += 1
    return cells


def cell_defining(chapter: str | Path, name: str) -> str:
    """The first code cell that defines ``name`` (``def name(`` or ``class name(``)."""
    pattern = re.compile(rf"^(?:def|class) {re.escape(name)}\b", re.MULTILINE)
    for cell in code_cells(chapter):
        if pattern.search(cell):
            return cell
    raise LookupError(f"no code cell of {chapter} defines {name!r}")


def load_definitions(chapter: str | Path, names: list[str], preamble: str = "") -> dict[str, Any]:
    """Execute ``preamble`` and then the cells defining ``names`` (in that order, each once).

    Returns:
        dict: the namespace, holding every name the cells defined.
    """
    namespace: dict[str, Any] = {"__name__": f"chapter_{Path(chapter).stem.replace('-', '_')}"}
    exec(compile(preamble, "<preamble>", "exec"), namespace)
    done: list[str] = []
    for name in names:
        cell = cell_defining(chapter, name)
        if cell not in done:
            exec(compile(cell, f"<{chapter}: {name}>", "exec"), namespace)
            done.append(cell)
    return namespace
