"""Where one worker's time goes when it grades rnn_cell submissions (cProfile).

Grades ``--n`` correct rnn_cell submissions in a scratch course, one after another in this
process (``grade_submission`` called inline instead of on a worker pool), profiles them, and
prints the CPU time of a worker's warm-up, each submission's phases and the most expensive
calls by cumulative time. The README's breakdown of the grading overhead (warm-up, feedback
templates, BeautifulSoup, SQLAlchemy, closing the student process) comes from this script.

Usage: ``.venv/bin/python benchmarks/grading_profile.py [--n 4] [--top 45]``
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import subprocess
import sys
import tempfile
from concurrent.futures import Future
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.grading import crafted  # noqa: E402

from rnncourse.assignments import scratch_course  # noqa: E402
from rnncourse.grading import runner  # noqa: E402
from rnncourse.grading.submission import preload  # noqa: E402

PROFILE = cProfile.Profile()


class InlineWorkers:
    """The runner's executor interface, grading each task at once in this process."""

    slots, scheduler, where = 1, None, "inline (profiled)"

    def __init__(self, *args: object) -> None:
        pass

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        PROFILE.enable()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # the runner reports it
            future.set_exception(error)
        finally:
            PROFILE.disable()
        if future.exception() is None:
            timing = future.result().timing
            print(" ".join(f"{k} {v:.2f} s" for k, v in timing.items()))
        return future

    def start(self) -> None:
        pass

    def restart(self) -> None:
        pass

    def abandon(self, future: Future) -> None:
        pass

    def close(self) -> None:
        pass


def warm_up_cpu_seconds() -> float:
    """CPU time of a fresh Python process that imports and warms up the grading stack
    (torch, nbgrader, nbconvert, a first feedback page): :func:`preload`."""
    def children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    before = children()
    subprocess.run([sys.executable, "-c", "from rnncourse.grading.submission import preload; "
                    "preload()"], check=True)
    return children() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="submissions")
    parser.add_argument("--top", type=int, default=45, help="calls to print")
    args = parser.parse_args()
    runner.Workers = InlineWorkers  # the runner looks it up at run time
    with tempfile.TemporaryDirectory(prefix="rnncourse-profile-") as tmp:
        course = scratch_course(Path(tmp) / "course", ["rnn_cell"], ROOT)
        src = nbformat.read(ROOT / "solutions/rnn_cell/rnn_cell.ipynb", as_version=4)
        release = nbformat.read(ROOT / "exercises/rnn_cell/rnn_cell.ipynb", as_version=4)
        for i in range(args.n):
            crafted.write_submission(course / "submitted" / f"s{i}" / "rnn_cell",
                                     crafted.correct(src, release))
        (Path(tmp) / "secret").write_text("profile\n", encoding="utf-8")
        print(f"a worker's warm-up in a fresh process (what the fork server does once for all "
              f"workers): {warm_up_cpu_seconds():.2f} s of CPU")
        preload()
        runner.grade("rnn_cell", course, progress=False, secret_file=Path(tmp) / "secret",
              say=lambda message: None)
    pstats.Stats(PROFILE).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
