"""The grader streams results: grading 100 submissions needs no more memory than grading 10.

Each generated submission of the tiny assignment carries two megabytes of the student's own
notes, so a grader that held every result (the autograded notebook) until the end would grow by
about 180 MB more over 100 submissions than over 10 (no feedback pages, for time: they would
only add to it). The grader runs in its own process, which reports its peak resident set
size (``ru_maxrss``; the worker processes are not counted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fixtures.grading.runs import SANDBOXED_GRADING
from fixtures.grading.tiny import answered, make_course, submit
from nbformat.v4 import new_markdown_cell

pytestmark = SANDBOXED_GRADING
NOTES_BYTES = 2 * 1024 * 1024

GRADE_AND_REPORT_PEAK = """
import json, resource, sys
from pathlib import Path
from rnncourse.grading.job import GradingSettings, Limits
from rnncourse.grading.runner import grade

course, secret = Path(sys.argv[1]), Path(sys.argv[2])
settings = GradingSettings(limits=Limits(cell_timeout=20, call_timeout=20, notebook_timeout=60,
                                         memory_bytes=2 * 1024**3), feedback=False)
run = grade("tiny", course, jobs=2, settings=settings, progress=False, secret_file=secret,
            say=lambda message: None)
print(json.dumps({"graded": len(run.graded), "failed": len(run.failed),
                  "not_graded": len(run.not_graded),
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def peak_for(n: int, root: Path) -> dict:
    course = make_course(root / "course")
    nb = answered(course)
    nb.cells.append(new_markdown_cell("My notes. " + "x" * NOTES_BYTES))
    for i in range(n):
        submit(course, f"student{i:03d}", nb)
    secret = root / "secret"
    secret.write_text("memory test\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", GRADE_AND_REPORT_PEAK, str(course), str(secret)],
                          capture_output=True, text=True, timeout=1500, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_number_of_submissions(tmp_path: Path) -> None:
    few = peak_for(10, tmp_path / "few")
    many = peak_for(100, tmp_path / "many")
    assert few["graded"] == 10 and many["graded"] == 100, (few, many)
    ratio = many["peak_kib"] / few["peak_kib"]
    print(f"\ngrader peak RSS: 10 submissions {few['peak_kib'] / 1024:.0f} MiB, "
          f"100 submissions {many['peak_kib'] / 1024:.0f} MiB, ratio {ratio:.2f}")
    assert ratio <= 1.5
