"""Feedback HTML without the hidden tests: nbgrader's ``GenerateFeedback`` plus one step.

nbgrader's feedback shows every cell of the autograded notebook, in which the hidden tests
were restored. :class:`HideHiddenTests` runs after nbgrader's ``GetGrades`` and, in the
instructor's test cells only, removes the hidden-test region (nbgrader's own
``ClearHiddenTests`` logic) and replaces the outputs of a test cell that had hidden tests by
its verdict: nothing when it passed, a single ``Error: message`` line (no traceback, which
would quote the hidden code) when it failed. Any output line anywhere in the notebook that
repeats a line of hidden-test source (a submission that printed what it read from disk) is
redacted as well.

To make ``nbgrader generate_feedback`` and the formgrader's feedback button do the same, add
to ``nbgrader_config.py``::

    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "rnncourse.grading.feedback.HideHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2.bccache import Bucket, BytecodeCache
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests
from traitlets import Integer
from traitlets.config import Config

REDACTED = "[hidden test source removed by the grader]"
HIDDEN_NOTE = "# (hidden tests are not shown)"
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "rnncourse.grading.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


def _is_instructor_test(cell: NotebookNode) -> bool:
    return (
        cell.cell_type == "code"
        and utils.is_grade(cell)
        and utils.is_locked(cell)
        and not utils.is_solution(cell)
    )


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden-test source and details from an autograded notebook (see module doc)."""

    min_redact_chars = Integer(
        12, help="Hidden-test lines shorter than this are not searched for in outputs."
    ).tag(config=True)
    max_message_chars = Integer(2000, help="Longest failure message shown.").tag(config=True)

    def _hidden_lines(self, nb: NotebookNode) -> set[str]:
        lines: set[str] = set()
        for cell in nb.cells:
            if not _is_instructor_test(cell):
                continue
            inside = False
            for line in cell.source.split("\n"):
                if self.begin_test_delimeter in line:
                    inside = True
                elif self.end_test_delimeter in line:
                    inside = False
                elif inside and len(line.strip()) >= self.min_redact_chars:
                    lines.add(line.strip())
        return lines

    def _redact(self, text: str, hidden: set[str]) -> str:
        if not hidden or not isinstance(text, str):
            return text
        out = []
        for line in text.split("\n"):
            out.append(REDACTED if any(h in line for h in hidden) else line)
        return "\n".join(out)

    def _redact_output(self, output: NotebookNode, hidden: set[str]) -> None:
        if "text" in output:
            output.text = self._redact(output.text, hidden)
        if output.get("output_type") == "error":
            output.evalue = self._redact(output.evalue, hidden)
            output.traceback = [self._redact(t, hidden) for t in output.traceback]
        for key, value in output.get("data", {}).items():
            if isinstance(value, str) and key.startswith("text/"):
                output.data[key] = self._redact(value, hidden)

    def _verdict(self, cell: NotebookNode) -> list[NotebookNode]:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = str(output.get("evalue", ""))[: self.max_message_chars]
                ename = output.get("ename", "Error")
                return [NotebookNode(output_type="error", ename=ename, evalue=message,
                                     traceback=[f"{ename}: {message}"])]
            if output.output_type == "stream" and output.name == "stderr":
                return [NotebookNode(output_type="stream", name="stderr",
                                     text="(the test wrote to stderr, which counts as failed)\n")]
        return []

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        hidden = self._hidden_lines(nb)
        for cell in nb.cells:
            if _is_instructor_test(cell) and self._remove_hidden_test_region(cell):
                cell.source = cell.source.rstrip("\n") + "\n" + HIDDEN_NOTE
                cell.outputs = self._verdict(cell)
            for output in cell.get("outputs", []):
                self._redact_output(output, hidden)
        nb.metadata.pop("celltoolbar", None)
        return nb, resources


class _SharedBytecode(BytecodeCache):
    """Compiled Jinja templates kept in memory for the life of the process (keyed by template
    name and source checksum, so an edited template is compiled again)."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SharedBytecode()


_IMAGE_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)", re.IGNORECASE)
NO_ALT_TEXT = "No description has been provided for this image"


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's ``HTMLExporter`` for feedback pages, with two costs of every page removed.

    - nbgrader makes a new exporter for every feedback run, and each compiled the same Jinja
      templates again (0.9 s a submission): the compiled templates outlive the exporter here.
    - ``HTMLExporter.from_notebook_node`` parses its finished page again with BeautifulSoup
      to give images without one an ``alt`` text and JupyterLab cells a ``tabindex``: about
      half of each page's time. nbgrader's feedback template has no JupyterLab cells, so the
      ``alt`` text is all that pass would add; it is added to the text directly.
      ``tests/test_grading_units.py`` checks that the page is the one nbconvert makes.
    """

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        return environment

    def from_notebook_node(self, nb: NotebookNode, resources: dict | None = None,
                           **kw: Any) -> tuple[str, dict]:
        # HTMLExporter.from_notebook_node (nbconvert 7) up to its BeautifulSoup pass
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get(
            "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return _IMAGE_WITHOUT_ALT.sub(f'<img alt="{NO_ALT_TEXT}"', html), resources


def feedback_config(base: Config | None = None) -> Config:
    """nbgrader config for ``GenerateFeedback`` with :class:`HideHiddenTests` in the chain."""
    config = Config(base or {})
    config.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
    config.GenerateFeedback.exporter_class = FeedbackHTMLExporter
    return config


def generate_feedback(
    course_dir: Path,
    assignment: str,
    student: str = "*",
    db_url: str | None = None,
    config: Config | None = None,
) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/*.html`` from ``autograded/`` and the gradebook.

    Use it again after manual grading in the formgrader (the scores shown come from the
    gradebook). Returns the HTML files written.
    """
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    course_dir = Path(course_dir).resolve()
    cfg = feedback_config(config)
    cfg.CourseDirectory.root = str(course_dir)
    if db_url:
        cfg.CourseDirectory.db_url = db_url
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = assignment
    coursedir.student_id = student
    converter = GenerateFeedback(coursedir=coursedir, config=cfg, force=True)
    converter.start()
    pattern = f"{student}/{assignment}/*.html"
    return sorted((course_dir / "feedback").glob(pattern))
