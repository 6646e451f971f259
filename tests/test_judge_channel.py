"""The narrow channel and the student process: numbers only, limits, and what it can see."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from rnncourse.exercise import wire
from rnncourse.grading import sandbox
from rnncourse.judge.student import (
    LearnerError,
    ProcessLimits,
    StudentCrashedError,
    StudentProcess,
    StudentTimeoutError,
)
from rnncourse.judge.view import StudentView

NUMPY_VIEW = StudentView(("numpy", "ipython"), ("__init__.py", "exercise"))
needs_bwrap = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                 reason="bubblewrap is not available")


def roundtrip(value, keep=None, resolve=None):
    encoder = wire.Encoder(keep=keep)
    tree = encoder.encode(value)
    read, write = os.pipe()
    try:
        wire.write_frame(write, {"v": tree}, encoder.blobs)
        header, blobs = wire.read_frame(read)
    finally:
        os.close(read)
        os.close(write)
    return wire.Decoder(blobs, resolve=resolve).decode(header["v"])


def test_values_round_trip_exactly() -> None:
    value = {"x": np.arange(6.0).reshape(2, 3), "n": 3, "f": float("nan"), "big": 2**70,
             (1, 2): [True, None, "s", np.float32(1.5)], 0.5: (np.int64(7), -np.inf)}
    back = roundtrip(value)
    assert np.array_equal(back["x"], value["x"]) and back["x"].dtype == np.float64
    assert back["n"] == 3 and np.isnan(back["f"]) and back["big"] == 2**70
    assert back[(1, 2)] == [True, None, "s", 1.5] and back[0.5] == (7, -np.inf)
    assert isinstance(back[0.5], tuple) and isinstance(back[(1, 2)], list)


def test_objects_that_cannot_travel_become_handles_or_errors() -> None:
    kept = []

    def keep(obj):
        kept.append(obj)
        return wire.Ref(len(kept), type(obj).__name__)

    back = roundtrip((np.ones(2), object()), keep=keep)
    assert isinstance(back[1], wire.Ref) and back[1].type == "object"
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.Encoder().encode(object())
    with pytest.raises(wire.WireError):  # object arrays never travel as arrays
        wire.Encoder().encode(np.array([object()]))


def test_pickled_or_malformed_data_is_refused() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    decoder = wire.Decoder([buffer.getvalue()])
    with pytest.raises(ValueError):  # numpy refuses to unpickle
        decoder.decode({"$array": 0})
    for node in ({"$array": 5}, {"$nope": 1}, [1, 2], {"$dict": [[1]]}, {"$float": "1e999x"}):
        with pytest.raises(wire.WireError):
            wire.Decoder([]).decode(node)


def test_a_frame_over_the_limit_is_refused() -> None:
    read, write = os.pipe()
    try:
        header = b'{"blobs": [100000000]}'
        os.write(write, struct.pack(">I", len(header)) + header)
        with pytest.raises(wire.WireError, match="over the limit"):
            wire.read_frame(read, limit=1000)
    finally:
        os.close(read)
        os.close(write)


@pytest.fixture
def process(tmp_path: Path):
    procs = []

    def start(view=NUMPY_VIEW, mode="bwrap", **limits):
        proc = StudentProcess(tmp_path / f"p{len(procs)}", view, mode, ProcessLimits(**limits))
        proc.start()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.close()


@needs_bwrap
def test_cells_run_and_functions_are_called(process) -> None:
    p = process()
    run = p.exec_cell("import numpy as np\nprint('hello')", timeout=60)
    assert run.ok and run.stdout == "hello\n"
    run = p.exec_cell("def f(x, y=1):\n    x[0] = 5\n    return x * y, object()", timeout=60)
    returned = p.call("f", (np.arange(3.0),), {"y": 2}, timeout=30)
    assert np.array_equal(returned.value[0], [10.0, 2.0, 4.0])
    assert isinstance(returned.value[1], wire.Ref)
    assert np.array_equal(returned.args_after[0], [5.0, 1.0, 2.0])  # in-place change seen
    bad = p.exec_cell("1 / 0", timeout=60)
    assert not bad.ok and bad.error["type"] == "ZeroDivisionError"
    p.exec_cell("def g():\n    raise ValueError('nope')", timeout=60)
    with pytest.raises(LearnerError, match="ValueError: nope"):
        p.call("g", (), {}, timeout=30)
    with pytest.raises(LearnerError, match="defines no 'missing'"):
        p.call("missing", (), {}, timeout=30)


@needs_bwrap
def test_a_numpy_assignment_sees_no_torch_no_oracle_and_no_course(process,
                                                                   repo_root: Path) -> None:
    p = process()
    for module in ("torch", "rnncourse.reference", "rnncourse.checks", "rnncourse.oracles",
                   "rnncourse.grading", "rnncourse.judge", "nbgrader"):
        run = p.exec_cell(f"import {module}", timeout=60)
        assert not run.ok and run.error["type"] == "ModuleNotFoundError", module
    run = p.exec_cell(
        "import os\n"
        f"print([os.path.exists(p) for p in ({str(repo_root)!r}, "
        f"{str(repo_root / 'solutions')!r}, '/work', os.path.expanduser('~/.pyenv'))])",
        timeout=60)
    assert run.stdout.strip() == "[False, False, False, False]"


@needs_bwrap
def test_a_call_past_its_deadline_kills_the_process(process) -> None:
    p = process()
    p.exec_cell("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "def spin():\n    while True:\n        pass", timeout=60)
    with pytest.raises(StudentTimeoutError):
        p.call("spin", (), {}, timeout=1.0)
    assert not p.alive
    with pytest.raises(StudentCrashedError):
        p.call("spin", (), {}, timeout=1.0)


@needs_bwrap
def test_a_crash_and_the_memory_limit_are_named(process) -> None:
    p = process()
    p.exec_cell("import os\ndef die():\n    os._exit(3)", timeout=60)
    with pytest.raises(StudentCrashedError, match="status 3"):
        p.call("die", (), {}, timeout=30)
    q = process(memory_bytes=1024**3)
    run = q.exec_cell("x = bytearray(2 * 1024**3)", timeout=60)
    assert not run.ok and run.error["type"] == "MemoryError"


def test_unshare_covers_everything_outside_the_system_directories(tmp_path: Path) -> None:
    """In unshare mode a copy of the course anywhere outside the system folders is covered (the
    clean-clone CI found the developer's checkout under /work readable while it graded its own)."""
    from rnncourse.judge.view import private_paths

    for name in ("usr", "etc", "proc", "home", "work", "srv", "var"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("a top-level file\n")
    covered = private_paths(str(tmp_path))
    assert {os.path.basename(p) for p in covered} >= {"home", "work", "srv", "var", "notes.txt"}
    assert not {os.path.basename(p) for p in covered} & {"usr", "etc", "proc"}


def test_unshare_covers_the_course_repository_and_the_temporary_directory() -> None:
    import tempfile

    from rnncourse.judge.view import course_package, private_paths

    covered = private_paths()

    def is_covered(path: str) -> bool:
        return any(path == c or path.startswith(c.rstrip("/") + "/") for c in covered)

    assert is_covered(str(course_package().parent))
    assert is_covered(os.path.realpath(tempfile.gettempdir()))
