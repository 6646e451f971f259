"""Commit a folder to a branch of a git repository without touching its working tree.

Used by ``rnncourse publish --branch NAME``: the learner edition becomes the next commit of
branch ``NAME`` of the instructor's repository, a history of its own (the first commit has no
parent, each later one has the previous as its parent, so the branch can be pushed to the
public repository fast-forward: ``git push public NAME:main``). Only git's plumbing is used,
with a temporary index: the checked-out branch, the index and the working tree stay as they are.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed or the branch cannot be written."""


def _git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                            env=env, check=False)
    if check and result.returncode:
        raise GitError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


def commit_tree(repo: Path, tree: Path, branch: str, message: str) -> str:
    """Commit the files under ``tree`` as the next commit of ``branch`` in ``repo``.

    Returns the commit's hash; when ``tree`` equals the branch's last commit, no commit is
    made and that commit is returned. Refuses the branch that is checked out in ``repo``.
    """
    repo, tree = Path(repo).resolve(), Path(tree).resolve()
    ref = f"refs/heads/{branch}"
    _git(repo, "check-ref-format", ref)
    if _git(repo, "symbolic-ref", "-q", "HEAD", check=False) == ref:
        raise GitError(f"{branch} is checked out in {repo}: publish to another branch")
    parent = _git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
    with tempfile.TemporaryDirectory(prefix="rnncourse-publish-") as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(repo, f"--work-tree={tree}", "add", "--all", "--force", ".", env=env)
        tree_id = _git(repo, "write-tree", env=env)
    if parent and _git(repo, "rev-parse", f"{parent}^{{tree}}") == tree_id:
        return parent
    commit = _git(repo, "commit-tree", tree_id, *(["-p", parent] if parent else []),
                  "-m", message)
    _git(repo, "update-ref", ref, commit, parent or "0" * 40)
    return commit
