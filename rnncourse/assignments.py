"""Release and grade the course's nbgrader assignments, always in a scratch copy of the course.

The repository root is nbgrader's course directory (``nbgrader_config.py``):
``solutions/<name>/<name>.ipynb`` is the instructor source of assignment ``<name>`` (solutions
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, hidden tests between
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``) and ``exercises/<name>/`` is the
released student version, committed. Nothing here ever writes a gradebook, ``submitted/`` or
``autograded/`` into the repository: every nbgrader run happens in a throwaway course laid out
by :func:`scratch_course`.

API (for assignment authors and the grading tools)
--------------------------------------------------
``ASSIGNMENTS``
    The assignment names in course order. Each directory holds one notebook ``<name>.ipynb``.
``available(root)``
    The names whose source notebook exists (assignments still being written are skipped).
``release(names=None, root=Path("."))``
    Regenerate ``exercises/<name>/`` from ``solutions/<name>/`` (nbgrader
    ``generate_assignment`` in a scratch course) and return the written files. Output is
    normalised (no outputs or execution counts, stable JSON), so a re-run is byte-identical.
    The CLI is ``rnncourse release [NAME ...]`` (``make release``).
``generate(names, root, out_dir)``
    The same generation, written to ``out_dir/<name>/`` instead (used to compare a fresh
    generation with the committed release).
``scratch_course(tmpdir, names=None, root=Path("."))``
    Lay out a course in ``tmpdir`` (``nbgrader_config.py``, ``solutions/<name>/``, a fresh
    ``gradebook.db`` with each assignment generated, ``exercises/<name>/``) and return it.
``autograde(course_dir, assignment, student, notebook_path)``
    Copy ``notebook_path`` in as ``submitted/<student>/<assignment>/<assignment>.ipynb``, run
    nbgrader's ``Autograde`` converter and return ``{grade_id: (score, max_score)}`` read back
    from the gradebook, for every graded cell (tests and manually graded answers). ``score`` is
    ``None`` for a manually graded answer that awaits a human grader (an answered written cell);
    an unanswered one scores 0. Raises :class:`NbgraderError` if nbgrader fails (e.g. a changed
    ``grade_id``), with nbgrader's log in the message.
``read_scores(course_dir, assignment, student)``
    The same ``{grade_id: (score, max_score)}`` for a submission already autograded.
``normalise_notebook(path)`` / ``canonical_notebook(nb)``
    Rewrite a notebook in (return the text of) the canonical form used for the committed
    files; also handy for source notebooks.

Typical use::

    rnncourse release lstm_cell            # regenerate exercises/lstm_cell/ only
    rnncourse release                      # every assignment whose source exists

    from rnncourse.assignments import scratch_course, autograde
    course = scratch_course(tmp, ["lstm_cell"])           # tmp: an empty directory
    autograde(course, "lstm_cell", "alice", Path("alice.ipynb"))
    # {'test_lstm_step_forward': (3.0, 3.0), ..., 'explanation': (None, 2.0)}

nbgrader runs in this process (``NbGraderAPI``), configured only by the course's
``nbgrader_config.py`` (the user's own Jupyter config is not read); each notebook executes in
a fresh kernel started by nbgrader.

Authoring conventions (see ``solutions/rnn_cell/rnn_cell.ipynb`` for a worked example)
-----------------------------------------------------------------------------------------
- Cell metadata ``nbgrader``: ``schema_version: 3``, a unique ``grade_id`` that never changes
  once released (a changed id breaks grading of every submission), and
  answer cells ``solution: true, grade: false, locked: false``;
  test cells ``solution: false, grade: true, locked: true, points: P``;
  written answers (markdown) ``solution: true, grade: true, locked: false, points: P``;
  instructions and set-up ``solution: false, grade: false, locked: true``.
- A stub keeps the ``def`` line and docstring; nbgrader replaces the solution region with
  ``raise NotImplementedError`` (``ClearSolutions.code_stub`` in ``nbgrader_config.py``), so an
  untouched notebook grades to 0 without breaking the grader.
- Test cells compare with :mod:`rnncourse.checks` (diagnostic messages, rejects objects whose
  ``__eq__`` is always true) against :mod:`rnncourse.reference` in float64; they must write
  nothing to stderr and must not end with an expression (nbgrader reads a numeric last value
  as partial credit). Split forward and backward into separate test cells for partial credit.
- Every cell carries nbgrader metadata, and every test cell starts with the comment line
  ``# Test <grade_id>: <what it checks> (<P> points)``, so that ``nbgrader validate`` (the
  Validate button), which prints the source of failing cells, names them.
- ``tests/test_assignments.py`` checks every assignment whose source exists: full marks for
  the solution, zero for the untouched release, the wrong submissions declared in
  ``tests/wrong_submissions/<name>.py`` (at least three) lose exactly their declared points,
  the committed release equals a fresh generation, no solution line or marker leaks into
  ``exercises/``, and ``nbgrader validate`` names every failing cell.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sysconfig
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import nbformat

ASSIGNMENTS: tuple[str, ...] = (
    "rnn_cell",
    "vanishing_gradients",
    "lstm_cell",
    "gru_cell",
    "sequence_models",
    "char_lm",
)

SOURCE_DIR = "solutions"
RELEASE_DIR = "exercises"
CONFIG_FILE = "nbgrader_config.py"
COURSE_ID = "rnn-course"


class NbgraderError(RuntimeError):
    """An nbgrader step failed; the message carries nbgrader's log."""


def source_notebook(name: str, root: Path = Path(".")) -> Path:
    """Path of the instructor source notebook of assignment ``name``."""
    return Path(root) / SOURCE_DIR / name / f"{name}.ipynb"


def release_notebook(name: str, root: Path = Path(".")) -> Path:
    """Path of the released (student) notebook of assignment ``name``."""
    return Path(root) / RELEASE_DIR / name / f"{name}.ipynb"


def available(root: Path = Path(".")) -> list[str]:
    """Names in :data:`ASSIGNMENTS` whose source notebook exists under ``root``."""
    return [name for name in ASSIGNMENTS if source_notebook(name, root).is_file()]


def _check_names(names: Iterable[str] | None, root: Path) -> list[str]:
    if names is None:
        return available(root)
    names = list(names)
    unknown = [n for n in names if n not in ASSIGNMENTS]
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; known: {list(ASSIGNMENTS)}")
    missing = [n for n in names if not source_notebook(n, root).is_file()]
    if missing:
        raise FileNotFoundError(
            "no source notebook for "
            + ", ".join(str(source_notebook(n, root)) for n in missing)
        )
    return names


# --- canonical notebook form -----------------------------------------------------------------

_VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def canonical_notebook(nb: nbformat.NotebookNode) -> str:
    """Return ``nb`` as canonical JSON text: no outputs or execution counts, sorted keys."""
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def normalise_notebook(path: Path) -> None:
    """Rewrite the notebook at ``path`` in canonical form (idempotent)."""
    path = Path(path)
    text = canonical_notebook(nbformat.read(path, as_version=4))
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# --- nbgrader in-process ------------------------------------------------------------------------


def _api(course_dir: Path):
    """An ``NbGraderAPI`` for ``course_dir``, configured only by its ``nbgrader_config.py``.

    The user's own Jupyter config is deliberately not read, so results do not depend on it.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import Config, PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    config = Config()
    if (course_dir / CONFIG_FILE).is_file():
        config.merge(PyFileConfigLoader(CONFIG_FILE, path=str(course_dir)).load_config())
    config.CourseDirectory.root = str(course_dir)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


@contextlib.contextmanager
def _scripts_on_path() -> Iterator[None]:
    """Put this interpreter's scripts folder first on PATH while nbgrader runs.

    nbgrader runs the ``alembic`` executable to open a gradebook, which is only on PATH when
    the virtual environment is activated (not when ``.venv/bin/python`` is called directly).
    """
    old = os.environ.get("PATH")
    scripts = sysconfig.get_path("scripts")
    os.environ["PATH"] = os.pathsep.join(p for p in (scripts, old) if p)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


def _run(result: dict, what: str) -> None:
    if not result.get("success"):
        raise NbgraderError(
            f"nbgrader {what} failed\n{result.get('log', '')}\n{result.get('error', '')}"
        )


def scratch_course(
    tmpdir: Path, names: Sequence[str] | None = None, root: Path = Path(".")
) -> Path:
    """Lay out a throwaway nbgrader course in ``tmpdir`` and generate ``names`` in it.

    Copies ``nbgrader_config.py`` and ``solutions/<name>/`` from ``root`` (default: the
    assignments whose source exists), runs ``generate_assignment`` for each (which creates
    ``tmpdir/gradebook.db`` and ``tmpdir/exercises/<name>/``) and returns ``tmpdir``.
    """
    root = Path(root)
    names = _check_names(names, root)
    course = Path(tmpdir)
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / CONFIG_FILE, course / CONFIG_FILE)
    for name in names:
        dest = course / SOURCE_DIR / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(
            root / SOURCE_DIR / name,
            dest,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    api = _api(course)
    with _scripts_on_path():
        for name in names:
            result = api.generate_assignment(name, force=True, create=True)
            _run(result, f"generate_assignment {name}")
    return course


def generate(names: Sequence[str] | None, root: Path, out_dir: Path) -> list[Path]:
    """Generate the student version of ``names`` into ``out_dir/<name>/`` (replaced wholesale).

    Returns the written files, sorted. Notebooks are written in canonical form.
    """
    root = Path(root)
    names = _check_names(names, root)
    out_dir = Path(out_dir)
    written: list[Path] = []
    if not names:
        return written
    with tempfile.TemporaryDirectory(prefix="rnncourse-release-") as tmp:
        course = scratch_course(Path(tmp), names, root)
        for name in names:
            src = course / RELEASE_DIR / name
            dest = out_dir / name
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for path in sorted(p for p in src.rglob("*") if p.is_file()):
                target = dest / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                if path.suffix == ".ipynb":
                    nb = nbformat.read(path, as_version=4)
                    target.write_text(canonical_notebook(nb), encoding="utf-8")
                else:
                    shutil.copyfile(path, target)
                target.chmod(0o644)
                written.append(target)
    return sorted(written)


def has_suite(name: str) -> bool:
    """True if the assignment's tests are written as a suite (:mod:`rnncourse.suites`)."""
    import importlib.util

    return importlib.util.find_spec(f"rnncourse.suites.{name}") is not None


def release(names: Sequence[str] | None = None, root: Path = Path(".")) -> list[Path]:
    """Regenerate ``exercises/<name>/`` from ``solutions/<name>/`` for ``names``, and the
    recorded oracle answers of their visible cases (``rnncourse/exercise/fixtures/``).

    ``names=None`` releases every assignment whose source notebook exists. Returns the files
    written. The repository is never given a gradebook: generation runs in a scratch course.
    """
    from rnncourse.judge import fixtures

    root = Path(root)
    written = generate(names, root, root / RELEASE_DIR)
    for name in _check_names(names, root):
        if has_suite(name):
            written.append(fixtures.write(name, source_notebook(name, root)))
    return written


Scores = dict[str, tuple[float | None, float]]


def read_scores(course_dir: Path, assignment: str, student: str) -> Scores:
    """``{grade_id: (score, max_score)}`` of ``student``'s autograded ``assignment``.

    Read from the course's gradebook. ``score`` is ``None`` where a manually graded answer
    awaits a human grader.
    """
    from nbgrader.api import Gradebook

    api = _api(course_dir)
    scores: Scores = {}
    with _scripts_on_path(), Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                pending = grade.needs_manual_grade and grade.manual_score is None
                score = None if pending else float(grade.score)
                scores[grade.name] = (score, float(grade.max_score))
    return scores


def autograde(course_dir: Path, assignment: str, student: str, notebook_path: Path) -> Scores:
    """Autograde ``notebook_path`` as ``student``'s submission of ``assignment``.

    ``course_dir`` comes from :func:`scratch_course`. The notebook is copied to
    ``submitted/<student>/<assignment>/<assignment>.ipynb`` (replacing an earlier one), graded
    with nbgrader's own converter (fresh kernel, locked and test cells restored from the
    gradebook, hidden tests included) and the scores are read back with :func:`read_scores`.
    """
    course_dir = Path(course_dir)
    dest = course_dir / "submitted" / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(notebook_path, dest / f"{assignment}.ipynb")
    api = _api(course_dir)
    with _scripts_on_path(), warnings.catch_warnings():
        # nbgrader 0.9.6 triggers harmless SQLAlchemy autoflush warnings on a new submission
        warnings.filterwarnings("ignore", message=".*not in session.*")
        result = api.autograde(assignment, student, force=True, create=True)
    _run(result, f"autograde {assignment} for {student}")
    return read_scores(course_dir, assignment, student)
