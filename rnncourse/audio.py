"""Audio lessons: read the teacher-student dialogues and speak them with eSpeak NG.

A dialogue lives in ``chapters/dialogues/<name>.yml``::

    title: "Understanding LSTMs"
    turns:
      - speaker: Teacher          # "Teacher" or "Student 1" .. "Student 4"
        text: "Today we open up the LSTM."

:func:`generate` speaks every dialogue with Debian's ``espeak-ng`` binary (one voice per
speaker, a short pause between turns), resamples the speech to 24 kHz and encodes it as
Ogg/Opus (Vorbis when the local libsndfile cannot write Opus) into
``chapters/audio/<name>.ogg``. ``chapters/audio/manifest.json`` records, per dialogue, the
SHA-256 of the transcript's canonical content, the duration and the file size; a dialogue
whose transcript (and voice settings) did not change is not regenerated.

The ``{dialogue}`` directive (:mod:`rnncourse.sphinx.dialogue`) uses the same loader and
shows the player only when the manifest's hash matches the current transcript.
This module imports nothing from Sphinx.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Where the dialogues and their audio live, relative to the book root.
DIALOGUE_DIR = Path("chapters") / "dialogues"
AUDIO_DIR = Path("chapters") / "audio"
MANIFEST_NAME = "manifest.json"

#: The speakers a dialogue may use, in the order of their voices below.
SPEAKERS = ("Teacher", "Student 1", "Student 2", "Student 3", "Student 4")

#: A dialogue name: lower-case words joined by hyphens (it becomes a file name).
NAME_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

#: Output sample rate: Opus accepts 8, 12, 16, 24 or 48 kHz; espeak-ng speaks at 22.05 kHz.
SAMPLE_RATE = 24_000
#: Pause between two turns and silence at both ends, in seconds.
PAUSE_S = 0.6
EDGE_S = 0.25
#: Peak level each turn is scaled to (full scale = 1).
PEAK = 0.89
#: libsndfile's compression level for Opus (0 = best quality, 1 = smallest); 0.98 gives
#: about 13 kbit/s, plenty for synthetic speech at 24 kHz.
OPUS_COMPRESSION = 0.98

INSTALL_HINT = (
    "espeak-ng was not found on PATH. The audio lessons need the eSpeak NG speech "
    "synthesiser: install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu), "
    "`brew install espeak-ng` (macOS) or `winget install espeak-ng` (Windows), "
    "then run `make audio` again."
)


class DialogueError(ValueError):
    """A dialogue file is missing or malformed; ``str()`` names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class EngineMissingError(RuntimeError):
    """The ``espeak-ng`` binary is not installed (or not on ``PATH``)."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


@dataclass(frozen=True)
class Turn:
    """One speaker's turn in a dialogue."""

    speaker: str
    text: str


@dataclass(frozen=True)
class Dialogue:
    """A validated dialogue: its file stem, title and turns."""

    name: str
    title: str
    turns: tuple[Turn, ...]

    def canonical_json(self) -> str:
        """The transcript as compact, key-sorted JSON: the text the hash is taken of.

        Formatting and quoting in the YAML file do not change it; any change to the title,
        a speaker or a word does.
        """
        data = {"title": self.title, "turns": [asdict(turn) for turn in self.turns]}
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def sha256(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`, stored in the manifest."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def word_count(self) -> int:
        """Number of spoken words (whitespace-separated) over all turns."""
        return sum(len(turn.text.split()) for turn in self.turns)


# --- reading and validating dialogues -------------------------------------------------------


def dialogue_path(root: Path, name: str) -> Path:
    """Path of the YAML file of dialogue ``name`` under the book ``root``."""
    return Path(root) / DIALOGUE_DIR / f"{name}.yml"


def check_name(name: str) -> None:
    """Raise :class:`DialogueError` unless ``name`` is a plain hyphenated file stem."""
    if not NAME_PATTERN.match(name):
        raise DialogueError(
            f"{name}.yml", f"invalid dialogue name {name!r}: use lower-case words and hyphens"
        )


def _parse_turn(path: Path, index: int, raw: Any) -> Turn:
    """Validate one entry of ``turns`` (``index`` counts from 1 in messages)."""
    where = f"turn {index}"
    if not isinstance(raw, dict):
        raise DialogueError(path, f"{where}: expected a mapping with 'speaker' and 'text'")
    unknown = sorted(set(raw) - {"speaker", "text"})
    if unknown:
        raise DialogueError(path, f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    speaker = raw.get("speaker")
    if speaker not in SPEAKERS:
        raise DialogueError(
            path, f"{where}: unknown speaker {speaker!r} (expected one of {', '.join(SPEAKERS)})"
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise DialogueError(path, f"{where} ({speaker}): empty text")
    return Turn(speaker=speaker, text=" ".join(text.split()))


def parse_dialogue(path: Path, name: str, data: Any) -> Dialogue:
    """Validate parsed YAML ``data`` of the file ``path`` and build a :class:`Dialogue`."""
    if not isinstance(data, dict):
        raise DialogueError(path, "expected a mapping with 'title' and 'turns'")
    unknown = sorted(set(data) - {"title", "turns"})
    if unknown:
        raise DialogueError(path, f"unknown top-level key(s) {', '.join(map(str, unknown))}")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise DialogueError(path, "missing or empty 'title'")
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        raise DialogueError(path, "'turns' must be a non-empty list")
    parsed = tuple(_parse_turn(path, i, raw) for i, raw in enumerate(turns, start=1))
    return Dialogue(name=name, title=title.strip(), turns=parsed)


def load_dialogue(path: Path) -> Dialogue:
    """Read and validate one dialogue file; raise :class:`DialogueError` on any problem."""
    import yaml

    path = Path(path)
    check_name(path.stem)
    if not path.is_file():
        raise DialogueError(path, "file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DialogueError(path, f"not valid YAML: {exc}") from exc
    return parse_dialogue(path, path.stem, data)


def dialogue_files(root: Path) -> list[Path]:
    """All ``chapters/dialogues/*.yml`` files under ``root``, sorted by name."""
    return sorted((Path(root) / DIALOGUE_DIR).glob("*.yml"))


# --- the manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioEntry:
    """What the manifest records about one generated audio file."""

    file: str
    transcript_sha256: str
    voices_sha256: str
    duration_s: float
    size_bytes: int
    words: int
    turns: int
    codec: str


def manifest_path(audio_dir: Path) -> Path:
    """Path of ``manifest.json`` inside ``audio_dir``."""
    return Path(audio_dir) / MANIFEST_NAME


def read_manifest(audio_dir: Path) -> dict[str, AudioEntry]:
    """The manifest's entries by dialogue name; empty when the file is missing or unreadable."""
    path = manifest_path(audio_dir)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: AudioEntry(**entry) for name, entry in raw["dialogues"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def write_manifest(audio_dir: Path, entries: dict[str, AudioEntry], engine: str) -> None:
    """Write the manifest (sorted, indented, no timestamps, so it diffs cleanly)."""
    data = {
        "engine": engine,
        "sample_rate": SAMPLE_RATE,
        "dialogues": {name: asdict(entries[name]) for name in sorted(entries)},
    }
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    manifest_path(audio_dir).write_text(text, encoding="utf-8")


def current_audio(audio_dir: Path, dialogue: Dialogue) -> tuple[Path, AudioEntry] | None:
    """The audio file and manifest entry of ``dialogue`` if they match its transcript.

    Returns ``None`` when there is no entry, the recorded transcript hash differs from the
    current one (stale audio), or the file is missing or has another size than recorded.
    """
    entry = read_manifest(audio_dir).get(dialogue.name)
    if entry is None or entry.transcript_sha256 != dialogue.sha256():
        return None
    path = Path(audio_dir) / entry.file
    if not path.is_file() or path.stat().st_size != entry.size_bytes:
        return None
    return path, entry


# --- voices and synthesis -------------------------------------------------------------------


@dataclass(frozen=True)
class Voice:
    """An eSpeak NG voice: language voice, variant, pitch (0-99) and speed (words/min)."""

    voice: str
    variant: str
    pitch: int
    speed: int

    def args(self) -> list[str]:
        """Command-line options selecting this voice."""
        return ["-v", f"{self.voice}+{self.variant}", "-p", str(self.pitch), "-s", str(self.speed)]


#: One distinct voice per speaker: different accents, variants (male/female), pitch and pace.
VOICES: dict[str, Voice] = {
    "Teacher": Voice("en-gb-x-rp", "m3", pitch=38, speed=150),
    "Student 1": Voice("en-us", "f2", pitch=62, speed=165),
    "Student 2": Voice("en-gb-scotland", "m1", pitch=50, speed=158),
    "Student 3": Voice("en-us", "f4", pitch=72, speed=170),
    "Student 4": Voice("en-gb-x-gbclan", "m7", pitch=30, speed=155),
}


def voices_sha256() -> str:
    """Hash of everything besides the transcript that shapes the audio (voices, timing)."""
    settings = {
        "voices": {name: asdict(voice) for name, voice in VOICES.items()},
        "pause_s": PAUSE_S,
        "edge_s": EDGE_S,
        "sample_rate": SAMPLE_RATE,
        "compression": OPUS_COMPRESSION,
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def find_espeak() -> str:
    """Path of the ``espeak-ng`` binary; raise :class:`EngineMissingError` when absent."""
    found = shutil.which("espeak-ng")
    if found is None:
        raise EngineMissingError()
    return found


def espeak_version(espeak: str) -> str:
    """Version line of eSpeak NG, e.g. ``"eSpeak NG 1.51"``."""
    out = subprocess.run([espeak, "--version"], capture_output=True, text=True, check=True)
    match = re.search(r"text-to-speech:\s*(\S+)", out.stdout)
    return f"eSpeak NG {match.group(1)}" if match else "eSpeak NG"


def speak(espeak: str, text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice``; return mono float32 samples in [-1, 1] and the rate."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="rnncourse-audio-") as tmp:
        wav = Path(tmp) / "turn.wav"
        cmd = [espeak, *voice.args(), "-b", "1", "--stdin", "-w", str(wav)]
        result = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True)
        if result.returncode != 0 or not wav.is_file():
            stderr = result.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"espeak-ng failed ({result.returncode}): {stderr}")
        samples, rate = sf.read(wav, dtype="float32", always_2d=False)
    return samples, rate


def to_output_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample ``samples`` from ``rate`` to :data:`SAMPLE_RATE` (polyphase filter)."""
    from math import gcd

    from scipy.signal import resample_poly

    if rate == SAMPLE_RATE:
        return samples
    g = gcd(SAMPLE_RATE, rate)
    return resample_poly(samples, SAMPLE_RATE // g, rate // g).astype(np.float32)


def normalise(samples: np.ndarray, peak: float = PEAK) -> np.ndarray:
    """Scale ``samples`` so that their largest magnitude is ``peak`` (silence unchanged)."""
    top = float(np.max(np.abs(samples))) if samples.size else 0.0
    return samples if top == 0.0 else (samples * (peak / top)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    """``seconds`` of silence at :data:`SAMPLE_RATE`."""
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def render(dialogue: Dialogue, espeak: str) -> np.ndarray:
    """The whole dialogue as one mono track at :data:`SAMPLE_RATE`, pauses between turns."""
    parts = [silence(EDGE_S)]
    for i, turn in enumerate(dialogue.turns):
        if i:
            parts.append(silence(PAUSE_S))
        samples, rate = speak(espeak, turn.text, VOICES[turn.speaker])
        parts.append(normalise(to_output_rate(samples, rate)))
    parts.append(silence(EDGE_S))
    return np.concatenate(parts)


def encode(samples: np.ndarray, path: Path) -> str:
    """Write ``samples`` as Ogg/Opus (or Ogg/Vorbis if Opus is unavailable); return the codec."""
    import soundfile as sf

    if "OPUS" in sf.available_subtypes("OGG"):
        sf.write(path, samples, SAMPLE_RATE, format="OGG", subtype="OPUS",
                 compression_level=OPUS_COMPRESSION)
        return "opus"
    sf.write(path, samples, SAMPLE_RATE, format="OGG", subtype="VORBIS")
    return "vorbis"


def duration_s(path: Path) -> float:
    """Duration of an audio file in seconds, as read back by libsndfile."""
    import soundfile as sf

    return float(sf.info(path).duration)


# --- the command ----------------------------------------------------------------------------


@dataclass
class Report:
    """What :func:`generate` did: names generated and kept, entries, seconds spent."""

    generated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    entries: dict[str, AudioEntry] = field(default_factory=dict)
    seconds: float = 0.0

    def total_bytes(self) -> int:
        """Size of all audio files listed in the manifest."""
        return sum(entry.size_bytes for entry in self.entries.values())

    def total_duration_s(self) -> float:
        """Duration of all audio files listed in the manifest."""
        return sum(entry.duration_s for entry in self.entries.values())


def is_up_to_date(audio_dir: Path, dialogue: Dialogue, entry: AudioEntry | None) -> bool:
    """True when ``entry`` matches the transcript and voices and its file is intact."""
    return (
        entry is not None
        and entry.voices_sha256 == voices_sha256()
        and current_audio(audio_dir, dialogue) is not None
    )


def generate_one(dialogue: Dialogue, espeak: str, audio_dir: Path) -> AudioEntry:
    """Speak, encode and describe one dialogue (writes ``<audio_dir>/<name>.ogg``)."""
    target = Path(audio_dir) / f"{dialogue.name}.ogg"
    partial = target.with_name(f".{target.name}.partial")
    codec = encode(render(dialogue, espeak), partial)
    partial.replace(target)
    return AudioEntry(
        file=target.name,
        transcript_sha256=dialogue.sha256(),
        voices_sha256=voices_sha256(),
        duration_s=round(duration_s(target), 3),
        size_bytes=target.stat().st_size,
        words=dialogue.word_count(),
        turns=len(dialogue.turns),
        codec=codec,
    )


def _prune(audio_dir: Path, entries: dict[str, AudioEntry], keep: Iterable[str]) -> list[str]:
    """Drop manifest entries (and their files) whose dialogue no longer exists."""
    removed = sorted(set(entries) - set(keep))
    for name in removed:
        (Path(audio_dir) / entries.pop(name).file).unlink(missing_ok=True)
    return removed


def generate(
    root: Path,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> Report:
    """Generate audio for every dialogue under ``root`` whose transcript changed.

    Validates all dialogues first (a :class:`DialogueError` stops before any synthesis),
    finds ``espeak-ng`` (:class:`EngineMissingError` when absent), regenerates what is
    missing or stale (everything with ``force``), drops audio of deleted dialogues and
    rewrites the manifest.
    """
    start = time.perf_counter()
    root = Path(root)
    dialogues = [load_dialogue(path) for path in dialogue_files(root)]
    espeak = find_espeak()
    audio_dir = root / AUDIO_DIR
    audio_dir.mkdir(parents=True, exist_ok=True)
    entries = read_manifest(audio_dir)
    report = Report(removed=_prune(audio_dir, entries, (d.name for d in dialogues)))
    for dialogue in dialogues:
        if not force and is_up_to_date(audio_dir, dialogue, entries.get(dialogue.name)):
            report.unchanged.append(dialogue.name)
            continue
        log(f"speaking {dialogue.name} ({len(dialogue.turns)} turns)...")
        entries[dialogue.name] = generate_one(dialogue, espeak, audio_dir)
        report.generated.append(dialogue.name)
        write_manifest(audio_dir, entries, espeak_version(espeak))
    if report.removed or not manifest_path(audio_dir).is_file():
        write_manifest(audio_dir, entries, espeak_version(espeak))
    report.entries = entries
    report.seconds = time.perf_counter() - start
    return report
