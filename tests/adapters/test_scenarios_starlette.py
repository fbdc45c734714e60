"""The shared scenario suite against Starlette under uvicorn (h11)."""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(starlette_server: str) -> str:
    return starlette_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    return True
