"""Fault injection: ``rnncourse grade`` never loses, duplicates or invents a grade.

Each test breaks one thing while rnn_cell's four submissions (``tests/fixtures/grading/runs.py``)
are graded: a worker process is killed mid-submission, the grader is killed between a
result's database transaction and its files, another program holds the SQLite gradebook's
write lock, a Dask worker is killed, a second run starts on the same course. Afterwards every
submission has exactly one grade, equal to the clean reference run's, nothing graded earlier
was deleted, and what was retried is in the report. (Killing the grader itself and rerunning
is in ``test_grading_modes.py``.)
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from fixtures.grading.runs import (
    EXPECTED,
    SANDBOXED_GRADING,
    SETTINGS,
    cell_scores,
    copy_course,
    grade_rows,
    secret_path,
)
from nbgrader.api import Gradebook

from rnncourse.grading import merge
from rnncourse.grading.runner import CourseBusyError, course_lock, grade

pytestmark = SANDBOXED_GRADING
TEST_CELLS = 8  # rnn_cell's graded test cells


def _grading_worker(root: psutil.Process) -> psutil.Process | None:
    """A process under ``root`` that is grading a submission: a worker (of the local pool or
    of Dask) that started a sandbox."""
    for child in root.children(recursive=True):
        try:
            if any("bwrap" in p.name() for p in child.children()):
                return child
        except psutil.Error:
            continue
    return None


class _KillWhenBusy(threading.Thread):
    """Kills (SIGKILL) the first worker under ``root`` seen grading, once."""

    def __init__(self, root: psutil.Process, timeout: float = 300.0) -> None:
        super().__init__(daemon=True)
        self.root, self.timeout, self.killed = root, timeout, None
        self.stop = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.stop.is_set() and time.monotonic() < deadline:
            worker = _grading_worker(self.root)
            if worker is not None:
                worker.send_signal(signal.SIGKILL)
                self.killed = worker.pid
                return
            time.sleep(0.1)


def _journal(course: Path) -> list[dict]:
    path = course / "grading-report" / "rnn_cell" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_a_worker_killed_mid_submission_is_retried(template_course: Path, reference,
                                                   tmp_path: Path) -> None:
    course = copy_course(template_course, tmp_path / "course")
    killer = _KillWhenBusy(psutil.Process())
    killer.start()
    run = grade("rnn_cell", course, jobs=2, settings=SETTINGS, progress=False,
                secret_file=secret_path(template_course))
    killer.stop.set()
    assert killer.killed, "no worker was seen grading"
    assert run.retried and all("worker process died" in c for cs in run.retried.values()
                               for c in cs), run.retried
    assert sorted(run.graded) == sorted(EXPECTED) and not run.not_graded and not run.failed
    assert cell_scores(course) == reference
    assert grade_rows(course) == len(EXPECTED) * TEST_CELLS
    report = (course / "grading-report" / "rnn_cell" / "summary.md").read_text(encoding="utf-8")
    assert "retried" in report.lower() and next(iter(run.retried)) in report


def test_an_infrastructure_fault_never_deletes_an_earlier_grade(reference_course: Path,
                                                                template_course: Path,
                                                                reference, tmp_path: Path
                                                                ) -> None:
    """A forced regrade whose worker dies, with no retries left: the old grade stays."""
    course = copy_course(reference_course, tmp_path / "course")
    feedback = course / "feedback" / "full" / "rnn_cell" / "rnn_cell.html"
    before = feedback.read_bytes()
    journal_before = _journal(course)
    killer = _KillWhenBusy(psutil.Process())
    killer.start()
    run = grade("rnn_cell", course, jobs=1, settings=SETTINGS, progress=False, force=True,
                students=["full"], retries=0, secret_file=secret_path(template_course))
    killer.stop.set()
    assert killer.killed
    assert list(run.not_graded) == ["full"] and "worker process died" in run.not_graded["full"]
    assert cell_scores(course) == reference  # the earlier grade is untouched...
    assert feedback.read_bytes() == before  # ... and so are its files
    assert _journal(course) == journal_before  # nothing was recorded as done
    report = (course / "grading-report" / "rnn_cell" / "summary.md").read_text(encoding="utf-8")
    assert "not graded" in report.lower() and "full" in report


KILL_IN_MERGE = """
import os, signal, sys
from rnncourse.grading import merge

swaps = []
original = merge._replace_dir


def dies_after_the_transaction(folder, files):
    swaps.append(folder)
    if len(swaps) == 3:  # the second result: its rows are committed, its files not yet
        os.kill(os.getpid(), signal.SIGKILL)
    original(folder, files)


merge._replace_dir = dies_after_the_transaction
from rnncourse.cli import app

app(sys.argv[1:])
"""


def _cli(course: Path, template: Path) -> list[str]:
    return ["grade", "rnn_cell", "--course", str(course), "--jobs", "2", "--quiet",
            "--cell-timeout", "20", "--call-timeout", "20", "--notebook-timeout", "120",
            "--memory", "2G", "--secret-file", str(secret_path(template))]


def test_the_grader_killed_mid_merge_leaves_one_grade_per_submission(template_course: Path,
                                                                    reference,
                                                                    tmp_path: Path) -> None:
    course = copy_course(template_course, tmp_path / "course")
    killed = subprocess.run([sys.executable, "-c", KILL_IN_MERGE, *_cli(course, template_course)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    finished = {e["student"] for e in _journal(course)}
    assert len(finished) == 1  # the first result; the second died between database and files

    again = subprocess.run([sys.executable, "-m", "rnncourse", *_cli(course, template_course)],
                           capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 skipped" in again.stdout
    assert cell_scores(course) == reference
    assert grade_rows(course) == len(EXPECTED) * TEST_CELLS  # nothing duplicated
    assert sorted(e["student"] for e in _journal(course)) == sorted(EXPECTED)
    for student in EXPECTED:
        assert (course / "feedback" / student / "rnn_cell" / "rnn_cell.html").is_file()
        assert (course / "autograded" / student / "rnn_cell" / "rnn_cell.ipynb").is_file()


class _HoldWriteLock(threading.Thread):
    """Another program (a formgrader, say) holds the gradebook's write lock until released."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.held, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.db, isolation_level=None, check_same_thread=False)
        connection.execute("BEGIN IMMEDIATE")  # readers go on, writers wait
        self.held.set()
        self.release.wait(300)
        connection.execute("ROLLBACK")
        connection.close()

    def __enter__(self) -> _HoldWriteLock:
        self.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.join()


def test_a_locked_gradebook_is_waited_for(template_course: Path, reference,
                                          tmp_path: Path) -> None:
    course = copy_course(template_course, tmp_path / "course")
    said: list[str] = []
    with _HoldWriteLock(course / "gradebook.db") as holder:

        def say(message: str) -> None:  # the first merge waits: let go a few seconds later
            said.append(message)
            threading.Timer(3.0, holder.release.set).start()

        run = grade("rnn_cell", course, jobs=2, settings=SETTINGS, progress=False, say=say,
                    secret_file=secret_path(template_course))
    assert any("the gradebook is locked by another program" in m for m in said), said
    assert sorted(run.graded) == sorted(EXPECTED) and not run.not_graded
    assert cell_scores(course) == reference


def test_a_gradebook_locked_too_long_costs_only_the_merge(reference_course: Path,
                                                          template_course: Path, reference,
                                                          tmp_path: Path, monkeypatch) -> None:
    course = copy_course(reference_course, tmp_path / "course")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        # an earlier submission's grade, which the regrade would overwrite
        gb.find_grade("test_rnn_forward", "rnn_cell", "rnn_cell", "full").auto_score = 0.0
        gb.db.commit()
    earlier = cell_scores(course)
    assert earlier != reference
    monkeypatch.setattr(merge, "LOCK_WAIT", 2.0)
    with _HoldWriteLock(course / "gradebook.db"):
        run = grade("rnn_cell", course, jobs=1, settings=SETTINGS, progress=False, force=True,
                    students=["full"], secret_file=secret_path(template_course),
                    say=lambda message: None)
    assert "stayed locked" in run.not_graded.get("full", ""), run
    assert not run.graded
    assert cell_scores(course) == earlier  # the earlier grade stands


def test_a_killed_dask_worker_costs_no_grade(template_course: Path, reference,
                                             tmp_path: Path) -> None:
    from distributed import LocalCluster

    course = copy_course(template_course, tmp_path / "course")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        killer = _KillWhenBusy(psutil.Process())  # the nannies' workers are our grandchildren
        killer.start()
        run = grade("rnn_cell", course, scheduler=cluster.scheduler_address, settings=SETTINGS,
                    progress=False, secret_file=secret_path(template_course))
        killer.stop.set()
    assert killer.killed, "no Dask worker was seen grading"
    assert sorted(run.graded) == sorted(EXPECTED) and not run.not_graded and not run.failed
    assert cell_scores(course) == reference
    assert grade_rows(course) == len(EXPECTED) * TEST_CELLS


def test_a_second_run_on_the_same_course_is_refused(template_course: Path,
                                                    tmp_path: Path) -> None:
    course = copy_course(template_course, tmp_path / "course")
    with course_lock(course):
        with pytest.raises(CourseBusyError, match="another `rnncourse grade` is running"):
            grade("rnn_cell", course, jobs=1, settings=SETTINGS, progress=False,
                  secret_file=secret_path(template_course))
        cli = subprocess.run([sys.executable, "-m", "rnncourse",
                              *_cli(course, template_course)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert cli.returncode == 1
    assert f"pid {__import__('os').getpid()}" in cli.stderr  # who holds it
    assert not (course / "grading-report" / "rnn_cell" / "journal.jsonl").exists()
