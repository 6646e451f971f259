"""The ``rnncourse`` command: one typer app; each job lives in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Tools for the RNN course: release exercises, grade submissions, make audio lessons.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def version() -> None:
    """Print the version of the rnncourse package."""
    from rnncourse import __version__

    typer.echo(__version__)
