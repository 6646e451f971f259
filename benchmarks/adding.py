"""The adding problem: how many training sequences until the test MSE falls below 0.01.

Hochreiter & Schmidhuber (1997, Experiment 4) needed 74,000 training sequences for an LSTM to
solve T = 100. Here each model trains on fresh batches until its MSE on 1,000 held-out
sequences is below 0.01, or until ``--max-sequences`` (more than H&S's 74,000) have been seen;
every model runs with several seeds and the table reports the median (a run that never reaches
the target counts as infinitely many sequences, so the median is finite only when most seeds
succeed). Always predicting 1 gives MSE 1/6; remembering one of the two numbers, 1/12.

The LSTM runs twice: with torch's default initialisation and with the chrono initialisation of
Tallec & Ollivier (2018, "Can recurrent neural networks warp time?", ICLR): forget-gate biases
``b_f ~ log(U[1, T_max - 1])`` and input-gate biases ``b_i = -b_f``, so that the cell starts
out keeping its content over time scales spread up to the sequence length instead of ~1 step.
Target of the course: the LSTM's median at T = 100 at most a third of 74,000 sequences.

Results: ``benchmarks/results.json`` -> ``adding_problem`` -> ``T<length>`` -> ``<model>`` ->
``median_sequences`` (and ``sequences_per_seed``, ``reached``, ...).
"""

from __future__ import annotations

import argparse
import math
import statistics
from typing import Any

import torch

from common import Stopwatch, record, table
from rnncourse.data import ADDING_TRIVIAL_MSE, adding_problem
from rnncourse.models import SequenceRegressor
from rnncourse.train import evaluate_mse, fit, set_seed

HOCHREITER_1997_SEQUENCES = 74_000
TARGET_MSE = 0.01
#: model name -> (cell, initialisation)
MODELS: dict[str, tuple[str, str]] = {
    "lstm_chrono": ("lstm", "chrono"),
    "lstm_default": ("lstm", "default"),
    "gru": ("gru", "default"),
    "rnn": ("rnn", "default"),
}


def chrono_init(lstm: torch.nn.LSTM, t_max: int, generator: torch.Generator) -> None:
    r"""Chrono initialisation of an ``nn.LSTM``'s gate biases (Tallec & Ollivier, 2018).

    .. math:: b_f \sim \log\,\mathcal{U}[1,\ T_{\max} - 1], \qquad b_i = -b_f

    torch adds ``bias_ih`` and ``bias_hh`` (gate order i, f, g, o, blocks of H): the values go
    into ``bias_ih`` and the matching blocks of ``bias_hh`` are zeroed, so the sum is as above.
    """
    if t_max < 3:
        raise ValueError("chrono initialisation needs t_max >= 3")
    H = lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            b_ih = getattr(lstm, f"bias_ih_l{layer}")
            b_hh = getattr(lstm, f"bias_hh_l{layer}")
            b_f = torch.log(torch.rand(H, generator=generator) * (t_max - 2) + 1)
            b_ih[H : 2 * H] = b_f
            b_ih[:H] = -b_f
            b_hh[: 2 * H] = 0.0


def make_model(cell: str, init: str, T: int, hidden: int, seed: int) -> SequenceRegressor:
    """The seeded model: the same seed gives the same initial weights."""
    set_seed(seed)
    model = SequenceRegressor(2, hidden, cell)  # type: ignore[arg-type]
    if init == "chrono":
        chrono_init(model.rnn, T, torch.Generator().manual_seed(seed))  # type: ignore[arg-type]
    return model


def train(name: str, T: int, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run: sequences seen when the test MSE first fell below the target (or the cap)."""
    cell, init = MODELS[name]
    x_test, y_test = adding_problem(1000, T, seed=10_000 + T)
    model = make_model(cell, init, T, args.hidden, seed)
    max_steps = args.max_sequences // args.batch
    with Stopwatch() as sw:
        history = fit(
            model,
            lambda step: adding_problem(args.batch, T, seed=seed * 1_000_003 + step),
            torch.nn.functional.mse_loss,
            lr=args.lr, clip=1.0, max_steps=max_steps, eval_every=args.eval_every,
            val_fn=lambda m: evaluate_mse(m, x_test, y_test),
            target=TARGET_MSE, seed=seed, device="cpu", progress=False,
        )
    reached = history.stop_reason == "target"
    return {
        "sequences": history.steps[-1] * args.batch if reached else None,
        "steps": history.steps[-1], "seconds": round(sw.seconds, 1),
        "final_test_mse": history.val_metric[-1], "reached": reached,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over seeds, a run that missed the target counting as infinity."""
    counts = [r["sequences"] if r["reached"] else math.inf for r in runs]
    median = statistics.median(counts)
    return {
        "median_sequences": None if math.isinf(median) else int(median),
        "sequences_per_seed": [r["sequences"] for r in runs],
        "reached": sum(r["reached"] for r in runs),
        "seeds": len(runs),
        "final_test_mse_per_seed": [round(r["final_test_mse"], 5) for r in runs],
        "seconds_per_seed": [r["seconds"] for r in runs],
        "share_of_hochreiter_1997": None if math.isinf(median)
        else round(median / HOCHREITER_1997_SEQUENCES, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[100])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--eval-every", type=int, default=10, help="steps between test MSEs")
    parser.add_argument("--max-sequences", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    figures: dict[str, Any] = {}
    rows = []
    for T in args.lengths:
        for name in args.models:
            runs = [train(name, T, seed, args) for seed in range(args.seeds)]
            summary = summarise(runs)
            figures.setdefault(f"T{T}", {})[name] = summary
            per_seed = ", ".join(f"{s:,}" if s else "-" for s in summary["sequences_per_seed"])
            median = summary["median_sequences"]
            rows.append([name, T, f"{median:,}" if median else "not reached",
                         f"{summary['reached']}/{summary['seeds']}", per_seed,
                         summary["share_of_hochreiter_1997"] or "-"])
            print(table(["model", "T", "median sequences", "reached", "per seed",
                         "x H&S 74,000"], rows[-1:]), flush=True)
    print()
    print(table(["model", "T", "median sequences", "reached", "per seed", "x H&S 74,000"],
                rows))
    print(f"\ntarget: test MSE < {TARGET_MSE}; always predicting 1: MSE "
          f"{ADDING_TRIVIAL_MSE:.3f}; goal: LSTM median <= {HOCHREITER_1997_SEQUENCES // 3:,} "
          "sequences (a third of H&S 1997); '-' = not reached within "
          f"{args.max_sequences:,} sequences")
    record("adding_problem", {
        **figures,
        "protocol": {
            "target_mse": TARGET_MSE, "test_sequences": 1000, "seeds": args.seeds,
            "batch": args.batch, "hidden": args.hidden, "optimizer": "Adam", "lr": args.lr,
            "clip": 1.0, "eval_every_steps": args.eval_every,
            "max_sequences": args.max_sequences,
            "median": "over seeds; a seed that never reaches the target counts as infinity",
            "lstm_chrono": "Tallec & Ollivier 2018: b_f ~ log U[1, T-1], b_i = -b_f",
        },
        "hochreiter_1997_sequences_T100": HOCHREITER_1997_SEQUENCES,
    })


if __name__ == "__main__":
    main()
