"""Shared pytest fixtures (keep this file small: one fixture per shared need)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root, which is also nbgrader's course directory."""
    return ROOT


@pytest.fixture(scope="session", autouse=True)
def course_secret_outside_home(tmp_path_factory) -> Path:
    """Grading runs keep their course secret in a temporary file, not in the user's home."""
    import os

    path = tmp_path_factory.mktemp("secret") / "course.secret"
    os.environ.setdefault("RNNCOURSE_SECRET_FILE", str(path))
    return path
