"""Benchmark: plain ``nbgrader autograde`` against ``rnncourse grade --jobs N`` (rnn_cell).

The same generated submissions (by default 20: correct, partial and broken ones) are graded
twice, each time in a fresh scratch course (never in the repository):

1. ``nbgrader autograde rnn_cell --force`` (one process, one student after another);
2. ``rnncourse grade rnn_cell --jobs N`` (the judge: the student's code in a bwrap sandbox
   without torch, the tests and points outside it).

It checks that both give identical scores per student and test cell (a submission that fails
to grade counts 0), and reports the wall times, the throughput ratio and, from the workers'
own timings, the per-submission overhead beyond executing the notebook (wall time
minus the time the student's process and the judge took). Prints a table and writes JSON
(``benchmarks/results/grading.json``, also merged into ``benchmarks/results.json``).
Timings depend on the machine's load: on a shared machine they are inflated, so report them
with the load (printed).

Usage: ``.venv/bin/python benchmarks/grading_bench.py [--n 20] [--jobs 2]``
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="number of submissions")
    parser.add_argument("--jobs", type=int, default=2, help="rnncourse grade --jobs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "grading.json"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnncourse-bench-") as tmp:
        tmp = Path(tmp)
        plain = scratch_course(tmp / "plain", [ASSIGNMENT], ROOT)
        ours = scratch_course(tmp / "ours", [ASSIGNMENT], ROOT)
        subs = make_submissions(args.n, ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                plain / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        write_submissions(plain, subs)
        write_submissions(ours, subs)
        t_nbgrader = run_nbgrader(plain)
        t_ours, phases = run_rnncourse(ours, args.jobs)
        a = read_scores(plain, subs)
        b = read_scores(ours, subs)
        timings = worker_timings(ours)
    mismatches = {s: {"nbgrader": a[s], "rnncourse": b[s]} for s in subs if a[s] != b[s]}
    # the grader's own cost per submission: everything but running the student's code
    overhead = [t["total"] - t["judge"] for t in timings]
    no_feedback = [o - t.get("feedback", 0.0) for o, t in zip(overhead, timings, strict=True)]
    kinds: dict[str, int] = {}
    for kind, _ in subs.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    result = {
        "submissions": args.n,
        "kinds": kinds,
        "jobs": args.jobs,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "nbgrader_autograde_seconds": round(t_nbgrader, 1),
        "rnncourse_grade_seconds": round(t_ours, 1),
        "throughput_ratio": round(t_nbgrader / t_ours, 2),
        "nbgrader_seconds_per_submission": round(t_nbgrader / args.n, 2),
        "rnncourse_seconds_per_submission": round(t_ours / args.n, 2),
        "overhead_seconds_per_submission_mean": round(statistics.mean(overhead), 2),
        "overhead_seconds_per_submission_max": round(max(overhead), 2),
        "overhead_without_feedback_html_mean": round(statistics.mean(no_feedback), 2),
        "feedback_html_seconds_mean": round(
            statistics.mean(t.get("feedback", 0.0) for t in timings), 2),
        "judge_seconds_per_submission_mean": round(
            statistics.mean(t["judge"] for t in timings), 2),
        "rnncourse_phases_seconds": phases,
        "identical_scores": not mismatches,
        "mismatches": mismatches,
        "totals": {s: sum(b[s].values()) for s in subs},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    try:  # also merge into benchmarks/results.json like the other benchmarks (make bench)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from common import record

        record("grading", {k: v for k, v in result.items() if k != "totals"})
    except ImportError:
        pass
    rows = [
        ("submissions (kinds)", f"{args.n} {kinds}"),
        ("nbgrader autograde (serial)", f"{t_nbgrader:.1f} s"),
        (f"rnncourse grade --jobs {args.jobs}", f"{t_ours:.1f} s"),
        ("throughput ratio", f"{result['throughput_ratio']:.2f}x"),
        ("overhead per submission (mean / max)",
         f"{result['overhead_seconds_per_submission_mean']:.2f} s / "
         f"{result['overhead_seconds_per_submission_max']:.2f} s"),
        ("  of which feedback HTML (mean)", f"{result['feedback_html_seconds_mean']:.2f} s"),
        ("student process + judge per submission (mean)",
         f"{result['judge_seconds_per_submission_mean']:.2f} s"),
        ("rnncourse phases (set-up / grading / report)",
         " / ".join(f"{phases.get(k, 0):.1f} s" for k in ("setup", "grading", "report"))),
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
