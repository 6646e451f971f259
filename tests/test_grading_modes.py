"""``rnncourse grade`` gives the same scores in every mode, and resumes after being killed.

The same four rnn_cell submissions (full marks, a partial one, an object whose ``__eq__`` is
always true, the untouched release) are graded with ``--jobs 2`` (Python API), on a Dask
``LocalCluster`` (127.0.0.1, 2 worker processes) and with ``--jobs 1`` through the CLI, which
is killed mid-run and rerun; the per-cell scores must be identical.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from fixtures.grading import crafted
from nbgrader.api import Gradebook

from rnncourse.assignments import scratch_course
from rnncourse.grading import sandbox
from rnncourse.grading.runner import grade
from rnncourse.grading.settings import Limits, Options

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "rnn_cell" / "rnn_cell.ipynb"
OPTIONS = Options(limits=Limits(cell_timeout=10, notebook_timeout=120, memory_bytes=2 * 1024**3))
EXPECTED = {"full": 18.0, "partial": crafted.WRONG_SCORE, "always_equal": 4.0, "untouched": 0.0}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SOURCE.exists(), reason="rnn_cell assignment not written yet"),
]


@pytest.fixture(scope="module")
def template_course(tmp_path_factory) -> Path:
    """A course with rnn_cell generated and four submissions; copied for each run."""
    course = scratch_course(tmp_path_factory.mktemp("modes") / "course", ["rnn_cell"], ROOT)
    src = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(course / "exercises" / "rnn_cell" / "rnn_cell.ipynb", as_version=4)
    builders = {
        "full": crafted.correct(src),
        "partial": crafted.wrong(src),
        "always_equal": crafted.always_equal(src),
        "untouched": {"rnn_cell.ipynb": nbformat.writes(release).encode()},
    }
    for student, files in builders.items():
        crafted.write_submission(course / "submitted" / student / "rnn_cell", files)
    return course


def copy_course(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def cell_scores(course: Path) -> dict[str, dict[str, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        return {
            s.student.id: {g.name: float(g.score) for nb in s.notebooks for g in nb.grades}
            for s in gb.find_assignment("rnn_cell").submissions
        }


@pytest.fixture(scope="module")
def reference(template_course: Path, tmp_path_factory) -> dict[str, dict[str, float]]:
    """Per-cell scores of a ``--jobs 2`` run, students listed in reverse order."""
    course = copy_course(template_course, tmp_path_factory.mktemp("jobs2") / "course")
    run = grade("rnn_cell", course, jobs=2, options=OPTIONS, progress=False,
                students=["untouched", "always_equal", "partial", "full"])
    assert sorted(run.graded) == sorted(EXPECTED) and not run.failed
    scores = cell_scores(course)
    assert {s: sum(v.values()) for s, v in scores.items()} == EXPECTED
    return scores


def test_same_scores_on_a_dask_cluster(template_course: Path, reference, tmp_path: Path) -> None:
    from distributed import LocalCluster

    course = copy_course(template_course, tmp_path / "dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        run = grade("rnn_cell", course, scheduler=cluster.scheduler_address, options=OPTIONS,
                    progress=False)
    assert sorted(run.graded) == sorted(EXPECTED) and not run.failed
    assert cell_scores(course) == reference
    for student in EXPECTED:  # feedback written from results computed on the cluster
        assert (course / "feedback" / student / "rnn_cell" / "rnn_cell.html").exists()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def _journal(course: Path) -> list[dict]:
    path = course / "grading-report" / "rnn_cell" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_killed_run_resumes_without_regrading_or_duplicates(template_course: Path, reference,
                                                            tmp_path: Path) -> None:
    """``--jobs 1`` through the CLI, killed after its first submission, then rerun."""
    course = copy_course(template_course, tmp_path / "course")
    zygotes_before = set(_processes_mentioning("rnncourse.grading.zygote"))
    cmd = [sys.executable, "-m", "rnncourse", "grade", "rnn_cell", "--course", str(course),
           "--jobs", "1", "--quiet", "--cell-timeout", "10", "--notebook-timeout", "120",
           "--memory", "2G"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 400
    while len(_journal(course)) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read().decode()
    os.kill(proc.pid, signal.SIGKILL)  # the main process only, as a crash would
    proc.wait()
    finished = {e["student"] for e in _journal(course)}
    assert 1 <= len(finished) < len(EXPECTED)

    # nothing the killed run started survives it: zygote, worker, kernel
    scratch_tag = f"rnncourse-grade-{proc.pid}-"
    for _ in range(60):
        left = set(_processes_mentioning("rnncourse.grading.zygote")) - zygotes_before
        left |= set(_processes_mentioning(scratch_tag))
        if not left:
            break
        time.sleep(0.5)
    assert not left, left

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"(\d+) graded, (\d+) failed, (\d+) skipped", done.stdout)
    assert match, done.stdout
    graded_now, failed_now, skipped = map(int, match.groups())
    assert skipped == len(finished) and failed_now == 0
    assert graded_now == len(EXPECTED) - len(finished)

    entries = _journal(course)
    students = [e["student"] for e in entries]
    assert sorted(students) == sorted(EXPECTED)  # each graded exactly once, across both runs
    scores = cell_scores(course)
    assert scores == reference  # same scores as --jobs 2 and Dask, whatever the order
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        ids = [s.student.id for s in gb.find_assignment("rnn_cell").submissions]
        grades = [g for s in gb.find_assignment("rnn_cell").submissions
                  for nb in s.notebooks for g in nb.grades]
    assert sorted(ids) == sorted(EXPECTED)
    assert len(grades) == len(EXPECTED) * 8  # one row per test cell, none duplicated

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert f"0 graded, 0 failed, {len(EXPECTED)} skipped" in again.stdout
    assert cell_scores(course) == scores


@pytest.mark.parametrize("mode", sandbox.available_modes())
def test_read_hidden_tests_per_sandbox_mode(template_course: Path, tmp_path: Path,
                                            mode: str) -> None:
    """What a submission that searches the disk for hidden tests gets, in each mode."""
    course = copy_course(template_course, tmp_path / "course")
    shutil.rmtree(course / "submitted")
    src = nbformat.read(SOURCE, as_version=4)
    crafted.write_submission(course / "submitted" / "snoop" / "rnn_cell",
                             crafted.read_hidden_readonly(src))
    crafted.write_submission(course / "submitted" / "honest" / "rnn_cell", crafted.correct(src))
    options = Options(limits=OPTIONS.limits, sandbox=mode)
    run = grade("rnn_cell", course, jobs=2, options=options, progress=False)
    assert run.mode == mode and sorted(run.graded) == ["honest", "snoop"]
    nb = nbformat.read(course / "autograded" / "snoop" / "rnn_cell" / "rnn_cell.ipynb",
                       as_version=4)
    out = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    leaks = re.search(r"LEAKS (\[.*\])", out)
    assert leaks, out[-2000:]
    scores = cell_scores(course)
    assert sum(scores["snoop"].values()) == crafted.WRONG_SCORE  # reading gains nothing
    page = (course / "feedback" / "snoop" / "rnn_cell" / "rnn_cell.html").read_text("utf-8")
    assert "enumerate([(1, 1, 1), (2, 3, 7), (6, 2, 3)], start=100)" not in page
    print(f"\n[{mode}] the snooping submission found: {leaks.group(1)[:400]}")
    found = [Path(p) for p in ast.literal_eval(leaks.group(1))]
    seen = [Path(p) for p in ast.literal_eval(re.search(r"SEEN \d+ (\[.*\])", out).group(1))]
    if mode == "unshare":
        # unshare hides what it knows: the graded course, the grading scratch, temp and home
        # directories. Another checkout elsewhere on the disk stays readable (README table).
        promised = [course.resolve(), Path(tempfile.gettempdir()).resolve()]
        found = [p for p in found if any(p.resolve().is_relative_to(h) for h in promised)]
        seen = [p for p in seen if any(p.resolve().is_relative_to(h) for h in promised)]
    if mode in ("bwrap", "unshare"):
        assert found == []
        for word in ("submitted", "autograded", "solutions", "gradebook", ".task"):
            hits = [str(p) for p in seen if word in str(p)]
            assert not hits or (mode == "unshare" and word == ".task"), (word, hits)
