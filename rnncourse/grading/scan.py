"""Static scan of a submission's own code for constructs that try to tamper with grading.

No such construct can raise a score: the tests run in the judge, outside the student's
process (:mod:`rnncourse.judge`). What is left is a signal of intent: this scan reads the
code the student could edit (answer cells and cells they added, never the instructor's
locked cells) and names what deserves a human look: patching modules or builtins, IPython
hooks, introspection that reaches the grader's objects, file and process access, ``exec``.
A flagged submission keeps its scores; it is marked ``flagged`` in the gradebook (the
formgrader shows the flag) and listed with the reasons in the report.
"""

from __future__ import annotations

import ast

import nbformat
from nbgrader import utils

#: Modules whose attributes a submission has no reason to assign.
WATCHED_MODULES = {
    "np", "numpy", "torch", "nn", "F", "checks", "reference", "rnncourse", "builtins",
    "math", "operator", "sys", "os", "IPython", "unittest", "pytest",
}
#: Names whose mere use is suspicious in an answer cell.
WATCHED_NAMES = {
    "get_ipython": "uses get_ipython() (IPython internals)",
    "__builtins__": "touches __builtins__",
    "__import__": "calls __import__",
    "exec": "calls exec()",
    "eval": "calls eval()",
    "compile": "calls compile()",
    "globals": "uses globals()",
    "setattr": "calls setattr()",
    "delattr": "calls delattr()",
    "open": "opens files",
}
WATCHED_IMPORTS = {
    "builtins": "imports builtins",
    "gc": "imports gc (object introspection)",
    "ctypes": "imports ctypes",
    "inspect": "imports inspect",
    "importlib": "imports importlib",
    "sqlite3": "imports sqlite3 (reads databases)",
    "subprocess": "imports subprocess",
    "socket": "imports socket",
    "glob": "imports glob (searches files)",
    "pathlib": "imports pathlib (reads files)",
    "shutil": "imports shutil",
    "signal": "imports signal",
    "threading": "imports threading",
    "multiprocessing": "imports multiprocessing",
    "unittest": "imports unittest (mock patching)",
}
WATCHED_ATTRS = {
    "modules": "sys.modules",
    "settrace": "sys.settrace",
    "setprofile": "sys.setprofile",
    "_exit": "os._exit",
    "system": "os.system",
    "environ": "os.environ",
    "walk": "os.walk",
    "listdir": "os.listdir",
    "scandir": "os.scandir",
    "__code__": "__code__",
    "__globals__": "__globals__",
    "__subclasses__": "__subclasses__",
    "events": "IPython events",
    "input_transformers_cleanup": "IPython input transformers",
    "input_transformers_post": "IPython input transformers",
    "ast_transformers": "IPython AST transformers",
    "set_custom_exc": "IPython custom exception handler",
}


def _attribute_root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def scan_source(source: str) -> list[str]:
    """Reasons to look at ``source`` (empty when nothing suspicious is found)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    reasons: set[str] = set()
    modules = set(WATCHED_MODULES)  # plus every name the code binds to an imported module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules |= {a.asname or a.name for a in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                root = _attribute_root(target) if isinstance(target, ast.Attribute) else None
                if root in modules:
                    reasons.add(f"assigns {ast.unparse(target)} (monkeypatching {root})")
        elif isinstance(node, ast.FunctionDef) and node.name in {"__eq__", "__ne__", "__bool__",
                                                                 "__array__", "__float__"}:
            reasons.add(f"defines {node.name} (an object that may fool comparisons)")
        elif isinstance(node, ast.Name) and node.id in WATCHED_NAMES:
            reasons.add(WATCHED_NAMES[node.id])
        elif isinstance(node, ast.Import | ast.ImportFrom):
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            for module in imported:
                top = module.split(".")[0]
                if top in WATCHED_IMPORTS:
                    reasons.add(WATCHED_IMPORTS[top])
        elif isinstance(node, ast.Attribute) and node.attr in WATCHED_ATTRS:
            reasons.add(f"uses {WATCHED_ATTRS[node.attr]}")
    return sorted(reasons)


def student_sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(label, source)`` of the code cells the student could edit."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("locked") and not meta.get("solution"):
            continue  # instructor cell: nbgrader restores it from the gradebook anyway
        label = meta.get("grade_id") if utils.is_solution(cell) else f"cell {index}"
        out.append((label or f"cell {index}", cell.source))
    return out


def scan_notebook(nb: nbformat.NotebookNode) -> list[str]:
    """``"label: reason"`` for every suspicious construct in the student's cells."""
    found = []
    for label, source in student_sources(nb):
        for reason in scan_source(source):
            found.append(f"{label}: {reason}")
    return found
