"""The ``{dialogue}`` directive, checked with tiny real Sphinx builds of a fixture project.

No espeak-ng is needed here: the "with audio" cases write a real Ogg file with soundfile and a
manifest entry carrying the transcript's hash, exactly as ``rnncourse audio`` would.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from rnncourse.audio import (
    AUDIO_DIR,
    DIALOGUE_DIR,
    SAMPLE_RATE,
    AudioEntry,
    encode,
    load_dialogue,
    voices_sha256,
    write_manifest,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "dialogues"

CONF = 'extensions = ["myst_parser", "rnncourse.sphinx.dialogue"]\n'


def make_project(tmp_path: Path, names: list[str], dialogues: tuple[str, ...] = ()) -> Path:
    """A Sphinx project whose index page holds one ``{dialogue}`` per name in ``names``."""
    src = tmp_path / "src"
    (src / DIALOGUE_DIR).mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    blocks = "".join(f"```{{dialogue}} {name}\n```\n\n" for name in names)
    (src / "index.md").write_text(f"# Dialogue test\n\n{blocks}")
    for name in dialogues:
        shutil.copy(FIXTURES / f"{name}.yml", src / DIALOGUE_DIR / f"{name}.yml")
    return src


def build(src: Path, builder: str = "html", fresh: bool = True) -> tuple[str, str, Path]:
    """Build ``src``; return (index output text, warnings, output directory)."""
    out = src.parent / f"out-{builder}"
    warnings = io.StringIO()
    with docutils_namespace():
        app = Sphinx(
            str(src), str(src), str(out), str(src.parent / f"doctrees-{builder}"), builder,
            status=None, warning=warnings, freshenv=fresh,
        )
        app.build()
    suffix = {"html": ".html", "text": ".txt"}[builder]
    return (out / f"index{suffix}").read_text(encoding="utf-8"), warnings.getvalue(), out


def add_audio(src: Path, name: str, seconds: float = 1.5) -> Path:
    """Write ``chapters/audio/<name>.ogg`` (a quiet tone) and a manifest entry matching it."""
    audio_dir = src / AUDIO_DIR
    audio_dir.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    path = audio_dir / f"{name}.ogg"
    codec = encode((0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), path)
    dialogue = load_dialogue(src / DIALOGUE_DIR / f"{name}.yml")
    entry = AudioEntry(
        file=path.name, transcript_sha256=dialogue.sha256(), voices_sha256=voices_sha256(),
        duration_s=seconds, size_bytes=path.stat().st_size, words=dialogue.word_count(),
        turns=len(dialogue.turns), codec=codec,
    )
    write_manifest(audio_dir, {name: entry}, engine="test tone")
    return path


def visible_text(html: str) -> str:
    """``html`` without tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" )", ")")


def bump(path: Path) -> None:
    """Make ``path`` look newer than the last build (mtime resolution differs by filesystem)."""
    stat = path.stat()
    os.utime(path, (stat.st_atime + 5, stat.st_mtime + 5))


def test_transcript_and_note_without_audio(tmp_path: Path) -> None:
    html, warnings, _ = build(make_project(tmp_path, ["sample"], ("sample",)))
    assert warnings == ""
    assert "<audio" not in html
    assert 'class="dialogue-audio-missing' in html
    note = visible_text(html[html.index("dialogue-audio-missing"):])
    assert "run make audio" in note and "sudo apt-get install espeak-ng" in note
    turns = re.findall(r'<p class="dialogue-turn[^"]*"><strong>([^<]+)</strong> ([^<]+)</p>', html)
    assert turns == [
        ("Teacher:", "A recurrent network reads a sequence one step at a time."),
        ("Student 1:", "And it keeps a hidden state between the steps?"),
        ("Student 4:", "Like a note passed along a row of desks."),
    ]
    assert "Audio lesson: A tiny test dialogue" in html


def test_player_with_current_audio(tmp_path: Path) -> None:
    src = make_project(tmp_path, ["sample"], ("sample",))
    ogg = add_audio(src, "sample")
    html, warnings, out = build(src)
    assert warnings == ""
    tag = re.search(r"<audio [^>]*>", html)
    assert tag is not None
    assert 'class="dialogue-audio"' in tag.group(0)
    assert "controls" in tag.group(0) and 'preload="metadata"' in tag.group(0)
    assert 'data-dialogue="sample"' in tag.group(0) and 'data-words="29"' in tag.group(0)
    source = re.search(r'<source src="([^"]+)" type="audio/ogg; codecs=&quot;(\w+)&quot;"', html)
    assert source is not None and source.group(2) in {"opus", "vorbis"}
    copied = out / source.group(1)
    assert copied.is_file() and copied.read_bytes() == ogg.read_bytes()
    assert "dialogue-audio-missing" not in html
    assert html.index("<audio") < html.index('class="dialogue-transcript')
    assert html.count('class="dialogue-turn') == 3  # the transcript stays on the page


@pytest.mark.parametrize("damage", ["edit transcript", "truncate audio", "delete audio"])
def test_stale_or_broken_audio_is_treated_as_missing(tmp_path: Path, damage: str) -> None:
    src = make_project(tmp_path, ["sample"], ("sample",))
    ogg = add_audio(src, "sample")
    yml = src / DIALOGUE_DIR / "sample.yml"
    if damage == "edit transcript":
        yml.write_text(yml.read_text().replace("one step at a time", "one token at a time"))
    elif damage == "truncate audio":
        ogg.write_bytes(ogg.read_bytes()[:100])
    else:
        ogg.unlink()
    html, warnings, _ = build(src)
    assert warnings == ""
    assert "<audio" not in html
    assert "dialogue-audio-missing" in html
    assert html.count('class="dialogue-turn') == 3


def test_changed_transcript_and_new_audio_rebuild_the_page(tmp_path: Path) -> None:
    src = make_project(tmp_path, ["sample"], ("sample",))
    html, _, _ = build(src)
    assert "one step at a time" in html and "<audio" not in html
    yml = src / DIALOGUE_DIR / "sample.yml"
    yml.write_text(yml.read_text().replace("one step at a time", "one token at a time"))
    bump(yml)
    html, _, _ = build(src, fresh=False)
    assert "one token at a time" in html, "the yml must be a dependency of the page"
    add_audio(src, "sample")
    bump(src / AUDIO_DIR / "manifest.json")
    html, warnings, _ = build(src, fresh=False)
    assert warnings == ""
    assert "<audio" in html, "the manifest must be a dependency of the page"


def test_text_builder_keeps_transcript_without_player(tmp_path: Path) -> None:
    src = make_project(tmp_path, ["sample"], ("sample",))
    add_audio(src, "sample")
    text, warnings, _ = build(src, builder="text")
    assert warnings == ""
    assert "**Teacher:** A recurrent network reads a sequence" in " ".join(text.split())
    assert "<audio" not in text


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("bad-speaker", "chapters/dialogues/bad-speaker.yml: turn 2: unknown speaker 'Student 5'"),
        ("empty-text", "chapters/dialogues/empty-text.yml: turn 2 (Student 2): empty text"),
        ("absent", "chapters/dialogues/absent.yml: file not found"),
        ("../conf", "invalid dialogue name '../conf'"),
    ],
)
def test_invalid_dialogues_warn_with_file_and_problem(
    tmp_path: Path, name: str, problem: str
) -> None:
    src = make_project(tmp_path, [name], ("bad-speaker", "empty-text"))
    html, warnings, _ = build(src)
    assert re.search(r"index\.md:\d+: WARNING: dialogue ", warnings), warnings
    assert problem in warnings
    assert warnings.count("WARNING") == 1
    assert "dialogue-turn" not in html


def test_broken_yaml_warns(tmp_path: Path) -> None:
    src = make_project(tmp_path, ["broken"])
    (src / DIALOGUE_DIR / "broken.yml").write_text("title: [unclosed\nturns: -\n")
    _, warnings, _ = build(src)
    assert "chapters/dialogues/broken.yml: not valid YAML" in warnings


def test_book_enables_the_extension() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    extensions = config["sphinx"]["extra_extensions"]
    assert "rnncourse.sphinx.dialogue" in extensions
    assert "rnncourse.sphinx.offline_mathjax" in extensions
