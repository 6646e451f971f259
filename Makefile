# Two set-up commands on a fresh clone: `make book` and `make test`.
# Both create .venv when it is missing and reinstall only when pyproject.toml changes.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB     := $(BIN)/jupyter-book
BOOK_FLAGS := -W -n --keep-going
PIP_QUIET := --quiet --disable-pip-version-check --no-input

.PHONY: help setup book book-strict test lint pytest lab release audio bench clean pdf learner-edition

help:
	@echo "make book   set up .venv if needed, build the book with executed notebooks"
	@echo "make test   set up .venv if needed, lint, strict book build and the whole test suite"
	@echo "make lab    open JupyterLab on exercises/ (nbgrader's Validate button included)"
	@echo "make release  regenerate exercises/ from solutions/ (nbgrader generate_assignment)"
	@echo "make audio  regenerate the audio lessons (needs espeak-ng)"
	@echo "make bench  run the benchmarks under benchmarks/"
	@echo "make pdf    build the book and print it to one PDF (needs Debian's chromium)"
	@echo "make learner-edition  write the learners' tree (no solutions, hidden tests or grading) to _build/learner-edition"

$(STAMP): pyproject.toml constraints-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found. Install Python 3.11 (or run: make PYTHON=/path/to/python3.11 ...)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "error: $(PYTHON) is older than 3.11" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the course environment into $(VENV) (first time: a few minutes)..."
	@$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip 2>/dev/null || true
	@$(BIN)/python -m pip install $(PIP_QUIET) -c constraints-dev.txt -e '.[dev]' 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) \
	  || { echo "error: installing the environment failed. Is the package registry (PyPI) reachable?" >&2; exit 1; }
	@touch $(STAMP)

setup: $(STAMP)

book: setup
	$(JB) build . $(BOOK_FLAGS)
	@echo
	@echo "The book is built. Open: file://$(CURDIR)/_build/html/index.html"

# Three pytest workers, one test file each at a time. Most test files wait much of the time
# (kernels starting, sandboxes, browsers, subprocesses): with two workers a 2-core CI machine
# was busy for only 47 % of the run (user+sys 30.6 of 65.4 core-minutes), so a third worker
# fills the gaps.
PYTEST_WORKERS ?= 3

test: setup
	$(BIN)/ruff check .
	$(JB) build . $(BOOK_FLAGS)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=30

lint: setup
	$(BIN)/ruff check .

pytest: setup
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab --notebook-dir=exercises

release: setup
	$(BIN)/rnncourse release

audio: setup
	$(BIN)/rnncourse audio

# The HTML build prints the PDF at its end (rnncourse.sphinx.pdf) whenever a page changed;
# removing the PDF first prints it again even when nothing changed.
pdf: setup
	rm -f _build/html/rnn-course.pdf
	RNNCOURSE_REQUIRE_BROWSER=1 $(JB) build . $(BOOK_FLAGS)
	@echo
	@echo "The PDF is printed: $(CURDIR)/_build/html/rnn-course.pdf"

# The learner edition (rnncourse.publish): plain Python is enough, no environment needed.
learner-edition:
	$(PYTHON) -m rnncourse.publish _build/learner-edition

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf _build
