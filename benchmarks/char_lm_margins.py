"""char_lm's outcome over seeds: the perplexity each correct submission reaches, and its margin.

The capstone's outcome test (``test_perplexity``, :mod:`rnncourse.suites.char_lm`) requires a
perplexity below the threshold on the validation play and on the held-out play. This script
runs the solution notebook, and the notebook with each correct submission of
``tests/correct_submissions/char_lm.py`` (or a wrong one of ``tests/wrong_submissions``), with
the training cell's initialisation seed replaced by each seed, one fresh process per run, and
scores the trained weights with the suite's own :func:`~rnncourse.suites.char_lm.perplexity`.
It reports the CPU seconds of the training cell (single BLAS thread, as the notebook sets),
both perplexities and the margin ``threshold - max(validation, held-out)``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time

from common import ROOT, record, table

SOURCE = ROOT / "solutions" / "char_lm" / "char_lm.ipynb"
SEED_LINE = "init_params(len(VOCABULARY), EMBED_SIZE, HIDDEN_SIZE, seed=0)"


def notebook(name: str):
    """The solution notebook, with the answer cells of submission ``name`` (a correct or a
    wrong one; ``"solution"`` for none)."""
    import nbformat

    sys.path.insert(0, str(ROOT / "tests"))
    from correct_submissions import apply as apply_correct
    from correct_submissions import load as load_correct
    from wrong_submissions import apply as apply_wrong
    from wrong_submissions import load as load_wrong

    nb = nbformat.read(SOURCE, as_version=4)
    correct = {c.name: c for c in load_correct("char_lm")}
    wrong = {w.name: w for w in load_wrong("char_lm")}
    if name in correct:
        return apply_correct(nb, correct[name])
    if name in wrong:
        return apply_wrong(nb, wrong[name])
    if name != "solution":
        raise SystemExit(f"unknown submission {name!r}")
    return nb


def one_run(name: str, seed: int) -> dict:
    """Run the notebook's non-test cells here with ``seed``; score the trained weights."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from IPython.core.inputtransformer2 import TransformerManager

    nb = notebook(name)
    namespace: dict = {"__name__": "__main__"}
    cpu = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        source = cell.source
        if meta["grade_id"] == "training":
            assert SEED_LINE in source
            source = source.replace(SEED_LINE, SEED_LINE.replace("seed=0", f"seed={seed}"))
        started = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            exec(compile(TransformerManager().transform_cell(source), meta["grade_id"], "exec"),
                 namespace)
        cpu[meta["grade_id"]] = time.process_time() - started
    from rnncourse.data.char_windows import load_ids
    from rnncourse.suites import char_lm

    params = namespace.get("trained_params")
    history = namespace.get("history") or {"loss": [float("nan")], "norm": [float("nan")]}
    scores = {}
    for label, play in (("validation", char_lm.VALIDATION_PLAY),
                        ("held_out", char_lm.HELD_OUT_PLAY)):
        scores[label] = (char_lm.perplexity(params, load_ids([play])) if params is not None
                         else float("nan"))
    return {"submission": name, "seed": seed, "train_cpu_s": cpu.get("training"),
            "notebook_cpu_s": sum(cpu.values()), **scores,
            "last_100_windows_loss": sum(history["loss"][-100:]) / len(history["loss"][-100:]),
            "clipped_fraction": (sum(n > namespace.get("MAX_NORM", 0) for n in history["norm"])
                                 / len(history["norm"])),
            "margin": char_lm.PERPLEXITY_THRESHOLD - max(scores.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", default="solution,lstm_one_hot_einsum,gru_bincount")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--one", nargs=2, metavar=("NAME", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--key", default="char_lm_margins", help="results.json key")
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one[0], int(args.one[1]))))
        return
    from rnncourse.suites import char_lm

    runs = []
    for name in args.submissions.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            out = subprocess.run([sys.executable, __file__, "--one", name, str(seed)],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    print(table(["submission", "seed", "training CPU s", "validation", "held-out", "margin"],
                [[r["submission"], r["seed"], r["train_cpu_s"], r["validation"],
                  r["held_out"], r["margin"]] for r in runs]))
    if not args.no_record:
        record(args.key, {
            "threshold": char_lm.PERPLEXITY_THRESHOLD,
            "validation_play": char_lm.VALIDATION_PLAY, "held_out_play": char_lm.HELD_OUT_PLAY,
            "runs": runs,
            "smallest_margin": {n: min(r["margin"] for r in runs if r["submission"] == n)
                                for n in dict.fromkeys(r["submission"] for r in runs)},
        })


if __name__ == "__main__":
    main()
