"""A client leaves while the run loops on ``append_text`` + ``drain()`` (issue 13, item 1).

The callback never looks at ``is_cancelled``; only ``drain()`` can end it. On
every adapter a real-socket client reads the first bytes and closes; the
callback must end within a second and the same server must answer another
request within a second. Each adapter gets its own server here: a regression
spins that server's event loop, and must not take the shared ones with it.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from . import servers
from .conftest import require_uvloop
from .scenarios import finished, started


def _django_asgi() -> AbstractContextManager[str]:
    from . import django_app

    return servers.uvicorn_server(django_app.asgi_app())


def _django_wsgi() -> AbstractContextManager[str]:
    from . import django_app

    return servers.wsgi_server(django_app.wsgi_app())


SERVERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "starlette": lambda: servers.uvicorn_server(servers.starlette_app()),
    "aiohttp": lambda: servers.aiohttp_server(servers.aiohttp_app()),
    "django_asgi": _django_asgi,
    # What production runs: uvicorn[standard] (uvloop, httptools), aiohttp on uvloop.
    "starlette_uvloop": lambda: servers.uvicorn_server(
        servers.starlette_app(), loop="uvloop", http="httptools"
    ),
    "aiohttp_uvloop": lambda: servers.aiohttp_server(servers.aiohttp_app(), loop="uvloop"),
    "flask_wsgi": lambda: servers.wsgi_server(servers.flask_app()),
    "django_wsgi": _django_wsgi,
}


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param.endswith("_uvloop"):
        require_uvloop("httptools")
    with SERVERS[request.param]() as url:
        yield url


def read_first_bytes_and_leave(url: str, path: str) -> bytes:
    """Send a request on a real socket, read the first bytes, close."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        data = b""
        # The head may come alone: wait for the run's first text.
        while b"xxxx" not in data:
            piece = sock.recv(4096)
            assert piece, "the server closed before sending any text"
            data += piece
    return data


def portal_threads() -> int:
    return sum(1 for t in threading.enumerate() if "-portal-" in t.name)


@pytest.mark.parametrize("protocol", ["data_stream", "openai_chat"])
def test_a_drain_loop_ends_and_the_server_stays_responsive(
    server: str, protocol: str, caplog: Any
) -> None:
    rid = uuid.uuid4().hex
    first = read_first_bytes_and_leave(server, f"/{protocol}/run_drain_loop?rid={rid}")
    assert first.split(b"\r\n", 1)[0].endswith(b" 200 OK")
    assert started(rid).is_set()
    left = time.monotonic()
    assert finished(rid).wait(1), "the callback still runs 1 s after the client left"
    with httpx.Client(base_url=server, timeout=1) as client:
        response = client.get(f"/{protocol}/text", params={"rid": uuid.uuid4().hex})
    assert response.status_code == 200
    assert time.monotonic() - left < 2
    # Under WSGI the stream's own thread (the portal) ends with the run.
    deadline = time.monotonic() + 1
    while portal_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert portal_threads() == 0
