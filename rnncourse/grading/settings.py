"""Limits and options of one grading run, shared by the runner and every worker.

Everything here is a plain frozen dataclass so that it travels unchanged to a worker process
or to a Dask worker on another host (pickled with the task).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Modules whose functions and classes the in-kernel guard snapshots and restores
#: (:mod:`rnncourse.grading.guard`): the comparison functions and the torch oracle.
DEFAULT_PROTECTED_MODULES: tuple[str, ...] = (
    "builtins",
    "math",
    "operator",
    "numpy",
    "numpy.testing",
    "numpy.linalg",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.autograd",
    "torch.testing",
    "rnncourse.checks",
    "rnncourse.reference",
)

#: Imported by the guard when the kernel starts, before any cell of the notebook runs, so
#: that a first cell written by the student cannot patch them before the snapshot.
DEFAULT_PREIMPORT: tuple[str, ...] = ("numpy", "torch", "rnncourse.checks", "rnncourse.reference")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Parse ``"4G"``, ``"512M"``, ``"1.5GiB"`` or a plain number of bytes.

    >>> parse_size("2G")
    2147483648
    """
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4G, 512M or a number of bytes)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


@dataclass(frozen=True)
class Limits:
    """Resource limits for grading one submission.

    Attributes:
        cell_timeout: seconds of wall time per cell (nbgrader's ``Execute.timeout``).
        notebook_timeout: seconds of wall time per notebook; cells after it are not run.
        submission_timeout: hard wall-time limit of the worker process for one submission;
            ``None`` means ``notebook_timeout * notebooks + 120``.
        memory_bytes: address-space limit of the kernel (``RLIMIT_AS``).
        cpu_seconds: CPU-time limit of the kernel (``RLIMIT_CPU``); ``None`` means
            ``notebook_timeout``.
        file_bytes: largest file the kernel may write (``RLIMIT_FSIZE``).
        processes: process/thread limit (``RLIMIT_NPROC``, effective for a non-root uid).
        output_bytes: outputs kept per cell; the rest is dropped while the cell runs.
    """

    cell_timeout: int = 240
    notebook_timeout: int = 1200
    submission_timeout: int | None = None
    memory_bytes: int = 4 * 1024**3
    cpu_seconds: int | None = None
    file_bytes: int = 256 * 1024**2
    processes: int = 1024
    output_bytes: int = 1024**2

    def cpu_limit(self) -> int:
        """The kernel's CPU-time limit in seconds."""
        return self.cpu_seconds if self.cpu_seconds is not None else self.notebook_timeout

    def worker_deadline(self, notebooks: int) -> float:
        """Wall-time limit of a worker process grading ``notebooks`` notebooks."""
        if self.submission_timeout is not None:
            return float(self.submission_timeout)
        return float(self.notebook_timeout * max(1, notebooks) + 120)


@dataclass(frozen=True)
class Options:
    """How each submission is graded (the same in every worker).

    Attributes:
        limits: resource limits.
        sandbox: ``"auto"``, ``"bwrap"``, ``"unshare"`` or ``"none"`` (see
            :mod:`rnncourse.grading.sandbox`).
        feedback: also write the feedback HTML (hidden tests removed).
        protected_modules: modules the in-kernel guard snapshots and restores.
        preimport: modules the guard imports when the kernel starts.
        pass_env: names of environment variables passed to the kernel besides the fixed,
            scrubbed set (``NBGRADER_EXECUTION`` is deliberately not passed by default).
        extra_ro_paths: further paths the kernel may read (bubblewrap mode).
        extra_hide_paths: further paths hidden from the kernel (unshare mode).
    """

    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    feedback: bool = True
    protected_modules: tuple[str, ...] = DEFAULT_PROTECTED_MODULES
    preimport: tuple[str, ...] = DEFAULT_PREIMPORT
    pass_env: tuple[str, ...] = ()
    extra_ro_paths: tuple[str, ...] = ()
    extra_hide_paths: tuple[str, ...] = ()
