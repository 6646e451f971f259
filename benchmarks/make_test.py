"""Duration and peak memory of ``make test`` (the whole suite, as CI runs it).

Runs ``make test`` in the repository and reports its wall-clock seconds and the peak resident
memory of the largest process it started (``getrusage(RUSAGE_CHILDREN).ru_maxrss``). The
output goes to ``benchmarks/_work/make_test.log`` (git-ignored), so a failure can be read.
"""

from __future__ import annotations

import resource
import subprocess

from common import ROOT, Stopwatch, record, table


def main() -> None:
    log = ROOT / "benchmarks" / "_work" / "make_test.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with Stopwatch() as sw, log.open("wb") as out:
        result = subprocess.run(["make", "test"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(table(["make test", "exit code", "seconds", "peak RSS of one process (MiB)"],
                [["whole suite", result.returncode, sw.seconds, peak_mib]]))
    print(f"log: {log}")
    record("make_test", {"seconds": sw.seconds, "exit_code": result.returncode,
                         "peak_rss_mib": peak_mib})


if __name__ == "__main__":
    main()
