"""How long readers and maintainers wait for the book: cold, warm and one-chapter builds.

Runs ``jupyter-book build`` with the strict flags into a scratch output folder three times:
cold (empty execution cache), warm (nothing changed) and after touching one chapter, then
reads each notebook's execution seconds from the jupyter-cache the cold build filled.
Budget: about 60 s of execution per chapter on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, Stopwatch, record, table

CHAPTER_BUDGET_S = 60.0
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


def build(output: Path) -> float:
    with Stopwatch() as sw:
        subprocess.run(
            [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(output),
             "-W", "-n", "--keep-going"],
            check=True, stdout=subprocess.DEVNULL,
        )
    return sw.seconds


def execution_seconds(output: Path) -> dict[str, float]:
    """Per-notebook execution seconds recorded by the jupyter-cache of a build."""
    from jupyter_cache import get_cache

    cache = get_cache(output / "_build" / ".jupyter_cache")
    seconds = {}
    for rec in cache.list_cache_records():
        path = Path(rec.uri).resolve()
        seconds[path.relative_to(ROOT).as_posix()] = float(rec.data.get("execution_seconds", 0))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--touch", default="chapters/03-vanishing-gradients.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        output = Path(tmp)
        cold = build(output)
        warm = build(output)
        os.utime(ROOT / args.touch)
        touched = build(output)
        per_notebook = execution_seconds(output)
    rows = sorted(per_notebook.items(), key=lambda kv: -kv[1])
    builds = [["cold", cold], ["warm", warm], [f"touch {args.touch}", touched]]
    print(table(["build", "seconds"], builds))
    print()
    print(table(
        ["notebook (slowest first)", "execution s", f"budget {CHAPTER_BUDGET_S:.0f} s"],
        [[name, s, "ok" if s <= CHAPTER_BUDGET_S else "OVER"] for name, s in rows],
    ))
    record("book_build", {
        "cold_s": cold, "warm_s": warm, "touched_one_chapter_s": touched,
        "touched": args.touch, "chapter_execution_s": per_notebook,
        "chapter_budget_s": CHAPTER_BUDGET_S,
        "over_budget": [name for name, s in rows if s > CHAPTER_BUDGET_S],
    })


if __name__ == "__main__":
    main()
