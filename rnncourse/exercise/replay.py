"""The oracle's answers on the visible cases, recorded at release time and replayed offline.

At release time (:func:`rnncourse.judge.fixtures.record`) every visible case of every test
runs against the solution with the live torch oracle wrapped in a :class:`Recorder`; each
question the oracle answered is stored under the digest of its name and inputs. In the
learner's kernel, :class:`Replay` answers the same questions from that file, so the visible
tests and their diagnoses run without torch. Since tests only ever ask the oracle about inputs
they chose (never about the learner's outputs), the questions asked in the learner's kernel are
the recorded ones. What the file holds (expected values on the visible inputs, and what each
classic mistake would give on them) is no solution and no hidden case.

File format: an ``.npz`` archive with an ``index`` entry (UTF-8 JSON: format version, the
assignment, numpy's version, and ``{digest: value tree}``) and one entry per array blob of the
trees (:mod:`rnncourse.exercise.wire` encoding).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rnncourse.exercise import wire

FORMAT = 1


class MissingAnswerError(LookupError):
    """The fixtures hold no answer for this question (an input differs from the release's)."""


def _feed(h: Any, value: Any) -> None:
    if value is None or isinstance(value, bool | str):
        h.update(repr(value).encode())
    elif isinstance(value, int | np.integer):
        h.update(b"i" + str(int(value)).encode())
    elif isinstance(value, float | np.floating):
        number = float(value)
        h.update(b"f" + (number.hex() if math.isfinite(number) else repr(number)).encode())
    elif hasattr(value, "detach") and hasattr(value, "numpy"):
        _feed(h, value.detach().cpu().numpy())
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        h.update(f"a{array.dtype.str}{array.shape}".encode())
        h.update(array.tobytes())
    elif isinstance(value, tuple | list):
        h.update(b"(" if isinstance(value, tuple) else b"[")
        for item in value:
            _feed(h, item)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(b"{")
        for key in sorted(value, key=repr):
            _feed(h, key)
            _feed(h, value[key])
        h.update(b"}")
    else:
        raise TypeError(f"the oracle cannot be asked about a {type(value).__name__}")


def digest(name: str, inputs: dict[str, Any]) -> str:
    """A stable key for the question ``name(**inputs)``."""
    h = hashlib.sha256(name.encode())
    _feed(h, inputs)
    return h.hexdigest()[:24]


class Recorder:
    """Wraps a live oracle and remembers every answer it gives (see the module docstring)."""

    records = True  # tells tests to ask for their explanations too (Tester.recording)

    def __init__(self, oracle: Callable[..., Any]) -> None:
        self.oracle = oracle
        self.answers: dict[str, Any] = {}

    def __call__(self, name: str, **inputs: Any) -> Any:
        answer = self.oracle(name, **inputs)
        self.answers[digest(name, inputs)] = answer
        return answer


def save(path: Path, assignment: str, answers: dict[str, Any]) -> None:
    """Write recorded ``answers`` to ``path`` (deterministically: same answers, same bytes)."""
    encoder = wire.Encoder()
    trees = {key: encoder.encode(answers[key]) for key in sorted(answers)}
    index = {"format": FORMAT, "assignment": assignment, "numpy": np.__version__,
             "answers": trees}
    arrays = {"index": np.frombuffer(json.dumps(index, sort_keys=True).encode(), np.uint8)}
    for k, blob in enumerate(encoder.blobs):
        arrays[f"blob{k}"] = np.frombuffer(blob, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    # np.savez stamps every entry with the current time; fixed stamps keep releases identical
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


class Replay:
    """An oracle that answers from a fixtures file written by :func:`save`.

    Args:
        path: the ``.npz`` file.
        tensor: turns arrays that were tensors back into tensors (torch assignments).
    """

    def __init__(self, path: Path, tensor: Callable[[np.ndarray], Any] | None = None) -> None:
        with np.load(path, allow_pickle=False) as data:
            index = json.loads(bytes(data["index"]).decode())
            blobs = [bytes(data[f"blob{k}"]) for k in range(len(data.files) - 1)]
        if index.get("format") != FORMAT:
            raise ValueError(f"{path}: fixtures format {index.get('format')}, expected {FORMAT}")
        self.assignment = index["assignment"]
        self.numpy_version = index["numpy"]
        self._trees = index["answers"]
        self._decoder = wire.Decoder(blobs, tensor=tensor)

    def __len__(self) -> int:
        return len(self._trees)

    def __call__(self, name: str, **inputs: Any) -> Any:
        key = digest(name, inputs)
        if key not in self._trees:
            raise MissingAnswerError(
                f"the recorded answers of {self.assignment} hold nothing for {name} on these "
                f"inputs (recorded with numpy {self.numpy_version}, this is numpy "
                f"{np.__version__}); install torch to check against it directly")
        return self._decoder.decode(self._trees[key])
