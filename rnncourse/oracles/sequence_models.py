r"""Oracles of assignment 5, ``sequence_models``: the judge's own training steps and modules.

The tests of ``train_step`` and ``fit`` run the learner's code on the notebook's fixed small
model (``TinyRegressor``, defined in its locked set-up cell and, identically, here) from start
weights the test chose, and compare the weights afterwards with these reference runs from the
same start. Each oracle also returns what classic mistakes would give on the same inputs.
Inputs and answers are numpy arrays (``state``: parameter name -> array).

The learner's model follows an architecture contract; :class:`ContractModel` is the judge's
module of it, into which test weights (for ``build_model``) or the learner's trained weights
(for the outcome tests) are loaded. It lives here, on the judge's side: it is the answer to
``build_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn


class TinyRegressor(nn.Module):
    """The notebook's fixed small model, (N, T, 2) -> (N, 1): a linear layer on every step,
    tanh, the mean over time and a linear read-out (no recurrence: it is not an answer)."""

    def __init__(self, double: bool = False) -> None:
        super().__init__()
        self.step = nn.Linear(2, 4)
        self.out = nn.Linear(4, 1)
        if double:
            self.double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.step(x)).mean(dim=1))


def tiny_model(state: dict[str, np.ndarray]) -> TinyRegressor:
    """A :class:`TinyRegressor` holding ``state`` (its dtype follows the arrays)."""
    double = next(iter(state.values())).dtype == np.float64
    model = TinyRegressor(double=double)
    with torch.no_grad():
        model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    return model


def _state(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def _loss(kind: str, prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if kind == "sum":
        return ((prediction - y) ** 2).sum()
    if kind == "broadcast":  # (N,) against (N, 1): an (N, N) table of differences
        return ((prediction.squeeze(-1) - y) ** 2).mean()
    return ((prediction - y) ** 2).mean()


def _run(state: dict[str, np.ndarray], batches: list[tuple[torch.Tensor, torch.Tensor]], *,
         optimizer: str, lr: float, max_norm: float, loss: str = "mean",
         zero_grad: bool = True, fresh_optimizer: bool = False) -> dict[str, list]:
    model = tiny_model(state)
    make = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam}[optimizer]
    opt = make(model.parameters(), lr=lr)
    losses, states = [], []
    for x, y in batches:
        if fresh_optimizer:
            opt = make(model.parameters(), lr=lr)
        if zero_grad:
            opt.zero_grad()
        value = _loss(loss, model(x), y)
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        losses.append(float(value.item()))
        states.append(_state(model))
    return {"losses": losses, "states": states}


def _batches(xs: np.ndarray, ys: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y)))
            for x, y in zip(xs, ys, strict=True)]


def reference_train_steps(state: dict[str, np.ndarray], xs: np.ndarray, ys: np.ndarray,
                          lr: float, max_norm: float) -> dict[str, dict]:
    """Consecutive correct SGD steps of ``TinyRegressor`` from ``state`` on the batches
    ``xs[k]`` (N, T, 2), ``ys[k]`` (N, 1): zero the gradients, the mean squared error,
    backward, clip the global norm to ``max_norm``, step.

    Returns ``{"right" | "sum" | "broadcast" | "no_zero_grad": {"losses": [...], "states":
    [state after each step]}}``: the correct steps, and the loss summed, the prediction
    ``(N,)`` broadcast against ``y`` ``(N, 1)``, the gradients never zeroed.
    """
    batches = _batches(xs, ys)
    run = lambda **kw: _run(state, batches, optimizer="SGD", lr=lr,  # noqa: E731
                            max_norm=max_norm, **kw)
    return {"right": run(), "sum": run(loss="sum"), "broadcast": run(loss="broadcast"),
            "no_zero_grad": run(zero_grad=False)}


def tiny_gradient_norm(state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """The global norm of the gradient of the mean squared error of ``TinyRegressor`` at
    ``state`` on one batch (before any clipping)."""
    model = tiny_model(state)
    _loss("mean", model(torch.from_numpy(np.array(x))), torch.from_numpy(np.array(y))).backward()
    return float(torch.sqrt(sum((p.grad**2).sum() for p in model.parameters())))


def reference_fit(state: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                  batch_size: int, lr: float, max_norm: float) -> dict[str, dict]:
    """``fit`` done right on ``TinyRegressor`` from ``state``: one Adam optimiser, one correct
    step (clipped) per consecutive slice of ``batch_size`` sequences of ``x`` (n, T, 2),
    ``y`` (n, 1).

    Returns ``{"right" | "fresh_optimizer" | "same_batch" | "sgd": {"losses", "state"}}``:
    the correct loop, and a new optimiser every step, the first batch every step, SGD.
    """
    steps = len(x) // batch_size
    xs = np.stack([x[k * batch_size:(k + 1) * batch_size] for k in range(steps)])
    ys = np.stack([y[k * batch_size:(k + 1) * batch_size] for k in range(steps)])
    batches = _batches(xs, ys)
    settings = dict(lr=lr, max_norm=max_norm)
    runs = {
        "right": _run(state, batches, optimizer="Adam", **settings),
        "fresh_optimizer": _run(state, batches, optimizer="Adam", fresh_optimizer=True,
                                **settings),
        "same_batch": _run(state, [batches[0]] * steps, optimizer="Adam", **settings),
        "sgd": _run(state, batches, optimizer="SGD", **settings),
    }
    return {name: {"losses": run["losses"], "state": run["states"][-1]}
            for name, run in runs.items()}


# --- the architecture contract: the judge's own modules --------------------------------------

class ContractModel(nn.Module):
    """The judge's module of the contract: ``head(rnn(x)[0][:, -1])`` for x (N, T, D)."""

    def __init__(self, kind: str, hidden_size: int, input_size: int) -> None:
        super().__init__()
        self.kind = kind
        from rnncourse.suites.sequence_models import KINDS

        self.rnn = getattr(nn, KINDS[kind])(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1])

    def readings(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        """The head applied to what a model might read: the last step (right), the first
        step, ``h_n`` with its layer axis, and for the LSTM ``c_n`` (the second item of the
        ``(h_n, c_n)`` tuple)."""
        with torch.no_grad():
            out, state = self.rnn(x)
            h_n, c_n = state if self.kind == "lstm" else (state, None)
            read = {"last": self.head(out[:, -1]), "first": self.head(out[:, 0]),
                    "h_n_layer_axis": self.head(h_n)}
            if c_n is not None:
                read["c_n"] = self.head(c_n)
        return {k: v.numpy().copy() for k, v in read.items()}


def contract_model(kind: str, hidden_size: int, input_size: int,
                   state: dict[str, np.ndarray]) -> ContractModel:
    """A :class:`ContractModel` holding ``state`` (keys ``rnn.weight_ih_l0`` ...,
    ``head.weight``, ``head.bias``; float32)."""
    model = ContractModel(kind, hidden_size, input_size)
    with torch.no_grad():
        model.load_state_dict({k: torch.as_tensor(np.asarray(v)).to(torch.float32)
                               for k, v in state.items()}, strict=True)
    return model.eval()


def contract_readings(kind: str, hidden_size: int, input_size: int,
                      state: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """What the contract's module with ``state`` reads from ``x`` (see
    :meth:`ContractModel.readings`)."""
    model = contract_model(kind, hidden_size, input_size, state)
    return model.readings(torch.from_numpy(np.asarray(x, dtype=np.float32)))


def contract_heldout_mse(kind: str, hidden_size: int, input_size: int,
                         state: dict[str, np.ndarray], T: int, seed: int, n: int) -> float:
    """Mean squared error of the contract's module with ``state`` (a learner's trained
    weights) on ``n`` fresh adding-problem sequences of length ``T`` drawn with ``seed``."""
    from rnncourse.suites.sequence_models import heldout_mse

    return heldout_mse(contract_model(kind, hidden_size, input_size, state), T, seed, n)


def loop_of_own_train_step(t: Any, start: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray,
                           batch_size: int, lr: float, max_norm: float
                           ) -> tuple[list[float], dict]:
    """The loop ``fit`` should be, driven by the judge around the learner's own
    ``train_step`` (a :class:`~rnncourse.exercise.tester.Tester` ``t``): one Adam optimizer,
    consecutive batches. ``fit`` is accepted when it matches this loop, so a wrong
    ``train_step`` does not cost ``fit``'s test as well."""
    from rnncourse.suites.sequence_models import module_info, tiny_on_the_learners_side

    model = tiny_on_the_learners_side(t, start, double=False)
    optimizer = t.student.optimizer("Adam", model, lr=lr)
    losses = []
    for k in range(len(x) // batch_size):
        batch = slice(k * batch_size, (k + 1) * batch_size)
        loss = t.call("train_step", model, optimizer, torch.from_numpy(x[batch]),
                      torch.from_numpy(y[batch]), max_norm)
        losses.append(t.number(loss, "the loss train_step returns"))
        optimizer = t.last_args[1]  # in the judge: a handle to the optimizer it made
    return losses, module_info(t, model, "TinyRegressor")["state"]


ORACLES: dict[str, Callable[..., Any]] = {
    "reference_train_steps": reference_train_steps,
    "tiny_gradient_norm": tiny_gradient_norm,
    "reference_fit": reference_fit,
    "contract_readings": contract_readings,
    "contract_heldout_mse": contract_heldout_mse,
}
