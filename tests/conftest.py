"""Shared pytest fixtures (keep this file small: one fixture per shared need)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root, which is also nbgrader's course directory."""
    return ROOT
