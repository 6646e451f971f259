"""``python -m rnncourse`` runs the command-line interface."""

from rnncourse.cli import app

app(prog_name="rnncourse")
