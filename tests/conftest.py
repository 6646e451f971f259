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


@pytest.fixture(scope="session")
def template_course(tmp_path_factory) -> Path:
    """A scratch course with rnn_cell and four submissions (tests copy it before grading)."""
    from fixtures.grading.runs import make_template

    return make_template(tmp_path_factory.mktemp("rnn_cell_runs"))


@pytest.fixture(scope="session")
def reference_course(template_course: Path, tmp_path_factory) -> Path:
    """``template_course`` graded once with ``--jobs 2``: what every other run must match."""
    from fixtures.grading.runs import reference_run

    course, _ = reference_run(template_course, tmp_path_factory.mktemp("reference") / "course")
    return course


@pytest.fixture(scope="session")
def reference(reference_course: Path) -> dict[str, dict[str, float]]:
    """Per-cell scores of the reference run."""
    from fixtures.grading.runs import cell_scores

    return cell_scores(reference_course)
