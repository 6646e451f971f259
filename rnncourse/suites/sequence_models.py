r"""Assignment 5, ``sequence_models``: the tests (visible cases; the hidden ones are the
instructor's).

The learner builds a recurrent regressor in torch (``build_model``), one training step with
clipping (``train_step``) and the training loop (``fit``), and trains a tanh RNN, an LSTM and a
GRU on the adding problem in the notebook's locked training cell. What the judge grades cannot
be computed in the learner's process:

- **The model** follows a fixed *architecture contract*: one ``torch.nn`` recurrent layer of
  the kind asked (``batch_first``, one layer, tanh for the RNN) and a ``Linear(H, 1)`` head on
  the state after the last step. The test loads its own weights into the learner's module and
  compares its outputs with the judge's own module of the contract holding the same weights
  (:class:`rnncourse.oracles.sequence_models.ContractModel`, on the judge's side: it is the
  answer).
- **The training step and the loop** run on the notebook's fixed small model
  (``TinyRegressor``, locked set-up cell), not on the learner's ``build_model``, from start
  weights the judge sets (``load_state``); the weights afterwards are compared with the judge's
  own reference steps from the same start (:mod:`rnncourse.oracles.sequence_models`). So a
  wrong model costs the model's points only, and a missing ``optimizer.step()`` costs
  ``test_train_step`` and the trained outcomes, not the clipping test (which also reads the
  gradients clipping left) nor the loop's (the judge accepts a loop of the learner's own
  ``train_step``).
- **The outcome**: the trained LSTM's and GRU's weights are loaded into the judge's module of
  the contract and evaluated on held-out sequences drawn per student. (The visible check in
  the learner's own kernel evaluates their module, which ``build_model``'s test compares with
  the contract.)

Valid variants of the notebook (the order of the layers in the class, ``h_n[-1]`` or
``out[:, -1]``, ``nn.MSELoss`` or a manual mean, ``clip_grad_norm_`` or torch's formula by
hand) score full marks; the margins of the outcome thresholds over variants and training seeds
are recorded in ``tests/test_suite_sequence_models.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from rnncourse.exercise.tester import CheckError, Tester, rel_error, to_array
from rnncourse.suites import Suite

SUITE = Suite("sequence_models", packages=("numpy", "matplotlib", "ipython", "torch"),
              course_files=("__init__.py", "exercise", "data"))

#: The notebook's training cell: sequence length, hidden units, input features.
T_TRAIN, HIDDEN, INPUT = 30, 32, 2
#: An outcome test passes below this held-out MSE (predicting 1 always gives 1/6).
OUTCOME_THRESHOLD = 0.05
KINDS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_TINY_SHAPES = {"step.weight": (4, 2), "step.bias": (4,), "out.weight": (1, 4), "out.bias": (1,)}


# --- the architecture contract (public: the judge's own modules) ------------------------------


def contract_parameters(kind: str, hidden_size: int, input_size: int) -> int:
    """Parameters of one ``kind`` layer (two biases per gate block) and a ``Linear(H, 1)``."""
    H, D = hidden_size, input_size
    return _GATES[kind] * (H * D + H * H + 2 * H) + H + 1


def contract_layers(structure: list[dict], kind: str, hidden_size: int,
                    input_size: int) -> tuple[str, str]:
    """The names of the recurrent layer and of the head in a learner's module.

    Raises:
        ValueError: what breaks the contract (in words, for the learner).
    """
    recurrent = [m for m in structure if m["type"] in {"RNN", "LSTM", "GRU"}]
    linear = [m for m in structure if m["type"] == "Linear"]
    want = f"nn.{KINDS[kind]}"
    if len(recurrent) != 1 or recurrent[0]["type"] != KINDS[kind] or not recurrent[0]["torch"]:
        found = [m["type"] for m in recurrent] or "none"
        raise ValueError(f"the model must hold one {want} layer, found {found}")
    layer = recurrent[0]
    if kind == "rnn" and layer.get("nonlinearity") != "tanh":
        raise ValueError("the nn.RNN must use tanh (its default nonlinearity)")
    sizes = (layer.get("input_size"), layer.get("hidden_size"), layer.get("num_layers"),
             layer.get("bidirectional"))
    if sizes != (input_size, hidden_size, 1, False):
        raise ValueError(f"the {want} must be {want}({input_size}, {hidden_size}) with one "
                         f"layer, one direction; found input_size, hidden_size, num_layers, "
                         f"bidirectional = {sizes}")
    heads = [m for m in linear if (m.get("in_features"), m.get("out_features"))
             == (hidden_size, 1)]
    if len(linear) != 1 or len(heads) != 1 or not heads[0].get("bias", True):
        found = [(m.get("in_features"), m.get("out_features")) for m in linear] or "none"
        raise ValueError(f"the model must hold one nn.Linear({hidden_size}, 1) head with a "
                         f"bias, found Linear layers {found}")
    return layer["name"], heads[0]["name"]


#: The parameters of the judge's module of the contract (one layer, then the head).
CONTRACT_KEYS = ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                 "head.weight", "head.bias")


def contract_state(kind: str, hidden_size: int, input_size: int,
                   seed: int) -> dict[str, np.ndarray]:
    r"""Test weights for a module of the contract (keys :data:`CONTRACT_KEYS`), uniform in
    :math:`\pm 1/\sqrt{H}` like torch's initialisation, float32."""
    G, H, D = _GATES[kind], hidden_size, input_size
    shapes = [(G * H, D), (G * H, H), (G * H,), (G * H,), (1, H), (1,)]
    rng = np.random.default_rng([seed, 5])
    bound = 1.0 / np.sqrt(H)
    return {k: rng.uniform(-bound, bound, shape).astype(np.float32)
            for k, shape in zip(CONTRACT_KEYS, shapes, strict=True)}


def learners_names(info: dict, rnn: str, head: str) -> dict[str, str]:
    """``{contract key: the learner's parameter name}``, given the learner's module as
    :func:`rnncourse.exercise.library.module_state` describes it and the names of its recurrent
    layer and head (:func:`contract_layers`).

    Raises:
        ValueError: the module has no parameter of one of those names.
    """
    names = {}
    for key in CONTRACT_KEYS:
        part, _, leaf = key.partition(".")
        prefix = rnn if part == "rnn" else head
        names[key] = f"{prefix}.{leaf}" if prefix else leaf
        if names[key] not in info["state"]:
            raise ValueError(f"the model has no parameter {names[key]!r}")
    return names


def heldout_mse(model: nn.Module, T: int, seed: int, n: int) -> float:
    """Mean squared error of a torch ``model`` on ``n`` fresh adding-problem sequences of
    length ``T`` drawn with ``seed``."""
    from rnncourse.data import adding_problem

    x, y = adding_problem(n, T, seed=seed)
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


# --- reading the learner's modules --------------------------------------------------------------


def module_info(t: Tester, module: Any, what: str) -> dict:
    """``{"structure", "state", "grads"}`` of a learner's torch module (see
    :func:`rnncourse.exercise.library.module_state`), or a failure naming ``what``."""
    try:
        info = t.student.state(module)
    except CheckError:
        raise
    except Exception as error:  # in the learner's kernel: not a module at all
        t.fail(f"{what} must be a torch.nn.Module, got {type(module).__name__}",
               f"Reading its weights raised {type(error).__name__}: {error}")
    t.require(isinstance(info, dict) and isinstance(info.get("state"), dict),
              f"{what} must be a torch.nn.Module")
    return info


def arrays(state: dict) -> dict[str, np.ndarray]:
    """A module's state as float64 numpy arrays (tensors are detached first)."""
    return {k: np.asarray(to_array(v), dtype=np.float64) for k, v in state.items()}


def tensors(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Numpy arrays as torch tensors (to load into a learner's module)."""
    return {k: torch.from_numpy(np.array(v)) for k, v in state.items()}


def state_distance(a: dict, b: dict) -> float:
    """The largest absolute difference between two states with the same keys and shapes
    (``inf`` when they do not match)."""
    a, b = arrays(a), arrays(b)
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in a):
        return float("inf")
    return max((float(np.max(np.abs(a[k] - b[k]))) if a[k].size else 0.0 for k in a),
               default=0.0)


def global_norm(state: dict) -> float:
    """The norm of all arrays of ``state`` seen as one vector."""
    return float(np.sqrt(sum(float(np.sum(v**2)) for v in arrays(state).values())))


def tiny_start_state(seed: int, double: bool) -> dict[str, np.ndarray]:
    """Start weights of the notebook's ``TinyRegressor``, uniform in [-1, 1)."""
    rng = np.random.default_rng(seed)
    dtype = np.float64 if double else np.float32
    return {k: rng.uniform(-1.0, 1.0, shape).astype(dtype) for k, shape in _TINY_SHAPES.items()}


def adding_batch(n: int, T: int, seed: int, double: bool) -> tuple[np.ndarray, np.ndarray]:
    """x (n, T, 2) and y (n, 1) of the adding problem, as numpy arrays."""
    from rnncourse.data import adding_problem

    x, y = adding_problem(n, T, seed=seed, dtype=torch.float64 if double else torch.float32)
    return x.numpy(), y.numpy()


def attempt(call: Callable[[], Any]) -> Any:
    """``call()``, or ``None`` when the learner's code it runs raises (a fallback path must
    not replace the message of the comparison that failed)."""
    try:
        return call()
    except Exception:  # the learner's error, or a CheckError from the judge
        return None


def tiny_on_the_learners_side(t: Tester, state: dict[str, np.ndarray], double: bool) -> Any:
    """The notebook's ``TinyRegressor`` made by the learner's code, holding ``state``."""
    model = t.call("TinyRegressor", double)
    t.student.load_state(model, tensors(state))
    return model


# --- 1. the model ---------------------------------------------------------------------------


TUPLE_MESSAGE = ("nn.LSTM returns out, (h_n, c_n): its second output is a tuple, so h_n[-1] "
                 "of it is c_n. Unpack it as out, (h_n, c_n) = self.rnn(x) and read h_n[-1] "
                 "(or out[:, -1])")


@SUITE.test("test_build_model", level="forward",
            what="build_model: one recurrent layer and a Linear head on the last step",
            visible=[dict(kind=kind, H=16, D=2, N=5, T=7, seed=i)
                     for i, kind in enumerate(KINDS)])
def build_model(t: Tester, kind: str, H: int, D: int, N: int, T: int, seed: int) -> None:
    what = f"build_model({kind!r}, {H}, {D})"
    model = t.call("build_model", kind, H, D)
    info = module_info(t, model, what)
    try:
        rnn, head = contract_layers(info["structure"], kind, H, D)
    except ValueError as broken:
        t.fail(f"{what}: {broken}")
    count = sum(int(np.prod(np.shape(v))) for v in info["state"].values())
    expected_count = contract_parameters(kind, H, D)
    t.require(count == expected_count,
              f"{what} has {count} parameters, expected {expected_count}: one layer and a "
              f"Linear({H}, 1) head, nothing else")
    # test weights in the learner's module; the judge's own module of the contract holds them too
    state = contract_state(kind, H, D, seed)
    try:
        names = learners_names(info, rnn, head)
    except ValueError as missing:
        t.fail(f"{what}: {missing}")
    t.student.load_state(model, tensors({names[k]: v for k, v in state.items()}))
    x = torch.from_numpy(np.random.default_rng(seed).random((N, T, D), dtype=np.float32))
    readings = t.expect("contract_readings", kind=kind, hidden_size=H, input_size=D,
                        state=state, x=x.numpy())
    out = t.array(t.call_object(model, x), f"the output of {what}")
    if out.shape != (N, 1):
        if kind == "lstm" and out.shape == (1, N, 1) \
                and rel_error(out, readings["c_n"]) <= 1e-5:
            t.fail(TUPLE_MESSAGE)
        if out.shape == (1, N, 1):
            t.fail(f"{what} gives (1, N, 1): h_n has a layer axis first; read h_n[-1] "
                   "(or out[:, -1])")
        layer = next(m for m in info["structure"] if m["type"] == KINDS[kind])
        hint = "" if layer.get("batch_first") else "; is the layer batch_first?"
        t.fail(f"{what}: x of shape {(N, T, D)} must give (N, 1) = {(N, 1)}, got "
               f"{out.shape}{hint}")
    layer = next(m for m in info["structure"] if m["type"] == KINDS[kind])

    def explain() -> str | None:
        if rel_error(out, readings["first"]) <= 1e-5:
            return ("The head reads the first step: use the state after the last step, "
                    "out[:, -1] (or h_n[-1])")
        if not layer.get("batch_first"):
            return f"The {KINDS[kind]} is not batch_first: x is (N, T, D), so pass batch_first=True"
        return None

    t.close(out, readings["last"], name=f"the output of {what}", tol=1e-5,
            hint="apply the head to the state after the last step, out[:, -1]",
            explain=explain)


# --- 2. one training step -------------------------------------------------------------------


@SUITE.test("test_train_step", level="tool",
            what="train_step: the MSE, and the weights after two SGD steps",
            visible=[dict(seed=0, N=16, T=8, lr=0.1)])
def train_step(t: Tester, seed: int, N: int, T: int, lr: float) -> None:
    """Two consecutive steps from start weights the test sets, with ``max_norm`` so large that
    nothing is clipped; the second step catches gradients that are never zeroed."""
    start = tiny_start_state(seed, double=True)
    batches = [adding_batch(N, T, seed + k, double=True) for k in range(2)]
    xs, ys = np.stack([b[0] for b in batches]), np.stack([b[1] for b in batches])
    max_norm = 1e6
    expected = t.expect("reference_train_steps", state=start, xs=xs, ys=ys, lr=lr,
                        max_norm=max_norm)
    right = expected["right"]
    model = tiny_on_the_learners_side(t, start, double=True)
    optimizer = t.student.optimizer("SGD", model, lr=lr)
    names = {
        "sum": "The loss is a sum: use the mean squared error, ((model(x) - y) ** 2).mean() "
               "or nn.MSELoss()",
        "broadcast": "model(x) and y have different shapes: (N,) against (N, 1) broadcasts to "
                     "(N, N); keep both (N, 1)",
        "no_zero_grad": "The last step's gradients were added in: call optimizer.zero_grad() "
                        "before loss.backward()",
    }
    before = start
    for k in range(2):
        returned = t.call("train_step", model, optimizer, torch.from_numpy(xs[k]),
                          torch.from_numpy(ys[k]), max_norm)
        optimizer = t.last_args[1]  # the same optimizer object for the next step
        loss = t.number(returned, "the loss train_step returns")
        after = module_info(t, model, "TinyRegressor")["state"]
        step = "the first step" if k == 0 else "the second step"
        if state_distance(after, before) == 0.0:
            t.fail("The weights did not change: call optimizer.step() after loss.backward()",
                   f"After {step} every parameter equals its value before it.")

        def explain(k: int = k, loss: float = loss, after: dict = after) -> str | None:
            for key, message in names.items():
                run = expected[key]
                if abs(loss - run["losses"][k]) <= 1e-8 * max(1.0, abs(loss)) \
                        and state_distance(after, run["states"][k]) <= 1e-8:
                    return message
            return None

        t.close(loss, right["losses"][k], name=f"the loss of {step}", tol=1e-8,
                hint="the mean squared error of model(x) against y, both (N, 1), computed "
                     "before the update", explain=explain)
        distance = state_distance(after, right["states"][k])
        if distance > 1e-8:
            t.fail(explain() or f"The weights after {step} differ from a correct step: zero "
                                "the gradients, backward, clip, then optimizer.step()",
                   f"Largest difference {distance:.3g} (tolerance 1e-8).")
        before = after


@SUITE.test("test_train_step_clips", level="one-liner",
            what="train_step clips the gradient's global norm to max_norm",
            visible=[dict(seed=1, N=16, T=8, max_norm=1e-3)])
def train_step_clips(t: Tester, seed: int, N: int, T: int, max_norm: float,
                     lr: float = 1.0) -> None:
    """One SGD step with a tiny ``max_norm``: the update (or, when the step is missing, the
    gradient left in ``.grad``) must have norm ``lr * max_norm`` (``max_norm``), whatever the
    loss (its test takes the points of a wrong loss)."""
    start = tiny_start_state(seed, double=True)
    x, y = adding_batch(N, T, seed, double=True)
    unclipped = t.expect("tiny_gradient_norm", state=start, x=x, y=y)
    model = tiny_on_the_learners_side(t, start, double=True)
    optimizer = t.student.optimizer("SGD", model, lr=lr)
    t.call("train_step", model, optimizer, torch.from_numpy(x), torch.from_numpy(y), max_norm)
    info = module_info(t, model, "TinyRegressor")
    moved = {k: arrays(info["state"])[k] - start[k] for k in start}
    update = global_norm(moved) / lr
    grads = info.get("grads") or {}
    grad_norm = global_norm(grads) if grads else 0.0
    clipped = lambda norm: abs(norm - max_norm) <= 1e-4 * max_norm  # noqa: E731
    details = (f"Update norm / lr = {update:.6g}, gradient norm left in .grad = "
               f"{grad_norm:.6g}, max_norm = {max_norm:g} (the unclipped gradient of the mean "
               f"squared error has norm {unclipped:.4g}).")
    if update > 0:
        if clipped(update):
            return
        if clipped(grad_norm):
            t.fail("You clipped after optimizer.step(): clip between loss.backward() and "
                   "optimizer.step()", details)
        t.fail("The update is not clipped to max_norm: call nn.utils.clip_grad_norm_("
               "model.parameters(), max_norm) between backward() and step()", details)
    if grads and clipped(grad_norm):
        return  # no update (test_train_step takes those points), but the gradient is clipped
    t.fail("The gradient is not clipped to max_norm: call nn.utils.clip_grad_norm_("
           "model.parameters(), max_norm) between backward() and step()", details)


# --- 3. the training loop -------------------------------------------------------------------


@SUITE.test("test_fit", level="tool",
            what="fit: one Adam optimizer, train_step on consecutive batches, the losses",
            visible=[dict(seed=2, T=6, steps=3, batch_size=8, lr=0.01, max_norm=1.0)])
def fit(t: Tester, seed: int, T: int, steps: int, batch_size: int, lr: float,
        max_norm: float) -> None:
    """``fit`` on ``TinyRegressor`` from start weights the test sets. Accepted when it matches
    the reference loop, or a loop of the learner's own ``train_step`` (whose test takes the
    points of a wrong step)."""
    start = tiny_start_state(seed, double=False)
    x, y = adding_batch(steps * batch_size, T, seed, double=False)
    expected = t.expect("reference_fit", state=start, x=x, y=y, batch_size=batch_size, lr=lr,
                        max_norm=max_norm)
    model = tiny_on_the_learners_side(t, start, double=False)
    returned = t.call("fit", model, T=T, steps=steps, batch_size=batch_size, lr=lr,
                      max_norm=max_norm, seed=seed)
    t.require(isinstance(returned, list | tuple),
              f"fit must return the list of the {steps} training losses, got "
              f"{type(returned).__name__}")
    losses = t.array([t.number(v, "a loss fit returns") for v in returned], "fit's losses")
    t.require(losses.shape == (steps,),
              f"fit must return one loss per step: {steps} losses, got {losses.size}")
    after = module_info(t, model, "TinyRegressor")["state"]

    def same(run_losses: Any, run_state: dict, tol: float) -> bool:
        run_losses = to_array(run_losses)
        return (run_losses is not None and run_losses.shape == losses.shape
                and float(np.max(np.abs(run_losses - losses))) <= tol
                and state_distance(after, run_state) <= tol)

    if same(expected["right"]["losses"], expected["right"]["state"], 1e-5):
        return
    own = attempt(lambda: _judges_loop_of_own_train_step(t, start, x, y, batch_size, lr,
                                                         max_norm))
    if own is not None and same(*own, 1e-6):
        return
    names = {
        "fresh_optimizer": "fit creates a new optimizer every step: create one "
                           "torch.optim.Adam before the loop",
        "same_batch": "fit trains on the same batch every step: take consecutive slices "
                      "x[k * batch_size:(k + 1) * batch_size]",
        "sgd": "fit uses SGD: create torch.optim.Adam(model.parameters(), lr=lr)",
    }
    lead = next((message for key, message in names.items()
                 if same(expected[key]["losses"], expected[key]["state"], 1e-5)), None)
    t.fail(lead or "fit's weights differ from one Adam optimizer stepping your train_step "
                   "over consecutive batches",
           f"Largest weight difference from the reference loop "
           f"{state_distance(after, expected['right']['state']):.3g} (tolerance 1e-5); data: "
           f"adding_problem(steps * batch_size, T, seed=seed), batch k is "
           f"x[k * batch_size:(k + 1) * batch_size].")


def _judges_loop_of_own_train_step(t: Tester, *args: Any) -> tuple[list[float], dict]:
    """The judge's loop around the learner's own ``train_step``
    (:func:`rnncourse.oracles.sequence_models.loop_of_own_train_step`). Only the judge and the
    full repository have it: in the learner edition this lenient path raises ImportError and
    ``fit`` is compared with the reference loop alone."""
    from rnncourse.oracles.sequence_models import loop_of_own_train_step

    return loop_of_own_train_step(t, *args)


# --- 4. the outcome -------------------------------------------------------------------------


def _solves(t: Tester, kind: str, seed: int, n: int) -> None:
    models = t.get("models")
    t.require(isinstance(models, dict) and kind in models,
              f"models[{kind!r}] is missing: run the training cell (do not rename models)")
    info = module_info(t, models[kind], f"models[{kind!r}]")
    try:
        rnn, head = contract_layers(info["structure"], kind, HIDDEN, INPUT)
        names = learners_names(info, rnn, head)
    except ValueError as broken:
        t.fail(f"models[{kind!r}] cannot be evaluated: {broken}")
    if isinstance(models[kind], nn.Module):  # the learner's kernel: their module is here
        mse = heldout_mse(models[kind], T_TRAIN, seed, n)
    else:  # the judge (a handle only): the learner's weights in its own module of the contract
        state = {k: np.asarray(to_array(info["state"][name]), dtype=np.float32)
                 for k, name in names.items()}
        mse = t.expect("contract_heldout_mse", kind=kind, hidden_size=HIDDEN, input_size=INPUT,
                       state=state, T=T_TRAIN, seed=seed, n=n)
    t.require(mse < OUTCOME_THRESHOLD,
              f"The trained {KINDS[kind]}'s MSE on held-out sequences is {mse:.4f}, not below "
              f"{OUTCOME_THRESHOLD}",
              f"Always predicting 1 gives 1/6 = 0.167. Your weights were evaluated by the "
              f"grader's own {KINDS[kind]}({INPUT}, {HIDDEN}) and Linear({HIDDEN}, 1) reading "
              "the last step: check build_model, train_step and fit.")


@SUITE.test("test_lstm_solves_adding", level="experiment",
            what="the trained LSTM's held-out MSE is below 0.05 (chance: 1/6)",
            visible=[dict(seed=1234, n=2000)])
def lstm_solves_adding(t: Tester, seed: int, n: int) -> None:
    _solves(t, "lstm", seed, n)


@SUITE.test("test_gru_solves_adding", level="experiment",
            what="the trained GRU's held-out MSE is below 0.05 (chance: 1/6)",
            visible=[dict(seed=1234, n=2000)])
def gru_solves_adding(t: Tester, seed: int, n: int) -> None:
    _solves(t, "gru", seed, n)
