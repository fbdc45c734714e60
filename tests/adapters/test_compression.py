"""Compression middleware must not hold frames back.

Starlette's ``GZipMiddleware`` flushes the compressor after every body
message, so each drain still reaches the client on its own. The scenario
streams a few ticks and then stays silent for an hour: if the middleware held
frames back, the ticks would never arrive.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from . import servers
from .scenarios import finished


@pytest.fixture(scope="module")
def gzip_server() -> Iterator[str]:
    from starlette.middleware.gzip import GZipMiddleware

    app = GZipMiddleware(servers.starlette_app(), minimum_size=0)
    with servers.uvicorn_server(app) as url:
        yield url


@pytest.mark.parametrize(
    ("protocol", "encoding"), [("data_stream", "gzip"), ("assistant_transport", None)]
)
def test_gzip_middleware_passes_each_drain_through(
    gzip_server: str, protocol: str, encoding: str | None
) -> None:
    rid = uuid.uuid4().hex
    received = b""
    headers = {"Accept-Encoding": "gzip"}
    with (
        httpx.Client(base_url=gzip_server, timeout=5, headers=headers) as client,
        client.stream("GET", f"/{protocol}/endless", params={"rid": rid}) as response,
    ):
        # text/event-stream is excluded from compression by Starlette's default.
        assert response.headers.get("content-encoding") == encoding
        deadline = time.monotonic() + 3
        for data in response.iter_bytes():
            received += data
            if b"tick 4" in received or time.monotonic() > deadline:
                break
    assert b"tick 4" in received
    assert finished(rid).wait(2)
