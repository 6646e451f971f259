"""Grade exports and the run report, all read back from the course gradebook.

Written to the report folder of the assignment (default ``grading-report/<assignment>/``):

``grades.csv``
    nbgrader's own CSV export (:class:`~nbgrader.plugins.export.CsvExportPlugin`).
``questions.csv``
    one row per student, one column per graded cell (``<notebook>/<grade_id>``), the points
    from the gradebook (manual score where a grader set one); a ``max`` row first.
``hist_total.png``, ``hist_questions.png``
    histograms of the total score and of each question's points.
``failures.csv``
    every submission that failed to grade, with the reason; those not graded because of the
    machinery (after retries: run again); those graded with notes (restored cells, timeouts,
    a dead student process, extra files) or flags (suspicious code).
``summary.md``
    counts, the sandbox mode, what was retried and why, and the lists above in words.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin


def export_grades(db_url: str, course_id: str, assignment: str, path: Path) -> Path:
    """nbgrader's grades CSV for ``assignment``."""
    with Gradebook(db_url, course_id) as gb:
        plugin = CsvExportPlugin(to=str(path), assignment=[assignment])
        plugin.export(gb)
    return path


def question_table(db_url: str, course_id: str, assignment: str
                   ) -> tuple[list[str], dict[str, float], dict[str, dict[str, float]]]:
    """``(columns, max points per column, {student: {column: points}})``."""
    columns: list[str] = []
    maxima: dict[str, float] = {}
    rows: dict[str, dict[str, float]] = {}
    with Gradebook(db_url, course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            return columns, maxima, rows
        for nb in sorted(a.notebooks, key=lambda n: n.name):
            for cell in nb.grade_cells:
                column = f"{nb.name}/{cell.name}"
                columns.append(column)
                maxima[column] = float(cell.max_score)
        for submission in a.submissions:
            row = {}
            for snb in submission.notebooks:
                for grade in snb.grades:
                    row[f"{snb.notebook.name}/{grade.name}"] = float(grade.score)
            rows[submission.student.id] = row
    order = {c: i for i, c in enumerate(columns)}
    columns.sort(key=lambda c: order[c])
    return columns, maxima, rows


def write_questions_csv(path: Path, columns: list[str], maxima: dict[str, float],
                        rows: dict[str, dict[str, float]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", *columns, "total"])
        writer.writerow(["max", *(maxima[c] for c in columns), sum(maxima.values())])
        for student in sorted(rows):
            row = rows[student]
            writer.writerow([student, *(row.get(c, 0.0) for c in columns),
                             sum(row.get(c, 0.0) for c in columns)])
    return path


def load_plotting() -> None:
    """Import matplotlib's figure and Agg canvas ahead of :func:`write_histograms`: a second
    the runner spends while its workers warm up instead of after grading."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def write_histograms(folder: Path, assignment: str, columns: list[str],
                     maxima: dict[str, float], rows: dict[str, dict[str, float]]) -> list[Path]:
    """``hist_total.png`` and ``hist_questions.png`` (Agg backend, no display needed)."""
    import numpy as np
    from matplotlib.figure import Figure

    totals = [sum(r.get(c, 0.0) for c in columns) for r in rows.values()]
    top = sum(maxima.values()) or 1.0
    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.add_subplot()
    bins = np.linspace(0, top, min(int(top), 20) + 1 if top >= 1 else 11)
    ax.hist(totals, bins=bins, color="tab:blue", edgecolor="white")
    ax.set_xlabel(f"total score (points, out of {top:g})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{assignment}: total scores ({len(totals)} graded)")
    total_path = folder / "hist_total.png"
    fig.savefig(total_path, bbox_inches="tight")

    n = max(1, len(columns))
    ncols = min(4, n)
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(3.2 * ncols, 2.6 * nrows), dpi=100)
    for i, column in enumerate(columns):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        values = [r.get(column, 0.0) for r in rows.values()]
        top_q = maxima[column] or 1.0
        ax.hist(values, bins=np.linspace(0, top_q, 6), color="tab:green", edgecolor="white")
        ax.set_title(column.split("/", 1)[1], fontsize=8)
        ax.set_xlabel(f"points (of {top_q:g})", fontsize=8)
        ax.set_ylabel("submissions", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    questions_path = folder / "hist_questions.png"
    fig.savefig(questions_path)
    return [total_path, questions_path]


def load_results(state_dir: Path) -> dict[str, dict]:
    """The stored per-submission results of the latest run(s)."""
    results = {}
    for path in sorted((Path(state_dir) / "results").glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        results[record["student"]] = record
    return results


def write_failures_csv(path: Path, results: dict[str, dict],
                       not_graded: dict[str, str] | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "status", "reason", "notes", "flags"])
        for student, cause in sorted((not_graded or {}).items()):
            writer.writerow([student, "not graded: retry", cause, "", ""])
        for student, r in sorted(results.items()):
            if student in (not_graded or {}):
                continue
            if r["status"] == "graded" and not r.get("notes") and not r.get("flags"):
                continue
            writer.writerow([student, r["status"], r.get("reason") or "",
                             " | ".join(r.get("notes", [])), " | ".join(r.get("flags", []))])
    return path


def write_report(db_url: str, course_id: str, assignment: str, state_dir: Path,
                 stats: dict | None = None, *, not_graded: dict[str, str] | None = None,
                 retried: dict[str, list[str]] | None = None) -> dict[str, Path]:
    """Write every file listed in the module docstring; return them by name."""
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"grades": export_grades(db_url, course_id, assignment, folder / "grades.csv")}
    columns, maxima, rows = question_table(db_url, course_id, assignment)
    out["questions"] = write_questions_csv(folder / "questions.csv", columns, maxima, rows)
    if columns:
        out["hist_total"], out["hist_questions"] = write_histograms(
            folder, assignment, columns, maxima, rows)
    results = load_results(folder)
    out["failures"] = write_failures_csv(folder / "failures.csv", results, not_graded)
    failed = {s: r for s, r in results.items() if r["status"] == "failed"}
    noted = {s: r for s, r in results.items()
             if r["status"] == "graded" and (r.get("notes") or r.get("flags"))}
    lines = [f"# Grading report: {assignment}", ""]
    if stats:
        lines += [f"- {k}: {v}" for k, v in stats.items()] + [""]
    lines += [f"- graded: {len(results) - len(failed)}", f"- failed: {len(failed)}", ""]
    if not_graded:
        lines += ["## Not graded: run again", "",
                  "The grading machinery failed for these (after retries); nothing was written "
                  "for them and their earlier grades, if any, are unchanged.", ""]
        lines += [f"- **{s}**: {cause}" for s, cause in sorted(not_graded.items())] + [""]
    if retried:
        lines += ["## Retried", ""]
        lines += [f"- **{s}**: " + "; ".join(causes) for s, causes in sorted(retried.items())]
        lines.append("")
    if failed:
        lines += ["## Failed to grade", ""]
        lines += [f"- **{s}**: {r.get('reason')}" for s, r in sorted(failed.items())] + [""]
    if noted:
        lines += ["## Graded, with notes or flags", ""]
        for s, r in sorted(noted.items()):
            items = [*r.get("notes", []), *(f"flag: {f}" for f in r.get("flags", []))]
            lines.append(f"- **{s}**: " + "; ".join(items))
        lines.append("")
    out["summary"] = folder / "summary.md"
    out["summary"].write_text("\n".join(lines), encoding="utf-8")
    return out
