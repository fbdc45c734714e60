"""One app server and one nginx (the docs' config) shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.servers import uvicorn_server

from .app import proxied_app
from .nginx import Nginx, find_nginx, nginx_in_front

#: proxy_read_timeout in these tests: silent runs outlast it.
READ_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    with uvicorn_server(proxied_app()) as url:
        yield url


@pytest.fixture(scope="module")
def nginx(app_url: str) -> Iterator[Nginx]:
    find_nginx()
    with nginx_in_front(app_url, read_timeout=READ_TIMEOUT) as running:
        yield running
