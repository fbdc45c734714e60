"""A client that stops reading, on servers that are not async.

The run is stopped after the send timeout on every server (the shared suite
checks it). A WSGI server's thread, though, is blocked in its own socket
write; where the server exposes the client's socket in the environ
(Werkzeug's ``werkzeug.socket``, gunicorn's ``gunicorn.socket``) the adapter
shuts it down, so the connection is closed instead of waiting for the client.
``wsgiref`` exposes nothing: there the server's own timeout has to end it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from . import servers
from .scenario_suite import wait_for_log
from .scenarios import finished
from .servers import server_sockets

PROTOCOLS = ["data_stream", "openai_chat"]


@pytest.fixture(scope="module")
def flask_werkzeug_server() -> Iterator[str]:
    with servers.werkzeug_server(servers.flask_app()) as url:
        yield url


@pytest.fixture(scope="module")
def django_werkzeug_server() -> Iterator[str]:
    from . import django_app

    with servers.werkzeug_server(django_app.wsgi_app()) as url:
        yield url


@pytest.fixture(autouse=True)
def quiet_werkzeug() -> Iterator[None]:
    # Werkzeug logs every request (and the dropped connection) at INFO.
    logger = logging.getLogger("werkzeug")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def busy_threads() -> int:
    """Threads serving a request or running a stream (the servers run in-process)."""
    names = ("-portal-", "process_request_thread")
    return sum(1 for t in threading.enumerate() if any(n in t.name for n in names))


def stuck_client_is_let_go(server: str, protocol: str, caplog: pytest.LogCaptureFixture) -> None:
    """A client that never reads: the run stops, then the server's thread is freed."""
    caplog.set_level(logging.INFO, logger="assistant_stream_ce")
    baseline = busy_threads()
    rid = uuid.uuid4().hex
    host, port = server.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    try:
        request = f"GET /{protocol}/flood?rid={rid}&send_timeout=0.3 HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request.encode())
        assert finished(rid).wait(10), "the run was not stopped"
        assert wait_for_log(caplog, "longer than the send timeout")
        # Still not reading: only a write that failed lets the server's thread
        # close the response, which ends the stream's background thread.
        deadline = time.monotonic() + 3
        while busy_threads() > baseline and time.monotonic() < deadline:
            time.sleep(0.02)
        assert busy_threads() <= baseline, "the server's thread is stuck in its write"
        # And the connection is reset, not left to the kernel to flush.
        while server_sockets(int(port)) and time.monotonic() < deadline + 2:
            time.sleep(0.02)
        assert server_sockets(int(port)) == 0, "the stalled connection lingers"
    finally:
        sock.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_flask_under_werkzeug_lets_a_stuck_client_go(
    flask_werkzeug_server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    stuck_client_is_let_go(flask_werkzeug_server, protocol, caplog)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_django_wsgi_under_werkzeug_lets_a_stuck_client_go(
    django_werkzeug_server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    stuck_client_is_let_go(django_werkzeug_server, protocol, caplog)
