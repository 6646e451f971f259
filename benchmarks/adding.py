"""The adding problem: how many training sequences until test MSE < 0.01.

Hochreiter & Schmidhuber (1997, Experiment 4) needed 74,000 training sequences for an LSTM
to solve T = 100. Here LSTM and GRU train on fresh batches until the test MSE (1,000 held-out
sequences) falls below 0.01 or the time budget ends; the tanh RNN then trains for the same
number of steps and its MSE is reported beside them (always predicting 1 gives 1/6).
Target: at most a third of 74,000 sequences.
"""

from __future__ import annotations

import argparse

import torch

from common import Stopwatch, record, table
from rnncourse.data import ADDING_TRIVIAL_MSE, adding_problem
from rnncourse.models import SequenceRegressor
from rnncourse.train import evaluate_mse, fit

HOCHREITER_1997_SEQUENCES = 74_000
TARGET_MSE = 0.01


def train(cell: str, T: int, *, steps: int, batch: int, lr: float, hidden: int,
          budget: float, target: float | None, seed: int = 0) -> dict[str, float]:
    x_test, y_test = adding_problem(1000, T, seed=10_000 + T)
    model = SequenceRegressor(2, hidden, cell)
    with Stopwatch() as sw:
        history = fit(
            model,
            lambda step: adding_problem(batch, T, seed=seed * 1_000_003 + step),
            torch.nn.functional.mse_loss,
            lr=lr, clip=1.0, max_steps=steps, eval_every=25,
            val_fn=lambda m: evaluate_mse(m, x_test, y_test),
            target=target, time_budget=budget, seed=seed, device="cpu", progress=False,
        )
    reached = history.stop_reason == "target"
    return {
        "steps": history.steps[-1], "sequences": history.steps[-1] * batch,
        "seconds": sw.seconds, "test_mse": history.val_metric[-1], "reached_target": reached,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--budget", type=float, default=120.0, help="seconds per run")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    args = parser.parse_args()
    torch.set_num_threads(2)
    results, rows = {}, []
    for T in args.lengths:
        for cell in ("lstm", "gru"):
            r = train(cell, T, steps=100_000, batch=args.batch, lr=args.lr, hidden=args.hidden,
                      budget=args.budget, target=TARGET_MSE)
            results[f"{cell}_T{T}"] = r
            rows.append([cell, T, r["sequences"], r["seconds"], r["test_mse"], r["reached_target"],
                         f"{r['sequences'] / HOCHREITER_1997_SEQUENCES:.2f}"])
        steps = max(results[f"{c}_T{T}"]["steps"] for c in ("lstm", "gru"))
        r = train("rnn", T, steps=steps, batch=args.batch, lr=args.lr, hidden=args.hidden,
                  budget=args.budget, target=None)
        results[f"rnn_T{T}"] = r
        share = r["sequences"] / HOCHREITER_1997_SEQUENCES
        rows.append(["rnn (same steps)", T, r["sequences"], r["seconds"], r["test_mse"],
                     r["test_mse"] < TARGET_MSE, f"{share:.2f}"])
    print(table(["model", "T", "training sequences", "seconds", "test MSE",
                 f"MSE < {TARGET_MSE}", "x H&S 74,000"], rows))
    print(f"\nalways predicting 1: MSE {ADDING_TRIVIAL_MSE:.3f}; target: <= "
          f"{HOCHREITER_1997_SEQUENCES // 3:,} sequences (a third of H&S 1997)")
    record("adding_problem", {
        "runs": results, "target_mse": TARGET_MSE, "batch": args.batch, "hidden": args.hidden,
        "lr": args.lr, "budget_s": args.budget,
        "hochreiter_1997_sequences_T100": HOCHREITER_1997_SEQUENCES,
    })


if __name__ == "__main__":
    main()
