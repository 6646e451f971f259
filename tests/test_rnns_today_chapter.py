"""Chapter 8 (where recurrent networks stand today): the scans and the minGRU on the page.

The parallel scan must equal the step-by-step recurrence h_t = a_t * h_{t-1} + b_t for every
length (powers of two or not), in value and in gradient; the log-space scan must equal it for
positive inputs; the minGRU must give the same states either way. The quiz's numeric keys are
computed from the same code.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from chapter_code import CHAPTERS, load_definitions
from torch import nn

CHAPTER = "08-rnns-today.md"
PREAMBLE = """
import math
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
"""


@pytest.fixture(scope="module")
def page() -> dict:
    return load_definitions(CHAPTER, ["sequential_scan", "MinGRU"], preamble=PREAMBLE)


def _coefficients(T: int, seed: int = 0, positive: bool = False) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(3, T, 5, dtype=torch.float64, generator=g)
    b = torch.randn(3, T, 5, dtype=torch.float64, generator=g)
    return a, (b.abs() + 0.05 if positive else b)


@pytest.mark.parametrize("T", [1, 2, 3, 7, 8, 9, 64, 100, 1000])
def test_parallel_scan_equals_the_sequential_recurrence(page: dict, T: int) -> None:
    a, b = _coefficients(T, seed=T)
    expected = page["sequential_scan"](a, b)
    torch.testing.assert_close(page["parallel_scan"](a, b), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("T", [1, 5, 16, 300])
def test_log_space_scan_equals_the_sequential_recurrence(page: dict, T: int) -> None:
    a, b = _coefficients(T, seed=T, positive=True)
    expected = page["sequential_scan"](a, b)
    torch.testing.assert_close(page["log_space_scan"](a.log(), b.log()), expected,
                               rtol=1e-10, atol=1e-12)


def test_scans_agree_in_their_gradients(page: dict) -> None:
    a, b = _coefficients(37, seed=1)
    grads = []
    for scan in (page["sequential_scan"], page["parallel_scan"]):
        a_, b_ = a.clone().requires_grad_(), b.clone().requires_grad_()
        (scan(a_, b_) * torch.linspace(-1, 1, 5, dtype=torch.float64)).sum().backward()
        grads.append((a_.grad, b_.grad))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_scan_special_cases_and_a_wrong_scan_is_caught(page: dict) -> None:
    a, b = _coefficients(10, seed=3)
    ones, zeros = torch.ones_like(a), torch.zeros_like(a)
    torch.testing.assert_close(page["parallel_scan"](ones, b), b.cumsum(dim=1))  # pure sum
    torch.testing.assert_close(page["parallel_scan"](zeros, b), b)               # no memory
    # the comparison used above does notice a scan that composes in the wrong order
    wrong = page["parallel_scan"](a.flip(1), b.flip(1)).flip(1)
    assert not torch.allclose(wrong, page["sequential_scan"](a, b))


def test_parallel_scan_needs_ceil_log2_rounds(page: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = torch.cat

    def counting_cat(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "cat", counting_cat)
    for T in (1, 2, 3, 8, 9, 1000):
        calls.clear()
        page["parallel_scan"](*_coefficients(T))
        assert len(calls) == 2 * math.ceil(math.log2(T)), T  # one cat for a, one for b


def test_mingru_parallel_and_sequential_forward_agree(page: dict) -> None:
    torch.manual_seed(0)
    layer = page["MinGRU"](2, 16).double()
    x = torch.randn(4, 50, 2, dtype=torch.float64)
    torch.testing.assert_close(layer(x, parallel=True), layer(x, parallel=False),
                               rtol=1e-12, atol=1e-12)
    z_bias = layer.linear.bias[:16]
    assert torch.all(z_bias == -2.0)  # the gate starts mostly closed: the state is kept


def test_regressor_reads_the_last_state(page: dict) -> None:
    torch.manual_seed(0)
    model = page["Regressor"](nn.GRU(2, 8, batch_first=True), 8)
    x = torch.randn(3, 6, 2)
    out, _ = model.rnn(x)
    torch.testing.assert_close(model(x), model.head(out[:, -1]))
    assert model(x).shape == (3, 1)


def _quiz() -> list[dict]:
    return json.loads((CHAPTERS / "quizzes" / "ch08-rnns-today.json").read_text(encoding="utf-8"))


def _key(fragment: str) -> float:
    (question,) = [q for q in _quiz() if fragment in q["question"]]
    (value,) = [a["value"] for a in question["answers"] if a.get("correct")]
    return value


def test_quiz_numeric_keys_match_the_code(page: dict) -> None:
    assert _key("How many rounds") == math.ceil(math.log2(1000))
    assert _key("minGRU layer with input size 2") == sum(
        p.numel() for p in page["MinGRU"](2, 32).parameters())
    (question,) = [q for q in _quiz() if "minGRU layer with input size 2" in q["question"]]
    wrong = [a["value"] for a in question["answers"] if a.get("type") == "value"
             and not a.get("correct")]
    assert sum(p.numel() for p in nn.GRU(2, 32).parameters()) in wrong
