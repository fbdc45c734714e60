"""Fixtures for the LangGraph tests: real ``langgraph`` and ``langchain-core``.

Without them (the ``langgraph`` extra) the folder is skipped on a developer
machine and fails in CI, as :func:`tests.conftest.require_tool` does.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import IN_CI
from tests.interop.conftest import node_scripts

__all__ = ["node_scripts"]

_MISSING = [
    name for name in ("langgraph", "langchain_core") if importlib.util.find_spec(name) is None
]
if _MISSING:
    if IN_CI:
        raise RuntimeError(f"{_MISSING} missing: pip install -e '.[langgraph]'")
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def anyio_backend() -> str:
    """LangGraph and LangChain run on asyncio only."""
    return "asyncio"
