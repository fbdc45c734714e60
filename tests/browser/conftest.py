"""The example server (``examples/server.py``), loaded from its file.

``examples/`` is not a package: the example is a script that users run, so the
tests load it by path, as ``python examples/server.py`` would.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parents[2]


def load_example() -> ModuleType:
    """Import ``examples/server.py`` as the module ``example_server``."""
    spec = importlib.util.spec_from_file_location("example_server", ROOT / "examples/server.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def example() -> ModuleType:
    """The example server module."""
    return load_example()
