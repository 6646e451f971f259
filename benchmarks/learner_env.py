"""Installed size of a learner's environment: the learner edition without torch, then with it.

Writes the learner edition (``rnncourse publish``) into a scratch folder, creates a fresh
virtual environment and measures it after each of three installs, one on top of the other:

1. ``pip install <edition>``: the package and its own dependencies (numpy, matplotlib, tqdm,
   the plays), what the exercises' install cell adds to Colab or to any Python with Jupyter;
   the visible checks of gru_cell then run on the solution here, with torch absent;
2. ``pip install '<edition>[lab]'``: JupyterLab, ipykernel and nbgrader (``make lab``);
3. ``pip install '<edition>[lab,torch]'`` (torch pinned to 2.13.0, the CPU build on the
   development machines: ``constraints-dev.txt``): assignment 5 and the chapters.

    .venv/bin/python benchmarks/learner_env.py          # figures under "learner_env"

Sizes are the sum of the files' sizes (``apparent``) and the blocks they take (``disk``), in
MB (10^6 bytes). Goal: under 400 MB without torch (the figures say which install meets it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from common import ROOT, Stopwatch, record, table

sys.path.insert(0, str(ROOT / "tests"))

GOAL_MB = 400.0


def size_mb(folder: Path) -> dict[str, float]:
    """``{"apparent": MB, "disk": MB}`` of every file under ``folder`` (links not followed)."""
    apparent = disk = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(dirpath, name))
            apparent += info.st_size
            disk += info.st_blocks * 512
    return {"apparent": round(apparent / 1e6, 1), "disk": round(disk / 1e6, 1)}


def pip(python: Path, *args: str) -> float:
    """Run ``python -m pip install ARGS``; return its wall time in seconds."""
    with Stopwatch() as sw:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", *args], check=True)
    return round(sw.seconds, 1)


def light_check(python: Path, edition: Path, work: Path) -> dict[str, object]:
    """Run gru_cell's visible checks on the solution in the light environment."""
    from test_learner_edition import RUNNER, notebook_with_solutions

    cells = work / "cells.json"
    cells.write_text(json.dumps(notebook_with_solutions("gru_cell")))
    result = subprocess.run([str(python), "-c", RUNNER, str(cells)], capture_output=True,
                            text=True, cwd=edition / "exercises" / "gru_cell",
                            env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
    torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True).returncode
    return {"checks_passed": result.stdout.count(": passed ("), "returncode": result.returncode,
            "torch_importable": torch == 0}


def main() -> int:
    from rnncourse.publish import publish

    with tempfile.TemporaryDirectory(prefix="learner-env-") as tmp:
        work = Path(tmp)
        edition = publish(ROOT, work / "edition")
        env_dir = work / "venv"
        venv.EnvBuilder(with_pip=True).create(env_dir)
        python = env_dir / "bin" / "python"
        empty = size_mb(env_dir)
        core_s = pip(python, str(edition))
        core = size_mb(env_dir)
        check = light_check(python, edition, work)
        lab_s = pip(python, f"{edition}[lab]")
        lab = size_mb(env_dir)
        torch_s = pip(python, "-c", str(ROOT / "constraints-dev.txt"), f"{edition}[lab,torch]")
        full = size_mb(env_dir)
        versions = subprocess.run(
            [str(python), "-c", "import torch, nbgrader, jupyterlab; print(torch.__version__, "
             "nbgrader.__version__, jupyterlab.__version__)"],
            capture_output=True, text=True, check=True).stdout.split()
    rows = [
        ("fresh venv (pip only)", empty["apparent"], empty["disk"], ""),
        ("learner edition (the package), no torch", core["apparent"], core["disk"], core_s),
        ("+ [lab]: JupyterLab, nbgrader (make lab)", lab["apparent"], lab["disk"], lab_s),
        ("+ [torch] (make torch)", full["apparent"], full["disk"], torch_s),
    ]
    print(table(["environment", "apparent MB", "disk MB", "install s"], rows))
    print(f"\nthe lab extra adds {lab['disk'] - core['disk']:.1f} MB on disk, the torch extra "
          f"{full['disk'] - lab['disk']:.1f} MB; goal without torch: under {GOAL_MB:g} MB; "
          f"gru_cell visible checks in the package-only environment: "
          f"{check['checks_passed']} passed, torch importable: {check['torch_importable']}")
    record("learner_env", {
        "command": "benchmarks/learner_env.py",
        "goal_mb_without_torch": GOAL_MB,
        "empty_venv_mb": empty,
        "package_mb": core,
        "with_lab_extra_mb": lab,
        "with_lab_and_torch_extras_mb": full,
        "install_seconds": {"package": core_s, "lab_extra": lab_s, "torch_extra": torch_s},
        "versions": dict(zip(("torch", "nbgrader", "jupyterlab"), versions, strict=True)),
        "light_check_gru_cell": check,
    })
    return 0 if check["returncode"] == 0 and not check["torch_importable"] else 1


if __name__ == "__main__":
    sys.exit(main())
