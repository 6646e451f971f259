"""The learner edition (``rnncourse publish``): nothing of the instructor's, and it works.

It is written once per module into a temporary folder. The tests check that it holds no
solution, hidden test or instructor data (by name, and line by line against every solution
and hidden-test line of the course), that the visible checks of assignments 1-4 pass on the
solutions in it with torch blocked, that ``make lab`` there switches nbgrader's instructor
tools off, that the exercises' install cell installs the package from a local wheel and is a
no-op when it is present, that the book's launch buttons point at it, and that its book
builds strictly from the instructor's execution cache.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import nbformat
import pytest
import yaml
from bs4 import BeautifulSoup
from leaks import MARKERS, TRIVIAL, solution_lines, split_lines

from rnncourse import __version__, launch, publish_git
from rnncourse.assignments import available
from rnncourse.publish import (
    FORBIDDEN,
    INSTRUCTOR_ONLY,
    MARKER,
    PublishError,
    check_tree,
    check_versions,
    forbidden,
    publish,
)

ROOT = Path(__file__).resolve().parents[1]
NAMES = available(ROOT)
LIGHT = ("rnn_cell", "vanishing_gradients", "lstm_cell", "gru_cell")  # assignments 1-4
BINARY = {".npz", ".png", ".ogg", ".mp3", ".wav", ".svg", ".ico", ".pdf"}

#: solution lines that also occur in a shipped module without being a solution: generic
#: lines of a test's inputs or of the chapters' own training loop
INCIDENTAL: dict[tuple[str, str], set[str]] = {
    ("lstm_cell", "rnncourse/suites/lstm_cell.py"): {
        "dhs = np.zeros((N, T, H))", "dhs[:, -1] = 1.0"},
    ("sequence_models", "rnncourse/train.py"): {
        "loss.backward()", "optimizer = torch.optim.Adam(model.parameters(), lr=lr)",
        "optimizer.step()"},
}


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish(ROOT, tmp_path_factory.mktemp("learner") / "edition")


def edition_files(edition: Path) -> list[Path]:
    return sorted(p for p in edition.rglob("*") if p.is_file() and ".git" not in p.parts)


# --- what it holds -------------------------------------------------------------------------


def test_no_solution_hidden_test_or_instructor_data(edition: Path) -> None:
    names = {p.name for p in edition.rglob("*")}
    assert not (edition / "solutions").exists()
    assert "hidden.py" not in names and "nbgrader_config.py" not in names
    assert not [n for n in names if n.endswith(".secret") or n.startswith("gradebook.db")]
    for folder in ("submitted", "autograded", "feedback", "downloaded", "grading-report"):
        assert folder not in names
    shipped = {p.name for p in (edition / "rnncourse").iterdir()}
    assert not shipped & set(INSTRUCTOR_ONLY), shipped & set(INSTRUCTOR_ONLY)
    assert forbidden(edition) == []
    for path in edition_files(edition):  # (modules may name the markers in their docstrings)
        if path.suffix not in BINARY | {".py"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not [m for m in MARKERS if m in text], path.relative_to(edition)


def test_it_holds_the_book_the_exercises_and_the_light_package(edition: Path) -> None:
    for part in ("_config.yml", "_toc.yml", "intro.md", "references.bib", "chapters",
                 "images", "binder/requirements.txt", "binder/postBuild", "Makefile",
                 ".github/workflows/book.yml", "benchmarks/results.json", MARKER):
        assert (edition / part).exists(), part
    for name in NAMES:
        assert (edition / "exercises" / name / f"{name}.ipynb").read_bytes() == \
            (ROOT / "exercises" / name / f"{name}.ipynb").read_bytes()
        assert (edition / "rnncourse" / "exercise" / "fixtures" / f"{name}.npz").is_file()
    assert "learner edition" in (edition / "README.md").read_text()
    project = tomllib.loads((edition / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    assert not [d for d in project["dependencies"] if d.startswith("torch")]
    assert [d for d in project["optional-dependencies"]["torch"] if d.startswith("torch")]
    assert "nbgrader==0.9.6" in project["optional-dependencies"]["lab"]
    instructor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = set(instructor["dependencies"])
    for extra in ("lab", "torch", "book"):  # the same pins as the instructor's environment
        for dep in [*project["dependencies"], *project["optional-dependencies"][extra]]:
            name = re.split(r"[<>=\[]", dep)[0]
            pinned = [s for s in specs if re.split(r"[<>=\[]", s)[0] == name]
            assert not pinned or dep in pinned, (dep, pinned)


def test_check_tree_refuses_instructor_material(tmp_path: Path) -> None:
    for name in ("solutions/rnn_cell/x.ipynb", "exercises/a/hidden.py", "course.secret",
                 "gradebook.db", "submitted/s/a/a.ipynb", "nbgrader_config.py",
                 "rnncourse/judge/__init__.py", "rnncourse/oracles/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = forbidden(tmp_path)
    for name in ("solutions", "exercises/a/hidden.py", "course.secret", "gradebook.db",
                 "submitted", "nbgrader_config.py", "rnncourse/judge", "rnncourse/oracles"):
        assert name in found, (name, found)
    with pytest.raises(PublishError, match="instructor material"):
        check_tree(tmp_path)
    assert "hidden.py" in FORBIDDEN


def test_publish_replaces_only_an_earlier_edition(tmp_path: Path) -> None:
    dest = tmp_path / "public"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "keep").write_text("x")
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(PublishError, match="neither empty nor a learner edition"):
        publish(ROOT, dest)
    (dest / "notes.txt").unlink()
    publish(ROOT, dest)
    (dest / "stale.txt").write_text("from an earlier edition")
    publish(ROOT, dest)
    assert not (dest / "stale.txt").exists() and (dest / ".git" / "keep").is_file()
    assert json.loads((dest / MARKER).read_text()) == {"version": __version__}
    for bad in (ROOT, ROOT / "exercises" / "x", ROOT.parent):
        with pytest.raises(PublishError):
            publish(ROOT, bad)


def test_versions_agree() -> None:
    assert check_versions(ROOT) == __version__
    assert launch.requirement() == f"rnncourse=={__version__}"


# --- nothing secret, line by line ------------------------------------------------------------


def hidden_lines(name: str) -> set[str]:
    """Non-trivial lines of ``solutions/<name>/hidden.py`` that no source notebook shows
    openly (imports are no secret)."""
    path = ROOT / "solutions" / name / "hidden.py"
    if not path.is_file():
        return set()
    public = set().union(*(split_lines(n)[1] for n in NAMES))
    lines = {line.strip() for line in path.read_text().splitlines()}
    return {line for line in lines - public if line and not TRIVIAL.match(line)
            and not re.match(r"^(import |from \S+ import )", line)}


def shown_lines(path: Path) -> set[str]:
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)
    else:
        text = path.read_text(encoding="utf-8", errors="replace")
    return {line.strip() for line in text.splitlines() if line.strip()}


def overlaps(edition: Path, name: str) -> dict[str, set[str]]:
    """``{file: secret lines of name it shows}`` over every text file of the edition."""
    secret = solution_lines(name) | hidden_lines(name)
    found = {}
    for path in edition_files(edition):
        if path.suffix not in BINARY:
            shared = secret & shown_lines(path)
            if shared:
                found[path.relative_to(edition).as_posix()] = shared
    return found


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_or_hidden_test_line_in_the_learner_edition(edition: Path, name: str) -> None:
    assert solution_lines(name), "the source notebook has no solution lines?"
    unexpected = {}
    for file, shared in overlaps(edition, name).items():
        known = INCIDENTAL.get((name, file), set())
        if shared - known:
            unexpected[file] = sorted(shared - known)[:5]
    assert not unexpected, f"the learner edition shows lines of {name}: {unexpected}"


def test_hidden_lines_are_found() -> None:
    """The grep would see a copied hidden.py: its case-drawing lines count as secret."""
    assert any("rng" in line for line in hidden_lines("rnn_cell"))


# --- the light path: visible checks without torch ----------------------------------------------

RUNNER = r"""
import json, sys
sys.modules["torch"] = None  # the light environment: any import of torch fails
cells = json.load(open(sys.argv[1]))
namespace = sys.modules["__main__"].__dict__  # where Checker looks outside IPython
for source in cells:
    exec(compile(source, "<cell>", "exec"), namespace)
import rnncourse
print(json.dumps({"rnncourse": rnncourse.__file__,
                  "torch": sys.modules.get("torch") is not None}))
"""


def notebook_with_solutions(name: str) -> list[str]:
    """The released notebook's code cells with the answer cells of the source notebook."""
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    released = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    cells = []
    for cell in released.cells:
        if cell.cell_type == "code":
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            cells.append(answers.get(gid, cell.source))
    return cells


def uses_checker(name: str) -> bool:
    """True when the released notebook checks through rnncourse.exercise (the light path)."""
    nb = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    return any("from rnncourse.exercise import Checker" in c.source for c in nb.cells)


@pytest.mark.parametrize("name", [
    n if uses_checker(n) else pytest.param(n, marks=pytest.mark.xfail(
        strict=True, reason=f"{n}'s released notebook does not use rnncourse.exercise yet"))
    for n in LIGHT])
def test_visible_checks_pass_in_the_learner_edition_without_torch(
        edition: Path, name: str, tmp_path: Path) -> None:
    cells = tmp_path / "cells.json"
    cells.write_text(json.dumps(notebook_with_solutions(name)))
    released = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    tests = [c.metadata["nbgrader"]["grade_id"] for c in released.cells
             if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")]
    env = {**os.environ, "PYTHONPATH": str(edition), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", RUNNER, str(cells)], capture_output=True,
                            text=True, cwd=edition / "exercises" / name, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert Path(report["rnncourse"]).is_relative_to(edition), report
    assert report["torch"] is False
    for gid in tests:
        assert f"{gid}: passed" in result.stdout, f"{gid} did not pass:\n{result.stdout}"


def test_a_classic_mistake_is_named_without_torch(edition: Path, tmp_path: Path) -> None:
    cells = notebook_with_solutions("gru_cell")
    cells = [c.replace("(1.0 - z) * n + z * h_prev", "z * n + (1.0 - z) * h_prev") for c in cells]
    assert any("z * n + (1.0 - z) * h_prev" in c for c in cells), "the edit did not apply"
    path = tmp_path / "cells.json"
    path.write_text(json.dumps(cells))
    result = subprocess.run([sys.executable, "-c", RUNNER, str(path)], capture_output=True,
                            text=True, cwd=edition / "exercises" / "gru_cell", timeout=600,
                            env={**os.environ, "PYTHONPATH": str(edition), "MPLBACKEND": "Agg"})
    assert result.returncode != 0
    # the classic mistake is named from the recorded answers, without torch
    assert "CheckError: z and (1 - z) swapped" in result.stderr, result.stderr[-2000:]


def test_rnncourse_data_imports_torch_only_for_the_loaders_that_need_it() -> None:
    code = ("import sys\n"
            "import rnncourse.data as data\n"
            "from rnncourse.data import char_windows, load_sunspots, load_shakespeare\n"
            "light = 'torch' in sys.modules\n"
            "from rnncourse.data import ADDING_TRIVIAL_MSE, adding_problem\n"
            "print(light, 'torch' in sys.modules, data.CharVocab.__module__,\n"
            "      'adding_problem' in dir(data), ADDING_TRIVIAL_MSE == 1 / 6)\n"
            "try:\n"
            "    from rnncourse.data import no_such_name\n"
            "except ImportError:\n"
            "    print('ImportError')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=True)
    assert result.stdout.split() == ["False", "True", "rnncourse.data.text", "True", "True",
                                     "ImportError"]


def test_the_package_has_what_the_book_and_the_notebooks_import(edition: Path) -> None:
    """Every rnncourse module the chapters, the book's extensions and the exercises import."""
    text = "\n".join(p.read_text() for p in [*sorted((ROOT / "chapters").glob("*.md")),
                                              ROOT / "intro.md"])
    text += "\n".join("\n".join(c.source for c in nbformat.read(p, as_version=4).cells)
                      for p in sorted((ROOT / "exercises").glob("*/*.ipynb")))
    imports = set(re.findall(r"^\s*(?:from|import) (rnncourse[\w.]*)(?: import ([\w, ]+))?",
                             text, re.M))
    config = yaml.safe_load((edition / "_config.yml").read_text())
    lines = [f"import {ext}" for ext in config["sphinx"]["extra_extensions"]]
    for module, names in sorted(imports):
        lines.append(f"from {module} import {names}" if names else f"import {module}")
    lines.append("import rnncourse; print(rnncourse.__file__)")
    result = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                            text=True, cwd=edition, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(edition)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert Path(result.stdout.split()[-1]).is_relative_to(edition)


# --- JupyterLab: the learner's tools only --------------------------------------------------------

LAB_PROBE = r"""
import json
from jupyter_server.extension.config import ExtensionConfigManager
from jupyter_server.serverapp import ServerApp
from jupyterlab_server.config import get_page_config
server = ExtensionConfigManager(read_config_path=ServerApp().config_file_paths)
print(json.dumps({"server": server.get_jpserver_extensions(),
                  "disabled": sorted(get_page_config([]).get("disabledExtensions", []))}))
"""
INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
                      "@jupyter/nbgrader:course-list"}


def test_make_lab_enables_only_nbgrader_learner_tools(edition: Path) -> None:
    # under `make test` the parent make's MAKEFLAGS/MAKELEVEL would add "make[1]:" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.lab", "lab"],
                         cwd=edition, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    words = shlex.split(dry.splitlines()[-1])
    assigned = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    assert words[len(assigned):] == [".venv/bin/jupyter", "lab", "--notebook-dir=exercises"]
    assert Path(assigned["JUPYTER_CONFIG_DIR"]) == edition / "jupyter"
    bin_dir = str(Path(sys.executable).parent)
    result = subprocess.run([sys.executable, "-c", LAB_PROBE], capture_output=True, text=True,
                            cwd=edition, env={**os.environ, **assigned}, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.splitlines()[-1])
    nbgrader = {k.rsplit(".", 1)[1]: v for k, v in seen["server"].items() if "nbgrader" in k}
    assert nbgrader == {"formgrader": False, "course_list": False, "assignment_list": True,
                        "validate_assignment": True}
    assert set(seen["disabled"]) == INSTRUCTOR_PLUGINS
    listing = subprocess.run([f"{bin_dir}/jupyter", "labextension", "list"], cwd=edition,
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, **assigned})
    disabled = listing.stdout + listing.stderr
    assert all(p in disabled.split("Disabled extensions:")[-1] for p in INSTRUCTOR_PLUGINS)
    post_build = (edition / "binder" / "postBuild").read_text()  # Binder: the same set
    assert {f"@jupyter/nbgrader:{p}" for p in re.findall(
        r"for plugin in ([\w -]+);", post_build)[0].split()} == INSTRUCTOR_PLUGINS


# --- the install cell ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_starts_with_the_install_cell(name: str) -> None:
    for folder in ("solutions", "exercises"):
        nb = nbformat.read(ROOT / folder / name / f"{name}.ipynb", as_version=4)
        cell = nb.cells[1]
        assert launch.find_install_cell(nb) == 1 and cell.cell_type == "code"
        assert cell.source == launch.install_cell_source(), f"{folder}: stale install cell"
        assert cell.metadata["nbgrader"]["locked"] and not cell.metadata["nbgrader"]["grade"]
        assert not any(c.cell_type == "code" for c in nb.cells[:1])


def test_the_install_cell_points_at_the_learner_editions_site() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == launch.LEARNER_REPOSITORY
    assert launch.wheels_url() == "https://rnn-course.github.io/rnn-course/wheels/"
    assert f'"{launch.wheels_url()}"' in launch.install_cell_source()
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text()
    assert "_build/html/wheels" in workflow and "index.html" in workflow


def fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True).create(path)
    return path / "bin" / "python"


def test_the_install_cell_installs_from_a_local_wheel_once(edition: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(edition, source, ignore=shutil.ignore_patterns(".git"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=300)
    assert [p.name for p in wheels.iterdir()] == [f"rnncourse-{__version__}-py3-none-any.whl"]
    python = fresh_venv(tmp_path / "venv")
    cell = launch.install_cell_source()
    # no network: no index, no configuration; the dependencies are not what is tested here
    offline = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PIP_NO_INDEX": "1",
               "PIP_CONFIG_FILE": os.devnull, "PIP_NO_DEPS": "1"}

    def run(wheel_dir: Path) -> str:
        result = subprocess.run([str(python), "-c", cell], capture_output=True, text=True,
                                cwd=tmp_path, timeout=300,
                                env={**offline, "RNNCOURSE_WHEELS": str(wheel_dir)})
        assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
        return result.stdout

    empty = tmp_path / "no-wheels"
    empty.mkdir()
    assert run(empty).startswith("could not install the course package (offline?); run: pip ")
    assert run(wheels).strip() == f"installed rnncourse=={__version__}"
    version = subprocess.run([str(python), "-c", "import rnncourse; print(rnncourse.__version__,"
                              " rnncourse.__file__)"], capture_output=True, text=True,
                             cwd=tmp_path, check=True).stdout.split()
    assert version[0] == __version__ and "site-packages" in version[1]
    assert run(empty) == "", "the cell must do nothing when rnncourse is installed"


def test_the_install_cell_is_quiet_in_the_course_environment() -> None:
    result = subprocess.run([sys.executable, "-c", launch.install_cell_source()],
                            capture_output=True, text=True, timeout=60, cwd=ROOT,
                            env={**os.environ, "RNNCOURSE_WHEELS": "/nonexistent"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_add_install_cell_is_idempotent_and_updates(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A"),
                                         nbformat.v4.new_code_cell("x = 1")])
    assert launch.add_install_cell(nb, "9.9") and launch.find_install_cell(nb) == 1
    assert not launch.add_install_cell(nb, "9.9") and len(nb.cells) == 3
    assert launch.add_install_cell(nb, "10.0") and "rnncourse==10.0" in nb.cells[1].source
    with pytest.raises(ValueError):
        launch.pages_url("https://gitlab.com/a/b")


# --- publishing to a branch ------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_commit_tree_writes_a_branch_of_its_own_history(tmp_path: Path) -> None:
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "secret.txt").write_text("instructor")
    git(repo, "add", "secret.txt")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "i")
    head = git(repo, "rev-parse", "HEAD")
    (tree / "exercises").mkdir(parents=True)
    (tree / "exercises" / "a.ipynb").write_text("{}")
    first = publish_git.commit_tree(repo, tree, "learner", "edition 1")
    assert git(repo, "rev-list", "--parents", "-n", "1", first) == first  # no parent
    assert git(repo, "ls-tree", "-r", "--name-only", first).split() == ["exercises/a.ipynb"]
    assert publish_git.commit_tree(repo, tree, "learner", "again") == first  # nothing new
    (tree / "README.md").write_text("learners")
    second = publish_git.commit_tree(repo, tree, "learner", "edition 2")
    assert git(repo, "rev-parse", f"{second}^") == first
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""
    with pytest.raises(publish_git.GitError, match="checked out"):
        publish_git.commit_tree(repo, tree, "main", "no")


def test_publish_commits_to_the_branch_when_asked(tmp_path: Path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(publish_git, "commit_tree", lambda *args: calls.append(args) or "x")
    publish(ROOT, tmp_path / "edition", branch="learner")
    assert calls == [(ROOT, tmp_path / "edition", "learner", f"Learner edition {__version__}")]


def test_the_command_line_reports_errors(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("x")
    result = subprocess.run([sys.executable, "-m", "rnncourse.publish", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1 and "neither empty nor a learner edition" in result.stderr
    result = subprocess.run([sys.executable, "-m", "rnncourse.publish",
                             str(tmp_path / "new")], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0 and (tmp_path / "new" / MARKER).is_file()


# --- the book: launch buttons and a strict build of the learner edition's book -----------------

BUILT = ROOT / "_build" / "html"


def launch_links(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [a["href"] for a in soup.select("a[href]")
            if re.match(r"https://(mybinder\.org|colab\.research\.google\.com)/", a["href"])]


def test_every_launch_url_of_the_built_book_matches_the_configuration(edition: Path) -> None:
    if not (BUILT / "index.html").is_file():
        pytest.skip("the book is not built: run `make book` first")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons, repo = config["launch_buttons"], config["repository"]
    org, name = repo["url"].removeprefix("https://github.com/").split("/")
    branch = repo["branch"]
    seen: dict[str, list[str]] = {}
    for page in sorted(BUILT.rglob("*.html")):
        links = launch_links(page)
        if links:
            seen[page.relative_to(BUILT).with_suffix("").as_posix()] = links
    assert set(seen) == {f"exercises/{n}/{n}" for n in NAMES}, sorted(seen)
    binder = buttons["binderhub_url"].rstrip("/")
    colab = buttons["colab_url"].rstrip("/")
    for page, links in seen.items():
        path = f"{page}.ipynb"
        assert (edition / path).is_file(), f"{path} is not in the learner edition"
        assert sorted(set(links)) == sorted({
            f"{binder}/v2/gh/{org}/{name}/{branch}?urlpath=lab/tree/{path}",
            f"{colab}/github/{org}/{name}/blob/{branch}/{path}"}), links
    assert (edition / "binder" / "requirements.txt").read_text().strip().endswith(
        ".[lab,torch]")
    assert repo["url"] == launch.LEARNER_REPOSITORY


def test_the_learner_editions_book_builds_strictly(edition: Path, tmp_path: Path) -> None:
    """From the instructor's execution cache (``make test`` builds the book first)."""
    cache = ROOT / "_build" / ".jupyter_cache"
    if not cache.is_dir():
        pytest.skip("no execution cache to reuse: run `make book` first")
    book = tmp_path / "book"
    shutil.copytree(edition, book)
    shutil.copytree(cache, book / "_build" / ".jupyter_cache")
    env = {k: v for k, v in os.environ.items() if k != "RNNCOURSE_REQUIRE_BROWSER"}
    env["RNNCOURSE_CHROMIUM"] = str(tmp_path / "no-chromium")  # the PDF is tested elsewhere
    env["PYTHONPATH"] = str(book)
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", ".", "-W", "-n", "--keep-going"], cwd=book,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "Using cached notebook" in result.stdout
    assert "Executing notebook" not in result.stdout, "a page executed: the cache was not reused"
    html = book / "_build" / "html"
    for name in NAMES:
        assert (html / "exercises" / name / f"{name}.html").is_file()
    assert not list(html.rglob("hidden*")) and not (html / "solutions").exists()


def test_the_cli_writes_the_learner_edition(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rnncourse.cli import app

    dest = tmp_path / "edition"
    result = CliRunner().invoke(app, ["publish", str(dest), "--root", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert (dest / "exercises").is_dir() and not (dest / "solutions").exists()
    assert not list(dest.rglob("hidden.py")) and not (dest / "rnncourse" / "grading").exists()
