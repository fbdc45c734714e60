"""The wheel ships every package of the repository, each marked as typed.

Adapters are added one folder at a time; a folder missing from the hatch
``packages`` list would silently be left out of ``pip install .``, and a
missing ``py.typed`` would hide its annotations from users' type checkers.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path
from typing import Any

import pytest

import assistant_stream_core

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli, the same parser before it joined the stdlib
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def load_pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        pyproject: dict[str, Any] = tomllib.load(file)
    return pyproject


def source_packages() -> list[str]:
    """``assistant_stream_core`` and every adapter package, as repository paths."""
    adapters = sorted(
        f"adapters/{path.name}"
        for path in (ROOT / "adapters").iterdir()
        if (path / "__init__.py").is_file()
    )
    return ["assistant_stream_core", *adapters]


def test_the_version_has_one_source() -> None:
    project = load_pyproject()["project"]
    assert "version" not in project
    assert project["dynamic"] == ["version"]
    path = load_pyproject()["tool"]["hatch"]["version"]["path"]
    assert path == "assistant_stream_core/__init__.py"
    assert assistant_stream_core.__version__ == importlib.metadata.version("assistant-stream-ce")


def test_the_changelog_has_the_version() -> None:
    changelog = (ROOT / "docs" / "changelog.rst").read_text(encoding="utf-8")
    assert f"\n{assistant_stream_core.__version__} (" in changelog


def test_every_package_is_in_the_wheel() -> None:
    wheel = load_pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert sorted(wheel["packages"]) == sorted(source_packages())


@pytest.mark.parametrize("package", source_packages())
def test_every_package_is_typed(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()
