"""The example server (``examples/server.py``), loaded from its file.

``examples/`` is not a package: the example is a script that users run, so the
tests load it by path, as ``python examples/server.py`` would.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.adapters.servers import uvicorn_server

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


@pytest.fixture(scope="module")
def example_url(example: ModuleType) -> Iterator[str]:
    """The example server's app (no pacing), served by uvicorn for one module."""
    with uvicorn_server(example.create_app(delay=0)) as url:
        yield url


@pytest.fixture
def client(example_url: str) -> Iterator[httpx.Client]:
    """A client of :func:`example_url` per test (a module-wide one would leave
    its pooled connection to whichever test first used it)."""
    with httpx.Client(base_url=example_url) as c:
        yield c
