"""Pages are rebuilt when what they read changes (``rnncourse.sphinx.dependencies``).

The fingerprints are checked directly; the two rebuild rules with real incremental builds of a
tiny project (a notebook page that reads a JSON file and glues a value, a page that pastes that
value), each build in its own process as ``jupyter-book build`` runs it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnncourse.sphinx.dependencies import fingerprint

ROOT = Path(__file__).resolve().parents[1]


def test_fingerprint_follows_the_selected_json_entry_only(tmp_path: Path) -> None:
    data = tmp_path / "results.json"
    data.write_text(json.dumps({"adding": {"T100": 14720}, "other": 1}))
    spec = ["results.json#adding.T100"]
    before = fingerprint(tmp_path, spec)
    data.write_text(json.dumps({"other": 2, "adding": {"T100": 14720}}, indent=2))
    assert fingerprint(tmp_path, spec) == before  # another entry, another layout: same
    data.write_text(json.dumps({"adding": {"T100": 9999}, "other": 2}))
    assert fingerprint(tmp_path, spec) != before
    whole = fingerprint(tmp_path, ["results.json"])
    data.write_text(json.dumps({"adding": {"T100": 9999}, "other": 3}))
    assert fingerprint(tmp_path, ["results.json"]) != whole


def test_fingerprint_of_a_missing_file_or_key_is_stable_and_distinct(tmp_path: Path) -> None:
    missing = fingerprint(tmp_path, ["results.json"])
    assert missing == fingerprint(tmp_path, ["results.json"])
    (tmp_path / "results.json").write_text("{}")
    assert fingerprint(tmp_path, ["results.json"]) != missing
    assert fingerprint(tmp_path, ["results.json#a.b"]) != fingerprint(tmp_path, ["results.json"])


def test_the_book_declares_the_files_its_chapters_read() -> None:
    """Every chapter whose code reads benchmarks/results.json is listed in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "rnncourse.sphinx.dependencies" in config["sphinx"]["extra_extensions"]
    declared = config["sphinx"]["config"]["rnncourse_execution_inputs"]
    readers = {p.relative_to(ROOT).with_suffix("").as_posix()
               for p in (ROOT / "chapters").glob("*.md") if '"results.json"' in p.read_text()}
    assert readers == {"chapters/04-lstm"}
    for docname in readers:
        assert any(spec.startswith("benchmarks/results.json") for spec in declared[docname])
    ch04 = (ROOT / "chapters" / "04-lstm.md").read_text()
    assert 'record.get("adding_problem", {}).get(f"T{T}", {})' in ch04
    assert declared["chapters/04-lstm"] == ["benchmarks/results.json#adding_problem.T100"]


NOTEBOOK = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# Reader

```{code-cell} ipython3
import json
from myst_nb import glue

value = json.load(open("value.json"))["wanted"]
glue("value", value, display=False)
```

The value is {glue:text}`value`.
"""

CONF = """extensions = ["myst_nb", "rnncourse.sphinx.dependencies"]
nb_execution_mode = "cache"
rnncourse_execution_inputs = {"reader": ["value.json#wanted"]}
exclude_patterns = ["_build"]
"""


def build(src: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", str(src),
         str(src / "_build" / "html")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stderr


def shown(src: Path, page: str) -> str:
    text = (src / "_build" / "html" / f"{page}.html").read_text()
    return re.search(r"The value is <span class=\"pasted-text\">(\w+)</span>", text).group(1)


def records(src: Path) -> list[str]:
    """When each execution-cache record was created (a new execution makes a new one)."""
    from jupyter_cache import get_cache

    cache = get_cache(src / "_build" / ".jupyter_cache")
    return [r.created.isoformat() for r in cache.list_cache_records()]


@pytest.mark.slow
def test_a_changed_input_executes_the_page_again_and_updates_its_pasters(tmp_path: Path) -> None:
    src = tmp_path / "book"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text("# Book\n\n```{toctree}\nreader\npaster\n```\n")
    (src / "reader.md").write_text(NOTEBOOK)
    (src / "paster.md").write_text("# Paster\n\nThe value is {glue:text}`reader.md::value:s`.\n")
    (src / "value.json").write_text('{"wanted": "first", "other": 1}')
    build(src)
    assert shown(src, "reader") == shown(src, "paster") == "first"
    first = records(src)

    # the cache alone would keep "first": the code cells did not change
    (src / "value.json").write_text('{"wanted": "second", "other": 1}')
    build(src)
    assert shown(src, "reader") == shown(src, "paster") == "second"
    second = records(src)
    assert len(second) == 1 and second != first  # executed again; the stale record dropped

    # another entry of the file changes: nothing is executed again
    (src / "value.json").write_text('{"wanted": "second", "other": 2}')
    build(src)
    assert shown(src, "reader") == "second" and records(src) == second
