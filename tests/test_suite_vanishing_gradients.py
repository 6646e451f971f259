"""vanishing_gradients' tests in the judge (bwrap), in the learner's kernel, and their messages.

The judge runs whole notebooks: the solution, the untouched release, and solutions with
mistakes (from ``tests/wrong_submissions/vanishing_gradients.py``) or valid variants. Several
independent edits share one judge run where their tests do not overlap, to keep this file fast.
The learner's kernel (:class:`rnncourse.exercise.Checker`, replaying the recorded fixtures)
checks the named mistakes of every part without a sandbox.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from correct_submissions import load as load_correct
from wrong_submissions import WrongSubmission, apply
from wrong_submissions import load as load_wrong

from rnncourse.exercise import Checker, fixtures_path
from rnncourse.exercise.replay import Recorder, Replay, digest
from rnncourse.exercise.tester import CheckError, InKernelStudent
from rnncourse.grading import sandbox
from rnncourse.judge.engine import (
    CodeCell,
    JudgeSettings,
    hidden_cases,
    hidden_rng,
    judge,
    load_hidden,
)
from rnncourse.judge.fixtures import solution_namespace
from rnncourse.judge.student import ProcessLimits
from rnncourse.oracles import ask
from rnncourse.suites import load, rubric, run_cases
from rnncourse.suites import vanishing_gradients as vg

NAME = "vanishing_gradients"
ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
RELEASE = ROOT / "exercises" / NAME / f"{NAME}.ipynb"
SUITE = load(NAME)
HIDDEN = load_hidden(ROOT / "solutions" / NAME)
WRONG = {w.name: w for w in load_wrong(NAME)}
CORRECT = {c.name: c for c in load_correct(NAME)}
needs_bwrap = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                 reason="bubblewrap is not available")


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def code_cells(nb: nbformat.NotebookNode) -> list[CodeCell]:
    """The notebook's code cells as the judge receives them (test cells carry their id)."""
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        test = meta(cell)["grade_id"] if meta(cell).get("grade") else None
        cells.append(CodeCell(index, cell.source, test=test))
    return cells


def with_mistakes(*names: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The solution notebook with the named wrong submissions' edits, and whole answer cells
    replaced by ``answers``."""
    nb = nbformat.read(SOURCE, as_version=4)
    edits = {}
    for name in names:
        edits.update(WRONG[name].edits)
    nb = apply(nb, WrongSubmission("+".join(names), edits=edits))
    for cell in nb.cells:
        if answers and meta(cell).get("grade_id") in answers:
            cell.source = answers[meta(cell)["grade_id"]]
    return nb


def run(tmp_path: Path, nb: nbformat.NotebookNode, student: str = "alice"):
    settings = JudgeSettings(mode="bwrap", secret=b"course secret", call_timeout=30.0,
                             limits=ProcessLimits(memory_bytes=2 * 1024**3))
    return judge(SUITE, HIDDEN, code_cells(nb), student_id=student, settings=settings,
                 root=tmp_path / student)


def failed(verdict) -> dict[str, str]:
    return {gid: v.message for gid, v in verdict.tests.items() if not v.passed}


def namespace_of(nb: nbformat.NotebookNode) -> dict:
    """Run the notebook's code cells except the tests here, as a kernel would: a cell that
    raises stops only itself (e.g. the plot cell printing a slope that is not a number)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    for cell in code_cells(nb):
        if cell.test is None:
            with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f"<cell {cell.index}>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    """The solution notebook's namespace (its code cells except the tests, run here)."""
    return solution_namespace(SOURCE)


# --- the suite and the notebook agree -------------------------------------------------------


def test_points_follow_the_rubric_and_the_intro_lists_them() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    tests = {meta(c)["grade_id"]: c for c in nb.cells
             if meta(c).get("grade") and not meta(c).get("solution")}
    assert set(tests) == set(SUITE.tests)
    intro = nb.cells[0].source
    for gid, spec in SUITE.tests.items():
        assert meta(tests[gid])["points"] == spec.points == rubric.points(spec.level)
        assert tests[gid].source.startswith(f"# Test {gid}: {spec.what} ")
        assert f"| `{gid}` | {spec.what} | {spec.points:g} |" in intro
    assert SUITE.tests["test_step_jacobian"].level == "one-liner"


def test_the_set_up_cell_imports_no_torch_and_no_graded_module() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    setup = next(c.source for c in nb.cells if meta(c).get("grade_id") == "setup")
    assert "import torch" not in setup and "rnncourse.exercise import Checker" in setup
    assert [line for line in setup.splitlines() if "import" in line and "rnncourse" in line] \
        == ["from rnncourse.exercise import Checker"]
    assert 'warnings.filterwarnings("ignore")' in setup and "stderr" in setup
    assert SUITE.packages == ("numpy", "matplotlib", "ipython")
    assert set(SUITE.course_files) == {"__init__.py", "exercise"}


def test_the_notebook_states_the_product_rule_and_the_clipping_tolerances() -> None:
    text = "\n".join(c.source for c in nbformat.read(SOURCE, as_version=4).cells
                     if c.cell_type == "markdown")
    assert "P_t = P_{t+1}\\, J_{t+1}" in text
    assert "**`hs[k]` is $h_{k+1}$**" in text and "step_jacobian(hs[t], W_hh)" in text
    assert "threshold / (norm + 1e-6)" in text and "1e-12" in text
    assert f"relative error of $10^{{{int(np.log10(vg.CLIP_TOL))}}}$" in text


def test_the_locked_experiment_cell_builds_the_suites_inputs(solution: dict) -> None:
    inputs = vg.experiment_inputs()
    for key, name in [("W_hh0", "W_hh0"), ("W_ih", "W_ih_exp"), ("b", "b_exp"), ("x", "x_exp"),
                      ("h0", "h0_exp")]:
        assert np.array_equal(solution[name], inputs[key]), name
    assert tuple(solution["SIGMAS"]) == vg.SIGMAS


def test_the_set_up_rnn_states_is_torchs_rnn(solution: dict) -> None:
    from rnncourse.oracles.vanishing_gradients import rnn_jacobian_products

    p = vg.sequence(3, 7, 2, 5, recurrent=1.5)
    hs = solution["rnn_states"](p["x"], p["h0"], p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
    assert np.allclose(hs, rnn_jacobian_products(**p)["hs"], rtol=0, atol=1e-14)


def assert_same(recorded, fresh) -> None:
    """Two oracle answers agree (to rounding: the recording may come from another machine)."""
    if isinstance(fresh, dict):
        assert set(recorded) == set(fresh)
        for key in fresh:
            assert_same(recorded[key], fresh[key])
    elif isinstance(fresh, tuple | list):
        assert len(recorded) == len(fresh)
        for a, b in zip(recorded, fresh, strict=True):
            assert_same(a, b)
    else:
        np.testing.assert_allclose(recorded, fresh, rtol=1e-10, atol=1e-13)


def test_the_fixtures_equal_a_fresh_recording(solution: dict) -> None:
    """Every question the visible cases ask is answered by the committed fixtures, as torch
    answers it now."""
    questions = []

    def noting(name: str, **inputs):
        questions.append((name, inputs))
        return ask(name, **inputs)

    recorder = Recorder(noting)
    student = InKernelStudent(solution)
    for spec in SUITE.tests.values():
        list(run_cases(spec, student, recorder, spec.visible))
    replay = Replay(fixtures_path(NAME))
    assert len(replay) == len(recorder.answers) == len({digest(n, i) for n, i in questions})
    for name, inputs in questions:
        assert_same(replay(name, **inputs), recorder.answers[digest(name, inputs)])


def test_hidden_cases_are_per_student_and_cover_every_test_but_the_experiment() -> None:
    alice = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice == hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice != hidden_cases(HIDDEN, hidden_rng(NAME, "bob", b"s"))
    assert set(alice) == set(SUITE.tests) - {"test_experiment"}
    for spec in SUITE.tests.values():
        assert spec.visible, spec.grade_id


# --- the learner's kernel -------------------------------------------------------------------


def test_the_solution_passes_in_the_learners_kernel(solution: dict) -> None:
    check = Checker(NAME, namespace=solution)
    for gid in SUITE.tests:
        check(gid)


MISTAKES = [
    ("frobenius_instead_of_spectral_norm", "test_scale_to_spectral_norm",
     "You divided by the Frobenius norm"),
    ("jacobian_without_tanh_derivative", "test_step_jacobian",
     "step_jacobian lacks the tanh derivative"),
    ("jacobian_product_in_wrong_order", "test_jacobian_products",
     "P[t] is multiplied in the wrong order"),
    ("jacobian_product_index_off_by_one", "test_jacobian_products", "Off by one in hs"),
    ("frobenius_gradient_norms", "test_gradient_norms", "These are Frobenius norms"),
    ("log10_slope", "test_log_slope", "log_slope uses log10"),
    ("always_equal_slope", "test_log_slope", "log_slope(norms) must be a numeric"),
    ("clipping_each_element", "test_clip_by_global_norm", "You clipped each element"),
    ("clipping_below_the_threshold_too", "test_clip_by_global_norm",
     "You rescaled gradients whose norm is already below"),
    ("clipping_epsilon_too_large", "test_clip_by_global_norm",
     "Your factor is close to threshold / norm"),
    ("experiment_forgets_the_rescaling", "test_experiment", "curves[0.5] is wrong"),
]


@pytest.mark.parametrize(("wrong", "gid", "lead"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named_in_the_learners_kernel(wrong: str, gid: str, lead: str) -> None:
    """The message's first line names the mistake (its first 80 characters stand alone)."""
    namespace = namespace_of(with_mistakes(wrong))
    check = Checker(NAME, namespace=namespace)
    with pytest.raises(CheckError) as failure:
        check(gid)
    assert str(failure.value).startswith(lead), str(failure.value)
    for other in set(SUITE.tests) - set(WRONG[wrong].lost):
        check(other)  # every other test still passes: one mistake, its own points


def test_a_per_parameter_norm_is_named(solution: dict) -> None:
    def clip(grads, threshold):
        norm = max(float(np.linalg.norm(g)) for g in grads.values())
        return solution["clip_by_global_norm"](grads, threshold)[0], norm

    check = Checker(NAME, namespace={**solution, "clip_by_global_norm": clip})
    with pytest.raises(CheckError, match=r"^Return one norm over all parameters together"):
        check("test_clip_by_global_norm")


@pytest.mark.parametrize("variant", ["svd_and_closed_form_slope", "norm_and_lstsq"])
def test_both_epsilon_variants_of_clipping_pass(variant: str, tmp_path: Path) -> None:
    """An epsilon inside the square root (1e-12) or torch's norm + 1e-6: both are correct, on
    the visible and the hidden cases (the zero gradient and the threshold itself included)."""
    from rnncourse.judge.inkernel import run_hidden

    code = CORRECT[variant].cells["clip_by_global_norm"]
    assert "1e-12" in code or "1e-6" in code
    namespace: dict = {"np": np}
    exec(code, namespace)
    Checker(NAME, namespace=namespace)("test_clip_by_global_norm")
    assert run_hidden(NAME, "test_clip_by_global_norm", namespace) == 4


# --- the judge ------------------------------------------------------------------------------


@needs_bwrap
def test_the_solution_passes_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, nbformat.read(SOURCE, as_version=4))
    assert not failed(verdict)
    drawn = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"course secret"))
    for gid, test in verdict.tests.items():
        assert test.cases == len(SUITE.tests[gid].visible) + len(drawn.get(gid, []))


@needs_bwrap
def test_the_untouched_release_fails_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, nbformat.read(RELEASE, as_version=4))
    assert set(failed(verdict)) == set(SUITE.tests)


@needs_bwrap
def test_one_mistake_costs_its_own_test_in_the_judge(tmp_path: Path) -> None:
    """A wrong step_jacobian, a log10 slope and per-element clipping fail their own tests;
    the products, norms and the experiment built on them keep their points."""
    names = ("jacobian_without_tanh_derivative", "log10_slope", "clipping_each_element")
    verdict = run(tmp_path, with_mistakes(*names))
    messages = failed(verdict)
    assert set(messages) == {gid for n in names for gid in WRONG[n].lost}
    assert messages["test_step_jacobian"].startswith("step_jacobian lacks the tanh derivative")
    assert messages["test_log_slope"].startswith("log_slope uses log10")
    assert messages["test_clip_by_global_norm"].startswith("You clipped each element")


@needs_bwrap
def test_named_mistakes_and_torchs_clipping_formula_in_the_judge(tmp_path: Path) -> None:
    """Off-by-one products and a Frobenius rescaling are named; torch's epsilon passes."""
    names = ("jacobian_product_index_off_by_one", "frobenius_instead_of_spectral_norm")
    clip = CORRECT["norm_and_lstsq"].cells["clip_by_global_norm"]
    verdict = run(tmp_path, with_mistakes(*names, answers={"clip_by_global_norm": clip}))
    messages = failed(verdict)
    assert set(messages) == {"test_jacobian_products", "test_scale_to_spectral_norm"}
    assert messages["test_jacobian_products"].startswith("Off by one in hs: J_{t+1} needs")
    assert "(T=5, D=2, H=3)" in messages["test_jacobian_products"].splitlines()[0]
    assert messages["test_scale_to_spectral_norm"].startswith("You divided by the Frobenius")


@needs_bwrap
def test_a_hidden_case_failure_shows_no_input(tmp_path: Path) -> None:
    """Clipping that forgets the zero gradient fails a hidden case, named by number only."""
    answers = {"clip_by_global_norm": (
        "def clip_by_global_norm(grads, threshold):\n"
        "    norm = float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))\n"
        "    return {k: g * min(1.0, threshold / norm) for k, g in grads.items()}, norm\n")}
    verdict = run(tmp_path, with_mistakes(answers=answers))
    message = failed(verdict)["test_clip_by_global_norm"]
    assert message.startswith("Hidden case 4 of 4: "), message
    assert "seed" not in message and "shapes" not in message
