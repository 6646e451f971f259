"""The learner edition: what learners get, written from the instructor's repository.

The instructor's repository (private) holds the solutions, the hidden tests and the grading
tools; learners get a tree without them (the *learner edition*), pushed to a public repository
whose GitHub Pages site shows the book and whose ``binder/`` backs the Binder button::

    rnncourse publish _build/learner-edition            # a folder (make learner-edition)
    rnncourse publish ../rnn-course-public              # a clone of the public repository
    rnncourse publish _build/learner-edition --branch learner   # and a commit on a branch

What the learner edition holds, and nothing else (an allowlist, :data:`BOOK`,
:data:`PACKAGE`, :data:`EXTRAS`):

- the book's sources (``_config.yml``, ``_toc.yml``, ``intro.md``, ``chapters/``, ``images/``,
  ``references.bib``) and what the chapters read (``benchmarks/results.json``);
- ``exercises/``: the released notebooks;
- the ``rnncourse`` package without the instructor's tools (the grading, the judge, the torch
  oracles, the similarity report, the command line): the chapters' helpers, the exercise
  checker with the oracle's recorded answers on the visible cases
  (``rnncourse/exercise/fixtures/``) and the suites of visible tests it runs
  (``rnncourse/suites/``: check functions and visible cases; hidden cases live in
  ``solutions/<assignment>/hidden.py`` and never ship);
- the GitHub Pages workflow, and the files of ``learner/`` copied over the top: the learners'
  README, Makefile (``make lab`` with nbgrader's learner-side extensions only, ``make book``),
  ``pyproject.toml`` (torch as an extra), ``binder/`` and JupyterLab's configuration.

Never: ``solutions/``, ``hidden.py``, the gradebook, ``submitted/``, ``autograded/``,
``feedback/``, secrets, ``nbgrader_config.py``; :func:`check_tree` refuses a tree that holds
any of them. With ``branch``, the tree is also committed to that branch of the course's git
repository (a branch of its own history: its first commit has no parent), without touching
the working tree or the checked-out branch.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rnncourse import __version__

#: book sources and released notebooks, copied whole (minus :data:`JUNK`)
BOOK: tuple[str, ...] = ("_config.yml", "_toc.yml", "intro.md", "references.bib", "chapters",
                         "images", "exercises")
#: the parts of the ``rnncourse`` package learners get: what the chapters, the book's Sphinx
#: extensions and the exercise notebooks import
PACKAGE: tuple[str, ...] = ("__init__.py", "assignments.py", "audio.py", "checks.py", "data",
                            "device.py", "diagrams.py", "exercise", "experiments", "models.py",
                            "plots.py", "sphinx", "suites", "train.py")
#: single files learners get besides (chapter 4 quotes the benchmark's figures)
EXTRAS: tuple[str, ...] = ("benchmarks/results.json", ".github/workflows/book.yml")
#: files of the instructor's repository copied over the top of the learner edition
OVERLAY = "learner"
#: instructor-only parts of the package, never in the learner edition
INSTRUCTOR_ONLY: tuple[str, ...] = ("grading", "judge", "oracles", "similarity", "cli.py",
                                    "__main__.py", "publish.py", "launch.py", "reference.py",
                                    "diagnose.py", "gradients.py")
#: left out wherever they are
JUNK: tuple[str, ...] = ("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store",
                         "*.egg-info", ".pytest_cache", ".ruff_cache", "_build", ".venv")
#: names that must never be in a learner edition (solutions, hidden tests, instructor data)
FORBIDDEN: tuple[str, ...] = ("solutions", "hidden.py", "*.secret", "gradebook.db*",
                              "submitted", "autograded", "feedback", "downloaded", "release",
                              "grading-report", "nbgrader_config.py", "lms-students.csv",
                              ".nbgrader.log", "nbgrader_step.log")
#: written at the root of every learner edition; a folder holding it may be replaced
MARKER = ".learner-edition.json"


class PublishError(RuntimeError):
    """The learner edition cannot be written (the message says why)."""


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _files(root: Path, relative: str) -> Iterator[Path]:
    """The files under ``root/relative`` (a file or a folder), junk left out."""
    path = root / relative
    if path.is_file():
        yield path
        return
    for child in sorted(path.iterdir()):
        if _matches(child.name, JUNK) or child.is_symlink():
            continue
        if child.is_dir():
            yield from _files(root, str(child.relative_to(root)))
        else:
            yield child


def learner_files(course_root: Path) -> dict[Path, Path]:
    """``{path in the learner edition: source file}`` for everything the edition holds."""
    root = Path(course_root)
    wanted = [*BOOK, *(f"rnncourse/{part}" for part in PACKAGE), *EXTRAS]
    missing = [part for part in wanted if not (root / part).exists()]
    if missing or not (root / OVERLAY).is_dir():
        raise PublishError(f"{root} is not the course's repository: missing "
                           f"{', '.join(missing or [OVERLAY])}")
    files = {src.relative_to(root): src for part in wanted for src in _files(root, part)}
    overlay = root / OVERLAY
    files.update({src.relative_to(overlay): src for src in _files(overlay, ".")})
    return files


def forbidden(tree: Path) -> list[str]:
    """Paths under ``tree`` that a learner edition must not hold (see :data:`FORBIDDEN`)."""
    found = []
    for path in sorted(Path(tree).rglob("*")):
        relative = path.relative_to(tree)
        if relative.parts[0] == ".git":
            continue
        instructor_tool = relative.parts[0] == "rnncourse" and len(relative.parts) == 2 \
            and relative.parts[1] in INSTRUCTOR_ONLY
        if instructor_tool or _matches(path.name, FORBIDDEN):
            found.append(str(relative))
    return found


def check_tree(tree: Path) -> None:
    """Raise :class:`PublishError` when ``tree`` holds anything of :func:`forbidden`."""
    found = forbidden(tree)
    if found:
        raise PublishError("the learner edition would contain instructor material: "
                           + ", ".join(found[:20]))


def _version(pyproject: Path) -> str:
    with pyproject.open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def check_versions(course_root: Path) -> str:
    """The course's version; the package, its ``pyproject.toml`` and the learner edition's
    must agree (the install cell of every exercise pins it)."""
    root = Path(course_root)
    versions = {"rnncourse.__version__": __version__,
                "pyproject.toml": _version(root / "pyproject.toml"),
                f"{OVERLAY}/pyproject.toml": _version(root / OVERLAY / "pyproject.toml")}
    if len(set(versions.values())) != 1:
        raise PublishError(f"versions disagree: {versions}")
    return __version__


def _clear(dest: Path, course_root: Path) -> None:
    """Empty ``dest`` (keeping ``.git``) when it is new, empty or an earlier learner edition."""
    dest, root = dest.resolve(), course_root.resolve()
    if dest == root or dest in root.parents:
        raise PublishError(f"{dest} holds the course itself")
    if root in dest.parents and dest.relative_to(root).parts[0] != "_build":
        raise PublishError(f"{dest} is inside the course: use a folder under _build/ or outside")
    if not dest.exists():
        dest.mkdir(parents=True)
        return
    entries = [p for p in dest.iterdir() if p.name != ".git"]
    if entries and not (dest / MARKER).is_file():
        raise PublishError(f"{dest} is neither empty nor a learner edition: not replacing it")
    for path in entries:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def publish(course_root: Path, dest: Path, *, branch: str | None = None) -> Path:
    """Write the learner edition of the course at ``course_root`` into ``dest``.

    ``dest`` is created, or replaced when it is empty or an earlier learner edition (its
    ``.git`` is kept, so it may be a clone of the public repository). With ``branch``, the
    tree is also committed to that branch of ``course_root``'s git repository
    (:func:`rnncourse.publish_git.commit_tree`). Returns ``dest``.
    """
    root, dest = Path(course_root), Path(dest)
    version = check_versions(root)
    files = learner_files(root)
    _clear(dest, root)
    for relative, src in sorted(files.items()):
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    (dest / MARKER).write_text(json.dumps({"version": version}, indent=2) + "\n")
    check_tree(dest)
    if branch:
        from rnncourse.publish_git import commit_tree

        commit_tree(root, dest, branch, f"Learner edition {version}")
    return dest


# --- command line ------------------------------------------------------------------------------


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``publish`` command to an argparse ``subparsers`` object."""
    parser = subparsers.add_parser(
        "publish", help="write the learner edition (no solutions, hidden tests or grading)",
        description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write (e.g. _build/learner-edition)")
    parser.add_argument("--branch", help="also commit the tree to this git branch")
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="the instructor's repository (default: .)")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handle ``publish`` arguments from :func:`add_parser`; 0 on success, 1 on an error."""
    try:
        dest = publish(args.root, args.dest, branch=args.branch)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"learner edition written to {dest}" + (f" and committed to branch {args.branch}"
                                                  if args.branch else ""))
    return 0


def command(dest: str, branch: str | None = None, root: str = ".") -> None:
    """The typer command: ``rnncourse publish DEST [--branch NAME] [--root DIR]``."""
    status = run(argparse.Namespace(dest=Path(dest), branch=branch, root=Path(root)))
    if status:
        raise SystemExit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rnncourse.publish DEST [--branch NAME]`` (needs nothing but Python)."""
    parser = argparse.ArgumentParser(prog="rnncourse")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["publish", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
