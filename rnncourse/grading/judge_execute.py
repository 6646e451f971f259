"""nbgrader's ``Execute`` step, replaced by the judge.

In the ``Autograde`` converter, :func:`judge_execute` stands where nbgrader's
:class:`~nbgrader.preprocessors.Execute` would: everything before it (restoring the
instructor's cells from the gradebook, checking metadata) and after it (scores from the
outputs, late penalties) is nbgrader's own. Instead of running the notebook in a kernel, it
hands the notebook's code cells to the judge (:func:`rnncourse.judge.engine.judge`): the
non-test cells run in the sandboxed student process, and the judge decides every test cell
outside it. The verdicts come back as ordinary outputs, which nbgrader then scores as usual:

- a passed test cell gets one ``stdout`` line saying so (full points);
- a failed one gets an ``error`` output whose value is the judge's message (zero points);
- every other code cell gets what it printed in the student process, and its error if any.

No test source, expected value or hidden case is in any output: the hidden part of a test
cell is removed from the feedback by :class:`~rnncourse.grading.feedback.HideHiddenTests`,
and a failing hidden case is reported by number only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute

from rnncourse.judge.engine import CodeCell, JudgeSettings, NotebookVerdict, judge, load_hidden
from rnncourse.suites import load


@dataclass
class JudgeContext:
    """What the judge needs for one submission, and what it found (filled per notebook).

    Attributes:
        assignment, student: what is graded.
        source_dir: the assignment's source folder in the scratch course (``hidden.py``).
        root: a scratch folder for the student processes.
        settings: sandbox, limits and this student's hidden-case seed.
        output_bytes: output kept per cell.
        verdicts: ``{notebook name: verdict}``, filled as notebooks are judged.
    """

    assignment: str
    student: str
    source_dir: Path
    root: Path
    settings: JudgeSettings
    output_bytes: int = 1024**2
    verdicts: dict[str, NotebookVerdict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: an exception of the judge's machinery (nbgrader would hide it in its log)
    error: BaseException | None = None


def _stream(name: str, text: str, limit: int) -> NotebookNode:
    if len(text) > limit:
        text = text[:limit] + f"\n[output cut at {limit} characters]\n"
    return NotebookNode(output_type="stream", name=name, text=text)


def _error(ename: str, message: str) -> NotebookNode:
    lines = message.splitlines() or [""]
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{ename}: {lines[0]}", *lines[1:]])


def judge_execute(context: JudgeContext) -> type[Execute]:
    """An ``Execute`` preprocessor class bound to ``context`` (nbgrader instantiates it)."""

    class JudgeExecute(Execute):
        def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
            started = time.monotonic()
            name = resources.get("unique_key", "notebook")
            cells = []
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                is_test = utils.is_grade(cell) and not utils.is_solution(cell)
                grade_id = cell.metadata["nbgrader"]["grade_id"] if is_test else None
                cells.append(CodeCell(index, cell.source, grade_id))
            try:
                verdict = judge(load(context.assignment, context.source_dir),
                                load_hidden(context.source_dir), cells,
                                student_id=context.student, settings=context.settings,
                                root=context.root / name)
            except Exception as error:
                context.error = error
                raise
            context.verdicts[name] = verdict
            for count, code_cell in enumerate(cells, start=1):
                cell = nb.cells[code_cell.index]
                cell.execution_count = count
                cell.outputs = self._outputs(code_cell, verdict)
            context.seconds[name] = time.monotonic() - started
            return nb, resources

        def _outputs(self, code_cell: CodeCell, verdict: NotebookVerdict) -> list[NotebookNode]:
            limit = context.output_bytes
            if code_cell.test is not None:
                test = verdict.tests.get(code_cell.test)
                if test is None:
                    return [_error("NotGraded", "this test was not run")]
                if test.passed:
                    return [_stream("stdout", test.message + "\n", limit)]
                return [_error("AssertionError", test.message)]
            run = verdict.cells.get(code_cell.index)
            if run is None:
                return []
            outputs = []
            if run.stdout:
                outputs.append(_stream("stdout", run.stdout, limit))
            if run.stderr:
                outputs.append(_stream("stderr", run.stderr, limit))
            if run.error:
                outputs.append(_error(str(run.error.get("type", "Error")),
                                      str(run.error.get("message", ""))))
            return outputs

    return JudgeExecute
