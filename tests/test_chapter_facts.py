"""Facts the chapters, flashcards and quizzes state, checked against torch and the data.

Numbers that come from a run are glued from executed cells (and the sentences that describe a
run's outcome are asserted in hidden cells, so the strict build fails when a run disagrees).
What is left for these tests: the quiz keys and the statements that must hold whatever the run
(parameter counts, the adding problem's landmarks), the lesson structure every chapter shares,
and a few errors that must not come back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rnncourse.data import ADDING_TRIVIAL_MSE, adding_problem

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
OWN = ["01-sequences-and-rnns", "02-training-rnns", "03-vanishing-gradients", "04-lstm",
       "05-gru", "06-applications"]


def chapter(name: str) -> str:
    return (CHAPTERS / f"{name}.md").read_text(encoding="utf-8")


def quiz(name: str) -> list[dict]:
    return json.loads((CHAPTERS / "quizzes" / f"{name}.json").read_text(encoding="utf-8"))


def question(name: str, fragment: str) -> dict:
    found = [q for q in quiz(name) if fragment in q["question"]]
    assert len(found) == 1, f"{name}: {len(found)} questions contain {fragment!r}"
    return found[0]


def correct_answers(q: dict) -> list[str]:
    return [a["answer"] for a in q["answers"] if a.get("correct")]


def feedback(q: dict, answer: str) -> str:
    return next(a["feedback"] for a in q["answers"] if a.get("answer") == answer)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------- quiz keys


def test_ch01_parameter_count_key_and_distractors() -> None:
    q = question("ch01-rnn", "How many parameters")
    D, H = 10, 20
    assert correct_answers(q) == [str(count(nn.RNN(D, H)))] == ["640"]
    weights_only = count(nn.RNN(D, H, bias=False))
    assert weights_only == 600 and "weight matrices only" in feedback(q, "600")
    assert weights_only + H == 620 and "single bias" in feedback(q, "620")


def test_ch04_block_count_key() -> None:
    q = question("ch04-lstm", "How many gate-sized weight blocks")
    value = next(a["value"] for a in q["answers"] if a.get("correct"))
    lstm = nn.LSTM(3, 5)
    assert value == lstm.weight_ih_l0.shape[0] // 5 == 4


def test_ch04_gate_order_key() -> None:
    q = question("ch04-lstm", "In which order does torch.nn.LSTM stack")
    # torch's order i, f, g, o: with the f block's bias set high, only block 1 is open
    assert correct_answers(q) == ["i, f, g, o"]
    cell = nn.LSTMCell(1, 1)
    with torch.no_grad():
        cell.weight_ih.zero_()
        cell.weight_hh.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih.copy_(torch.tensor([-20.0, 20.0, 0.5, -20.0]))  # i, f, g, o
        h, c = cell(torch.zeros(1, 1), (torch.zeros(1, 1), torch.ones(1, 1)))
    assert float(c) == pytest.approx(1.0, abs=1e-6)  # kept by f, nothing written by i
    assert float(h) == pytest.approx(0.0, abs=1e-6)  # hidden by o


def test_ch05_parameter_ratio_key() -> None:
    q = question("ch05-gru", "What fraction of the LSTM's parameters")
    value = next(a["value"] for a in q["answers"] if a.get("correct"))
    for D, H in ((2, 32), (13, 64), (1, 1)):
        assert count(nn.GRU(D, H)) / count(nn.LSTM(D, H)) == pytest.approx(value) == 0.75


def test_ch05_candidate_key_is_torchs_convention() -> None:
    q = question("ch05-gru", "Which candidate does torch.nn.GRUCell compute")
    assert "r &#8857; (W<sub>hn</sub>h + b<sub>hn</sub>)" in correct_answers(q)[0]
    torch.manual_seed(0)
    cell = nn.GRUCell(3, 4).double()
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    r_i, z_i, n_i = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, 1)
    r_h, z_h, n_h = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, 1)
    r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
    n = torch.tanh(n_i + r * n_h)  # r after the product, bias b_hn included
    assert torch.allclose((1 - z) * n + z * h, cell(x, h).detach(), atol=1e-12)


def test_ch03_chance_level_and_the_one_number_plateau() -> None:
    q = question("ch03-gradients", "what MSE does always predicting 1 achieve")
    assert correct_answers(q) == ["1/6"]
    assert pytest.approx(1 / 6) == ADDING_TRIVIAL_MSE
    x, y = adding_problem(20_000, 20, seed=7)
    values, marks = x[:, :, 0], x[:, :, 1]
    assert torch.all(marks.sum(dim=1) == 2)
    chance = float(((y - 1.0) ** 2).mean())
    later = (values * marks).flip(1).argmax(dim=1)  # remember only one marked number ...
    one = values.flip(1).gather(1, later[:, None]) + 0.5  # ... and guess the other's mean
    one_number = float(((y - one) ** 2).mean())
    assert chance == pytest.approx(1 / 6, rel=0.03)
    assert one_number == pytest.approx(1 / 12, rel=0.03)
    assert one_number / chance == pytest.approx(0.5, rel=0.05)


def test_review_perplexity_key() -> None:
    q = question("ch09-review", "cross-entropy of ln 8")
    value = next(a["value"] for a in q["answers"] if a.get("correct"))
    assert value == pytest.approx(float(np.exp(np.log(8.0))))


def test_ch06_quiz_compares_within_a_task_only() -> None:
    text = json.dumps(quiz("ch06-applications"))
    assert "biggest difference" not in text
    q = question("ch06-applications", "Which comparison is meaningful")
    assert correct_answers(q) == ["Comparing the three cells within one task"]


@pytest.mark.parametrize("path", sorted((CHAPTERS / "quizzes").glob("ch0*.json")),
                         ids=lambda p: p.stem)
def test_every_quiz_question_has_a_key(path: Path) -> None:
    for q in json.loads(path.read_text(encoding="utf-8")):
        correct = [a for a in q["answers"] if a.get("correct")]
        if q["type"] == "multiple_choice":
            assert len(correct) == 1, q["question"]
        elif q["type"] == "many_choice":
            assert correct and len(correct) < len(q["answers"]), q["question"]
        else:
            assert q["type"] == "numeric" and len(correct) == 1, q["question"]
        assert all(a.get("feedback") for a in q["answers"]), q["question"]


# --------------------------------------------------------------------------- lesson structure


@pytest.mark.parametrize("name", OWN)
def test_each_chapter_has_the_lesson_structure(name: str) -> None:
    text = chapter(name)
    for heading in ("## Audio lesson", "## Summary", "## Key concepts", "## Real-life examples",
                    "## Memory aids", "## Flashcards", "## Self-check quiz"):
        assert heading in text, f"{name} lacks {heading!r}"
    for tab in ("Quick", "Standard", "Detailed"):
        assert f":::{{tab-item}} {tab}" in text, f"{name} lacks the {tab} summary"
    dialogue = re.search(r"```\{dialogue\} ([a-z0-9-]+)", text)
    assert dialogue and (CHAPTERS / "dialogues" / f"{dialogue[1]}.yml").is_file()
    for kind, call in (("cards", "display_flashcards"), ("quizzes", "display_quiz")):
        found = re.search(rf'{call}\("{kind}/([\w-]+)\.json"\)', text)
        assert found and (CHAPTERS / kind / f"{found[1]}.json").is_file(), (name, kind)


@pytest.mark.parametrize("name", OWN)
def test_glue_lines_live_in_hidden_cells(name: str) -> None:
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", chapter(name), flags=re.S)
    visible = [c for c in cells if "remove-cell" not in c.split("\n\n", 1)[0]]
    offending = [c.splitlines()[0] for c in visible if re.search(r"^\s*glue\(", c, flags=re.M)]
    assert not offending, f"{name}: glue() in visible cells starting with {offending}"


# ------------------------------------------------------------------ errors that must not return


def test_gru_has_no_memory_cell_anywhere() -> None:
    pattern = re.compile(r"(LSTMs? and GRUs?|GRUs?) (add|have|has|use) (a )?memory cells?", re.I)
    for path in [*CHAPTERS.glob("0*.md"), *CHAPTERS.glob("*/*.json")]:
        assert not pattern.search(path.read_text(encoding="utf-8")), path.name


def test_jacobian_product_is_written_in_order() -> None:
    text = chapter("03-vanishing-gradients")
    ordered = re.findall(r"J_T\s*(\\,)?\s*J_\{T-1\}\s*\\cdots\s*J_\{t\+1\}", text)
    assert len(ordered) >= 2  # the derivation and the Detailed tab
    assert r"\prod_{k=t+1}^{T} J_k" not in text


def test_one_symbol_one_meaning_for_clipping_and_temperature() -> None:
    for name in OWN:
        for line in chapter(name).splitlines():
            if r"\tau" in line:
                assert not re.search(r"clip|threshold|\\lVert g", line), (name, line)
    training = chapter("02-training-rnns")
    assert r"\kappa \, \dfrac{g}{\lVert g \rVert}" in training
    assert "z_t = W_{hy}" not in training  # z is the GRU's update gate; logits are u


def test_clipping_with_adam_is_explained() -> None:
    training = chapter("02-training-rnns")
    assert "With plain gradient descent the step is" in training
    assert "Adam" in training and "running average" in training


def test_nlp_is_named_beside_speech_and_time_series() -> None:
    for name in ("01-sequences-and-rnns", "06-applications"):
        text = " ".join(chapter(name).split())  # line breaks as spaces
        assert "natural language processing (NLP)" in text
        assert "speech" in text and "time series" in text


def test_no_outcome_sentence_survives_as_fixed_text() -> None:
    lstm, apps = chapter("04-lstm"), chapter("06-applications")
    for fixed in ("Most units have forget gates well below one", "its input gate jumps",
                  "plus smaller paths"):
        assert fixed not in lstm, fixed
    assert "\nHere gating matters." not in apps
    assert "halved at every step." not in chapter("05-gru")
    assert "jump to NaN after a single" not in chapter("03-vanishing-gradients")


def test_carousel_card_is_the_weight_one_self_connection() -> None:
    cards = json.loads((CHAPTERS / "cards" / "ch04-lstm.json").read_text(encoding="utf-8"))
    back = next(c["back"] for c in cards if "constant error carousel" in c["front"])
    assert "weight one" in back and "self-connection" in back
    review = (CHAPTERS / "cards" / "ch09-review.json").read_text(encoding="utf-8")
    assert "W<sub>xh</sub>" not in review and "W<sub>ih</sub>" in review
