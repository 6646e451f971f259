"""The book's diagrams: drawn by rnncourse.diagrams at build time, labelled, colour-blind safe.

Each diagram must hold the elements its alt text describes (checked through the artists' gids),
must not rely on colour alone (gradients dashed, the carousel thick), and must use the
Okabe-Ito palette. The built pages must show every diagram with a real alt text.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from bs4 import BeautifulSoup
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from rnncourse import diagrams
from rnncourse.plots import COLORS

ROOT = Path(__file__).resolve().parents[1]
# the book `make test` builds; RNNCOURSE_BOOK_HTML points at another build (e.g. a private one)
BUILT = Path(os.environ.get("RNNCOURSE_BOOK_HTML", ROOT / "_build" / "html"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_gid(fig: Figure, gid: str):
    found = fig.findobj(lambda a: a.get_gid() == gid)
    assert found, f"no element {gid!r}"
    return found[0]


def _texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(Text))


def _dashed(arrow: FancyArrowPatch) -> bool:
    style = arrow.get_linestyle()
    return style not in ("solid", "-") and not (isinstance(style, tuple) and not style[1])


EXPECTED = {
    "unrolled_rnn": (lambda: diagrams.unrolled_rnn(4),
                     {"state-0", "state-4", "input-1", "loss-4", "forward-state-1",
                      "forward-in-3", "forward-out-2", "backward-loss-4", "backward-state-1",
                      "shared-weights", "legend"}),
    "truncated_bptt": (lambda: diagrams.truncated_bptt(3, 4),
                       {"window-1", "window-3", "state-12", "forward-5", "forward-12",
                        "backward-2", "backward-12", "detach-1", "detach-2", "legend"}),
    "lstm_cell": (diagrams.lstm_cell,
                  {"carousel", "carousel-label", "gate-i", "gate-f", "gate-g", "gate-o",
                   "op-forget", "op-write", "op-add", "op-output", "tanh-c", "input-x",
                   "state-h-prev", "state-h", "cell-c-prev", "cell-c", "legend"}),
    "gru_cell": (diagrams.gru_cell,
                 {"carry", "carry-label", "gate-r", "gate-z", "candidate-n", "one-minus-z",
                  "op-keep", "op-write", "op-add", "reset-link", "input-x", "state-h-prev",
                  "state-h", "legend"}),
    "rnn_taxonomy": (diagrams.rnn_taxonomy,
                     {"panel-one-to-many", "panel-many-to-one", "panel-many-to-many",
                      "panel-encoder-decoder"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_diagram_draws_its_labelled_elements(name: str) -> None:
    draw, expected = EXPECTED[name]
    fig = draw()
    assert isinstance(fig, Figure)
    missing = expected - diagrams.element_ids(fig)
    assert not missing, f"{name} lacks {sorted(missing)}"
    fig.canvas.draw()  # renders, mathtext included, without error


def test_unrolled_rnn_shows_gradients_only_when_asked() -> None:
    forward_only = diagrams.element_ids(diagrams.unrolled_rnn(3, gradients=False))
    assert {"forward-state-3", "loss-3"} <= forward_only
    assert not {g for g in forward_only if g.startswith("backward") or g == "legend"}
    with_gradients = diagrams.unrolled_rnn(3, gradients=True)
    ids = diagrams.element_ids(with_gradients)
    assert {f"backward-state-{t}" for t in (1, 2, 3)} <= ids
    assert "backward-state-4" not in ids
    # not colour alone: gradients are dashed, the forward pass is solid
    assert _dashed(_by_gid(with_gradients, "backward-state-2"))
    assert not _dashed(_by_gid(with_gradients, "forward-state-2"))
    assert r"\partial L_t / \partial h_t" in _texts(with_gradients)


@pytest.mark.parametrize("T", [1, 9])
def test_unrolled_rnn_rejects_sizes_it_cannot_draw(T: int) -> None:
    with pytest.raises(ValueError, match="T must"):
        diagrams.unrolled_rnn(T)


def test_truncated_bptt_gradients_never_cross_a_window_boundary() -> None:
    fig = diagrams.truncated_bptt(n_windows=3, window=4)
    ids = diagrams.element_ids(fig)
    # the first state of windows 2 and 3 (states 5 and 9) receives no gradient from before
    assert "backward-5" not in ids and "backward-9" not in ids
    assert {"forward-5", "forward-9"} <= ids  # ... but the value is carried across
    assert {f"backward-{j}" for j in (2, 3, 4, 6, 7, 8, 10, 11, 12)} <= ids
    assert {"detach-1", "detach-2"} <= ids and "detach-3" not in ids
    assert _texts(fig).count("detach()") == 2
    with pytest.raises(ValueError):
        diagrams.truncated_bptt(n_windows=0)
    with pytest.raises(ValueError):
        diagrams.truncated_bptt(window=1)


def test_lstm_carousel_is_thick_and_labelled_not_only_coloured() -> None:
    fig = diagrams.lstm_cell()
    carousel = _by_gid(fig, "carousel")
    others = [line for line in fig.findobj(Line2D)
              if line.get_gid() not in (None, "carousel") and line.get_visible()]
    assert isinstance(carousel, Line2D)
    assert carousel.get_linewidth() >= 2 * max(line.get_linewidth() for line in others)
    label = _by_gid(fig, "carousel-label").get_text()
    assert "constant error carousel" in label and "f_t = 1" in label
    text = _texts(fig)
    for symbol in ("c_{t-1}", "h_{t-1}", "x_t", "i_t", "f_t", "g_t", "o_t"):
        assert symbol in text, symbol


def test_gru_cell_has_no_memory_cell_and_no_output_gate() -> None:
    fig = diagrams.gru_cell()
    ids = diagrams.element_ids(fig)
    assert not {g for g in ids if g.startswith(("cell-c", "gate-o", "carousel"))}
    assert "z_t = 1" in _by_gid(fig, "carry-label").get_text()
    assert r"r_t \odot (W_{hn} h_{t-1} + b_{hn})" in _texts(fig)


def test_taxonomy_panels_have_the_right_inputs_and_outputs() -> None:
    ids = diagrams.element_ids(diagrams.rnn_taxonomy())

    def boxes(shape: str, kind: str) -> set[int]:
        return {t for t in range(1, 5) if f"{shape}-{kind}-{t}" in ids}

    assert boxes("one-to-many", "x") == {1} and boxes("one-to-many", "y") == {2, 3, 4}
    assert boxes("many-to-one", "x") == {1, 2, 3, 4} and boxes("many-to-one", "y") == {4}
    assert boxes("many-to-many", "x") == boxes("many-to-many", "y") == {1, 2, 3, 4}
    assert boxes("encoder-decoder", "x") == {1, 2} and boxes("encoder-decoder", "y") == {3, 4}
    two = diagrams.rnn_taxonomy(["many-to-one", "many-to-many"])
    assert len(two.axes) == 2
    with pytest.raises(ValueError, match="shapes"):
        diagrams.rnn_taxonomy(["one-to-one"])
    with pytest.raises(ValueError, match="shapes"):
        diagrams.rnn_taxonomy([])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_strong_colours_come_from_the_okabe_ito_palette(name: str) -> None:
    fig = EXPECTED[name][0]()
    palette = {c.lower() for c in COLORS}
    strokes = set()
    for artist in fig.findobj(lambda a: isinstance(a, (Line2D, FancyArrowPatch))):
        colour = artist.get_color() if isinstance(artist, Line2D) else artist.get_edgecolor()
        strokes.add(to_hex(colour).lower())
    greys = {h for h in strokes if len({h[1:3], h[3:5], h[5:7]}) == 1}  # black, greys
    assert strokes - greys <= palette, strokes - greys - palette


# --------------------------------------------------------------------------- the built book

DIAGRAM_FIGURES = {
    "chapters/01-sequences-and-rnns.html": ["fig-unrolled", "fig-taxonomy"],
    "chapters/02-training-rnns.html": ["fig-bptt", "fig-truncated-bptt"],
    "chapters/04-lstm.html": ["fig-lstm-cell"],
    "chapters/05-gru.html": ["fig-gru-cell"],
    "chapters/06-applications.html": ["fig-applications-shapes"],
}


def _built(page: str) -> BeautifulSoup:
    if not (BUILT / "index.html").is_file():
        pytest.skip("the book is not built: run `make book` first")
    return BeautifulSoup((BUILT / page).read_text(encoding="utf-8"), "html.parser")


def _alt_is_real(img) -> bool:
    alt = (img.get("alt") or "").strip()
    return len(alt) > 20 and alt != img.get("src") and not alt.endswith(".png")


@pytest.mark.parametrize("page", sorted(DIAGRAM_FIGURES))
def test_built_pages_show_each_diagram_with_alt_text(page: str) -> None:
    soup = _built(page)
    for figure_id in DIAGRAM_FIGURES[page]:
        figure = soup.find(id=figure_id)
        assert figure is not None, f"{page} has no figure {figure_id}"
        images = figure.find_all("img")
        assert len(images) == 1, f"{figure_id}: {len(images)} images"
        assert _alt_is_real(images[0]), f"{figure_id}: alt {images[0].get('alt')!r}"
        image_file = (BUILT / page).parent / images[0]["src"]
        assert image_file.is_file() and image_file.stat().st_size > 1000


@pytest.mark.parametrize("page", sorted(DIAGRAM_FIGURES))
def test_every_figure_of_these_chapters_has_alt_text(page: str) -> None:
    content = _built(page).find("main") or _built(page)
    images = [img for img in content.find_all("img") if "_images/" in img.get("src", "")]
    assert images, f"{page} shows no figure"
    missing = [img.get("src") for img in images if not _alt_is_real(img)]
    assert not missing, f"{page}: figures without alt text {missing}"


def test_alt_check_rejects_the_default_alt() -> None:
    soup = BeautifulSoup('<img alt="../_images/x.png" src="../_images/x.png"><img src="a.png">'
                         '<img alt="A diagram of one LSTM step with its gates" src="b.png">',
                         "html.parser")
    assert [_alt_is_real(img) for img in soup.find_all("img")] == [False, False, True]
