"""The shared scenario suite against Starlette under uvicorn as production runs
it: ``uvicorn[standard]``'s uvloop event loop and httptools parser.

Two protocols, one of each framing (text lines and SSE): what differs from
the h11/asyncio run is the server, not the encoder, which
``test_scenarios_starlette.py`` covers with every protocol.
"""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(starlette_uvloop_server: str) -> str:
    return starlette_uvloop_server


@pytest.fixture
def closes_stuck_connections() -> bool:
    return True


@pytest.fixture(params=["data_stream", "assistant_transport"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)
