"""Django under ASGI: a client that leaves before Django iterates the response.

Django's ASGI handler cancels a request whose client disconnects; if that
happens after the view returned the response but before Django started
sending it, nothing ever iterates (or closes) the response. That is safe
because ``create_run`` starts its callback lazily, on the first iteration:
the run never starts, so nothing keeps running and no task is left behind.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from . import servers
from .scenario_suite import task_count, wait_for_tasks
from .scenarios import started


@pytest.fixture(scope="module")
def delayed_server() -> Iterator[str]:
    from . import django_app

    app = django_app.asgi_app(["tests.adapters.django_app.delay_middleware"])
    with servers.uvicorn_server(app) as url:
        yield url


def test_client_gone_before_the_response_is_iterated(delayed_server: str) -> None:
    baseline = task_count(delayed_server)
    rid = uuid.uuid4().hex
    host, port = delayed_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        # The view builds a real run at once; the middleware holds the
        # response for 0.5 s, and the client is gone well before that.
        path = f"/data_stream/run_waiting?rid={rid}&delay=0.5"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.1)
    time.sleep(0.8)  # past the delay: had Django gone on, the run would run
    assert not started(rid).is_set(), "the run started for a client that had left"
    assert wait_for_tasks(delayed_server, baseline) <= baseline


def test_the_same_request_runs_when_the_client_stays(delayed_server: str) -> None:
    # The control: with the client still there, the delayed response streams.
    rid = uuid.uuid4().hex
    host, port = delayed_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        path = f"/data_stream/run_waiting?rid={rid}&delay=0.2"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(3)
        received = b""
        while b"Thinking" not in received:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            received += data
    assert started(rid).wait(1)
