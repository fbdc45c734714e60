"""The shared scenario suite against Flask under the standard library's WSGI server."""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(flask_server: str) -> str:
    return flask_server


@pytest.fixture
def probe_only() -> bool:
    """A WSGI server learns of a disconnect only when a write fails."""
    return True
