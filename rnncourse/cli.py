"""The ``rnncourse`` command line: one typer app, each command a thin layer over a module.

Each command imports its implementation lazily so that ``rnncourse --help`` stays fast and a
missing optional tool only affects the command that needs it.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Tools for the RNN course: release exercises, grade submissions, make audio lessons.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Tools for the RNN course."""


@app.command()
def version() -> None:
    """Print the version of the rnncourse package."""
    from rnncourse import __version__

    typer.echo(__version__)


# --- release (owner: assignments) -----------------------------------------------------------


@app.command("release")
def release_command(
    names: list[str] = typer.Argument(  # noqa: B008
        None, help="Assignments to release (default: every one whose source exists)."
    ),
    root: str = typer.Option(".", help="Course directory (the repository root)."),
) -> None:
    """Regenerate exercises/<name>/ from solutions/<name>/ (nbgrader generate_assignment)."""
    from pathlib import Path

    from rnncourse.assignments import NbgraderError, available, release

    if not names and not available(Path(root)):
        typer.echo(f"no source notebooks under {Path(root) / 'solutions'}", err=True)
        raise typer.Exit(1)
    try:
        written = release(names or None, root=Path(root))
    except (NbgraderError, ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for path in written:
        typer.echo(str(path))


# --- grade (owner: grading) -----------------------------------------------------------------


@app.command("grade")
def grade_command(
    assignment: str = typer.Argument(..., help="Assignment name, e.g. rnn_cell."),
    course: str = typer.Option(".", "--course", help="nbgrader course directory."),
    submitted: str = typer.Option(
        None, "--submitted", help="Folder in <student>/<assignment>/ layout (default: the "
        "course's submitted/)."),
    zip_path: str = typer.Option(
        None, "--zip", help="LMS download (zip) to collect first: Canvas, Moodle and "
        "Blackboard downloads are recognised from their file names."),
    lms: str = typer.Option(
        "auto", "--lms", help="Format of the --zip download: auto, canvas, moodle, blackboard "
        "or generic (--regexp)."),
    regexp: str = typer.Option(
        None, "--regexp", help="Regular expression with (?P<student_id>...) and "
        "(?P<file_id>...) mapping the zip's file names to students (implies --lms generic)."),
    exchange: bool = typer.Option(False, "--exchange", help="Collect from nbgrader's exchange."),
    student: list[str] = typer.Option(None, "--student", help="Grade only this student (repeat)."),  # noqa: B008
    jobs: int = typer.Option(0, "--jobs", "-j", help="Local worker processes (0: one per core)."),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Dask scheduler address, tcp://... or tls://... (instead of "
        "--jobs)."),
    tls_ca: str = typer.Option(None, "--tls-ca", help="CA certificate file for tls://."),
    tls_cert: str = typer.Option(None, "--tls-cert", help="Client certificate for tls://."),
    tls_key: str = typer.Option(None, "--tls-key", help="Client key for tls://."),
    db: str = typer.Option(None, "--db", help="Gradebook URL (default: the course's SQLite)."),
    sandbox: str = typer.Option(
        "auto", "--sandbox", help="Isolation of the student's code: auto (bubblewrap; stops if "
        "it is missing), bwrap, unshare or none."),
    cell_timeout: int = typer.Option(240, "--cell-timeout", help="Seconds per notebook cell."),
    call_timeout: int = typer.Option(60, "--call-timeout", help="Seconds per call of a "
                                     "student's function by the judge."),
    notebook_timeout: int = typer.Option(1200, "--notebook-timeout", help="Seconds per notebook."),
    memory: str = typer.Option("4G", "--memory", help="Memory (address space) per student "
                               "process."),
    retries: int = typer.Option(2, "--retries", help="Retries of a submission when the "
                                "grading machinery fails (never for the student's own faults)."),
    secret_file: str = typer.Option(
        None, "--secret-file", help="Course secret seeding the hidden cases (default "
        "~/.config/rnncourse/<course>.secret, created on first use)."),
    report: str = typer.Option(
        None, "--report", help="Report folder (default: grading-report/<assignment>)."),
    force: bool = typer.Option(False, "--force", help="Regrade finished submissions."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Regrade failed ones."),
    no_feedback: bool = typer.Option(False, "--no-feedback", help="Skip the feedback HTML."),
    feedback_only: bool = typer.Option(
        False, "--feedback-only", help="Only rewrite feedback/ from the gradebook (after manual "
        "grading in the formgrader); grade nothing."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Grade every submission of ASSIGNMENT: the judge outside the student's process.

    Writes the gradebook, autograded/, feedback/ (no hidden tests) and
    grading-report/<assignment>/. Rerun the same command to resume an interrupted run.
    """
    from pathlib import Path

    from rnncourse.grading.collect import CollectError, collect_lms
    from rnncourse.grading.job import GradingSettings, Limits, parse_size
    from rnncourse.grading.runner import (
        CourseBusyError,
        SandboxChoiceError,
        grade,
        load_course_config,
    )
    from rnncourse.grading.sandbox import SandboxUnavailableError
    from rnncourse.grading.template import AssignmentNotInGradebookError

    root = Path(course).resolve()
    if feedback_only:
        from rnncourse.grading.feedback import generate_feedback

        for who in student or ["*"]:
            for path in generate_feedback(root, assignment, who, db_url=db,
                                          config=load_course_config(root)):
                typer.echo(str(path))
        return
    if zip_path:  # collect first, and say what was and was not collected
        try:
            collected = collect_lms(root, assignment, Path(zip_path), lms=lms, regexp=regexp,
                                    config=load_course_config(root))
        except CollectError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        for line in collected.lines():
            typer.echo(line)
        submitted = str(collected.submitted)
    elif lms != "auto":
        typer.echo("error: --lms describes a --zip download", err=True)
        raise typer.Exit(1)
    security = None
    tls_files = {"--tls-ca": tls_ca, "--tls-cert": tls_cert, "--tls-key": tls_key}
    if scheduler and scheduler.startswith("tls://"):
        from distributed.security import Security

        missing = [flag for flag, value in tls_files.items()
                   if not value or not Path(value).is_file()]
        if missing:
            typer.echo(f"error: a tls:// scheduler needs {', '.join(missing)} (PEM files: the "
                       "cluster's CA certificate, this client's certificate and key)", err=True)
            raise typer.Exit(1)

        security = Security(tls_ca_file=tls_ca, tls_client_cert=tls_cert,
                            tls_client_key=tls_key, require_encryption=True)
    elif any(tls_files.values()):
        typer.echo("error: --tls-ca/--tls-cert/--tls-key go with a tls:// --scheduler", err=True)
        raise typer.Exit(1)
    try:
        limits = Limits(cell_timeout=cell_timeout, call_timeout=call_timeout,
                        notebook_timeout=notebook_timeout, memory_bytes=parse_size(memory))
        run = grade(
            assignment, root, submitted=Path(submitted) if submitted else None,
            exchange=exchange, students=student or None, jobs=jobs or None,
            scheduler=scheduler, security=security, db_url=db,
            settings=GradingSettings(limits=limits, feedback=not no_feedback),
            sandbox_choice=sandbox, secret_file=Path(secret_file) if secret_file else None,
            report_dir=Path(report) if report else None, force=force,
            retry_failed=retry_failed, retries=retries, progress=not quiet,
            say=lambda text: typer.echo(text, err=True))
    except (CollectError, AssignmentNotInGradebookError, SandboxUnavailableError,
            SandboxChoiceError, CourseBusyError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{assignment}: {len(run.graded)} graded, {len(run.failed)} failed, "
               f"{len(run.not_graded)} not graded (run again), {len(run.skipped)} skipped "
               f"(done earlier) in {run.seconds:.1f} s [sandbox: {run.mode}; {run.where}]")
    for who, reason in sorted(run.failed.items()):
        typer.echo(f"  failed {who}: {reason}")
    for who, cause in sorted(run.not_graded.items()):
        typer.echo(f"  not graded {who}: {cause}")
    if run.mode == "none":
        typer.echo("warning: no sandbox: student code ran with the grader's file access; see "
                   "the README", err=True)
    typer.echo(f"report: {run.report.get('summary', '')}")
    typer.echo("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.phases.items()))
    if run.not_graded:
        raise typer.Exit(2)


@app.command("publish")
def publish_command(
    dest: str = typer.Argument(..., help="Folder to write the learner edition to."),
    branch: str = typer.Option(None, "--branch", help="Also commit it as this git branch."),
    root: str = typer.Option(".", "--root", help="The instructor repository."),
) -> None:
    """Write the learner edition (no solutions, hidden tests or grading) to DEST."""
    from rnncourse.publish import command

    command(dest, branch=branch, root=root)


# --- similarity (owner: similarity report) --------------------------------------------------


@app.command("similarity")
def similarity_command(
    assignment: str = typer.Argument(..., help="Assignment name, e.g. gru_cell."),
    course: str = typer.Option(".", "--course", help="nbgrader course directory."),
    submitted: str = typer.Option(
        None, "--submitted", help="Folder in <student>/<assignment>/ layout (default: the "
        "course's submitted/)."),
    threshold: float = typer.Option(
        None, "--threshold", min=0.0, max=1.0,
        help="List pairs scoring at least this (Jaccard of fingerprints; default 0.5)."),
    out: str = typer.Option(
        None, "--out", help="Report folder (default: grading-report/<assignment>/similarity)."),
    max_views: int = typer.Option(500, "--max-views", help="Side-by-side pages for the top "
                                  "pairs at most."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes reading notebooks (0: one "
                             "per core)."),
) -> None:
    """List submissions whose answer cells look alike, or like the instructor's solution.

    Comments, names, literals and layout are ignored and the released stubs never count.
    Writes pairs.csv, problems.csv, index.html and side-by-side views/.
    """
    import dataclasses
    import os
    from pathlib import Path

    from rnncourse.similarity import NotebookError, Settings, similarity_report

    settings = Settings()
    if threshold is not None:
        settings = dataclasses.replace(settings, threshold=threshold)
    try:
        report = similarity_report(
            assignment, Path(course), submitted=Path(submitted) if submitted else None,
            out=Path(out) if out else None, settings=settings, max_views=max_views,
            jobs=jobs or os.cpu_count() or 1)
    except (NotebookError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{assignment}: {report.compared} submissions compared, {len(report.pairs)} "
               f"pairs at or above {settings.threshold:.2f}, {len(report.problems)} not "
               f"compared, in {report.seconds:.1f} s")
    for pair in report.pairs:
        typer.echo(f"  {pair.score:.2f}  {pair.a} ~ {pair.b}")
    for who, why in sorted(report.problems.items()):
        typer.echo(f"  not compared {who}: {why}")
    typer.echo(f"report: {report.index}")


# --- audio (owner: audio lessons) -----------------------------------------------------------


@app.command()
def audio(
    force: bool = typer.Option(False, "--force", help="Regenerate every dialogue."),
    root: str = typer.Option(".", "--root", help="Book root holding chapters/dialogues/."),
) -> None:
    """Speak the dialogues (chapters/dialogues/*.yml) into chapters/audio/ with eSpeak NG.

    Only dialogues whose transcript changed since the last run are regenerated.
    """
    from pathlib import Path

    from rnncourse.audio import DialogueError, EngineMissingError, generate

    try:
        report = generate(Path(root), force=force, log=typer.echo)
    except (DialogueError, EngineMissingError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    typer.echo(
        f"audio: {len(report.generated)} generated, {len(report.unchanged)} unchanged,"
        f" {len(report.removed)} removed in {report.seconds:.1f} s;"
        f" {len(report.entries)} files, {report.total_bytes() / 1024:.0f} KiB,"
        f" {report.total_duration_s():.0f} s of speech"
    )


# --- export (owner: LMS export) -------------------------------------------------------------


@app.command("export")
def export_command(
    names: list[str] = typer.Argument(..., help="Assignments to export, in column order."),  # noqa: B008
    fmt: str = typer.Option(..., "--format", help="canvas, moodle or csv."),
    out: str = typer.Option(
        None, "--out", help="File to write (moodle with several assignments: a folder; "
        "default: grading-report/)."),
    course: str = typer.Option(".", "--course", help="nbgrader course directory."),
    db: str = typer.Option(None, "--db", help="Gradebook URL (default: the course's SQLite)."),
    missing_as_zero: bool = typer.Option(
        False, "--missing-as-zero", help="Write 0, not a blank, for students without a graded "
        "submission."),
    title: list[str] = typer.Option(  # noqa: B008
        None, "--title", help="NAME=TEXT: column title of an assignment (Canvas matches "
        "'Title (id)' or the title of an existing assignment)."),
) -> None:
    """Write the grade file Canvas, Moodle or a spreadsheet imports, from the gradebook.

    Scores are nbgrader's, late penalties applied; students are found in the LMS with
    lms-students.csv (written when an LMS download is collected). Every cell that is not a
    final grade is listed on stderr.
    """
    from pathlib import Path

    from rnncourse.grading.export import ExportError, export_grades
    from rnncourse.grading.lms import RosterError

    titles = {}
    for item in title or []:
        name, sep, text = item.partition("=")
        if not sep or not name or not text:
            typer.echo(f"error: --title wants NAME=TEXT, not {item!r}", err=True)
            raise typer.Exit(1)
        titles[name] = text
    try:
        result = export_grades(Path(course), names, fmt, Path(out) if out else None,
                               db_url=db, missing_as_zero=missing_as_zero, titles=titles)
    except (ExportError, RosterError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    for path in result.files:
        typer.echo(str(path))
    typer.echo(f"{fmt}: {result.rows} rows, {result.graded} grades written; "
               f"{len(result.problems)} cells or students need attention", err=True)
    for line in [*result.notes, *result.problems]:
        typer.echo(f"  {line}", err=True)
