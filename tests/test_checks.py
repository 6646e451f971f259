"""rnncourse.checks (comparisons, messages) and the judge's numeric gradients."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rnncourse.checks import (
    as_real_array,
    assert_close,
    explain_mismatch,
    rel_error,
)
from rnncourse.oracles.finite_differences import check_gradient, numeric_gradient


class AlwaysEqual:
    """The classic cheat: passes ``assert result == expected``."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


def test_rel_error_follows_the_course_formula() -> None:
    a = np.array([1.0, 2.0, 0.0])
    b = np.array([1.0, 2.5, 0.0])
    assert rel_error(a, b) == pytest.approx(0.5 / 4.5)
    assert rel_error(np.zeros(3), np.full(3, 1e-12)) == pytest.approx(1e-12 / 1e-8)
    assert rel_error(np.empty(0), np.empty(0)) == 0.0
    assert rel_error(torch.ones(2), np.ones(2)) == 0.0
    assert rel_error(np.array([np.nan]), np.array([1.0])) == np.inf
    assert rel_error(np.array([np.inf]), np.array([np.inf])) == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.ones(2), np.ones(3))


def test_assert_close_accepts_equal_arrays_and_tensors() -> None:
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    assert_close(x, x.copy())
    assert_close(torch.tensor(x), x)
    assert_close(x + 1e-12, x, tol=1e-8)
    assert_close(3.0, np.float64(3.0))


def test_assert_close_names_shape_mismatch() -> None:
    with pytest.raises(AssertionError, match=r"h_next: shape \(4, 3\) but expected \(3, 4\)"):
        assert_close(np.zeros((4, 3)), np.zeros((3, 4)), name="h_next")


def test_assert_close_names_dtype_mismatch() -> None:
    with pytest.raises(AssertionError, match="dtype float32 but expected float64"):
        assert_close(np.zeros(3, np.float32), np.zeros(3))
    with pytest.raises(AssertionError, match="dtype int64"):
        assert_close(np.zeros(3, np.int64), np.zeros(3))


def test_assert_close_reports_errors_index_and_hint() -> None:
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, name="dW", hint="check the transpose")
    message = str(info.value)
    assert "dW: max abs error 0.5" in message
    assert "max rel error 1" in message
    assert "at index (1, 2)" in message
    assert "got 0.5, expected 0" in message
    assert "Hint: check the transpose" in message


@pytest.mark.parametrize(
    "cheat", [AlwaysEqual(), None, True, "1.0", [1, "a"], np.array([1 + 1j]), {"a": 1}]
)
def test_assert_close_rejects_non_numeric_results(cheat: object) -> None:
    with pytest.raises(AssertionError):
        assert_close(cheat, np.ones(1))


def test_as_real_array_strips_subclasses_and_lists() -> None:
    array = as_real_array(np.ma.masked_array([1.0, 2.0]))
    assert type(array) is np.ndarray
    assert as_real_array([[1, 2], [3, 4]]).shape == (2, 2)
    with pytest.raises(AssertionError, match="cannot be read"):
        as_real_array([[1, 2], [3]])


def test_nan_is_never_close() -> None:
    with pytest.raises(AssertionError, match="NaN or infinite"):
        assert_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))


def test_explain_mismatch_shapes() -> None:
    assert "shape (2,), expected (3,)" in explain_mismatch(np.ones(2), np.ones(3), name="output")


def test_numeric_gradient_matches_analytic_and_restores_x() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    before = x.copy()
    df = rng.normal(size=(3, 4))
    grad = numeric_gradient(np.tanh, x, df)
    assert np.array_equal(x, before)
    assert rel_error(grad, (1 - np.tanh(x) ** 2) * df) < 1e-8
    scalar = numeric_gradient(lambda v: np.sum(v**2), x)
    assert rel_error(scalar, 2 * x) < 1e-8


def test_numeric_gradient_requires_float64_and_restores_on_error() -> None:
    with pytest.raises(TypeError, match="float64"):
        numeric_gradient(np.tanh, np.ones(3, np.float32))
    x = np.ones(3)

    def explode(v: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numeric_gradient(explode, x)
    assert np.array_equal(x, np.ones(3))


def test_check_gradient_passes_and_fails(capfd: pytest.CaptureFixture[str]) -> None:
    x = np.random.default_rng(1).normal(size=5)
    assert check_gradient(np.sin, x, np.cos(x), name="dx") < 1e-8
    with pytest.raises(AssertionError, match=re.escape("dx: max abs error")):
        check_gradient(np.sin, x, 2 * np.cos(x), name="dx")
    assert capfd.readouterr().err == ""
