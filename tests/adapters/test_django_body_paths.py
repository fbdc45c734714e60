"""Django under ASGI: the two ways a body reaches the server.

When Django's own ``send_response`` iterates the response (no middleware
replaced ``streaming_content``), the serving loop writes the body to the
server's ``send`` itself and Django's task only waits for the end; otherwise
the bytes go to Django's task through the one-write handoff. Both must give
the same bytes, and the body must stop the run however Django lets go of it.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from . import servers
from .django_app import configure
from .scenario_suite import decode, new_rid
from .scenarios import build, finished, saw_cancel, started

configure()

from assistant_stream_django import DataStreamHttpResponse, responses  # noqa: E402

PACED_TEXT = "token 0 token 1 token 2 token 3 It is 21 C."


@pytest.fixture(scope="module")
def wrapped_server() -> Iterator[str]:
    from . import django_app

    app = django_app.asgi_app(["tests.adapters.django_app.wrap_middleware"])
    with servers.uvicorn_server(app) as url:
        yield url


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes that went through the handoff to Django's task."""
    sent: list[bytes] = []
    send = responses._Handoff.send

    def counting(self: responses._Handoff, data: bytes) -> object:
        sent.append(data)
        return send(self, data)

    monkeypatch.setattr(responses._Handoff, "send", counting)
    return sent


def fetch(server: str, path: str) -> bytes:
    with httpx.Client(base_url=server, timeout=20) as client:
        response = client.get(path, params={"rid": new_rid()})
    assert response.status_code == 200
    return response.content


def text_of(body: bytes) -> str:
    return "".join(getattr(c, "text_delta", "") for c in decode("data_stream", body))


def test_django_send_response_gets_the_body_written_to_the_server(
    django_asgi_server: str, wrapped_server: str, handed: list[bytes]
) -> None:
    direct = fetch(django_asgi_server, "/data_stream/run_paced")
    assert handed == [], "the body went through Django's task"
    assert text_of(direct) == PACED_TEXT
    # Behind a middleware that replaced the body, the handoff carries it: the
    # same bytes.
    wrapped = fetch(wrapped_server, "/data_stream/run_paced")
    assert len(handed) >= 8
    assert b"".join(handed) == wrapped
    assert wrapped == direct


def test_only_djangos_send_response_is_written_around() -> None:
    assert responses._server_send(None) is None
    send = object()  # a local named like the handler's, in another function
    assert send is not None
    assert responses._server_send(sys._getframe()) is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_body_dropped_without_aclose_stops_the_run() -> None:
    # A middleware's wrapper that is never closed drops the body mid-stream;
    # as an async generator's finalizer would, dropping it stops the run.
    rid = uuid.uuid4().hex
    run, _ = build("run_waiting", {"rid": rid})
    body = DataStreamHttpResponse(run).streaming_content
    assert b"Thinking" in await body.__anext__()
    assert started(rid).is_set()
    del body
    gc.collect()
    for _ in range(200):
        if finished(rid).is_set():
            break
        await asyncio.sleep(0.025)
    assert saw_cancel(rid).is_set(), "the run never saw is_cancelled"
    assert finished(rid).is_set()
