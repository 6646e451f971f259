"""``rnncourse grade`` with a tiny nbgrader assignment: manual grading, LMS zip, exchange.

The assignment (built here, one notebook) has a test cell with a hidden test and a manually
graded written answer, and imports nothing heavy, so its kernels start fast. It checks that
after ``rnncourse grade`` the written answers stay gradable in nbgrader's formgrader against
the same gradebook, that manual grades survive a forced regrade, and the two other ways in:
an LMS download (nbgrader zip_collect) and nbgrader's exchange.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
from fixtures.grading.tiny import answered, make_course, submit
from nbgrader.api import Gradebook
from traitlets.config import Config

from rnncourse.grading.collect import collect_lms
from rnncourse.grading.feedback import generate_feedback
from rnncourse.grading.job import GradingSettings, Limits
from rnncourse.grading.runner import grade, load_course_config
from rnncourse.grading.template import scripts_on_path

pytestmark = pytest.mark.slow
SETTINGS = GradingSettings(limits=Limits(cell_timeout=10, call_timeout=10, notebook_timeout=60,
                                         memory_bytes=2 * 1024**3))
def gradebook(root: Path) -> Gradebook:
    return Gradebook(f"sqlite:///{root / 'gradebook.db'}", "tiny")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("tiny") / "course")


def text_of(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_manual_answers_stay_gradable_in_formgrader(course: Path) -> None:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    submit(course, "ann", answered(course))
    submit(course, "ben", nbformat.read(course / "exercises" / "tiny" / "tiny.ipynb",
                                        as_version=4))
    run = grade("tiny", course, jobs=2, settings=SETTINGS, progress=False)
    assert sorted(run.graded) == ["ann", "ben"]
    with gradebook(course) as gb:
        ann = gb.find_grade("why", "tiny", "tiny", "ann")
        assert ann.auto_score is None and ann.needs_manual_grade
        assert gb.find_grade("test_add", "tiny", "tiny", "ann").score == 1
        ben = gb.find_grade("why", "tiny", "tiny", "ben")
        assert ben.auto_score == 0 and not ben.needs_manual_grade
        assert gb.find_comment("why", "tiny", "tiny", "ben").auto_comment == "No response."

    # what the formgrader shows, through nbgrader's own API on the same gradebook and files
    config = load_course_config(course)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    with scripts_on_path():
        listed = {s["student"]: s for s in api.get_notebook_submissions("tiny", "tiny")}
        assert listed["ann"]["needs_manual_grade"] and not listed["ben"]["needs_manual_grade"]
        submission = api.get_submission("tiny", "ann")
        assert submission["autograded"] and submission["needs_manual_grade"]
    assert (course / "autograded" / "ann" / "tiny" / "tiny.ipynb").exists()

    # a grader scores the written answer in the formgrader
    with gradebook(course) as gb:
        grade_row = gb.find_grade("why", "tiny", "tiny", "ann")
        grade_row.manual_score = 1.5
        grade_row.needs_manual_grade = False
        gb.find_comment("why", "tiny", "tiny", "ann").manual_comment = "Say why it commutes."
        gb.find_submission_notebook("tiny", "tiny", "ben").flagged = True  # the grader's mark
        gb.db.commit()
    pages = generate_feedback(course, "tiny", "ann", config=config)
    text = text_of(pages[0])
    assert "Say why it commutes." in text and "2.5" in text
    assert "add(-5, 5)" not in text

    # a forced regrade keeps the manual grade, the comment and the grader's flag, and asks
    # for a review
    again = grade("tiny", course, jobs=1, settings=SETTINGS, progress=False, force=True)
    assert sorted(again.graded) == ["ann", "ben"]
    with gradebook(course) as gb:
        kept = gb.find_grade("why", "tiny", "tiny", "ann")
        assert kept.manual_score == 1.5 and kept.needs_manual_grade
        assert gb.find_submission("tiny", "ann").score == 2.5
        comment = gb.find_comment("why", "tiny", "tiny", "ann").manual_comment
        assert comment == "Say why it commutes."
        assert gb.find_submission_notebook("tiny", "tiny", "ben").flagged  # kept
        assert not gb.find_submission_notebook("tiny", "tiny", "ann").flagged


def test_an_lms_zip_is_collected_and_graded(tmp_path: Path) -> None:
    root = make_course(tmp_path / "course")
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cara_tiny.ipynb", nbformat.writes(answered(root)))
        zf.writestr("dan_tiny.ipynb", nbformat.writes(
            nbformat.read(root / "exercises" / "tiny" / "tiny.ipynb", as_version=4)))
        zf.writestr("readme.txt", "not a submission")
    collected = collect_lms(root, "tiny", archive, config=load_course_config(root))
    run = grade("tiny", root, submitted=collected.submitted, jobs=2, settings=SETTINGS,
                progress=False)
    assert sorted(run.graded) == ["cara", "dan"]
    assert (root / "submitted" / "cara" / "tiny" / "tiny.ipynb").exists()
    with gradebook(root) as gb:
        assert gb.find_grade("test_add", "tiny", "tiny", "cara").score == 1
        assert gb.find_grade("test_add", "tiny", "tiny", "dan").score == 0


def test_exchange_is_collected_with_nbgrader_collect(tmp_path: Path) -> None:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeSubmit

    root = make_course(tmp_path / "course")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    extra = Config()
    extra.Exchange.root = str(exchange)
    config = load_course_config(root)
    config.merge(extra)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.release_assignment("tiny")["success"]
    for student in ("eve", "fay"):
        work = tmp_path / student
        (work / "tiny").mkdir(parents=True)
        nbformat.write(answered(root), work / "tiny" / "tiny.ipynb")
        student_config = Config(config)
        student_config.Exchange.assignment_dir = str(work)
        coursedir = CourseDirectory(config=student_config)
        coursedir.assignment_id = "tiny"
        coursedir.student_id = student
        ExchangeSubmit(coursedir=coursedir, authenticator=Authenticator(config=student_config),
                       config=student_config).start()
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write(f"c.Exchange.root = {str(exchange)!r}\n")
    run = grade("tiny", root, exchange=True, jobs=2, settings=SETTINGS, progress=False)
    assert sorted(run.graded) == ["eve", "fay"]
    with gradebook(root) as gb:
        assert gb.find_submission("tiny", "eve").timestamp is not None
        assert gb.find_grade("test_add", "tiny", "tiny", "fay").score == 1
