"""The shared scenario suite against aiohttp's server (AppRunner and a socket site)."""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(aiohttp_server: str) -> str:
    return aiohttp_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    return True
