"""From-scratch numpy cells (the assignment solutions) against torch.nn on the same shapes.

Loads the solution functions from ``solutions/*/*.ipynb`` (the cells nbgrader marks as
solutions), runs forward + backward for one step of RNN, LSTM and GRU and for a whole RNN
sequence, and times torch.nn.RNNCell / LSTMCell / GRUCell / RNN doing the same in the same
dtype (float64) on the CPU. The ratio tells learners what to expect from their numpy code.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from common import ROOT, record, table


def solution_namespace(assignment: str) -> dict:
    """Execute the ``setup`` and solution cells of a source notebook; return its namespace."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = json.loads(Path(path).read_text())
    namespace: dict = {"np": np}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        wanted = meta.get("solution") or meta.get("grade_id") == "setup"
        if cell["cell_type"] == "code" and wanted:
            exec("".join(cell["source"]), namespace)
    return namespace


def best_time(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` timings of ``fn`` (seconds), after one warm-up call."""
    fn()
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def weights(rng: np.random.Generator, gates: int, D: int, H: int) -> dict[str, np.ndarray]:
    return {
        "W_ih": rng.standard_normal((gates * H, D)) * 0.1,
        "W_hh": rng.standard_normal((gates * H, H)) * 0.1,
        "b_ih": rng.standard_normal(gates * H) * 0.1,
        "b_hh": rng.standard_normal(gates * H) * 0.1,
    }


def torch_cell(module: torch.nn.Module, w: dict[str, np.ndarray]) -> torch.nn.Module:
    module = module.double()
    with torch.no_grad():
        for name, value in w.items():
            getattr(module, {"W_ih": "weight_ih", "W_hh": "weight_hh",
                             "b_ih": "bias_ih", "b_hh": "bias_hh"}[name]).copy_(
                torch.from_numpy(value))
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--input", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(2)
    N, D, H, T = args.batch, args.input, args.hidden, args.steps
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dh = rng.standard_normal((N, H))
    rows, figures = [], {}

    def compare(name: str, numpy_fn: Callable[[], object], torch_fn: Callable[[], object]):
        t_np, t_torch = best_time(numpy_fn, args.repeat), best_time(torch_fn, args.repeat)
        figures[name] = {"numpy_ms": 1e3 * t_np, "torch_ms": 1e3 * t_torch,
                         "numpy_over_torch": t_np / t_torch}
        rows.append([name, 1e3 * t_np, 1e3 * t_torch, t_np / t_torch])

    def torch_step(module: torch.nn.Module, *state: np.ndarray) -> Callable[[], object]:
        xt = torch.from_numpy(x).requires_grad_()
        st = [torch.from_numpy(s).requires_grad_() for s in state]

        def run() -> None:
            out = module(xt, st[0] if len(st) == 1 else tuple(st))
            out = out[0] if isinstance(out, tuple) else out
            (out * torch.from_numpy(dh)).sum().backward()
        return run

    ns = solution_namespace("rnn_cell")
    w = weights(rng, 1, D, H)
    compare("RNN step", lambda: ns["rnn_step_backward"](dh, ns["rnn_step_forward"](x, h, **w)[1]),
            torch_step(torch_cell(torch.nn.RNNCell(D, H), w), h))
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    module = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(w["W_ih"]))
        module.weight_hh_l0.copy_(torch.from_numpy(w["W_hh"]))
        module.bias_ih_l0.copy_(torch.from_numpy(w["b_ih"]))
        module.bias_hh_l0.copy_(torch.from_numpy(w["b_hh"]))
    xs_t = torch.from_numpy(xs).requires_grad_()

    def torch_sequence() -> None:
        out, _ = module(xs_t, torch.from_numpy(h)[None])
        (out * torch.from_numpy(dhs)).sum().backward()

    compare(f"RNN sequence T={T}",
            lambda: ns["rnn_backward"](dhs, ns["rnn_forward"](xs, h, **w)[1]), torch_sequence)

    ns = solution_namespace("lstm_cell")
    w = weights(rng, 4, D, H)
    compare("LSTM step",
            lambda: ns["lstm_step_backward"](dh, dh, ns["lstm_step_forward"](x, h, c, **w)[-1]),
            torch_step(torch_cell(torch.nn.LSTMCell(D, H), w), h, c))

    ns = solution_namespace("gru_cell")
    w = weights(rng, 3, D, H)
    compare("GRU step", lambda: ns["gru_step_backward"](dh, ns["gru_step_forward"](x, h, **w)[1]),
            torch_step(torch_cell(torch.nn.GRUCell(D, H), w), h))

    print(f"forward + backward, float64, N={N}, D={D}, H={H}, best of {args.repeat}")
    print(table(["computation", "numpy ms", "torch.nn ms", "numpy / torch"], rows))
    record("numpy_vs_torch", {"shapes": {"N": N, "D": D, "H": H, "T": T}, "dtype": "float64",
                              "results": figures})


if __name__ == "__main__":
    main()
