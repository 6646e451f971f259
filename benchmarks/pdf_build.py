"""How long printing the built book to one PDF takes (``make pdf``, the end of every HTML build).

Prints ``_build/html`` (or ``--html``) with Debian's chromium, as the Sphinx extension
``rnncourse.sphinx.pdf`` does, once per number of browsers printing at once, and records the
wall-clock seconds, the pages and the size under ``pdf_build`` in ``benchmarks/results.json``.
The book must be built first (``make book``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import ROOT, record, table
from rnncourse.sphinx.pdf import build_pdf, default_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, default_workers()])
    args = parser.parse_args()
    runs, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in dict.fromkeys(args.workers):  # once each, in the order given
            done = build_pdf(args.html, Path(tmp) / f"book-{workers}.pdf", workers=workers)
            runs[f"workers_{workers}"] = {
                "seconds": round(done["seconds"], 1), "pages": done["pages"],
                "book_pages": done["entries"], "mib": round(done["bytes"] / 2**20, 1),
            }
            rows.append([workers, done["seconds"], done["pages"], done["entries"],
                         done["bytes"] / 2**20])
    print(table(["browsers at once", "seconds", "PDF pages", "pages of the book", "MiB"],
                rows))
    record("pdf_build", {"runs": runs, "default_workers": default_workers()})


if __name__ == "__main__":
    main()
