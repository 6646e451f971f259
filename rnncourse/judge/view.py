"""What the process that runs a learner's code sees of Python: an allow-list, not a deny-list.

The student process runs the base interpreter with ``-I -S`` and a site directory built for
the assignment (:class:`StudentView`): the distributions its suite allows
(:attr:`rnncourse.suites.Suite.packages`, e.g. numpy, matplotlib and IPython) with everything
they require, and the files of the ``rnncourse`` package its set-up cells import
(:attr:`~rnncourse.suites.Suite.course_files`). In ``bwrap`` mode only these are mounted, so
for a numpy assignment torch, :mod:`rnncourse.reference`, :mod:`rnncourse.checks` and the other
course modules that compute graded quantities are not on the student's file system at all.
In ``unshare`` mode everything else of the environment's site-packages and of ``rnncourse`` is
covered by empty mounts instead, and so is everything outside the system directories
(:func:`private_paths`).
"""

from __future__ import annotations

import functools
import importlib.metadata as metadata
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

#: Where the student process finds its site directory and the judge's files (bwrap mode).
SITE_MOUNT = "/sandbox/site"
SERVER_MOUNT = "/sandbox/judge"


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def distributions(roots: tuple[str, ...]) -> tuple[metadata.Distribution, ...]:
    """The installed distributions ``roots`` need: themselves and their requirements, closed
    under requirement (extras are not followed; markers are evaluated here)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if _key(name) in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[_key(name)] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return tuple(seen[k] for k in sorted(seen))


def site_packages() -> Path:
    """The environment's site-packages directory (where the distributions are installed)."""
    return Path(sysconfig.get_paths()["purelib"])


@functools.cache
def site_entries(roots: tuple[str, ...]) -> tuple[str, ...]:
    """The top-level names in site-packages that belong to the distributions of ``roots``
    (packages, single modules, ``.libs`` folders and ``.dist-info`` metadata)."""
    site = site_packages()
    names: set[str] = set()
    for dist in distributions(roots):
        for file in dist.files or []:
            top = file.parts[0]
            if top not in {"..", "__pycache__"} and (site / top).exists():
                names.add(top)
    return tuple(sorted(names))


def course_package() -> Path:
    """The ``rnncourse`` package directory."""
    import rnncourse

    return Path(rnncourse.__file__).resolve().parent


@dataclass(frozen=True)
class StudentView:
    """What one assignment's student process may import.

    Attributes:
        packages: distributions (closed under their requirements).
        course_files: paths inside the ``rnncourse`` package (files or folders).
        hide: files inside an allowed package that stay out of reach all the same (paths
            relative to site-packages, e.g. the held-out play of a data package).
    """

    packages: tuple[str, ...]
    course_files: tuple[str, ...]
    hide: tuple[str, ...] = ()

    def site_binds(self) -> list[tuple[str, str]]:
        """``(source, destination)`` pairs that build the site directory in bwrap mode."""
        site = site_packages()
        binds = [(str(site / name), f"{SITE_MOUNT}/{name}")
                 for name in site_entries(tuple(self.packages))]
        package = course_package()
        for relative in self.course_files:
            source = package / relative
            if not source.exists():
                raise FileNotFoundError(f"rnncourse/{relative} does not exist")
            binds.append((str(source), f"{SITE_MOUNT}/rnncourse/{relative}"))
        for relative in self.hide:  # an empty file over each hidden one, after the binds
            if not (site / relative).is_file():
                raise FileNotFoundError(f"{relative} is not a file in {site}")
            binds.append(("/dev/null", f"{SITE_MOUNT}/{relative}"))
        return binds

    def hidden_paths(self) -> list[str]:
        """Paths to cover with empty mounts in unshare mode: every other entry of
        site-packages and of the ``rnncourse`` package, and the ``hide`` files."""
        site = site_packages()
        allowed = set(site_entries(tuple(self.packages)))
        hide = [str(p) for p in sorted(site.iterdir()) if p.name not in allowed]
        package = course_package()
        tops = {Path(r).parts[0] for r in self.course_files}
        hide += [str(p) for p in sorted(package.iterdir()) if p.name not in tops]
        return hide + [str(site / relative) for relative in self.hide]


def interpreter() -> tuple[str, list[str]]:
    """The base interpreter (not the virtual environment's) and the directories it needs:
    its installation prefix, with the base site-packages to be covered."""
    executable = str(Path(sys.executable).resolve())
    prefix = str(Path(sys.base_prefix).resolve())
    return executable, [prefix]


def base_site_packages() -> list[str]:
    """The base installation's own site-packages (covered: it is not the course's view)."""
    paths = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    return sorted({paths["purelib"], paths["platlib"]})


#: Top-level directories that ``unshare`` mode leaves readable: the system (as in bwrap mode,
#: which binds the same ones), ``/etc`` and the kernel's own pseudo file systems.
READABLE_TOP_LEVEL = ("/etc", "/proc", "/dev", "/sys")


def private_paths(root: str = "/") -> list[str]:
    """What ``unshare`` mode also covers: every top-level entry of ``root`` other than the
    system directories and :data:`READABLE_TOP_LEVEL` (``/home``, ``/root``, ``/tmp``, ``/var``,
    ``/srv``, ``/mnt``, a checkout under ``/work`` ...), and the temporary directory wherever it
    is. The launcher keeps what the student process needs below a covered path (its own
    folder, the Python it runs): it covers the siblings on the way down instead. So the course,
    every other copy of it on the disk, home directories and every grading scratch are out of
    reach, as in bwrap mode; unlike bwrap, ``/etc`` stays readable whole."""
    import tempfile

    from rnncourse.grading.sandbox import SYSTEM_DIRS

    readable = {*SYSTEM_DIRS, *READABLE_TOP_LEVEL}
    covered = {os.path.join(root, entry) for entry in os.listdir(root)
               if "/" + entry not in readable}
    tmp = os.path.realpath(tempfile.gettempdir())
    if not any(tmp == s or tmp.startswith(s.rstrip("/") + "/") for s in readable):
        covered.add(tmp)
    return sorted(covered)
