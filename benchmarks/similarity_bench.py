"""Benchmark: the similarity report on 500 generated gru_cell submissions (goal: under 60 s).

Generates, in a scratch course under ``benchmarks/_work/similarity`` (never the repository's
``submitted/``), a class of gru_cell notebooks made from the released notebook:

- **independent** (70 %): each answer cell picks one of four correct implementations (the
  three of ``tests/fixtures/similarity/gru_cell/independent_*.py`` and the instructor's), then
  is rewritten as a different student would write it: operands of ``+`` and ``*`` swapped at
  random, ``a @ b`` written ``np.dot(a, b)`` or not, names of their own, their own layout.
  Two such submissions are truly independent only where their cells come from different
  implementations: pairs are reported by how many of the 3 cells share one;
- **copies of a classmate** (20 %) and **copies of the solution** (10 %): an independent
  submission (or the instructor's solution) disguised: every local renamed, comments added,
  reformatted (``ast.unparse`` plus random line breaks), independent statements reordered;
- three malformed notebooks (not JSON, no cells, missing), which must be reported.

It times :func:`rnncourse.similarity.similarity_report` (``--jobs`` processes), then scores every
pair again to show the distribution per kind of pair (the default threshold separates them).
Also scores, from the test fixtures, a submission that copies one function of three from a
classmate. Records under ``similarity_report`` in ``benchmarks/results.json``.

Usage: ``.venv/bin/python benchmarks/similarity_bench.py [--n 500] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import re
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from common import ROOT, Stopwatch, record, table
from rnncourse.similarity import SOLUTION, Settings, similarity_report
from rnncourse.similarity.compare import Boilerplate, compare, print_document
from rnncourse.similarity.notebooks import load_release, load_source, load_submission

ASSIGNMENT = "gru_cell"
FIXTURES = ROOT / "tests" / "fixtures" / "similarity" / ASSIGNMENT
WORK = ROOT / "benchmarks" / "_work" / "similarity"
SOURCE = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
KEEP = {"np", "sigmoid", "range", "zip", "dict", "sum", "int", "len", "enumerate", "tuple"}
COMMENTS = ["# gates", "# see the lesson", "# TODO check shapes", "# backward", "# reset gate",
            "# update", "# candidate", "# stack", "# done", "# (N, H)", "# chain rule"]


def fixture_cells(path: Path) -> dict[str, str]:
    """``{grade_id: code}`` from a fixture file with ``# %% <grade_id>`` sections."""
    parts = re.split(r"^# %% (\S+)\n", path.read_text(), flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def implementations() -> dict[str, list[str]]:
    """Four correct implementations of each answer cell."""
    solution, _ = load_source(SOURCE)
    impls: dict[str, list[str]] = {c.cell_id: [c.source] for c in solution.cells}
    for path in sorted(FIXTURES.glob("independent_*.py")):
        for grade_id, code in fixture_cells(path).items():
            impls[grade_id].append(code)
    return impls


class _Rewrite(ast.NodeTransformer):
    """Rename locals, optionally swap commutative operands and toggle ``@``/``np.dot``."""

    def __init__(self, rng: random.Random, mutate: bool) -> None:
        self.rng, self.mutate, self.names = rng, mutate, {}

    def _new(self, name: str) -> str:
        if name in KEEP or name.startswith("__"):
            return name
        if name not in self.names:
            stem = self.rng.choice(["v", "tmp", "g", "val", "q", "m", "t", "arr", "res", "w"])
            self.names[name] = f"{stem}{len(self.names)}_{self.rng.randrange(100)}"
        return self.names[name]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)  # the function's name and parameters are the stub's: kept
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.copy_location(ast.Name(self._new(node.id), node.ctx), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not self.mutate:
            return node
        if isinstance(node.op, ast.Add | ast.Mult) and self.rng.random() < 0.5:
            node.left, node.right = node.right, node.left
        elif isinstance(node.op, ast.MatMult) and self.rng.random() < 0.5:
            dot = ast.Attribute(ast.Name("np", ast.Load()), "dot", ast.Load())
            return ast.copy_location(ast.Call(dot, [node.left, node.right], []), node)
        return node


def _parameters(tree: ast.Module) -> set[str]:
    return {a.arg for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
            for a in f.args.args} | {f.name for f in ast.walk(tree)
                                     if isinstance(f, ast.FunctionDef)}


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names stored, names loaded) in a statement."""
    stored, loaded = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (stored if isinstance(sub.ctx, ast.Store) else loaded).add(sub.id)
    return stored, loaded


def _reorder(body: list[ast.stmt], rng: random.Random) -> None:
    """Swap neighbouring statements that neither read nor write what the other writes."""
    for i in range(len(body) - 1):
        a, b = body[i], body[i + 1]
        if isinstance(a, ast.Return | ast.FunctionDef) or isinstance(b, ast.Return):
            continue
        (sa, la), (sb, lb) = _names(a), _names(b)
        if not (sa & (sb | lb) or sb & la) and rng.random() < 0.6:
            body[i], body[i + 1] = b, a


def _layout(code: str, rng: random.Random) -> str:
    """Comments, blank lines and spacing of one's own."""
    out = []
    for line in code.splitlines():
        if line.strip() and rng.random() < 0.15:
            out.append(line[: len(line) - len(line.lstrip())] + rng.choice(COMMENTS))
        if rng.random() < 0.2 and not line.rstrip().endswith((":", ",")):
            line += "  " + rng.choice(COMMENTS)
        if rng.random() < 0.3:
            line = (line.replace(" = ", "=", 1) if " = " in line
                    else re.sub(r"(?<=[\w)\]])=(?=[\w(\[])", " = ", line, count=1))
        out.append(line)
        if rng.random() < 0.1:
            out.append("")
    return "\n".join(out) + "\n"


def rewrite(code: str, rng: random.Random, *, mutate: bool, reorder: bool) -> str:
    """``code`` renamed, reformatted and (``mutate``) rewritten, (``reorder``) reordered."""
    tree = ast.parse(code)
    keep = _parameters(tree)
    rewriter = _Rewrite(rng, mutate)
    rewriter.names = {name: name for name in keep}
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    if reorder:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                _reorder(node.body, rng)
    return _layout(ast.unparse(tree), rng)


def generate(course: Path, n: int, seed: int = 0) -> dict[str, tuple[str, str]]:
    """Write ``n`` submissions (plus 3 malformed ones); ``{student: (kind, origin)}``."""
    rng = random.Random(seed)
    shutil.rmtree(course, ignore_errors=True)
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(SOURCE, course / "solutions" / ASSIGNMENT)
    (course / "exercises" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(RELEASE, course / "exercises" / ASSIGNMENT)
    release = json.loads(RELEASE.read_text())
    impls = implementations()
    solution = {grade_id: variants[0] for grade_id, variants in impls.items()}
    labels: dict[str, tuple[str, str]] = {}
    code: dict[str, dict[str, str]] = {}
    for i in range(n):
        student = f"s{i:04d}"
        draw = rng.random()
        independents = [s for s, (kind, _) in labels.items() if kind == "independent"]
        if draw < 0.2 and independents:
            origin = rng.choice(independents)
            cells = {g: rewrite(c, rng, mutate=False, reorder=True)
                     for g, c in code[origin].items()}
            labels[student] = ("copy", origin)
        elif draw < 0.3:
            cells = {g: rewrite(c, rng, mutate=False, reorder=True) for g, c in solution.items()}
            labels[student] = ("solution copy", SOLUTION)
        else:
            picks = {g: rng.randrange(len(v)) for g, v in impls.items()}
            cells = {g: rewrite(impls[g][p], rng, mutate=True, reorder=True)
                     for g, p in picks.items()}
            labels[student] = ("independent", "/".join(map(str, picks.values())))
        code[student] = cells
        notebook = copy.deepcopy(release)
        for cell in notebook["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in cells:
                cell["source"] = cells[grade_id]
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook, indent=1))
    for student, text in (("x-notjson", "{\"cells\": ["), ("x-nocells", "{\"nbformat\": 4}")):
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
    (course / "submitted" / "x-missing" / ASSIGNMENT).mkdir(parents=True)
    return labels


def pair_kind(a: str, b: str, labels: dict[str, tuple[str, str]]) -> str:
    """What a pair is by construction."""
    (ka, oa), (kb, ob) = labels[a], labels.get(b, ("solution", SOLUTION))
    if kb == "solution":
        return "solution copy vs solution" if ka == "solution copy" else "independent vs solution"
    if (ka == "copy" and oa == b) or (kb == "copy" and ob == a):
        return "copy vs its original"
    if ka == kb == "solution copy":
        return "two solution copies"
    root_a = oa if ka == "copy" else a
    root_b = ob if kb == "copy" else b
    if root_a == root_b:
        return "two copies of one original"
    kinds = {ka, kb}
    if kinds == {"independent"} or (kinds <= {"independent", "copy"}):
        pa = labels[root_a][1].split("/") if labels[root_a][0] == "independent" else None
        pb = labels[root_b][1].split("/") if labels[root_b][0] == "independent" else None
        if pa and pb:
            same = sum(x == y for x, y in zip(pa, pb, strict=True))
            return f"independent, {same}/3 cells rewritten from one implementation"
    return "independent vs solution copy"


def distribution(course: Path, labels: dict[str, tuple[str, str]], settings: Settings
                 ) -> dict[str, dict[str, float]]:
    """Score every pair again (untimed) and summarise the scores per kind of pair."""
    solution, boiler = load_source(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    boilerplate = Boilerplate.from_cells(list(boiler) + list(load_release(RELEASE)), settings)
    students = sorted(labels)
    docs = [print_document(load_submission(s, course / "submitted" / s / ASSIGNMENT /
                                           f"{ASSIGNMENT}.ipynb"), settings, boilerplate)
            for s in students]
    docs.append(print_document(solution, settings, boilerplate))
    comparison = compare(docs, boilerplate, settings, students=[True] * len(students) + [False])
    names = [*students, SOLUTION]
    scores: dict[tuple[int, int], float] = {
        (int(r), int(c)): float(s) for r, c, s in
        zip(comparison.rows, comparison.cols, comparison.scores(), strict=True)}
    by_kind: dict[str, list[float]] = {}
    n = len(names)
    for i in range(n):
        for j in range(i + 1, n):
            kind = pair_kind(names[i], names[j], labels)
            by_kind.setdefault(kind, []).append(scores.get((i, j), 0.0))
    summary = {}
    for kind, values in sorted(by_kind.items()):
        v = np.array(values)
        summary[kind] = {
            "pairs": len(v), "min": float(v.min()), "p01": float(np.percentile(v, 1)),
            "median": float(np.median(v)), "p99": float(np.percentile(v, 99)),
            "max": float(v.max()), "listed_share": float((v >= settings.threshold).mean()),
        }
    return summary


def write_notebook(course: Path, student: str, cells: dict[str, str]) -> None:
    """The released notebook with its answer cells replaced by ``cells``."""
    notebook = json.loads(RELEASE.read_text())
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            cell["source"] = cells[grade_id]
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(notebook, indent=1))


def partial_copies(settings: Settings) -> dict[str, float]:
    """Score of a submission that copies one function (disguised) from a classmate.

    The classmate is ``independent_a``; the copier takes one cell of ``copy_of_a`` and writes
    the other two like ``independent_b`` / ``independent_c``: one score per copied cell.
    """
    course = WORK / "partial"
    shutil.rmtree(course, ignore_errors=True)
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(SOURCE, course / "solutions" / ASSIGNMENT)
    original = fixture_cells(FIXTURES / "independent_a.py")
    disguised = fixture_cells(FIXTURES / "copy_of_a.py")
    other = {**fixture_cells(FIXTURES / "independent_b.py"),
             "gru_step_backward": fixture_cells(FIXTURES / "independent_c.py")[
                 "gru_step_backward"]}
    write_notebook(course, "original", original)
    for grade_id in original:
        write_notebook(course, f"copied-{grade_id}", {**other, grade_id: disguised[grade_id]})
    report = similarity_report(ASSIGNMENT, course, settings=replace(settings, threshold=0.0))
    return {p.a.removeprefix("copied-"): p.score for p in report.pairs if p.b == "original"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="generated submissions")
    parser.add_argument("--jobs", type=int, default=2, help="processes reading notebooks")
    parser.add_argument("--no-record", action="store_true", help="do not write results.json")
    args = parser.parse_args()
    course = WORK / "course"
    labels = generate(course, args.n)
    settings = Settings()
    with Stopwatch() as sw:
        report = similarity_report(ASSIGNMENT, course, settings=settings, jobs=args.jobs)
    kinds = Counter(kind for kind, _ in labels.values())
    listed = Counter(pair_kind(p.a, p.b, labels) for p in report.pairs)
    summary = distribution(course, labels, settings)
    partial = partial_copies(settings)
    print(f"{args.n} submissions ({dict(kinds)}), {len(report.problems)} reported as "
          f"unreadable, --jobs {args.jobs}, load {os.getloadavg()[0]:.1f}")
    print(table(["phase", "seconds"], [*report.phases.items(), ("total", sw.seconds)]))
    print(table(["pair kind", "pairs", "min", "p01", "median", "p99", "max",
                 f"listed (>= {settings.threshold})"],
                [(k, s["pairs"], s["min"], s["p01"], s["median"], s["p99"], s["max"],
                  f"{s['listed_share']:.1%}") for k, s in summary.items()]))
    print(table(["one function copied (disguised), the other two written otherwise", "score"],
                sorted(partial.items())))
    print(f"listed pairs: {len(report.pairs)} ({dict(listed)}) in {len(report.groups)} "
          f"groups; report: {report.index}")
    if not args.no_record:
        record("similarity_report", {
            "command": f"benchmarks/similarity_bench.py --n {args.n} --jobs {args.jobs}",
            "submissions": args.n, "jobs": args.jobs, "seconds": sw.seconds,
            "goal_s": 60.0, "phases_s": report.phases, "kinds": dict(kinds),
            "unreadable_reported": len(report.problems), "listed_pairs": len(report.pairs),
            "listed_by_kind": dict(listed), "groups": len(report.groups),
            "settings": {"k": settings.k, "window": settings.window,
                         "threshold": settings.threshold,
                         "common_fraction": settings.common_fraction,
                         "common_min": settings.common_min},
            "scores_by_pair_kind": summary, "one_function_copied_scores": partial,
            "load_1min": os.getloadavg()[0],
        })


if __name__ == "__main__":
    main()
