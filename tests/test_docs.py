"""The documentation builds without a single warning, and its doctests pass.

A broken docstring, a dangling reference or a page left out of every toctree
fails here, not on the documentation host. Sphinx runs in a subprocess: its own
deprecation warnings must not trip pytest's warnings-as-errors, and a fresh
interpreter imports the modules the way a documentation build does. Both
builds share one doctree cache, so the second reads no source again (the
doctests alone would re-import and re-parse everything: half a minute).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool

DOCS = Path(__file__).resolve().parent.parent / "docs"


def sphinx_build(builder: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run ``sphinx-build -W`` with ``builder`` into ``out``."""
    require_tool(
        importlib.util.find_spec("sphinx") is not None, "Sphinx (pip install -e '.[docs]')"
    )
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder]
    command += ["-d", str(out / "doctrees"), str(DOCS), str(out / builder)]
    # A bound against a hang, not a speed check: under a loaded suite the HTML
    # build took over 100 s on two cores (about 30 s of CPU).
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One output folder for both builds: they share its doctree cache."""
    return tmp_path_factory.mktemp("docs")


def test_html_builds_without_warnings(out: Path) -> None:
    result = sphinx_build("html", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert (out / "html" / "index.html").is_file()
    assert (out / "html" / "errors.html").is_file()


def test_doctests_pass(out: Path) -> None:
    result = sphinx_build("doctest", out)
    assert result.returncode == 0, result.stdout + result.stderr
    report = (out / "doctest" / "output.txt").read_text(encoding="utf-8")
    assert " 0 failures in tests" in report
    # A reused cache must not leave documents out: the summary counts them all.
    ran = re.search(r"^ +([0-9]+) tests$", report, re.MULTILINE)
    assert ran is not None, report[-300:]
    assert int(ran.group(1)) >= 50, report[-300:]
