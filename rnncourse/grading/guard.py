"""In-kernel guard: undo a submission's monkeypatching before the instructor's cells run.

Imported into the grading kernel when it starts (before any cell of the notebook), through
ipykernel's ``exec_lines``. The grader (:mod:`rnncourse.grading.execute`) then calls
:func:`op` through ``user_expressions`` of an empty, silent request (which bypasses IPython's
input and AST transformers) around every locked (instructor) code cell:

``op("before")``
    check and restore everything;
``op("after", setup, bound)``
    after a locked cell: protect the names it bound if it is a set-up cell (``setup=True``),
    then check again (a test cell that called tampering code is caught here).

What is snapshotted and restored:

- every function, class and module attribute of the protected modules (numpy and its
  ``testing``, torch and the parts the oracle uses, :mod:`rnncourse.checks`,
  :mod:`rnncourse.reference`, ``builtins``, ``math``, ``operator``) and the methods of the
  Python classes they expose (e.g. ``torch.Tensor.allclose``), plus their ``sys.modules``
  entries;
- the names bound by the instructor's locked set-up cells in the notebook's namespace (e.g.
  ``assert_close``, ``check_grads``), so a solution cell that redefines a helper is undone;
- IPython's input and AST transformers, event callbacks and custom exception handlers, the
  shell, kernel and session methods, ``sys.settrace``/``sys.setprofile`` hooks.

Each op returns JSON ``{"tampered": [...]}`` naming what it had to restore. This is defence in
depth, not a security boundary: student code shares the process with the tests, and code
written to attack the guard itself can defeat it (:mod:`rnncourse.grading.scan` flags the
constructs such code needs). The tests' own checks (:func:`rnncourse.checks.as_real_array`)
reject objects whose ``__eq__`` always returns ``True``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import types

_MISSING = object()
_CALLABLE_TYPES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
    type,
    staticmethod,
    classmethod,
    property,
)


class _State:
    def __init__(self) -> None:
        self.entries: list[tuple[object, str, object]] = []  # (namespace owner, name, value)
        self.seen_modules: set[str] = set()
        self.seen_classes: set[int] = set()
        self.modules: dict[str, object] = {}
        self.user: dict[str, object] = {}  # protected user-namespace bindings
        self.lists: list[tuple[object, str, object, list]] = []
        self.callbacks: dict[str, list] = {}
        self.instance_dicts: list[tuple[object, set[str]]] = []
        self.shell_attrs: list[tuple[object, str, object]] = []


_state: _State | None = None
#: Builtins that IPython itself adds and removes around every cell (its ``BuiltinTrap``).
_IPYTHON_BUILTINS = {"get_ipython", "exit", "quit", "display", "__IPYTHON__", "dreload"}


def _is_guarded_value(value: object) -> bool:
    if isinstance(value, _CALLABLE_TYPES):
        return True
    return type(value).__name__ in {"ufunc", "_ArrayFunctionDispatcher",
                                    "builtin_function_or_method"}


def _snapshot_class(state: _State, cls: type) -> None:
    if id(cls) in state.seen_classes:
        return
    state.seen_classes.add(id(cls))
    try:
        items = list(vars(cls).items())
    except TypeError:
        return
    for name, value in items:
        if name in {"__dict__", "__weakref__", "__doc__", "__module__", "__annotations__"}:
            continue
        if isinstance(value, (types.FunctionType, staticmethod, classmethod, property)):
            state.entries.append((cls, name, value))


def _snapshot_module(state: _State, name: str) -> None:
    module = sys.modules.get(name)
    if module is None or name in state.seen_modules:
        return
    state.seen_modules.add(name)
    state.modules[name] = module
    roots = {"builtins", "math", "operator"} | {name.split(".")[0]}
    for attr, value in list(vars(module).items()):
        if not _is_guarded_value(value) or (name == "builtins" and attr in _IPYTHON_BUILTINS):
            continue
        state.entries.append((module, attr, value))
        module_root = (getattr(value, "__module__", "") or "").split(".")[0]
        if isinstance(value, type) and module_root in roots:
            _snapshot_class(state, value)


def _protected_names() -> list[str]:
    return [m for m in os.environ.get("RNNCOURSE_GUARD_MODULES", "").split(",") if m]


def _shell():
    try:
        return get_ipython()  # type: ignore[name-defined]
    except NameError:
        from IPython import get_ipython

        return get_ipython()


def _snapshot_shell(state: _State) -> None:
    shell = _shell()
    if shell is None:
        return
    for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        value = getattr(shell, attr, None)
        if isinstance(value, list):
            state.lists.append((shell, attr, value, list(value)))
    manager = getattr(shell, "input_transformer_manager", None)
    if manager is not None:
        state.shell_attrs.append((shell, "input_transformer_manager", manager))
        for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
            value = getattr(manager, attr, None)
            if isinstance(value, list):
                state.lists.append((manager, attr, value, list(value)))
    state.callbacks = {event: list(cbs) for event, cbs in shell.events.callbacks.items()}
    for attr in ("custom_exceptions", "CustomTB", "user_expressions", "run_cell",
                 "run_cell_async", "run_ast_nodes", "run_code", "showtraceback"):
        if attr in vars(shell):
            state.shell_attrs.append((shell, attr, vars(shell)[attr]))
    kernel = getattr(shell, "kernel", None)
    owners = [shell, kernel, getattr(kernel, "session", None), getattr(shell, "displayhook", None),
              getattr(shell, "display_pub", None)]
    for owner in owners:
        if owner is None:
            continue
        state.instance_dicts.append((owner, set(vars(owner))))
        for cls in type(owner).__mro__:
            if cls is not object:
                _snapshot_class(state, cls)


def install() -> None:
    """Take the snapshot; called once when the kernel starts."""
    global _state
    state = _State()
    for name in os.environ.get("RNNCOURSE_GUARD_PREIMPORT", "").split(","):
        if name:
            with contextlib.suppress(Exception):  # a missing module is simply not protected
                importlib.import_module(name)
    for name in _protected_names():
        _snapshot_module(state, name)
    _snapshot_shell(state)
    _state = state


def _library_file(obj: object, package: str) -> bool:
    """True if ``obj`` is a function whose code lives in the installed ``package``."""
    code = getattr(obj, "__code__", None)
    module = sys.modules.get(package)
    root = os.path.dirname(getattr(module, "__file__", "") or "")
    return bool(code is not None and root and code.co_filename.startswith(root + os.sep))


def _benign_rebinding(old: object, new: object) -> bool:
    """A library rebinding one of its own functions by itself, not tampering.

    torch's first optimiser step imports ``torch._dynamo``, which wraps ``torch.manual_seed``
    (the wrapper's ``__wrapped__`` is the original and its code is torch's own).
    """
    return getattr(new, "__wrapped__", None) is old and _library_file(new, "torch")


def _benign_callback(callback: object) -> bool:
    """An IPython callback matplotlib registers by itself (pyplot's first figure)."""
    return _library_file(callback, "matplotlib")


def _check(state: _State) -> list[str]:
    tampered: list[str] = []
    if sys.gettrace() is not None:
        sys.settrace(None)
        tampered.append("sys.settrace hook")
    if sys.getprofile() is not None:
        sys.setprofile(None)
        tampered.append("sys.setprofile hook")
    for name, module in state.modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module  # type: ignore[assignment]
            tampered.append(f"sys.modules[{name!r}]")
    for index, (owner, name, value) in enumerate(state.entries):
        try:
            current = vars(owner).get(name, _MISSING)
        except TypeError:
            continue
        if current is not value and _benign_rebinding(value, current):
            state.entries[index] = (owner, name, current)
            continue
        if current is not value:
            try:
                setattr(owner, name, value)
            except (AttributeError, TypeError):
                continue
            label = getattr(owner, "__name__", type(owner).__name__)
            tampered.append(f"{label}.{name}")
    for owner, attr, original, items in state.lists:
        current = getattr(owner, attr, None)
        if current is not original:
            setattr(owner, attr, original)
            tampered.append(f"IPython {attr}")
        if len(original) != len(items) or any(
                a is not b for a, b in zip(original, items, strict=False)):
            original[:] = items
            tampered.append(f"IPython {attr}")
    shell = _shell()
    if shell is not None:
        for event, cbs in shell.events.callbacks.items():
            saved = state.callbacks.setdefault(event, [])
            saved += [cb for cb in cbs if cb not in saved and _benign_callback(cb)]
            if len(cbs) != len(saved) or any(a is not b for a, b in zip(cbs, saved, strict=False)):
                cbs[:] = saved
                tampered.append(f"IPython event callbacks for {event!r}")
    for owner, attr, value in state.shell_attrs:
        if getattr(owner, attr, _MISSING) is not value:
            setattr(owner, attr, value)
            tampered.append(f"{getattr(owner, '__name__', type(owner).__name__)}.{attr}")
    for owner, names in state.instance_dicts:
        for extra in set(vars(owner)) - names:
            if callable(vars(owner)[extra]) and hasattr(type(owner), extra):
                delattr(owner, extra)
                tampered.append(f"{type(owner).__name__}.{extra} (instance override)")
    if shell is not None:
        user_ns = shell.user_ns
        for name, value in state.user.items():
            if user_ns.get(name, _MISSING) is not value:
                user_ns[name] = value
                tampered.append(f"notebook name {name!r} set by the instructor's cells")
    return sorted(set(tampered))


def op(phase: str, setup: bool = False, bound: tuple[str, ...] | list[str] = ()) -> str:
    """Run one guard step (see the module docstring) and return JSON for the grader.

    ``bound`` lists the names the instructor's cell that just ran binds at top level (the
    grader reads them from the cell's source); after a set-up cell they become protected, and
    a protected name rebound by the instructor's own cell is updated rather than restored.
    """
    state = _state
    if state is None:
        return json.dumps({"tampered": ["guard not installed"]})
    for name in _protected_names():  # modules imported since the last call
        _snapshot_module(state, name)
    shell = _shell()
    if phase == "after" and shell is not None:
        for name in bound:
            if name in shell.user_ns and (setup or name in state.user):
                state.user[name] = shell.user_ns[name]
    return json.dumps({"tampered": _check(state)})
