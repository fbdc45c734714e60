"""100 clients that stop reading (issue 13, item 4): what each server keeps.

Each client asks for an endless stream, never reads, and keeps its socket
open. ``send_timeout`` stops every run; then the connection itself:

* aiohttp: the adapter aborts the transport (unsent bytes dropped, the
  connection reset), so no server-side socket and no buffered byte remain.
* ASGI under uvicorn (Starlette, Django): ASGI has no way to abort a
  connection; uvicorn closes its transport, which waits to flush to a client
  that never reads. What releases the socket is the kernel's
  ``TCP_USER_TIMEOUT`` on the listening socket (docs/security.rst): with it,
  every socket is gone shortly after the timeout.

Counted from the server's side: sockets in ``/proc/net/tcp`` whose local port
is the server's, and bytes waiting in the server's asyncio transports. The
servers run on the standard library's event loop and on uvloop (uvicorn
with httptools, as ``uvicorn[standard]`` runs it), whose transports are its
own classes.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import pytest

from . import servers
from .conftest import require_uvloop
from .scenarios import finished
from .servers import server_sockets

CLIENTS = 100
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)  # Linux

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_USER_TIMEOUT"), reason="counts sockets through Linux's /proc"
)


def _transport_classes() -> tuple[type, ...]:
    try:
        # uvloop's stream transports do not derive from asyncio's.
        from uvloop.loop import UVStream
    except ImportError:
        return (asyncio.WriteTransport,)
    return (asyncio.WriteTransport, UVStream)


def buffered_bytes() -> int:
    """Bytes waiting in every open asyncio (or uvloop) transport of this process."""
    gc.collect()
    classes = _transport_classes()
    total = 0
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance would evaluate Django's lazy objects.
        if issubclass(type(obj), classes):
            total += obj.get_write_buffer_size()
    return total


def stall(url: str, protocol: str = "data_stream") -> tuple[list[socket.socket], list[str]]:
    host, port = url.removeprefix("http://").split(":")
    socks: list[socket.socket] = []
    rids: list[str] = []
    for _ in range(CLIENTS):
        rid = uuid.uuid4().hex
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        path = f"/{protocol}/flood?rid={rid}&send_timeout=0.2&keepalive=none"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        socks.append(sock)
        rids.append(rid)
    return socks, rids


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _django_asgi() -> Any:
    from . import django_app

    return django_app.asgi_app()


SERVERS: dict[str, Callable[[float | None], AbstractContextManager[str]]] = {
    "aiohttp": lambda t: servers.aiohttp_server(servers.aiohttp_app(), user_timeout=t),
    "starlette": lambda t: servers.uvicorn_server(servers.starlette_app(), user_timeout=t),
    "django_asgi": lambda t: servers.uvicorn_server(_django_asgi(), user_timeout=t),
    "aiohttp_uvloop": lambda t: servers.aiohttp_server(
        servers.aiohttp_app(), user_timeout=t, loop="uvloop"
    ),
    "starlette_uvloop": lambda t: servers.uvicorn_server(
        servers.starlette_app(), user_timeout=t, loop="uvloop", http="httptools"
    ),
}


def server(name: str, user_timeout: float | None) -> AbstractContextManager[str]:
    if name.endswith("_uvloop"):
        require_uvloop("httptools")
    return SERVERS[name](user_timeout)


def stalled_clients_are_released(make: AbstractContextManager[str], settle: float) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(make)
        port = port_of(url)
        socks, rids = stall(url)
        for sock in socks:
            stack.callback(sock.close)
        assert all(finished(rid).wait(10) for rid in rids), "a run was not stopped"
        assert wait_until(lambda: server_sockets(port) == 0, settle), (
            f"{server_sockets(port)} of {CLIENTS} stalled connections still open"
        )
        assert buffered_bytes() == 0


@pytest.mark.parametrize("name", ["aiohttp", "aiohttp_uvloop"])
def test_aiohttp_aborts_stalled_connections(name: str) -> None:
    stalled_clients_are_released(server(name, None), settle=2)


@pytest.mark.parametrize("name", ["starlette", "django_asgi", "starlette_uvloop"])
def test_asgi_under_uvicorn_with_a_tcp_user_timeout_releases_stalled_connections(
    name: str,
) -> None:
    # The kernel checks the timeout at its zero-window probes, which back
    # off exponentially: allow several probe intervals on a busy machine.
    stalled_clients_are_released(server(name, 1.0), settle=12)


@pytest.mark.parametrize("name", ["starlette", "starlette_uvloop"])
def test_asgi_under_uvicorn_alone_keeps_stalled_connections(name: str) -> None:
    # What the docs say: ASGI cannot abort, so without the kernel's timeout
    # uvicorn keeps each socket (and at most its transport's buffer) until
    # the client reads or leaves. The runs are stopped all the same.
    with ExitStack() as stack:
        url = stack.enter_context(server(name, None))
        socks, rids = stall(url)
        for sock in socks:
            stack.callback(sock.close)
        assert all(finished(rid).wait(10) for rid in rids), "a run was not stopped"
        time.sleep(0.5)
        assert server_sockets(port_of(url)) == CLIENTS
        held = buffered_bytes()
        print(f"{name}: {held} bytes buffered for {CLIENTS} stalled clients")
        assert held < CLIENTS * 256 * 1024
