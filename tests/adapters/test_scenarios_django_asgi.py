"""The shared scenario suite against Django as an ASGI app under uvicorn."""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(django_asgi_server: str) -> str:
    return django_asgi_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    """The response cancels Django's sending task, so uvicorn closes the connection."""
    return True
