"""Character language model: validation perplexity each cell reaches in the same CPU budget.

Trains a tanh RNN, an LSTM and a GRU character model (hidden 64, windows of 32, clipping 1)
on Shakespeare for the same wall-clock budget each, side by side in one run, and reports the
validation perplexity (a uniform guess over the vocabulary would score its size).
"""

from __future__ import annotations

import argparse
import itertools

import torch

from common import record, table
from rnncourse.data import (
    CharVocab,
    load_shakespeare,
    random_batches,
    sequential_batches,
    train_val_split,
)
from rnncourse.models import CharLM, count_parameters
from rnncourse.train import fit, lm_cross_entropy, perplexity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per model")
    parser.add_argument("--chars", type=int, default=400_000)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(2)
    text = load_shakespeare(max_chars=args.chars)
    vocab = CharVocab.from_text(text)
    train_ids, val_ids = train_val_split(vocab.encode(text), 0.1)
    val_batches = list(itertools.islice(sequential_batches(val_ids, 32, 64), 20))
    rows, runs = [], {}
    for cell in ("rnn", "lstm", "gru"):
        model = CharLM(len(vocab), args.hidden, cell, embed_size=32)
        batches = random_batches(train_ids, 32, 32, n_batches=10**7, seed=0)
        history = fit(
            model, batches, lm_cross_entropy, lr=3e-3, clip=1.0, max_steps=10**7,
            eval_every=200, val_fn=lambda m: perplexity(m, val_batches),
            time_budget=args.budget, seed=0, device="cpu", progress=False,
        )
        runs[cell] = {
            "val_perplexity": history.val_metric[-1], "steps": history.steps[-1],
            "seconds": history.seconds[-1], "parameters": count_parameters(model),
        }
        rows.append([cell, runs[cell]["val_perplexity"], runs[cell]["steps"],
                     runs[cell]["seconds"], runs[cell]["parameters"]])
    print(table(["cell", "validation perplexity", "steps", "seconds", "parameters"], rows))
    print(f"\nvocabulary {len(vocab)} characters (a uniform guess scores perplexity {len(vocab)})")
    record("char_lm", {"runs": runs, "budget_s": args.budget, "chars": len(text),
                       "vocabulary": len(vocab), "hidden": args.hidden})


if __name__ == "__main__":
    main()
