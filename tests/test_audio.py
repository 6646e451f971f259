"""Audio lessons: dialogue validation, speech generation with eSpeak NG, the manifest.

The generation tests need the ``espeak-ng`` binary. They are skipped (with the reason shown
by ``-ra``) only when it is absent *and* ``RNNCOURSE_REQUIRE_AUDIO`` is unset; CI installs
espeak-ng and sets the variable, so there a missing engine fails the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from rnncourse import audio
from rnncourse.audio import (
    AUDIO_DIR,
    DIALOGUE_DIR,
    SPEAKERS,
    VOICES,
    DialogueError,
    EngineMissingError,
    current_audio,
    dialogue_files,
    generate,
    load_dialogue,
    read_manifest,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "dialogues"

requires_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None and not os.environ.get("RNNCOURSE_REQUIRE_AUDIO"),
    reason="espeak-ng is not installed (sudo apt-get install espeak-ng); "
    "set RNNCOURSE_REQUIRE_AUDIO=1 to make its absence a failure",
)


def book_with(tmp_path: Path, *names: str) -> Path:
    """A book root holding copies of the fixture dialogues ``names``."""
    (tmp_path / DIALOGUE_DIR).mkdir(parents=True)
    for name in names:
        shutil.copy(FIXTURES / f"{name}.yml", tmp_path / DIALOGUE_DIR / f"{name}.yml")
    return tmp_path


def write_dialogue(root: Path, name: str, text: str) -> Path:
    """Write ``chapters/dialogues/<name>.yml`` with the given YAML text."""
    path = root / DIALOGUE_DIR / f"{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def quiet_runs(samples: np.ndarray, rate: int, min_s: float) -> int:
    """Number of stretches of near-silence at least ``min_s`` long (20 ms frames)."""
    frame = rate // 50
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    quiet = rms < 0.01
    runs, length = 0, 0
    for q in [*quiet, False]:
        if q:
            length += 1
        else:
            runs += length * frame >= min_s * rate
            length = 0
    return runs


# --- validation and hashing (no engine needed) ----------------------------------------------


def test_fixture_loads() -> None:
    dialogue = load_dialogue(FIXTURES / "sample.yml")
    assert dialogue.name == "sample"
    assert dialogue.title == "A tiny test dialogue"
    assert [t.speaker for t in dialogue.turns] == ["Teacher", "Student 1", "Student 4"]
    assert dialogue.word_count() == 29


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- just a list\n", "expected a mapping with 'title' and 'turns'"),
        ("turns: []\n", "missing or empty 'title'"),
        ("title: T\nturns: []\n", "'turns' must be a non-empty list"),
        ("title: T\n", "'turns' must be a non-empty list"),
        ("title: T\nturns: [hello]\n", "turn 1: expected a mapping"),
        ("title: T\nturns:\n  - {speaker: Teacher}\n", "turn 1 (Teacher): empty text"),
        ("title: T\nturns:\n  - {speaker: teacher, text: Hi}\n", "unknown speaker 'teacher'"),
        ("title: T\nturns:\n  - {speaker: Student 5, text: Hi}\n", "unknown speaker 'Student 5'"),
        ("title: T\nturns:\n  - {speaker: Teacher, text: Hi, mood: calm}\n", "unknown key(s) mood"),
        ("title: T\nauthor: me\nturns:\n  - {speaker: Teacher, text: Hi}\n", "top-level key(s)"),
        ("title: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_dialogue_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = write_dialogue(tmp_path, "broken", text)
    with pytest.raises(DialogueError) as info:
        load_dialogue(path)
    assert str(path) in str(info.value)
    assert problem in info.value.problem


def test_missing_file_and_bad_name(tmp_path: Path) -> None:
    with pytest.raises(DialogueError, match="file not found"):
        load_dialogue(tmp_path / "absent.yml")
    with pytest.raises(DialogueError, match="invalid dialogue name"):
        load_dialogue(tmp_path / "Bad Name.yml")


def test_hash_ignores_formatting_but_not_words(tmp_path: Path) -> None:
    original = load_dialogue(FIXTURES / "sample.yml")
    reformatted = write_dialogue(
        tmp_path / "a", "sample",
        "turns:\n"
        "- {speaker: 'Teacher', text: 'A recurrent network reads a sequence\n    one step at a"
        " time.'}\n"
        "- {speaker: Student 1, text: 'And it keeps a hidden state between the steps?'}\n"
        "- {speaker: Student 4, text: Like a note passed along a row of desks.}\n"
        "title: A tiny test dialogue\n",
    )
    assert load_dialogue(reformatted).sha256() == original.sha256()
    edited = write_dialogue(
        tmp_path / "b", "sample",
        (FIXTURES / "sample.yml").read_text().replace("row of desks", "row of chairs"),
    )
    assert load_dialogue(edited).sha256() != original.sha256()
    swapped = write_dialogue(
        tmp_path / "c", "sample",
        (FIXTURES / "sample.yml").read_text().replace("Student 4", "Student 3"),
    )
    assert load_dialogue(swapped).sha256() != original.sha256()


def test_every_speaker_has_a_distinct_voice() -> None:
    assert set(VOICES) == set(SPEAKERS)
    settings = [(v.voice, v.variant, v.pitch, v.speed) for v in VOICES.values()]
    assert len(set(settings)) == len(settings)
    assert len({(v.voice, v.variant) for v in VOICES.values()}) == len(SPEAKERS)


def test_missing_manifest_means_no_audio(tmp_path: Path) -> None:
    dialogue = load_dialogue(FIXTURES / "sample.yml")
    assert current_audio(tmp_path, dialogue) is None
    (tmp_path / "manifest.json").write_text("{not json")
    assert read_manifest(tmp_path) == {}
    assert current_audio(tmp_path, dialogue) is None


def test_book_dialogues_are_valid() -> None:
    for path in dialogue_files(ROOT):
        load_dialogue(path)  # raises DialogueError naming the file and the problem


# --- the missing engine ---------------------------------------------------------------------


def without_espeak(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH holds only an empty directory (so no espeak-ng)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    return {**os.environ, "PATH": str(empty)}


def test_cli_without_engine_fails_with_install_hint(tmp_path: Path) -> None:
    root = book_with(tmp_path / "book", "sample")
    result = subprocess.run(
        [sys.executable, "-m", "rnncourse", "audio", "--root", str(root)],
        env=without_espeak(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "espeak-ng was not found" in lines[0]
    assert "apt-get install espeak-ng" in lines[0] and "make audio" in lines[0]
    assert not (root / AUDIO_DIR / "sample.ogg").exists()


def test_generate_without_engine_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = book_with(tmp_path / "book", "sample")
    monkeypatch.setenv("PATH", without_espeak(tmp_path)["PATH"])
    with pytest.raises(EngineMissingError, match="apt-get install espeak-ng"):
        generate(root, log=lambda _: None)


def test_invalid_dialogue_stops_before_synthesis(tmp_path: Path) -> None:
    root = book_with(tmp_path, "sample", "bad-speaker")
    result = subprocess.run(
        [sys.executable, "-m", "rnncourse", "audio", "--root", str(root)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "bad-speaker.yml: turn 2: unknown speaker 'Student 5'" in result.stderr
    assert not (root / AUDIO_DIR / "sample.ogg").exists()


# --- generation with eSpeak NG --------------------------------------------------------------


@requires_espeak
def test_generates_compact_ogg_with_pauses_and_manifest(tmp_path: Path) -> None:
    root = book_with(tmp_path, "sample")
    report = generate(root, log=lambda _: None)
    assert report.generated == ["sample"]
    ogg = root / AUDIO_DIR / "sample.ogg"
    info = sf.info(ogg)
    assert info.format == "OGG" and info.subtype in {"OPUS", "VORBIS"}
    assert info.channels == 1 and info.samplerate == audio.SAMPLE_RATE
    entry = read_manifest(root / AUDIO_DIR)["sample"]
    dialogue = load_dialogue(root / DIALOGUE_DIR / "sample.yml")
    assert entry.transcript_sha256 == dialogue.sha256()
    assert entry.size_bytes == ogg.stat().st_size
    assert entry.duration_s == pytest.approx(info.duration, abs=0.01)
    assert entry.words == 29 and entry.turns == 3
    minutes = entry.duration_s / 60
    assert 29 / 250 <= minutes <= 29 / 100, f"{entry.duration_s} s for 29 words"
    assert entry.size_bytes / entry.duration_s < 4000, "more than 32 kbit/s is not compact"
    samples, rate = sf.read(ogg, dtype="float32")
    assert np.max(np.abs(samples)) > 0.3, "speech is audible"
    assert quiet_runs(samples, rate, audio.PAUSE_S * 0.9) >= entry.turns - 1
    assert current_audio(root / AUDIO_DIR, dialogue) is not None


@requires_espeak
def test_regenerates_only_changed_transcripts(tmp_path: Path) -> None:
    root = book_with(tmp_path, "sample", "empty-text")
    (root / DIALOGUE_DIR / "empty-text.yml").unlink()
    shutil.copy(FIXTURES / "sample.yml", root / DIALOGUE_DIR / "other.yml")
    assert sorted(generate(root, log=lambda _: None).generated) == ["other", "sample"]
    sample = root / AUDIO_DIR / "sample.ogg"
    other = root / AUDIO_DIR / "other.ogg"
    before = (sample.stat().st_mtime_ns, other.stat().st_mtime_ns)

    report = generate(root, log=lambda _: None)
    assert report.generated == [] and sorted(report.unchanged) == ["other", "sample"]
    assert (sample.stat().st_mtime_ns, other.stat().st_mtime_ns) == before

    yml = root / DIALOGUE_DIR / "other.yml"
    yml.write_text(yml.read_text().replace("row of desks", "row of chairs"))
    report = generate(root, log=lambda _: None)
    assert report.generated == ["other"] and report.unchanged == ["sample"]
    assert sample.stat().st_mtime_ns == before[0]
    entry = read_manifest(root / AUDIO_DIR)["other"]
    assert entry.transcript_sha256 == load_dialogue(yml).sha256()

    assert sorted(generate(root, force=True, log=lambda _: None).generated) == ["other", "sample"]

    yml.unlink()
    report = generate(root, log=lambda _: None)
    assert report.removed == ["other"] and not other.exists()
    assert set(read_manifest(root / AUDIO_DIR)) == {"sample"}


@requires_espeak
def test_damaged_audio_is_regenerated(tmp_path: Path) -> None:
    root = book_with(tmp_path, "sample")
    generate(root, log=lambda _: None)
    ogg = root / AUDIO_DIR / "sample.ogg"
    ogg.write_bytes(ogg.read_bytes()[:200])
    assert generate(root, log=lambda _: None).generated == ["sample"]
    assert sf.info(ogg).duration > 5


@requires_espeak
def test_cli_reports_counts(tmp_path: Path) -> None:
    root = book_with(tmp_path, "sample")
    command = [sys.executable, "-m", "rnncourse", "audio", "--root", str(root)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "audio: 1 generated, 0 unchanged" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "audio: 0 generated, 1 unchanged" in second.stdout
    forced = subprocess.run([*command, "--force"], capture_output=True, text=True, timeout=120)
    assert "audio: 1 generated, 0 unchanged" in forced.stdout


def test_book_dialogues_have_current_audio() -> None:
    """Every dialogue of the book has committed audio matching its transcript."""
    stale = [
        path.stem for path in dialogue_files(ROOT)
        if current_audio(ROOT / AUDIO_DIR, load_dialogue(path)) is None
    ]
    assert stale == [], f"audio missing or out of date for {stale}: run `make audio`"
