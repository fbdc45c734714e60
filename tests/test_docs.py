"""The documentation builds without a single warning, and its doctests pass.

A broken docstring, a dangling reference or a page left out of every toctree
fails here, not on the documentation host. Sphinx runs in a subprocess: its own
deprecation warnings must not trip pytest's warnings-as-errors, and a fresh
interpreter imports the modules the way a documentation build does.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from tests.conftest import require_tool

DOCS = Path(__file__).resolve().parent.parent / "docs"


def sphinx_build(builder: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``sphinx-build -W`` with ``builder`` into ``out``."""
    require_tool(
        importlib.util.find_spec("sphinx") is not None, "Sphinx (pip install -e '.[docs]')"
    )
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder]
    command += ["-d", str(out / "doctrees"), str(DOCS), str(out / builder)]
    return subprocess.run(command, capture_output=True, text=True, timeout=100, check=False)


def test_html_builds_without_warnings(tmp_path: Path) -> None:
    result = sphinx_build("html", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert (tmp_path / "html" / "index.html").is_file()
    assert (tmp_path / "html" / "errors.html").is_file()


def test_doctests_pass(tmp_path: Path) -> None:
    result = sphinx_build("doctest", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
    assert " 0 failures in tests" in report
