"""Execution seconds of every solution notebook (what autograding one student costs).

Each ``solutions/<assignment>/<assignment>.ipynb`` runs top to bottom with nbclient in a
scratch copy of its folder, slowest first, against the budget of about 90 s on 2 CPU cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from common import ROOT, Stopwatch, record, table

BUDGET_S = 90.0


def run_notebook(path: Path) -> float:
    """Execute a copy of ``path`` in a scratch folder; return the seconds it took."""
    with tempfile.TemporaryDirectory(prefix="bench-nb-") as tmp:
        work = Path(tmp) / path.parent.name
        shutil.copytree(path.parent, work)
        nb = nbformat.read(work / path.name, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        with Stopwatch() as sw:
            client.execute()
    return sw.seconds


def main() -> None:
    # the notebooks' hidden checks (check.hidden) find hidden.py beside the course's sources;
    # the scratch copy is outside the course, so name the course
    os.environ["RNNCOURSE_COURSE_DIR"] = str(ROOT)
    seconds = {
        path.relative_to(ROOT).as_posix(): run_notebook(path)
        for path in sorted((ROOT / "solutions").glob("*/*.ipynb"))
    }
    rows = sorted(seconds.items(), key=lambda kv: -kv[1])
    print(table(["solution notebook (slowest first)", "seconds", f"budget {BUDGET_S:.0f} s"],
                [[name, s, "ok" if s <= BUDGET_S else "OVER"] for name, s in rows]))
    record("solution_notebooks", {"execution_s": seconds, "budget_s": BUDGET_S,
                                  "over_budget": [n for n, s in rows if s > BUDGET_S]})


if __name__ == "__main__":
    main()
