"""Run every benchmark (``make bench``), each in its own process, then print the summary.

Each script prints its own table and merges its figures into ``benchmarks/results.json``.
``--quick`` skips the two slow, whole-repository ones (``make test`` and the cold book build).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("solutions.py", []),
    ("cells.py", []),
    ("adding.py", []),
    ("charlm.py", []),
    ("grading_bench.py", []),
    ("similarity_bench.py", []),
    ("learner_env.py", []),
    ("book_build.py", []),
    ("pdf_build.py", []),
    ("make_test.py", []),
]
SLOW = {"book_build.py", "make_test.py"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the whole-repository runs")
    parser.add_argument("only", nargs="*", help="run only these scripts")
    args = parser.parse_args()
    failed = []
    for script, extra in SCRIPTS:
        if (args.only and script not in args.only) or (args.quick and script in SLOW):
            continue
        if not (HERE / script).is_file():
            print(f"(skipping {script}: not present)")
            continue
        print(f"\n## {script}\n", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *extra], cwd=HERE).returncode:
            failed.append(script)
    print(f"\nfigures written to {HERE / 'results.json'}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
