"""A template gradebook: one assignment's structure copied out of the course gradebook.

Each worker grades in a throwaway SQLite gradebook so that no two processes ever write the
same database. The template holds only what nbgrader's ``Autograde`` needs (the assignment,
its notebooks and their cells, hidden tests included) and no student data; it is built once
per run with nbgrader's :class:`~nbgrader.api.Gradebook` API from the course gradebook (any
SQLAlchemy URL) and copied, as bytes, into every task. A copy of an existing SQLite file
also spares each worker nbgrader's ``alembic`` subprocess call for a new database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the runner starts its workers before nbgrader loads
    from nbgrader.api import Gradebook


class AssignmentNotInGradebookError(LookupError):
    """The course gradebook does not know the assignment (it was never generated)."""


@contextlib.contextmanager
def scripts_on_path() -> Iterator[None]:
    """Put this environment's scripts first on PATH: a new nbgrader gradebook runs ``alembic``."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join(p for p in (sysconfig.get_path("scripts"), old) if p)
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _stamp_like(src: Gradebook, path: Path) -> None:
    """Create the empty gradebook schema at ``path`` with ``src``'s alembic version.

    A new nbgrader gradebook asks the ``alembic`` program for the current version (a
    subprocess, a second or two); copying the version of the course gradebook is exact.
    """
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    with src.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if not version:
        return
    engine = create_engine(f"sqlite:///{path}", future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                         {"v": version})
    finally:
        engine.dispose()


def _copy_assignment(src: Gradebook, dst: Gradebook, assignment: str, db_url: str) -> None:
    from nbgrader.api import MissingEntry

    try:
        a = src.find_assignment(assignment)
    except MissingEntry:
        raise AssignmentNotInGradebookError(
            f"assignment {assignment!r} is not in the gradebook {db_url}; generate it "
            "first (nbgrader generate_assignment in the course directory)"
        ) from None
    dst.add_assignment(assignment, duedate=a.duedate)
    for nb in a.notebooks:
        dst.add_notebook(nb.name, assignment, kernelspec=nb.kernelspec)
        for cell in nb.grade_cells:
            dst.add_grade_cell(cell.name, nb.name, assignment,
                               max_score=cell.max_score, cell_type=cell.cell_type)
        for cell in nb.solution_cells:
            dst.add_solution_cell(cell.name, nb.name, assignment)
        for cell in nb.task_cells:
            dst.add_task_cell(cell.name, nb.name, assignment,
                              max_score=cell.max_score, cell_type=cell.cell_type)
        for cell in nb.source_cells:
            dst.add_source_cell(cell.name, nb.name, assignment, cell_type=cell.cell_type,
                                locked=cell.locked, source=cell.source, checksum=cell.checksum)


def build_template(db_url: str, course_id: str, assignment: str) -> bytes:
    """Return the bytes of an SQLite gradebook holding ``assignment``'s structure only."""
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="rnncourse-template-") as tmp:
        path = Path(tmp) / "template.db"
        with scripts_on_path(), Gradebook(db_url, course_id) as src:
            with contextlib.suppress(Exception):  # else nbgrader stamps it with alembic
                _stamp_like(src, path)
            with Gradebook(f"sqlite:///{path}", course_id) as dst:
                _copy_assignment(src, dst, assignment, db_url)
        return path.read_bytes()


def structure_digest(db_url: str, course_id: str, assignment: str) -> str:
    """A digest of the assignment's cells (names, points, sources): changes when it changes."""
    from nbgrader.api import Gradebook

    digest = hashlib.sha256()
    with Gradebook(db_url, course_id) as gb:
        a = gb.find_assignment(assignment)
        digest.update(str(a.duedate).encode())
        for nb in sorted(a.notebooks, key=lambda n: n.name):
            digest.update(nb.name.encode())
            for cell in sorted(nb.source_cells, key=lambda c: c.name):
                digest.update(f"{cell.name}|{cell.locked}|{cell.checksum}".encode())
            for cell in sorted(nb.grade_cells, key=lambda c: c.name):
                digest.update(f"{cell.name}|{cell.max_score}".encode())
    return digest.hexdigest()[:16]


def notebook_names(db_url: str, course_id: str, assignment: str) -> list[str]:
    """The names of the assignment's notebooks, as the gradebook knows them."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id) as gb:
        return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
