"""The shared scenario suite against Django as a WSGI app under wsgiref."""

from __future__ import annotations

import pytest

from .scenario_suite import *  # noqa: F403


@pytest.fixture
def server(django_wsgi_server: str) -> str:
    return django_wsgi_server


@pytest.fixture
def probe_only() -> bool:
    """A WSGI server learns of a disconnect only when a write fails."""
    return True
