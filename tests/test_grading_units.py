"""Fast checks of the grading pieces that need no kernel (rnncourse.grading).

The end-to-end and robustness tests, which run nbgrader, are in test_grading_robustness.py,
test_grading_modes.py and test_grading_manual.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from rnncourse.grading import collect, sandbox, scan
from rnncourse.grading.feedback import REDACTED, HideHiddenTests
from rnncourse.grading.job import Limits, parse_size
from rnncourse.grading.submission import _released, precheck

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / "rnn_cell" / "rnn_cell.ipynb"


def test_parse_size() -> None:
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("512M") == 512 * 1024**2
    assert parse_size("1.5GiB") == int(1.5 * 1024**3)
    assert parse_size(123) == 123
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")


def test_a_submissions_deadline_grows_with_its_notebooks() -> None:
    limits = Limits(notebook_timeout=100)
    assert limits.deadline(2) == 320
    assert limits.deadline(0) == limits.deadline(1) == 220


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("np.allclose = lambda *a, **k: True", "monkeypatching np"),
        ("import rnncourse.checks as c\nc.assert_close = None", "monkeypatching c"),
        ("class A:\n    def __eq__(self, other):\n        return True", "defines __eq__"),
        ("get_ipython().events.register('post_run_cell', f)", "get_ipython"),
        ("import os\nos._exit(1)", "os._exit"),
        ("import sqlite3", "sqlite3"),
        ("for r, d, f in __import__('os').walk('/'): pass", "__import__"),
    ],
)
def test_scan_flags_tampering_constructs(source: str, expected: str) -> None:
    reasons = scan.scan_source(source)
    assert any(expected in r for r in reasons), reasons


def test_scan_is_quiet_on_honest_code_and_skips_instructor_cells() -> None:
    honest = "def f(x, W):\n    a = x @ W.T\n    out = np.tanh(a)\n    return out, (x, a)\n"
    assert scan.scan_source(honest) == []
    assert scan.scan_source("def broken(:") == []  # a syntax error is nbgrader's business
    nb = nbformat.read(SOURCE, as_version=4)
    assert scan.scan_notebook(nb) == []  # the solution itself is clean


def test_released_drops_the_hidden_region() -> None:
    source = "visible()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter()"
    assert _released(source) == "visible()\nafter()"


def _table_from_source() -> dict[str, dict[str, dict]]:
    """The precheck's view of the gradebook, built from the source notebook's metadata."""
    nb = nbformat.read(SOURCE, as_version=4)
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        cells[meta["grade_id"]] = {
            "source": cell.source, "grade": meta.get("grade", False),
            "solution": meta.get("solution", False), "locked": meta.get("locked", False),
            "points": meta.get("points"), "checksum": None, "task": False,
        }
    return {"rnn_cell": cells}


def test_precheck_repairs_metadata_and_reports(tmp_path: Path) -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    by_id["test_rnn_forward"].metadata["nbgrader"]["grade_id"] = "bonus"  # renamed
    by_id["test_rnn_step_forward"].metadata["nbgrader"]["points"] = 50  # more points
    by_id["test_rnn_backward_inputs"].source = "pass"  # edited
    nbformat.write(nb, tmp_path / "rnn_cell.ipynb")
    nbformat.write(new_notebook(), tmp_path / "extra.ipynb")
    notes, usable = precheck(tmp_path, _table_from_source())
    text = "\n".join(notes)
    assert usable == ["rnn_cell"]
    assert "unknown grade_id 'bonus'" in text
    assert "metadata of cell 'test_rnn_step_forward' was edited" in text
    assert "'test_rnn_backward_inputs' was edited" in text
    assert "test_rnn_forward missing; restored" in text
    assert "extra notebook extra.ipynb ignored" in text
    fixed = nbformat.read(tmp_path / "rnn_cell.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in fixed.cells]
    assert "bonus" not in ids
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
              for c in fixed.cells if "nbgrader" in c.metadata}
    assert points["test_rnn_step_forward"] == 2


def test_precheck_removes_invalid_and_reports_missing(tmp_path: Path) -> None:
    (tmp_path / "rnn_cell.ipynb").write_text('{"cells": [', encoding="utf-8")
    notes, usable = precheck(tmp_path, _table_from_source())
    assert usable == []
    assert "not a valid notebook" in notes[0]
    assert not (tmp_path / "rnn_cell.ipynb").exists()
    notes, usable = precheck(tmp_path, _table_from_source())
    assert usable == [] and "missing notebook rnn_cell.ipynb" in notes[0]


def _feedback_notebook() -> nbformat.NotebookNode:
    hidden_line = "assert_close(f(secret_input_value), 42.0)"
    test = new_code_cell(
        f"assert_close(f(1), 2)\n### BEGIN HIDDEN TESTS\n{hidden_line}\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "locked": True,
                               "grade_id": "t1", "points": 1, "schema_version": 3}},
        outputs=[new_output("error", ename="AssertionError", evalue="f(secret) is 41",
                            traceback=["Traceback", f"----> 3 {hidden_line}", "AssertionError"]),
                 new_output("stream", name="stdout", text="details of the hidden case\n")],
    )
    student = new_code_cell(
        "print(open('leak').read())  # BEGIN HIDDEN TESTS in a student cell is harmless",
        metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                               "grade_id": "a1", "schema_version": 3}},
        outputs=[new_output("stream", name="stdout", text=f"stolen:\n    {hidden_line}\nok\n")],
    )
    return new_notebook(cells=[new_markdown_cell("intro"), student, test])


def test_feedback_hides_hidden_tests_and_redacts_leaks() -> None:
    nb, _ = HideHiddenTests().preprocess(_feedback_notebook(), {})
    student, test = nb.cells[1], nb.cells[2]
    assert "secret_input_value" not in test.source
    assert "hidden tests are not shown" in test.source
    assert [o.output_type for o in test.outputs] == ["error"]
    assert test.outputs[0].traceback == ["AssertionError: f(secret) is 41"]
    assert "BEGIN HIDDEN TESTS" in student.source  # the student's own text is left alone
    assert REDACTED in student.outputs[0].text
    assert "secret_input_value" not in json.dumps(nb)


def test_the_feedback_page_is_the_one_nbconvert_makes() -> None:
    """FeedbackHTMLExporter skips HTMLExporter's BeautifulSoup pass: the same page results."""
    from bs4 import BeautifulSoup
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from traitlets.config import Config

    from rnncourse.grading.feedback import NO_ALT_TEXT, FeedbackHTMLExporter

    nb, _ = HideHiddenTests().preprocess(_feedback_notebook(), {})
    nb.cells[2].metadata.nbgrader["score"] = 0  # what nbgrader's GetGrades adds
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
           "AAAABJRU5ErkJggg==")
    nb.cells.append(new_code_cell("plot()", outputs=[
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]))
    nb.cells.append(new_markdown_cell('A figure: <img src="a.png"> and <img alt="b" src="b.png">'
                                      '\n\n$x^2$ and `code`'))
    config = GenerateFeedback(config=Config()).config
    resources = {"nbgrader": {"score": 1, "max_score": 2, "late_penalty": 0}}
    ours, _ = FeedbackHTMLExporter(config=config).from_notebook_node(nb, resources=dict(resources))
    theirs, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=dict(resources))
    assert ours.count(f'alt="{NO_ALT_TEXT}"') == 2  # the plot and a.png; b.png keeps its own
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs


def test_collect_reads_regular_files_only(tmp_path: Path) -> None:
    sub = tmp_path / "submitted" / "alice" / "a1"
    sub.mkdir(parents=True)
    (sub / "a1.ipynb").write_text("{}", encoding="utf-8")
    (sub / "data").mkdir()
    (sub / "data" / "x.csv").write_text("1,2", encoding="utf-8")
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests", encoding="utf-8")
    (sub / "link.db").symlink_to(secret)
    (sub / ".ipynb_checkpoints").mkdir()
    (sub / ".ipynb_checkpoints" / "a1-checkpoint.ipynb").write_text("{}", encoding="utf-8")
    (tmp_path / "submitted" / "bob").mkdir()  # no a1 folder: not a submission
    found = collect.from_folder(tmp_path / "submitted", "a1")
    assert [s.student for s in found] == ["alice"]
    files = collect.read_files(found[0].path)
    assert sorted(files) == ["a1.ipynb", "data/x.csv"]
    assert collect.digest(files) == collect.digest(dict(reversed(files.items())))
    with pytest.raises(collect.CollectError, match="larger than"):
        collect.read_files(found[0].path, max_bytes=3)
    (tmp_path / "submitted" / "bad id!" / "a1").mkdir(parents=True)
    with pytest.raises(collect.CollectError, match="unusable student id"):
        collect.from_folder(tmp_path / "submitted", "a1")


@pytest.mark.parametrize(
    ("regexp", "name", "student", "file_id"),
    [
        (collect.DEFAULT_REGEXP, "/x/extracted/alice_rnn_cell.ipynb", "alice", "rnn_cell.ipynb"),
        (collect.DEFAULT_REGEXP, "/tmp/py_of_me/extracted/s123_a.ipynb", "s123", "a.ipynb"),
        (collect.FOLDER_REGEXP, "/x/extracted/bob/rnn_cell.ipynb", "bob", "rnn_cell.ipynb"),
    ],
)
def test_zip_regexps(regexp: str, name: str, student: str, file_id: str) -> None:
    match = re.match(regexp, name)
    assert match and match["student_id"] == student and match["file_id"] == file_id


def test_sandbox_modes_and_environment(tmp_path: Path) -> None:
    assert sandbox.available_modes()[-1] == "none"
    assert sandbox.resolve_mode("auto") == sandbox.available_modes()[0]
    with pytest.raises(ValueError, match="unknown sandbox mode"):
        sandbox.resolve_mode("docker")
    dirs = sandbox.KernelDirs(tmp_path / "k")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        env = sandbox.kernel_env(dirs, {})
    finally:
        del os.environ["NBGRADER_EXECUTION"]
    assert "NBGRADER_EXECUTION" not in env
    assert env["HOME"].startswith(str(dirs.root)) and env["OMP_NUM_THREADS"] == "1"
    assert all(not key.startswith(("JPY", "JUPYTER_RUNTIME")) for key in env)
    roots = sandbox.python_roots()
    assert os.getcwd() not in roots or os.getcwd() == sys.prefix
    assert str(ROOT) not in roots  # the course itself is never made readable


PROBE = r"""
import json, os, resource, socket
out = {"uid": os.getuid(), "cwd": os.getcwd()}
def can_read(path):
    try:
        with open(path, "rb") as handle:
            return len(handle.read()) > 0
    except OSError:
        return False
out["secret"] = can_read(SECRET)
out["source"] = can_read(SOURCE)
out["as_limit"] = resource.getrlimit(resource.RLIMIT_AS)[0]
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
    out["network"] = True
except OSError:
    out["network"] = False
print(json.dumps(out))
"""


@pytest.mark.parametrize("mode", sandbox.available_modes())
def test_sandbox_isolation_per_mode(tmp_path: Path, mode: str) -> None:
    """What the kernel of each mode can reach: the protection the README describes."""
    import socket

    course = tmp_path / "course"
    course.mkdir()
    secret = course / "gradebook.db"
    secret.write_text("BEGIN HIDDEN TESTS", encoding="utf-8")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    dirs = sandbox.KernelDirs(tmp_path / "kroot")
    dirs.create()
    plan = sandbox.SandboxPlan(
        mode=mode, dirs=dirs, limits={"as": 3 * 1024**3, "cpu": 30, "fsize": 10**8,
                                      "nproc": 4096, "core": 0},
        hide=[str(course), str(ROOT / "solutions"), str(tmp_path / "other")])
    code = (PROBE.replace("SECRET", repr(str(secret)))
            .replace("SOURCE", repr(str(SOURCE))).replace("PORT", str(port)))
    done = subprocess.run(plan.wrap([sys.executable, "-c", code]), capture_output=True,
                          text=True, env=sandbox.kernel_env(dirs, {}), timeout=120, check=False)
    server.close()
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["cwd"] == str(dirs.work)
    assert seen["as_limit"] == 3 * 1024**3
    if mode in ("bwrap", "unshare"):
        assert not seen["secret"] and not seen["source"] and not seen["network"]
    else:  # documented: no file or network isolation beyond the uid
        assert seen["network"]


def test_a_pool_broken_between_two_submits_is_replaced_and_nothing_is_lost() -> None:
    """A worker died after the last wait, so ``submit`` itself raises BrokenProcessPool: the
    submission waits for the new pool and no fault is charged to it (seen under make test)."""
    from collections import deque
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from rnncourse.grading.job import GRADED, GradingSettings, SubmissionResult
    from rnncourse.grading.runner import GradeRun, _drive, _Planned

    class Workers:
        slots, scheduler, restarts, broken = 1, None, 0, True

        def submit(self, fn, task):
            if self.broken:
                raise BrokenProcessPool("a child process terminated abruptly")
            future: Future = Future()
            future.set_result(SubmissionResult("a", task, "key", GRADED))
            return future

        def restart(self):
            self.restarts, self.broken = self.restarts + 1, False

    class Merger:
        def merge(self, result):
            pass

    class Bar:
        def update(self, n):
            pass

        def set_postfix(self, **kwargs):
            pass

    workers, run = Workers(), GradeRun("a", "none")
    _drive(workers, deque([_Planned("s1", Path("s1"))]), lambda plan: plan.student, Merger(),
           run, Bar(), GradingSettings(), 1, retries=0)
    assert run.graded == ["s1"] and workers.restarts == 1
    assert run.retried == {} and run.not_graded == {}
