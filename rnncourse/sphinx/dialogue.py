"""The ``{dialogue}`` directive: an audio lesson player above its transcript.

Usage in a MyST page::

    ```{dialogue} rnn-intro
    ```

reads ``chapters/dialogues/rnn-intro.yml`` (relative to the book root, the Sphinx source
directory), validates it (a missing file, an unknown speaker or an empty turn is a Sphinx
warning naming the file and the problem, so ``-W`` fails the build) and renders:

- an HTML5 ``<audio controls preload="metadata" class="dialogue-audio">`` player when
  ``chapters/audio/manifest.json`` records audio whose transcript hash matches the current
  transcript (the ``.ogg`` is copied into the build's ``_downloads/``); otherwise a note
  saying how to get the audio (``make audio``, which needs ``espeak-ng``);
- the transcript, one paragraph per turn with the speaker's name in bold. It is always on the
  page, so the lesson stays accessible without sound.

The YAML file and the manifest are registered as dependencies of the page, so editing the
transcript or regenerating the audio rebuilds it.
"""

from __future__ import annotations

import posixpath
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxTranslator

from rnncourse.audio import (
    AUDIO_DIR,
    Dialogue,
    DialogueError,
    check_name,
    current_audio,
    dialogue_path,
    load_dialogue,
    manifest_path,
)

logger = logging.getLogger(__name__)

#: MIME type announced to the browser, by codec recorded in the manifest.
MIME_TYPES = {"opus": 'audio/ogg; codecs="opus"', "vorbis": 'audio/ogg; codecs="vorbis"'}


class dialogue_audio(nodes.General, nodes.Element):  # noqa: N801 (docutils node naming)
    """Placeholder for the audio player; only HTML builders render it.

    Attributes: ``dest`` (path under ``_downloads``), ``dialogue`` (name), ``duration``
    (seconds), ``words`` (transcript word count), ``codec``.
    """


def visit_dialogue_audio_html(self: SphinxTranslator, node: dialogue_audio) -> None:
    """Write the ``<audio>`` element, its source and a download link as fallback."""
    dlpath = getattr(self.builder, "dlpath", "_downloads")
    uri = escape(posixpath.join(dlpath, node["dest"]))
    mime = escape(MIME_TYPES.get(node["codec"], "audio/ogg"))
    self.body.append(
        f'<audio class="dialogue-audio" controls preload="metadata" style="width: 100%"'
        f' data-dialogue="{escape(node["dialogue"])}" data-duration-s="{node["duration"]}"'
        f' data-words="{node["words"]}">'
        f'<source src="{uri}" type="{mime}">'
        f'<a href="{uri}">Download the audio lesson</a>'
        "</audio>\n"
    )
    raise nodes.SkipNode


def skip_node(self: SphinxTranslator, node: nodes.Element) -> None:
    """Non-HTML output has no player: the transcript stands alone."""
    raise nodes.SkipNode


def transcript(dialogue: Dialogue) -> nodes.container:
    """The transcript: one paragraph per turn, the speaker's name in bold."""
    box = nodes.container(classes=["dialogue-transcript"])
    for turn in dialogue.turns:
        slug = turn.speaker.lower().replace(" ", "-")
        para = nodes.paragraph(classes=["dialogue-turn", f"dialogue-{slug}"])
        para += nodes.strong(text=f"{turn.speaker}:")
        para += nodes.Text(f" {turn.text}")
        box += para
    return box


def missing_audio_note() -> nodes.note:
    """The note shown instead of the player when the audio is missing or out of date."""
    para = nodes.paragraph()
    para += nodes.Text(
        "The recording of this dialogue has not been generated yet, or is older than the "
        "transcript below. To listen to it, install eSpeak NG ("
    )
    para += nodes.literal(text="sudo apt-get install espeak-ng")
    para += nodes.Text("), run ")
    para += nodes.literal(text="make audio")
    para += nodes.Text(" and build the book again.")
    return nodes.note("", para, classes=["dialogue-audio-missing"])


class DialogueDirective(SphinxDirective):
    """``{dialogue} <name>``: player (or a note) followed by the transcript."""

    required_arguments = 1
    optional_arguments = 0
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Load and validate the dialogue, then build the nodes (a warning on any problem)."""
        name = self.arguments[0]
        srcdir = Path(self.env.srcdir)
        try:
            check_name(name)
            path = dialogue_path(srcdir, name)
            self.env.note_dependency(str(path.relative_to(srcdir)))
            dialogue = load_dialogue(path)
        except DialogueError as exc:
            shown = exc.path.relative_to(srcdir) if exc.path.is_absolute() else exc.path
            logger.warning(
                "dialogue %r: %s: %s", name, shown.as_posix(), exc.problem,
                location=self.get_location(), type="dialogue", subtype="invalid",
            )
            return []
        box = nodes.container(classes=["dialogue"])
        box += nodes.rubric(text=f"Audio lesson: {dialogue.title}")
        box += self.player(dialogue, srcdir)
        box += transcript(dialogue)
        return [box]

    def player(self, dialogue: Dialogue, srcdir: Path) -> nodes.Element:
        """The audio node when current audio exists, else the how-to-get-it note."""
        audio_dir = srcdir / AUDIO_DIR
        self.env.note_dependency(str(manifest_path(audio_dir).relative_to(srcdir)))
        found = current_audio(audio_dir, dialogue)
        if found is None:
            return missing_audio_note()
        path, entry = found
        rel = path.relative_to(srcdir).as_posix()
        self.env.note_dependency(rel)
        dest = self.env.dlfiles.add_file(self.env.docname, rel)
        return dialogue_audio(
            dest=dest, dialogue=dialogue.name, duration=entry.duration_s,
            words=entry.words, codec=entry.codec,
        )


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directive and the player node."""
    skip = (skip_node, None)
    app.add_node(
        dialogue_audio,
        html=(visit_dialogue_audio_html, None),
        latex=skip, text=skip, man=skip, texinfo=skip,
    )
    app.add_directive("dialogue", DialogueDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
