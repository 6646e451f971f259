"""``rnncourse grade`` gives the same scores everywhere, resumes after a kill, and says what
each sandbox mode lets a student's process see.

The same four rnn_cell submissions (full marks, a partial one, an object whose ``__eq__`` is
always true, the untouched release; ``tests/fixtures/grading/runs.py``) are graded with
``--jobs 2`` (Python API, the session's reference run), on a Dask
``LocalCluster`` (127.0.0.1, 2 worker processes) and with ``--jobs 1`` through the CLI, which
is killed mid-run and rerun; the per-cell scores must be identical.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from fixtures.grading import crafted
from fixtures.grading.runs import (
    EXPECTED,
    SANDBOXED_GRADING,
    SETTINGS,
    SOURCE,
    cell_scores,
    copy_course,
    secret_path,
)
from nbgrader.api import Gradebook

from rnncourse.grading import runner, sandbox
from rnncourse.grading.runner import SandboxChoiceError, grade

pytestmark = SANDBOXED_GRADING


def test_same_scores_on_a_dask_cluster(template_course: Path, reference, tmp_path: Path) -> None:
    from distributed import LocalCluster

    course = copy_course(template_course, tmp_path / "dask")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        run = grade("rnn_cell", course, scheduler=cluster.scheduler_address, settings=SETTINGS,
                    progress=False, secret_file=secret_path(template_course))
        assert len(cluster.scheduler.workers) == 2  # our run closed nothing of the cluster
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
    cmd = [sys.executable, "-m", "rnncourse", "grade", "rnn_cell", "--course", str(course),
           "--jobs", "1", "--quiet", "--cell-timeout", "20", "--call-timeout", "20",
           "--notebook-timeout", "120", "--memory", "2G",
           "--secret-file", str(secret_path(template_course))]
    before = set(_processes_mentioning("spawn_main")) | set(
        _processes_mentioning("rnncourse-sub-"))
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

    # nothing the killed run started survives it: its workers and their student processes
    for _ in range(60):
        left = set(_processes_mentioning("spawn_main")) - before
        left |= set(_processes_mentioning("rnncourse-sub-")) - before
        if not left:
            break
        time.sleep(0.5)
    assert not left, [_cmdline(p) for p in left]

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"(\d+) graded, (\d+) failed, (\d+) not graded \(run again\), "
                      r"(\d+) skipped", done.stdout)
    assert match, done.stdout
    graded_now, failed_now, not_graded, skipped = map(int, match.groups())
    assert skipped == len(finished) and failed_now == 0 and not_graded == 0
    assert graded_now == len(EXPECTED) - len(finished)

    students = [e["student"] for e in _journal(course)]
    assert sorted(students) == sorted(EXPECTED)  # each graded exactly once, across both runs
    scores = cell_scores(course)
    assert scores == reference  # same scores as --jobs 2 and Dask, whatever the order
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        grades = [g for s in gb.find_assignment("rnn_cell").submissions
                  for nb in s.notebooks for g in nb.grades]
    assert len(grades) == len(EXPECTED) * 8  # one row per test cell, none duplicated

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert f"0 graded, 0 failed, 0 not graded (run again), {len(EXPECTED)} skipped" in again.stdout
    assert cell_scores(course) == scores


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:300]
    except OSError:
        return "(gone)"


def test_auto_never_falls_back_to_no_sandbox(monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "available_modes", lambda: ("unshare", "none"))
    with pytest.raises(SandboxChoiceError, match=r"--sandbox unshare .* --sandbox none"):
        runner.resolve_sandbox("auto")
    assert runner.resolve_sandbox("none") == "none"


@pytest.mark.parametrize("mode", sandbox.available_modes())
def test_what_the_student_process_can_read_per_sandbox_mode(template_course: Path,
                                                             tmp_path: Path, mode: str) -> None:
    """What a submission that reads every file it can see finds, in each mode."""
    course = copy_course(template_course, tmp_path / "course")
    shutil.rmtree(course / "submitted")
    src = nbformat.read(SOURCE, as_version=4)
    crafted.write_submission(course / "submitted" / "snoop" / "rnn_cell",
                             crafted.walks_the_disk(src))
    run = grade("rnn_cell", course, jobs=1, settings=SETTINGS, sandbox_choice=mode,
                progress=False, secret_file=secret_path(template_course))
    assert run.mode == mode and run.graded == ["snoop"]
    nb = nbformat.read(course / "autograded" / "snoop" / "rnn_cell" / "rnn_cell.ipynb",
                       as_version=4)
    out = "".join(str(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []))
    leaks = re.search(r"LEAKS (\[.*\])", out)
    assert leaks, out[-2000:]
    assert sum(cell_scores(course)["snoop"].values()) == crafted.WRONG_SCORE
    print(f"\n[{mode}] the snooping submission found: {leaks.group(1)[:400]}")
    if mode in ("bwrap", "unshare"):  # unshare covers every top-level folder but the system
        assert leaks.group(1) == "[]"
    elif mode == "none":  # documented: it reads what the grader's user can read
        assert "hidden.py" in leaks.group(1) or "gradebook" in leaks.group(1)


def test_dask_over_tls_with_certificates(template_course: Path, reference,
                                         tmp_path: Path) -> None:
    """``--scheduler tls://`` with the cluster's CA and a client certificate (README: Dask)."""
    from distributed import LocalCluster
    from distributed.security import Security

    pems = Security.temporary()  # a throwaway CA-signed certificate, as PEM text
    files = {}
    for flag, pem in {"--tls-ca": pems.tls_ca_file, "--tls-cert": pems.tls_client_cert,
                      "--tls-key": pems.tls_client_key}.items():
        files[flag] = tmp_path / f"{flag.strip('-')}.pem"
        files[flag].write_text(pem, encoding="utf-8")
    course = copy_course(template_course, tmp_path / "course")
    base = [sys.executable, "-m", "rnncourse", "grade", "rnn_cell", "--course", str(course),
            "--quiet", "--student", "full", "--student", "partial", "--memory", "2G",
            "--secret-file", str(secret_path(template_course))]
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address=":0", protocol="tls://", security=pems) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        no_certs = subprocess.run([*base, "--scheduler", address], capture_output=True,
                                  text=True, timeout=60, check=False)
        assert no_certs.returncode == 1
        assert "needs --tls-ca, --tls-cert, --tls-key" in no_certs.stderr
        done = subprocess.run(
            [*base, "--scheduler", address,
             *(part for flag, path in files.items() for part in (flag, str(path)))],
            capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Dask at {address}" in done.stdout
    scores = cell_scores(course)
    assert scores == {s: reference[s] for s in ("full", "partial")}, done.stdout
