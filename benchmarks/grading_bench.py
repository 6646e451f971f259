"""Benchmark: plain ``nbgrader autograde`` against ``rnncourse grade --jobs N`` (rnn_cell).

Generated submissions (correct, partial and broken ones, the same mix in every ten) are graded
by both, side by side in one run, each time in a fresh scratch course (never in the
repository), for two class sizes (by default 10 and 30):

1. ``nbgrader autograde rnn_cell --force`` (one process, one student after another);
2. ``rnncourse grade rnn_cell --jobs N`` (the judge: the student's code in a bwrap sandbox
   without torch, the tests and points outside it).

It checks that both give identical scores per student and test cell (a submission that fails
to grade counts 0) and reports, per size, the wall times and their ratio (start-up and report
included). The **throughput** ratio compares the cost of the extra submissions of the larger
class: ``(nbgrader(large) - nbgrader(small)) / (rnncourse(large) - rnncourse(small))``, in
which each tool's fixed costs (for rnncourse: warming up torch and nbgrader in the workers,
about 5 s, and the report) cancel. From the workers' own timings it also reports the
per-submission overhead beyond running the notebook. Prints a table and writes JSON
(``benchmarks/results/grading.json``, also merged into ``benchmarks/results.json``).
Timings depend on the machine's load: on a shared machine they are inflated, so report them
with the load (printed).

Usage: ``.venv/bin/python benchmarks/grading_bench.py [--sizes 10,30] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from rnncourse.assignments import scratch_course

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "rnn_cell"

#: (kind, answer cell, old, new): partial submissions break one part of a correct answer.
PARTIAL = [
    ("partial", "rnn_step_backward", '"b_hh": da.sum(axis=0)', '"b_hh": dh_next.sum(axis=0)'),
    ("partial", "rnn_step_forward", "h_prev @ W_hh.T + b_hh", "h_prev @ W_hh.T"),
    ("partial", "rnn_backward", "rnn_step_backward(dhs[:, t] + dh, caches[t])",
     "rnn_step_backward(dhs[:, t], caches[t])"),
    ("partial", "numeric_gradient_impl", "np.sum((plus - minus) * df)", "np.sum(plus - minus)"),
]


def _cells(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def make_submissions(n: int, source: Path, release: Path) -> dict[str, tuple[str, dict]]:
    """``{student: (kind, {file: bytes})}``: 40 % correct, 30 % partial, 30 % broken."""
    src = nbformat.read(source, as_version=4)
    rel = nbformat.read(release, as_version=4)
    out: dict[str, tuple[str, dict]] = {}
    for i in range(n):
        student = f"s{i:02d}"
        slot = i % 10
        if slot < 4:
            out[student] = ("correct", {f"{ASSIGNMENT}.ipynb": nbformat.writes(src).encode()})
        elif slot < 7:
            kind, grade_id, old, new = PARTIAL[i % len(PARTIAL)]
            nb = copy.deepcopy(src)
            cell = _cells(nb)[grade_id]
            cell.source = cell.source.replace(old, new)
            out[student] = (kind, {f"{ASSIGNMENT}.ipynb": nbformat.writes(nb).encode()})
        elif slot == 7:
            out[student] = ("untouched", {f"{ASSIGNMENT}.ipynb": nbformat.writes(rel).encode()})
        elif slot == 8:
            nb = copy.deepcopy(src)
            _cells(nb)["rnn_forward"].source += "\n    this is not python"
            out[student] = ("syntax error", {f"{ASSIGNMENT}.ipynb": nbformat.writes(nb).encode()})
        else:
            text = nbformat.writes(src)
            out[student] = ("invalid JSON",
                            {f"{ASSIGNMENT}.ipynb": text[: len(text) // 3].encode()})
    return out


def write_submissions(course: Path, subs: dict[str, tuple[str, dict]]) -> None:
    for student, (_, files) in subs.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).write_bytes(content)


def read_scores(course: Path, students) -> dict[str, dict[str, float]]:
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "rnn-course") as gb:
        cells = [c.name for nb in gb.find_assignment(ASSIGNMENT).notebooks
                 for c in nb.grade_cells]
        for student in students:
            try:
                sub = gb.find_submission(ASSIGNMENT, student)
                got = {g.name: float(g.score) for nb in sub.notebooks for g in nb.grades}
            except MissingEntry:
                got = {}
            out[student] = {c: got.get(c, 0.0) for c in cells}
    return out


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")])
    return env


def run_nbgrader(course: Path) -> float:
    nbgrader = Path(sysconfig.get_path("scripts")) / "nbgrader"
    start = time.monotonic()
    done = subprocess.run([str(nbgrader), "autograde", ASSIGNMENT, "--force"], cwd=course,
                          env=_env(), capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    (course / "nbgrader-autograde.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    return seconds


def run_rnncourse(course: Path, jobs: int) -> tuple[float, dict[str, float]]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rnncourse", "grade", ASSIGNMENT, "--course",
                           str(course), "--jobs", str(jobs), "--quiet"], env=_env(),
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"rnncourse grade failed:\n{done.stdout}\n{done.stderr}")
    print(done.stdout.strip())
    phases = dict((k, float(v)) for k, v in re.findall(r"(\w+) ([\d.]+) s", done.stdout.split(
        "phases:")[-1]))
    return seconds, phases


def worker_timings(course: Path) -> list[dict]:
    """Each graded submission's timing (``setup``, ``autograde``, ``judge``, ``feedback``,
    ``total`` seconds), from the run's result records."""
    folder = course / "grading-report" / ASSIGNMENT / "results"
    rows = []
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        timing = record.get("timing", {})
        if record["status"] == "graded" and "judge" in timing:
            rows.append({"student": record["student"], **timing})
    return rows


def compare(size: int, jobs: int, tmp: Path) -> dict:
    """Grade the same ``size`` submissions with both tools; times, scores and worker timings."""
    plain = scratch_course(tmp / f"plain{size}", [ASSIGNMENT], ROOT)
    ours = scratch_course(tmp / f"ours{size}", [ASSIGNMENT], ROOT)
    subs = make_submissions(size, ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                            plain / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    write_submissions(plain, subs)
    write_submissions(ours, subs)
    t_nbgrader = run_nbgrader(plain)
    t_ours, phases = run_rnncourse(ours, jobs)
    a = read_scores(plain, subs)
    b = read_scores(ours, subs)
    kinds: dict[str, int] = {}
    for kind, _ in subs.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"submissions": size, "kinds": kinds, "nbgrader_seconds": t_nbgrader,
            "rnncourse_seconds": t_ours, "phases": phases, "timings": worker_timings(ours),
            "mismatches": {s: {"nbgrader": a[s], "rnncourse": b[s]} for s in subs
                           if a[s] != b[s]},
            "totals": {s: sum(b[s].values()) for s in subs}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,30",
                        help="two class sizes, small,large (the mix repeats every ten)")
    parser.add_argument("--jobs", type=int, default=2, help="rnncourse grade --jobs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "grading.json"))
    args = parser.parse_args()
    small, large = sorted(int(n) for n in args.sizes.split(","))
    if not 0 < small < large:
        raise SystemExit("--sizes needs two different positive sizes, e.g. 10,30")

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnncourse-bench-") as tmp:
        runs = [compare(size, args.jobs, Path(tmp)) for size in (small, large)]
    first, last = runs
    extra = large - small
    nb_extra = last["nbgrader_seconds"] - first["nbgrader_seconds"]
    ours_extra = last["rnncourse_seconds"] - first["rnncourse_seconds"]
    timings = last["timings"]
    # the grader's own cost per submission: everything but running the student's code
    overhead = [t["total"] - t["judge"] for t in timings]
    no_feedback = [o - t.get("feedback", 0.0) for o, t in zip(overhead, timings, strict=True)]
    mismatches = {**first["mismatches"], **last["mismatches"]}
    result = {
        "submissions": large,
        "sizes": [small, large],
        "kinds": last["kinds"],
        "jobs": args.jobs,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "nbgrader_autograde_seconds": round(last["nbgrader_seconds"], 1),
        "rnncourse_grade_seconds": round(last["rnncourse_seconds"], 1),
        "end_to_end_ratio": round(last["nbgrader_seconds"] / last["rnncourse_seconds"], 2),
        "small_class": {"submissions": small,
                        "nbgrader_autograde_seconds": round(first["nbgrader_seconds"], 1),
                        "rnncourse_grade_seconds": round(first["rnncourse_seconds"], 1),
                        "end_to_end_ratio": round(first["nbgrader_seconds"]
                                                  / first["rnncourse_seconds"], 2)},
        "nbgrader_seconds_per_extra_submission": round(nb_extra / extra, 2),
        "rnncourse_seconds_per_extra_submission": round(ours_extra / extra, 2),
        "throughput_ratio": round(nb_extra / ours_extra, 2),
        "overhead_seconds_per_submission_mean": round(statistics.mean(overhead), 2),
        "overhead_seconds_per_submission_max": round(max(overhead), 2),
        "overhead_without_feedback_html_mean": round(statistics.mean(no_feedback), 2),
        "feedback_html_seconds_mean": round(
            statistics.mean(t.get("feedback", 0.0) for t in timings), 2),
        "judge_seconds_per_submission_mean": round(
            statistics.mean(t["judge"] for t in timings), 2),
        "rnncourse_phases_seconds": last["phases"],
        "identical_scores": not mismatches,
        "mismatches": mismatches,
        "totals": last["totals"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    try:  # also merge into benchmarks/results.json like the other benchmarks (make bench)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import record

        record("grading", {k: v for k, v in result.items() if k != "totals"})
    except ImportError:
        pass
    rows = [("submissions (kinds)", f"{small} and {large} {last['kinds']}")]
    for run in runs:
        n = run["submissions"]
        rows += [
            (f"{n}: nbgrader autograde (serial)", f"{run['nbgrader_seconds']:.1f} s"),
            (f"{n}: rnncourse grade --jobs {args.jobs}", f"{run['rnncourse_seconds']:.1f} s"),
            (f"{n}: end-to-end ratio",
             f"{run['nbgrader_seconds'] / run['rnncourse_seconds']:.2f}x"),
        ]
    rows += [
        ("seconds per extra submission (nbgrader / rnncourse)",
         f"{nb_extra / extra:.2f} s / {ours_extra / extra:.2f} s"),
        ("throughput ratio (extra submissions)", f"{result['throughput_ratio']:.2f}x"),
        (f"{large}: overhead per submission (mean / max)",
         f"{result['overhead_seconds_per_submission_mean']:.2f} s / "
         f"{result['overhead_seconds_per_submission_max']:.2f} s"),
        ("  of which feedback HTML (mean)", f"{result['feedback_html_seconds_mean']:.2f} s"),
        ("student process + judge per submission (mean)",
         f"{result['judge_seconds_per_submission_mean']:.2f} s"),
        (f"{large}: rnncourse phases (set-up / grading / report)",
         " / ".join(f"{last['phases'].get(k, 0):.1f} s" for k in ("setup", "grading", "report"))),
        ("identical scores", str(result["identical_scores"])),
        ("load average before / after", f"{load_before[0]:.1f} / {os.getloadavg()[0]:.1f}"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"wrote {args.out}")
    if mismatches:
        raise SystemExit(f"scores differ for {sorted(mismatches)}")


if __name__ == "__main__":
    main()
