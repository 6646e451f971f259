"""sequence_models' tests in the judge (bwrap), in the learner's kernel, and their margins.

The judge runs the solution notebook whole (it trains the three models in the sandbox), the
untouched release, and, without the training cell and the outcome tests (to stay fast),
notebooks with several independent mistakes or a valid variant. The learner's kernel
(:class:`rnncourse.exercise.Checker`) checks the same on the notebook's namespace.

Margins of the outcome tests (threshold: held-out MSE below 0.05; always predicting 1 gives
1/6 = 0.167), measured with torch 2.13 on 2 CPU cores (one thread, as in the notebook) by
``.venv/bin/python tests/test_suite_sequence_models.py --sweep``. Held-out MSE of the trained
LSTM and GRU as the judge measures it (weights loaded into its own modules), the worst of four
held-out sets (seeds 1234, 1, 2, 3; 2000 sequences each), for the solution and the two valid
variants of ``tests/correct_submissions/sequence_models.py`` (``mseloss_and_last_output``:
``self.rnn`` then ``self.head``, ``out[:, -1]``, ``nn.MSELoss``, ``clip_grad_norm_``;
``head_first_final_state``: the head created first, ``h_n`` unpacked from the LSTM's tuple, a
manual mean, torch's clipping formula by hand), over five training seeds (``SEED`` of the
training cell; the notebook uses 0)::

    variant                        seed:   0       1       2       3       4
    solution                  LSTM      0.0018  0.0025  0.0025  0.0033  0.0017
                              GRU       0.0004  0.0003  0.0006  0.0003  0.0002
    mseloss_and_last_output   LSTM      0.0018  0.0025  0.0025  0.0033  0.0017
                              GRU       0.0004  0.0003  0.0006  0.0003  0.0002
    head_first_final_state    LSTM      0.0018  0.0025  0.0025  0.0033  0.0019
                              GRU       0.0004  0.0003  0.0005  0.0003  0.0002

The worst correct LSTM (0.0033) is 15 times below the threshold, the worst GRU (0.0006) 80
times. The variants differ only by rounding: the training cell's ``reset_parameters`` gives every
layer order the same start. The wrong submissions of ``tests/wrong_submissions/sequence_models.py``
(training seed 0, the *best* of the same four held-out sets)::

    never_calls_optimizer_step                 LSTM 0.9858  GRU 1.7987
    loss_broadcasts_prediction_against_target  LSTM 0.1632  GRU 0.1627
    never_zeroes_the_gradients                 LSTM 0.0860  GRU 0.0848
    fit_makes_a_new_optimizer_every_step       LSTM 0.2432  GRU 0.1884
    head_reads_first_step                      LSTM 0.3549  GRU 0.7588
    layer_not_batch_first                      LSTM 0.1605  GRU 0.1587
    lstm_reads_the_state_tuple                 LSTM 0.2558  GRU 0.0004
    no_gradient_clipping                       LSTM 0.0016  GRU 0.0007  (trains: clipping only)
    clips_after_the_step                       LSTM 0.0016  GRU 0.0007  (trains: clipping only)

The nearest failing model (0.0848) is 1.7 times above the threshold, so 0.05 separates correct
from broken training on both sides.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from correct_submissions import load as load_correct
from wrong_submissions import WrongSubmission, apply
from wrong_submissions import load as load_wrong

from rnncourse.exercise import Checker, fixtures_path, library
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
from rnncourse.oracles import ask
from rnncourse.oracles.sequence_models import contract_heldout_mse, tiny_model
from rnncourse.suites import load, rubric, run_cases
from rnncourse.suites import sequence_models as sm

NAME = "sequence_models"
ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
RELEASE = ROOT / "exercises" / NAME / f"{NAME}.ipynb"
SUITE = load(NAME)
HIDDEN = load_hidden(ROOT / "solutions" / NAME)
WRONG = {w.name: w for w in load_wrong(NAME)}
CORRECT = {c.name: c for c in load_correct(NAME)}
OUTCOMES = {"test_lstm_solves_adding", "test_gru_solves_adding"}
TRAINING = {"train_models", "plot_curves"}
needs_bwrap = pytest.mark.skipif("bwrap" not in sandbox.available_modes(),
                                 reason="bubblewrap is not available")


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def notebook(*mistakes: str, answers: dict[str, str] | None = None,
             source: Path = SOURCE) -> nbformat.NotebookNode:
    """A notebook with the named wrong submissions' edits and whole answer cells replaced."""
    nb = nbformat.read(source, as_version=4)
    edits = {}
    for name in mistakes:
        edits.update(WRONG[name].edits)
    nb = apply(nb, WrongSubmission("+".join(mistakes), edits=edits))
    for cell in nb.cells:
        if answers and meta(cell).get("grade_id") in answers:
            cell.source = answers[meta(cell)["grade_id"]]
    return nb


def code_cells(nb: nbformat.NotebookNode, *, train: bool = True) -> list[CodeCell]:
    """The judge's view of the notebook; ``train=False`` leaves out the training and plotting
    cells and the outcome tests."""
    cells = []
    for index, cell in enumerate(nb.cells):
        gid = meta(cell).get("grade_id")
        if cell.cell_type != "code" or (not train and (gid in TRAINING or gid in OUTCOMES)):
            continue
        test = gid if meta(cell).get("grade") else None
        cells.append(CodeCell(index, cell.source, test=test))
    return cells


def namespace_of(nb: nbformat.NotebookNode, *, train: bool = False) -> dict:
    """Run the notebook's non-test code cells here as a kernel would (a failing cell stops
    only itself)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    for cell in code_cells(nb, train=train):
        if cell.test is None:
            with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f"<cell {cell.index}>", "exec"), namespace)
    torch.set_num_threads(max(1, os.cpu_count() or 1))  # the set-up cell set one thread
    return namespace


def run(tmp_path: Path, cells: list[CodeCell], student: str = "alice"):
    settings = JudgeSettings(mode="bwrap", secret=b"course secret", call_timeout=60.0,
                             limits=ProcessLimits(memory_bytes=6 * 1024**3))
    return judge(SUITE, HIDDEN, cells, student_id=student, settings=settings,
                 root=tmp_path / student)


def failed(verdict) -> dict[str, str]:
    return {gid: v.message for gid, v in verdict.tests.items() if not v.passed}


@pytest.fixture(scope="module")
def untrained() -> dict:
    """The solution's namespace without the training cell (every test but the outcomes)."""
    return namespace_of(nbformat.read(SOURCE, as_version=4))


# --- the suite and the notebook agree -------------------------------------------------------


def test_points_follow_the_rubric_and_the_intro_lists_them() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    tests = {meta(c)["grade_id"]: c for c in nb.cells
             if meta(c).get("grade") and not meta(c).get("solution")}
    assert list(tests) == list(SUITE.tests)
    for gid, spec in SUITE.tests.items():
        assert meta(tests[gid])["points"] == spec.points == rubric.points(spec.level)
        assert tests[gid].source.startswith(f"# Test {gid}: {spec.what} ")
        assert f"| `{gid}` | {spec.what} | {spec.points:g} |" in nb.cells[0].source


def test_the_set_up_cell_imports_no_graded_module() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    setup = next(c.source for c in nb.cells if meta(c).get("grade_id") == "setup")
    imports = [line for line in setup.splitlines() if "import" in line and "rnncourse" in line]
    assert imports == ["from rnncourse.data import ADDING_TRIVIAL_MSE, adding_problem",
                       "from rnncourse.exercise import Checker"]
    assert 'warnings.filterwarnings("ignore")' in setup and "stderr" in setup
    assert set(SUITE.course_files) == {"__init__.py", "exercise", "data"}
    assert "torch" in SUITE.packages


def test_the_notebooks_fixed_model_is_the_oracles(untrained: dict) -> None:
    start = sm.tiny_start_state(5, double=True)
    theirs = untrained["TinyRegressor"](True)
    theirs.load_state_dict(sm.tensors(start))
    x = torch.from_numpy(sm.adding_batch(3, 4, 5, double=True)[0])
    assert torch.equal(theirs(x), tiny_model(start)(x))
    assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == sm._TINY_SHAPES


def test_the_training_cell_is_the_suites_contract() -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    train = next(c.source for c in nb.cells if meta(c).get("grade_id") == "train_models")
    assert f"T, HIDDEN, STEPS, BATCH, LR, MAX_NORM = 0, {sm.T_TRAIN}, {sm.HIDDEN}," in train
    assert "reset_parameters(models[kind], SEED)" in train
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**`nn.LSTM` returns `out, (h_n, c_n)`**" in text


def test_reset_parameters_does_not_depend_on_the_order_of_the_layers(untrained: dict) -> None:
    """The training cell's re-initialisation gives the head-first variant (other names, other
    creation order) exactly the solution's start."""
    variant: dict = dict(untrained)
    exec(CORRECT["head_first_final_state"].cells["build_model"], variant)
    for kind in sm.KINDS:
        ours, theirs = untrained["build_model"](kind, 8), variant["build_model"](kind, 8)
        untrained["reset_parameters"](ours, 0)
        untrained["reset_parameters"](theirs, 0)
        a, b = library.module_state(ours), library.module_state(theirs)
        assert set(a["state"]) != set(b["state"])  # other names
        a, b = (under_contract_names(kind, 8, info) for info in (a, b))
        assert all(np.array_equal(a[k], b[k]) for k in a), kind


def under_contract_names(kind: str, hidden: int, info: dict) -> dict[str, np.ndarray]:
    """A learner's module's weights under the names of the judge's module of the contract."""
    rnn, head = sm.contract_layers(info["structure"], kind, hidden, sm.INPUT)
    return {k: np.asarray(info["state"][name], dtype=np.float32)
            for k, name in sm.learners_names(info, rnn, head).items()}


def assert_same(recorded, fresh) -> None:
    if isinstance(fresh, dict):
        assert set(recorded) == set(fresh)
        for key in fresh:
            assert_same(recorded[key], fresh[key])
    elif isinstance(fresh, tuple | list):
        assert len(recorded) == len(fresh)
        for a, b in zip(recorded, fresh, strict=True):
            assert_same(a, b)
    else:
        np.testing.assert_allclose(recorded, fresh, rtol=1e-6, atol=1e-7)


def test_the_fixtures_equal_a_fresh_recording(untrained: dict) -> None:
    """The outcome tests ask the oracle nothing, so the untrained namespace asks every
    question the release recorded."""
    questions = []

    def noting(name: str, **inputs):
        questions.append((name, inputs))
        return ask(name, **inputs)

    recorder = Recorder(noting)
    student = InKernelStudent(untrained)
    for gid, spec in SUITE.tests.items():
        if gid not in OUTCOMES:
            list(run_cases(spec, student, recorder, spec.visible))
    replay = Replay(fixtures_path(NAME))
    assert len(replay) == len(recorder.answers) == len({digest(n, i) for n, i in questions})
    for name, inputs in questions:
        assert_same(replay(name, **inputs), recorder.answers[digest(name, inputs)])


def test_hidden_cases_are_per_student_and_clip_far_below_the_gradient() -> None:
    alice = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice == hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"s"))
    assert alice != hidden_cases(HIDDEN, hidden_rng(NAME, "bob", b"s"))
    assert set(alice) == set(SUITE.tests)
    for student in ("alice", "bob", "carol"):
        drawn = hidden_cases(HIDDEN, hidden_rng(NAME, student, b"s"))
        for case in [*SUITE.tests["test_train_step_clips"].visible,
                     *drawn["test_train_step_clips"]]:
            start = sm.tiny_start_state(case["seed"], double=True)
            x, y = sm.adding_batch(case["N"], case["T"], case["seed"], double=True)
            assert ask("tiny_gradient_norm", state=start, x=x, y=y) > 10 * case["max_norm"]


# --- the learner's kernel -------------------------------------------------------------------


def test_the_solution_passes_in_the_learners_kernel(untrained: dict) -> None:
    check = Checker(NAME, namespace=untrained)
    for gid in set(SUITE.tests) - OUTCOMES:
        check(gid)
        run_hidden(NAME, gid, untrained)


MISTAKES = [
    ("head_reads_first_step", "test_build_model", "The head reads the first step"),
    ("layer_not_batch_first", "test_build_model", "The RNN is not batch_first"),
    ("lstm_reads_the_state_tuple", "test_build_model", sm.TUPLE_MESSAGE),
    ("never_calls_optimizer_step", "test_train_step", "The weights did not change: call "
                                                      "optimizer.step()"),
    ("loss_broadcasts_prediction_against_target", "test_train_step",
     "model(x) and y have different shapes"),
    ("never_zeroes_the_gradients", "test_train_step", "The last step's gradients were added"),
    ("no_gradient_clipping", "test_train_step_clips", "The update is not clipped to max_norm"),
    ("clips_after_the_step", "test_train_step_clips", "You clipped after optimizer.step()"),
    ("fit_makes_a_new_optimizer_every_step", "test_fit", "fit creates a new optimizer every"),
]


@pytest.mark.parametrize(("wrong", "gid", "lead"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named_and_costs_its_own_test(wrong: str, gid: str, lead: str) -> None:
    namespace = namespace_of(notebook(wrong))
    check = Checker(NAME, namespace=namespace)
    with pytest.raises(CheckError) as failure:
        check(gid)
    message = str(failure.value)
    assert message.startswith(lead), message
    for other in set(SUITE.tests) - OUTCOMES - set(WRONG[wrong].lost):
        check(other)


def test_a_per_element_clipping_and_a_sum_loss_are_named(untrained: dict) -> None:
    def clip_value(model, optimizer, x, y, max_norm):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
        optimizer.step()
        return loss.item()

    check = Checker(NAME, namespace={**untrained, "train_step": clip_value})
    with pytest.raises(CheckError, match=r"^The loss is a sum: use the mean squared error"):
        check("test_train_step")
    with pytest.raises(CheckError, match=r"^The update is not clipped to max_norm"):
        check("test_train_step_clips")
    check("test_fit")  # a loop of this train_step: fit is right


# --- the judge ------------------------------------------------------------------------------


@needs_bwrap
def test_the_solution_passes_every_test_in_the_judge(tmp_path: Path) -> None:
    """The whole notebook, training included (the LSTM and the GRU: the tanh RNN is not
    graded), in the sandbox; the outcome tests load the trained weights into the judge's own
    modules."""
    nb = nbformat.read(SOURCE, as_version=4)
    train = next(c for c in nb.cells if meta(c).get("grade_id") == "train_models")
    assert 'for kind in ("rnn", "lstm", "gru"):' in train.source
    train.source = train.source.replace('("rnn", "lstm", "gru")', '("lstm", "gru")')
    verdict = run(tmp_path, code_cells(nb))
    assert not failed(verdict), failed(verdict)
    drawn = hidden_cases(HIDDEN, hidden_rng(NAME, "alice", b"course secret"))
    for gid, test in verdict.tests.items():
        assert test.cases == len(SUITE.tests[gid].visible) + len(drawn[gid])


@needs_bwrap
def test_the_untouched_release_fails_every_test_in_the_judge(tmp_path: Path) -> None:
    verdict = run(tmp_path, code_cells(nbformat.read(RELEASE, as_version=4)))
    assert set(failed(verdict)) == set(SUITE.tests)


@needs_bwrap
def test_a_missing_step_and_a_first_step_head_cost_their_own_tests(tmp_path: Path) -> None:
    """Without optimizer.step() the clipping test reads the clipped gradient and fit is a
    correct loop of that train_step: only test_train_step fails (and the outcomes, not run)."""
    nb = notebook("head_reads_first_step", "never_calls_optimizer_step")
    messages = failed(run(tmp_path, code_cells(nb, train=False)))
    assert set(messages) == {"test_build_model", "test_train_step"}
    assert messages["test_build_model"].startswith("The head reads the first step")
    assert messages["test_train_step"].startswith("The weights did not change")


@needs_bwrap
def test_the_lstm_tuple_clipping_and_the_loop_are_named_in_the_judge(tmp_path: Path) -> None:
    nb = notebook("lstm_reads_the_state_tuple", "clips_after_the_step",
                  "fit_makes_a_new_optimizer_every_step")
    messages = failed(run(tmp_path, code_cells(nb, train=False)))
    assert set(messages) == {"test_build_model", "test_train_step_clips", "test_fit"}
    assert messages["test_build_model"].startswith("nn.LSTM returns out, (h_n, c_n)")
    assert messages["test_train_step_clips"].startswith("You clipped after optimizer.step()")
    assert messages["test_fit"].startswith("fit creates a new optimizer every step")


@needs_bwrap
def test_a_valid_variant_passes_in_the_judge(tmp_path: Path) -> None:
    """Head created first, h_n unpacked from the LSTM's tuple, a manual mean, torch's clipping
    formula by hand, a zip over split batches."""
    nb = notebook(answers=CORRECT["head_first_final_state"].cells)
    verdict = run(tmp_path, code_cells(nb, train=False))
    assert not failed(verdict), failed(verdict)


# --- the margins ----------------------------------------------------------------------------


def trained_mse(ns: dict, seed: int, heldout: tuple[int, ...]) -> tuple[list, list]:
    """Train an LSTM and a GRU with a notebook namespace's functions as the training cell
    does (training seed ``seed``); their held-out MSEs on each set, as the judge measures."""
    torch.set_num_threads(1)
    mse = []
    for kind in ("lstm", "gru"):
        model = ns["build_model"](kind, sm.HIDDEN)
        ns["reset_parameters"](model, seed)
        ns["fit"](model, T=sm.T_TRAIN, steps=600, batch_size=64, lr=1e-2, max_norm=1.0,
                  seed=seed)
        state = under_contract_names(kind, sm.HIDDEN, library.module_state(model))
        mse.append([contract_heldout_mse(kind, sm.HIDDEN, sm.INPUT, state, sm.T_TRAIN, s, 2000)
                    for s in heldout])
    return mse[0], mse[1]


def sweep(seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
          heldout: tuple[int, ...] = (1234, 1, 2, 3)) -> None:
    """Print the worst held-out MSE of the LSTM and the GRU for the solution and the correct
    variants over training seeds, then the best one of each wrong submission (seed 0)."""
    variants = {"solution": nbformat.read(SOURCE, as_version=4)}
    variants.update({name: notebook(answers=c.cells) for name, c in CORRECT.items()})
    for name, nb in variants.items():
        ns = namespace_of(nb)
        for seed in seeds:
            lstm, gru = trained_mse(ns, seed, heldout)
            print(f"{name:26s} seed {seed}: LSTM {max(lstm):.4f}  GRU {max(gru):.4f} (worst)",
                  flush=True)
    for name in WRONG:
        try:
            lstm, gru = trained_mse(namespace_of(notebook(name)), 0, heldout)
        except Exception as error:  # a model that cannot be evaluated at all
            print(f"{name:42s}: {type(error).__name__}: {error}", flush=True)
            continue
        print(f"{name:42s}: LSTM {min(lstm):.4f}  GRU {min(gru):.4f} (best)", flush=True)


if __name__ == "__main__" and "--sweep" in sys.argv:
    sweep(seeds=() if "--mistakes" in sys.argv else (0, 1, 2, 3, 4))
