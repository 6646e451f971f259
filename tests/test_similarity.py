"""The similarity report (``rnncourse.similarity``, ``rnncourse similarity``) on gru_cell.

A scratch course holds the real source and released gru_cell notebooks and a class made from
``tests/fixtures/similarity/gru_cell/``: three genuinely different correct implementations
(checked against the instructor's solution below), a renamed, recommented, reformatted and
reordered copy of one of them, a disguised copy of the instructor's solution, two untouched
releases and three notebooks that cannot be read.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnncourse.cli import app
from rnncourse.similarity import SOLUTION, NotebookError, Settings, similarity_report
from rnncourse.similarity.compare import Boilerplate
from rnncourse.similarity.notebooks import answer_cells, load_source
from rnncourse.similarity.tokens import (
    fingerprint,
    kgram_hashes,
    member,
    normalise,
    winnow,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "similarity" / "gru_cell"
SOURCE = ROOT / "solutions" / "gru_cell" / "gru_cell.ipynb"
RELEASE = ROOT / "exercises" / "gru_cell" / "gru_cell.ipynb"
INDEPENDENT = {"alice": "independent_a", "bob": "independent_b", "carol": "independent_c"}
COPIES = {"dave": "copy_of_a", "erin": "copy_of_solution"}
SCRIPT = '# </pre><script>alert("x")</script> & <b>'


def fixture_cells(name: str) -> dict[str, str]:
    """``{grade_id: code}`` of a fixture file (``# %% <grade_id>`` sections)."""
    parts = re.split(r"^# %% (\S+)\n", (FIXTURES / f"{name}.py").read_text(), flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def write_submission(course: Path, student: str, cells: dict[str, str]) -> Path:
    """The released notebook with its answer cells replaced by ``cells``."""
    notebook = json.loads(RELEASE.read_text())
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell["source"] = cells[grade_id]
    folder = course / "submitted" / student / "gru_cell"
    folder.mkdir(parents=True)
    path = folder / "gru_cell.ipynb"
    path.write_text(json.dumps(notebook, indent=1))
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("course")
    for path in (SOURCE, RELEASE):
        target = root / path.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(path, target)
    for student, name in INDEPENDENT.items():
        write_submission(root, student, fixture_cells(name))
    disguised = fixture_cells("copy_of_a")
    disguised["gru_step_forward"] = SCRIPT + "\n" + disguised["gru_step_forward"]
    write_submission(root, "dave", disguised)
    write_submission(root, "erin", fixture_cells("copy_of_solution"))
    write_submission(root, "frank", {})  # untouched releases
    write_submission(root, "grace", {})
    # A cell that is not valid Python is still compared (plain tokenizer).
    write_submission(root, "kim", {"gru_step_forward": "def gru_step_forward(x:\n  ???\n"})
    bad = root / "submitted"
    (bad / "henry" / "gru_cell").mkdir(parents=True)
    (bad / "henry" / "gru_cell" / "gru_cell.ipynb").write_text('{"cells": [')
    (bad / "ivan" / "gru_cell").mkdir(parents=True)
    (bad / "ivan" / "gru_cell" / "Copy of gru_cell.ipynb").write_text("{}")
    (bad / "judy" / "gru_cell").mkdir(parents=True)
    (bad / "judy" / "gru_cell" / "gru_cell.ipynb").write_text('{"cells": {"a": 1}}')
    (bad / "lena" / "gru_cell").mkdir(parents=True)
    (bad / "lena" / "gru_cell" / "gru_cell.ipynb").write_bytes(b'{"cells": ["\xff"]}')
    (bad / "mallory" / "gru_cell").mkdir(parents=True)  # a link to the instructor's source
    (bad / "mallory" / "gru_cell" / "gru_cell.ipynb").symlink_to(root / SOURCE.relative_to(ROOT))
    return root


@pytest.fixture(scope="module")
def report(course: Path):
    return similarity_report("gru_cell", course)


@pytest.fixture(scope="module")
def all_scores(course: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[frozenset, float]:
    """Every pair sharing any fingerprint, with its score (threshold 0)."""
    out = tmp_path_factory.mktemp("all-pairs")
    full = similarity_report("gru_cell", course, out=out, settings=Settings(threshold=0.0))
    return {frozenset((p.a, p.b)): p.score for p in full.pairs}


# --- the fixtures are what they claim to be --------------------------------------------------


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _functions(cells: dict[str, str]) -> dict:
    namespace = {"np": np, "sigmoid": _sigmoid}
    for code in cells.values():
        exec(compile(code, "<fixture>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", [*INDEPENDENT.values(), *COPIES.values()])
def test_fixture_is_a_correct_gru_cell(name: str) -> None:
    """Each fixture computes what the instructor's solution computes (so they are solutions)."""
    solution, _ = load_source(SOURCE)
    want = _functions({c.cell_id: c.source for c in solution.cells})
    got = _functions(fixture_cells(name))
    rng = np.random.default_rng(0)
    for N, D, H in [(3, 4, 5), (1, 2, 1), (5, 3, 6)]:
        args = (rng.standard_normal((N, D)), rng.standard_normal((N, H)),
                rng.standard_normal((3 * H, D)), rng.standard_normal((3 * H, H)),
                rng.standard_normal(3 * H), rng.standard_normal(3 * H))
        h_want, cache_want = want["gru_step_forward"](*args)
        h_got, cache_got = got["gru_step_forward"](*args)
        np.testing.assert_allclose(h_got, h_want, rtol=1e-12)
        dh = rng.standard_normal((N, H))
        grads_want = want["gru_step_backward"](dh, cache_want)
        grads_got = got["gru_step_backward"](dh, cache_got)
        assert set(grads_got) == set(grads_want)
        for key in grads_want:
            np.testing.assert_allclose(grads_got[key], grads_want[key], rtol=1e-10, atol=1e-12)
    for sizes in [(10, 20, 1), (3, 7, 2), (1, 1, 3)]:
        assert got["parameter_counts"](*sizes) == want["parameter_counts"](*sizes)


def test_independent_fixtures_are_written_differently() -> None:
    """Per answer cell, two independent fixtures (or one and the solution) share under 15 % of
    their normalised 10-token runs; the disguised copy shares over 60 % with its original."""
    solution, boilerplate = load_source(SOURCE)
    released = Boilerplate.from_cells(boilerplate, Settings()).lines
    docs = {name: fixture_cells(name) for name in [*INDEPENDENT.values(), "copy_of_a"]}
    docs["solution"] = {c.cell_id: c.source for c in solution.cells}

    def share(a: str, b: str, cell: str) -> float:
        x, y = (set(fingerprint(docs[n][cell], 10, 1, released).hashes.tolist()) for n in (a, b))
        return len(x & y) / len(x | y)

    independent = [*INDEPENDENT.values(), "solution"]
    for cell in docs["solution"]:
        for i, a in enumerate(independent):
            for b in independent[i + 1:]:
                assert share(a, b, cell) < 0.15, (a, b, cell)
        assert share("independent_a", "copy_of_a", cell) > 0.6, cell


# --- normalisation and fingerprints -----------------------------------------------------------


def test_names_comments_and_layout_do_not_change_the_tokens() -> None:
    a = "def f(x, W):\n    y = x @ W.T  # project\n    return np.tanh(y).sum(axis=0)\n"
    b = ('def f(x, W):\n    """Doc."""\n    # a comment\n    projected = x@W.T\n'
         "    return np.tanh(projected).sum(\n        axis = 0)\n")
    assert normalise(a).symbols == normalise(b).symbols


def test_api_names_and_structure_do_change_the_tokens() -> None:
    base = normalise("y = x.sum(axis=0)").symbols
    assert normalise("y = x.mean(axis=0)").symbols != base  # attribute
    assert normalise("y = x.sum(keepdims=0)").symbols != base  # keyword argument
    assert normalise("y = x.sum(axis=0) + 1").symbols != base  # structure
    assert normalise("y = len(x)").symbols != normalise("y = abs(x)").symbols  # builtins


def test_the_release_stub_line_and_docstrings_are_dropped() -> None:
    stub = ('def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n'
            '    raise NotImplementedError("Replace this line with your code.")\n'
            "    return y\n")
    assert normalise(stub).symbols == normalise("def f(x):\n    return y\n").symbols
    assert "S" in normalise("y = 'not a docstring'").symbols


def test_released_lines_are_left_out_of_the_students_code() -> None:
    """Only the student's own lines are compared: no k-gram joins the signature to them."""
    released = frozenset({"def gru_step_forward(x, h_prev):", "return h_next, cache"})
    cell = ("def gru_step_forward(x, h_prev):\n    h_next = np.tanh(x)\n    cache = x\n"
            "    return h_next, cache\n")
    kept = normalise(cell, released)
    assert kept.symbols == normalise("h_next = np.tanh(x)\ncache = x\n").symbols
    assert [cell[a:b] for a, b in kept.spans][:3] == ["h_next", "=", "np"]
    assert normalise(cell).symbols[0] == "def"


def test_invalid_python_falls_back_to_a_plain_tokenizer() -> None:
    tokens = normalise("%timeit f(x)\ny = (x +\n")
    assert not tokens.python
    assert tokens.symbols[:2] == ("%", "V")
    assert len(tokens.spans) == len(tokens.symbols)


def test_token_spans_point_into_the_source() -> None:
    source = "a = 1\r\nb = 'é' + c.d  # note\n"
    tokens = normalise(source)
    texts = [source[s:e] for s, e in tokens.spans]
    assert texts == ["a", "=", "1", "\r\n", "b", "=", "'é'", "+", "c", ".", "d", "\n"]


def test_winnowing_finds_every_long_enough_shared_run() -> None:
    """Schleimer et al.'s guarantee: a shared run of w + k - 1 tokens shares a fingerprint."""
    rng = np.random.default_rng(1)
    k, w = 5, 4
    for _ in range(200):
        shared = rng.integers(1, 50, size=w + k - 1).astype(np.uint64)
        a = np.concatenate([rng.integers(1, 50, rng.integers(0, 30)), shared,
                            rng.integers(1, 50, rng.integers(0, 30))]).astype(np.uint64)
        b = np.concatenate([rng.integers(1, 50, rng.integers(0, 30)), shared]).astype(np.uint64)
        ha, hb = kgram_hashes(a, k), kgram_hashes(b, k)
        assert set(ha[winnow(ha, w)].tolist()) & set(hb[winnow(hb, w)].tolist())


def test_member_agrees_with_isin() -> None:
    rng = np.random.default_rng(2)
    haystack = np.unique(rng.integers(0, 1000, 300).astype(np.uint64))
    needles = rng.integers(0, 1200, 500).astype(np.uint64)
    np.testing.assert_array_equal(member(needles, haystack), np.isin(needles, haystack))
    assert not member(needles, np.empty(0, np.uint64)).any()


def test_students_own_cells_are_compared_and_locked_cells_are_not() -> None:
    notebook = json.loads(RELEASE.read_text())
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "source": "helper = 1",
                              "outputs": [], "execution_count": None})
    ids = [cell.cell_id for cell in answer_cells(notebook, "test")]
    assert ids[:5] == ["gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
                       "parameter_counts"]
    assert ids[5].startswith("cell-") and len(ids) == 6


# --- the report -------------------------------------------------------------------------------


def test_disguised_copies_are_caught_and_nothing_else(report) -> None:
    listed = {frozenset((p.a, p.b)) for p in report.pairs}
    assert listed == {frozenset(("alice", "dave")), frozenset(("erin", SOLUTION))}
    assert all(p.b == SOLUTION for p in report.pairs if SOLUTION in (p.a, p.b))
    assert report.groups == [["alice", "dave"], ["erin", SOLUTION]]
    assert {(p.a, p.group) for p in report.pairs} == {("alice", 1), ("erin", 2)}


def test_scores_separate_copies_from_independent_solutions(all_scores) -> None:
    """Independent pairs score far below the threshold, copies far above (margins of 2x)."""
    threshold = Settings().threshold
    independent = [*INDEPENDENT, SOLUTION]
    for i, a in enumerate(independent):
        for b in independent[i + 1:]:
            assert all_scores.get(frozenset((a, b)), 0.0) < threshold / 2, (a, b)
    assert all_scores[frozenset(("alice", "dave"))] > 0.75
    assert all_scores[frozenset(("erin", SOLUTION))] > 0.75


def test_untouched_releases_are_empty_and_match_nothing(report, all_scores) -> None:
    assert set(report.empty) == {"frank", "grace"}
    assert not any({"frank", "grace"} & pair for pair in all_scores)


def test_unreadable_notebooks_are_reported_not_fatal(report) -> None:
    assert set(report.problems) == {"henry", "ivan", "judy", "lena", "mallory"}
    assert "not JSON" in report.problems["henry"]
    assert report.problems["ivan"] == "no gru_cell.ipynb (found Copy of gru_cell.ipynb)"
    assert "not a notebook" in report.problems["judy"]
    assert "not UTF-8" in report.problems["lena"]
    assert "symbolic link" in report.problems["mallory"]
    assert report.compared == 8  # 5 with code, 2 untouched, kim's broken cell
    rows = list(csv.DictReader((report.out / "problems.csv").open()))
    assert {r["student"] for r in rows} == set(report.problems)


def test_pairs_csv_and_index_list_the_pairs(report) -> None:
    rows = list(csv.DictReader(report.csv.open()))
    assert [(r["student_a"], r["student_b"], int(r["group"])) for r in rows] == \
        [(p.a, p.b, p.group) for p in report.pairs]
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows),
                                                       reverse=True)
    index = report.index.read_text()
    for pair in report.pairs:
        assert pair.view is not None and pair.view.is_file()
        assert f'href="{pair.view.relative_to(report.out).as_posix()}"' in index
    assert "henry" in index and "frank, grace" in index


def test_side_by_side_view_escapes_code_and_marks_the_copied_lines(report) -> None:
    pair = next(p for p in report.pairs if p.b == "dave")
    page = pair.view.read_text()
    assert "<script" not in page and html.escape(SCRIPT) in page
    assert "Content-Security-Policy" in page
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", page, flags=re.S))
    assert "np.split(W_hh, 3, axis = 0)" in html.unescape(marked)  # dave's line, layout kept
    assert "def gru_step_forward" not in marked  # the released signature never counts
    assert "hidden-side weights" not in marked  # comments are not matches


def test_cli_writes_the_report_and_fails_cleanly(course: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["similarity", "gru_cell", "--course", str(course),
                                 "--out", str(tmp_path / "r"), "--threshold", "0.6",
                                 "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "8 submissions compared, 2 pairs at or above 0.60, 5 not compared" in result.output
    assert "alice ~ dave" in result.output and (tmp_path / "r" / "index.html").is_file()
    missing = runner.invoke(app, ["similarity", "lstm_cell", "--course", str(course)])
    assert missing.exit_code == 1 and "lstm_cell.ipynb: no such notebook" in missing.output


def test_a_source_without_solution_cells_is_an_error(tmp_path: Path) -> None:
    notebook = json.loads(SOURCE.read_text())
    for cell in notebook["cells"]:
        cell["metadata"].get("nbgrader", {})["solution"] = False
    path = tmp_path / "gru_cell.ipynb"
    path.write_text(json.dumps(notebook))
    with pytest.raises(NotebookError, match="no solution code cells"):
        load_source(path)


def test_no_submissions_give_an_empty_report(tmp_path: Path) -> None:
    (tmp_path / "submitted").mkdir()
    (tmp_path / "solutions" / "gru_cell").mkdir(parents=True)
    shutil.copy(SOURCE, tmp_path / "solutions" / "gru_cell")
    empty = similarity_report("gru_cell", tmp_path)
    assert (empty.compared, empty.pairs, empty.groups, empty.problems) == (0, [], [], {})
    assert "No pair reaches the threshold" in empty.index.read_text()
    with pytest.raises(FileNotFoundError, match="no submissions folder"):
        similarity_report("gru_cell", tmp_path, submitted=tmp_path / "nowhere")


def test_parallel_reading_gives_the_same_report(course: Path, report, tmp_path: Path) -> None:
    """jobs=2 (processes) lists the same pairs with the same scores as one process."""
    parallel = similarity_report("gru_cell", course, out=tmp_path, jobs=2)
    assert [(p.a, p.b, p.score) for p in parallel.pairs] == \
        [(p.a, p.b, p.score) for p in report.pairs]
