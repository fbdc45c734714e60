"""The app servers and the nginx (the docs' config) the module's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.servers import aiohttp_server, uvicorn_server

from . import app
from .nginx import Nginx, find_nginx, nginx_in_front

#: proxy_read_timeout in these tests: silent runs outlast it.
READ_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The Starlette app under uvicorn."""
    with uvicorn_server(app.starlette_app()) as url:
        yield url


@pytest.fixture(scope="module")
def nginx(app_url: str) -> Iterator[Nginx]:
    """nginx in front of :func:`app_url`."""
    find_nginx()
    with nginx_in_front(app_url, read_timeout=READ_TIMEOUT) as running:
        yield running


@pytest.fixture(scope="module")
def aiohttp_nginx() -> Iterator[Nginx]:
    """nginx in front of the aiohttp app under aiohttp's server."""
    find_nginx()
    with aiohttp_server(app.aiohttp_app()) as url, nginx_in_front(url) as running:
        yield running


@pytest.fixture(scope="module")
def django_nginx() -> Iterator[Nginx]:
    """nginx in front of the Django app under uvicorn."""
    find_nginx()
    with uvicorn_server(app.django_app()) as url, nginx_in_front(url) as running:
        yield running
