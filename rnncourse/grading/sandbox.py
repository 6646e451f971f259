"""Isolation of the kernel that runs a student's code: three modes, strongest available first.

The grader (nbgrader's converters, the throwaway gradebook, the result files) runs in the
worker process; only the *kernel* runs student code, so only the kernel is sandboxed. Every
mode starts the kernel in a directory of its own (``work/``: the assignment's data files and
nothing else, never the notebook being graded, which holds the hidden tests after nbgrader
restored them), with a scrubbed environment (:func:`kernel_env`), resource limits
(``RLIMIT_AS``, ``RLIMIT_CPU``, ``RLIMIT_FSIZE``, ``RLIMIT_NPROC``, no core files) and the kernel
talking to the grader over Unix sockets in its own ``run/`` directory (ZeroMQ ``ipc``
transport), so that it needs no network at all.

``bwrap``
    bubblewrap: new user, mount, PID, network, IPC and UTS namespaces, no capabilities. The
    kernel sees a read-only allow-list (``/usr`` and the other system directories, a few files
    of ``/etc``, the Python installation and virtual environment, the ``rnncourse`` package) and
    its own directory; everything else (the course with ``solutions/`` and the gradebook, the
    other submissions, the grading scratch, home directories) does not exist for it. No
    network. Other processes are invisible.
``unshare``
    util-linux ``unshare``: new mount, PID and network namespaces (plus a user namespace when
    the grader is not root). Before the kernel starts, empty read-only file systems are
    mounted over every top-level directory except the system ones, ``/etc``, ``/proc``,
    ``/dev`` and ``/sys`` (:func:`rnncourse.judge.view.private_paths`), keeping only the
    kernel's own folder and the Python it runs below them: the course, other copies of it, the
    grading scratch, the submissions and home directories are out of reach. ``/etc`` stays
    readable. No network. When the grader runs as root, the kernel runs as ``nobody``.
``none``
    No namespaces: separate working directory, scrubbed environment and rlimits only, and the
    kernel runs as ``nobody`` when the grader runs as root (then the grading scratch, which is
    mode 0700, and the course gradebook, which the merge makes 0600, are unreadable to it). Any
    file readable by the kernel's uid stays readable, and the network stays reachable.

``auto`` picks the first mode that works on this machine (:func:`available_modes`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

MODES: tuple[str, ...] = ("bwrap", "unshare", "none")
NOBODY = (65534, 65534)
LAUNCHER = Path(__file__).with_name("_launch.py")
_LAUNCHER = LAUNCHER
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/mime.types",
    "/etc/fonts",
)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/opt")


class SandboxUnavailableError(RuntimeError):
    """The requested isolation mode does not work on this machine."""


def _probe(cmd: list[str]) -> bool:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@functools.cache
def available_modes() -> tuple[str, ...]:
    """The modes that work here, strongest first (``none`` always works)."""
    modes = []
    bwrap = shutil.which("bwrap")
    if bwrap and _probe(
        [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "--proc", "/proc",
         "--dev", "/dev", "true"]
    ):
        modes.append("bwrap")
    unshare = shutil.which("unshare")
    if unshare and _probe([unshare, *_unshare_flags(), "true"]):
        modes.append("unshare")
    modes.append("none")
    return tuple(modes)


def resolve_mode(mode: str) -> str:
    """Turn ``"auto"`` into the strongest available mode; check an explicit one works."""
    if mode == "auto":
        return available_modes()[0]
    if mode not in MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}; choose from auto, {', '.join(MODES)}")
    if mode not in available_modes():
        raise SandboxUnavailableError(
            f"sandbox mode {mode!r} does not work on this machine "
            f"(available: {', '.join(available_modes())})"
        )
    return mode


def _unshare_flags() -> list[str]:
    flags = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        flags.insert(0, "--map-root-user")
    return flags


@functools.cache
def nobody_can_run_python() -> bool:
    """True when the grader is root and ``nobody`` can run this Python (then kernels drop to it).

    Not the case when the interpreter lives under a private home (e.g. pyenv in ``/root``).
    """
    if os.geteuid() != 0:
        return False
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rnncourse-probe-") as tmp:
        os.chmod(tmp, 0o755)
        plan = {"chdir": tmp, "limits": {}, "drop_to": list(NOBODY), "chown": [], "hide": []}
        return _probe([os.path.realpath(sys.executable), "-I", "-S", str(_LAUNCHER),
                       json.dumps(plan), "--", sys.executable, "-c", "import rnncourse, ipykernel"])


def python_roots() -> list[str]:
    """Directories the kernel needs to read to run Python with this environment.

    The interpreter's prefixes and install paths and the ``rnncourse`` package (an editable
    install lives in the repository). Deliberately not ``sys.path``: it holds the current
    directory, which may be the course itself.
    """
    import rnncourse

    paths = sysconfig.get_paths()
    roots = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        paths["stdlib"],
        paths["platstdlib"],
        paths["purelib"],
        paths["platlib"],
        str(Path(rnncourse.__file__).resolve().parent),
    }
    resolved = {os.path.realpath(r) for r in roots if r} | {r for r in roots if r}
    kept: list[str] = []
    for root in sorted(resolved, key=len):  # keep only the outermost directories
        if not any(root == k or root.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(root)
    return sorted(kept)


@dataclass(frozen=True)
class KernelDirs:
    """The directories of one kernel: ``root/{work,home,tmp,run}``."""

    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def run(self) -> Path:
        return self.root / "run"

    def create(self) -> None:
        for path in (self.work, self.home, self.tmp, self.run):
            path.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)


def kernel_env(dirs: KernelDirs, guard_env: dict[str, str], pass_env: tuple[str, ...] = ()) -> dict:
    """The kernel's whole environment: a fixed allow-list, nothing inherited by accident.

    Single-threaded BLAS/OpenMP keeps ``--jobs N`` from oversubscribing the cores and makes
    the floating-point results identical in every mode; ``PYTHONHASHSEED`` fixes set order.
    """
    scripts = sysconfig.get_path("scripts")
    env = {
        "PATH": os.pathsep.join([scripts, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(dirs.home),
        "TMPDIR": str(dirs.tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "NUMEXPR_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(dirs.home / ".matplotlib"),
        "IPYTHONDIR": str(dirs.home / ".ipython"),
        "XDG_CACHE_HOME": str(dirs.home / ".cache"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    for name in pass_env:
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(guard_env)
    return env


def bwrap_base_args() -> list[str]:
    """bubblewrap with every namespace new, no capabilities, the system directories and a few
    files of ``/etc`` read-only, fresh ``/proc``, ``/dev`` and ``/tmp``; nothing else."""
    args = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--unshare-all",
            "--cap-drop", "ALL", "--hostname", "grader"]
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in _ETC_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    return args


@dataclass
class SandboxPlan:
    """How to wrap one kernel command.

    Attributes:
        mode: ``bwrap``, ``unshare`` or ``none`` (already resolved).
        dirs: the kernel's directories.
        limits: ``{"as", "cpu", "fsize", "nproc", "core"}`` for the launcher.
        hide: paths hidden in ``unshare`` mode.
        ro_paths: extra read-only paths in ``bwrap`` mode.
    """

    mode: str
    dirs: KernelDirs
    limits: dict[str, int]
    hide: list[str] = field(default_factory=list)
    ro_paths: list[str] = field(default_factory=list)
    launcher: Path = _LAUNCHER

    def wrap(self, kernel_cmd: list[str]) -> list[str]:
        """The full command line: sandbox, launcher, kernel."""
        inner = self._launch(kernel_cmd)
        if self.mode == "none":
            return inner
        if self.mode == "unshare":
            # unshare(1) has no --die-with-parent: setpriv gives it PR_SET_PDEATHSIG
            setpriv = shutil.which("setpriv")
            prefix = [setpriv, "--pdeathsig", "KILL"] if setpriv else []
            return [*prefix, shutil.which("unshare") or "unshare", *_unshare_flags(), "--", *inner]
        return [*self._bwrap_args(), "--", *inner]

    def wrap_with(self, bwrap_args: list[str], command: list[str]) -> list[str]:
        """Like :meth:`wrap`, with the caller's own bwrap file-system view (bwrap mode); the
        launcher must lie inside that view (``launcher``)."""
        return [*bwrap_args, "--", *self._launch(command)]

    def _launch(self, kernel_cmd: list[str]) -> list[str]:
        drop = list(NOBODY) if self.mode != "bwrap" and nobody_can_run_python() else None
        keep = [str(self.dirs.root), *python_roots(), *self.ro_paths]
        launch = {
            "chdir": str(self.dirs.work),
            "limits": self.limits,
            "drop_to": drop,
            "chown": [str(self.dirs.root)] if drop else [],
            "hide": self.hide if self.mode == "unshare" else [],
            "keep": keep,
        }
        python = os.path.realpath(sys.executable)
        return [python, "-I", "-S", str(self.launcher), json.dumps(launch), "--", *kernel_cmd]

    def _bwrap_args(self) -> list[str]:
        args = bwrap_base_args()
        for path in sorted({*python_roots(), *self.ro_paths}):
            if not any(path == s or path.startswith(s + "/") for s in SYSTEM_DIRS):
                args += ["--ro-bind", path, path]
        root = str(self.dirs.root)
        args += ["--bind", root, root, "--chdir", str(self.dirs.work)]
        return args
