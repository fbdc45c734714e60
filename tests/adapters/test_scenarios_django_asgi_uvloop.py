"""The shared scenario suite against Django as an ASGI app under uvicorn on
uvloop with httptools (``uvicorn[standard]``).

One protocol: what differs from the h11/asyncio run is the server, not the
encoder, which ``test_scenarios_django_asgi.py`` covers with every protocol.
"""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(django_asgi_uvloop_server: str) -> str:
    return django_asgi_uvloop_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    """The response cancels Django's sending task, so uvicorn closes the connection."""
    return True


@pytest.fixture(params=["data_stream"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)
