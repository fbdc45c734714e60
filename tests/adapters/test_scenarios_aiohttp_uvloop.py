"""The shared scenario suite against aiohttp's server on a uvloop event loop
(as ``aiohttp.GunicornUVLoopWebWorker`` or ``uvloop.install()`` run it).

One protocol: what differs from the asyncio run is the event loop, not the
encoder, which ``test_scenarios_aiohttp.py`` covers with every protocol.
"""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(aiohttp_uvloop_server: str) -> str:
    return aiohttp_uvloop_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    return True


@pytest.fixture(params=["data_stream"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)
