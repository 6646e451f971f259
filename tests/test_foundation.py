"""The repository's scaffolding: configuration that parses and agrees with itself."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

from bookcheck import toc_files

ROOT = Path(__file__).resolve().parents[1]


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_pyproject_pins_the_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    assert "jupyter-book==1.0.4.post1" in deps  # 2.x is a different, mystmd-based tool
    assert "nbgrader==0.9.6" in deps
    torch = next(d for d in deps if d.startswith("torch"))
    assert "2.13.0" not in torch, "users elsewhere get their platform's torch build"
    assert project["requires-python"] == ">=3.11"
    constraints = (ROOT / "constraints-dev.txt").read_text()
    assert "torch==2.13.0" in constraints


def test_every_toc_entry_exists() -> None:
    toc = load_yaml(ROOT / "_toc.yml")
    missing = [
        f for f in toc_files(toc)
        if not any((ROOT / f"{f}{ext}").is_file() for ext in (".md", ".ipynb"))
    ]
    assert missing == []


def test_toc_file_lister_sees_nested_sections() -> None:
    toc = {"root": "a", "parts": [{"chapters": [{"file": "b", "sections": [{"file": "c"}]}]}]}
    assert toc_files(toc) == ["a", "b", "c"]


def test_book_config_is_strict_and_offline() -> None:
    config = load_yaml(ROOT / "_config.yml")
    assert config["execute"]["raise_on_error"] is True
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["only_build_toc_files"] is True
    assert config["launch_buttons"]["thebe"] is False
    sphinx = config["sphinx"]
    assert "rnncourse.sphinx.offline_mathjax" in sphinx["extra_extensions"]
    assert not sphinx["config"]["mathjax_path"].startswith("http")
    for pattern in (".venv/*", "rnncourse/*", "tests/*", "solutions/*"):
        assert pattern in config["exclude_patterns"]
    released = PurePosixPath("/any/checkout/exercises/rnn_cell/rnn_cell.ipynb")
    chapter = PurePosixPath("/any/checkout/chapters/04-lstm.md")
    patterns = config["execute"]["exclude_patterns"]
    assert any(released.match(p) for p in patterns), "released notebooks must not execute"
    assert not any(chapter.match(p) for p in patterns)
    assert not (ROOT / "_static").exists() or not list((ROOT / "_static").rglob("*.js")), (
        "jupyter-book injects every .js under _static/ into every page"
    )


@pytest.mark.parametrize(
    "path", [".github/workflows/book.yml", "_config.yml", "_toc.yml"]
)
def test_yaml_files_parse(path: str) -> None:
    assert isinstance(load_yaml(ROOT / path), dict)


def test_publishing_workflow_builds_with_the_makefile() -> None:
    workflow = load_yaml(ROOT / ".github/workflows/book.yml")
    steps = workflow["jobs"]["build"]["steps"]
    assert any("make book" in step.get("run", "") for step in steps)
    # the instructor's repository publishes its learner edition's book, never its own tree
    assert any("make learner-edition" in step.get("run", "") for step in steps)
    assert any(
        step.get("with", {}).get("path") == "${{ steps.tree.outputs.dir }}/_build/html"
        for step in steps
        if "upload-pages-artifact" in step.get("uses", "")
    )


def test_binder_installs_the_project() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "binder/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["."], "Binder must install exactly pyproject.toml's dependencies"


def test_nbgrader_course_layout() -> None:
    text = (ROOT / "nbgrader_config.py").read_text()
    assert 'source_directory = "solutions"' in text
    assert 'release_directory = "exercises"' in text
    ignored = (ROOT / ".gitignore").read_text().split()
    for name in ("submitted/", "autograded/", "feedback/", "gradebook.db", "_build/", ".venv/"):
        assert name in ignored


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in ci and "chromium" in ci
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme


def test_cli_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rnncourse", "--help"], capture_output=True, text=True, check=True
    )
    assert "version" in result.stdout


def test_cli_rejects_an_unknown_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rnncourse", "no-such-command"], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "No such command" in result.stdout + result.stderr
