"""Compression must not hold frames back, on every adapter.

Each test streams a scenario that sends a few ticks and then stays silent for
an hour, through a real server with compression on, and reads it with an httpx
client that decodes incrementally: if the compressor held frames back, the
ticks would never arrive while the run is still going.

* Starlette's ``GZipMiddleware`` flushes after every body message.
* aiohttp: the response's ``enable_compression()`` (or ``compress=True``) is
  overridden to flush after every write.
* Django: ``assistant_stream_django.middleware.GZipMiddleware`` flushes under
  ASGI and WSGI on every release; Django's own does from 6.1, and before
  holds frames back (or, under ASGI up to 5.2, splits gzip members), which
  logs a warning.
"""

from __future__ import annotations

import logging
import time
import uuid
import zlib
from collections.abc import Iterator

import django
import httpx
import pytest
from assistant_stream_django._django_gzip import HOLDS_BACK, SEPARATE_MEMBERS

from . import servers
from .scenario_suite import reference
from .scenarios import finished

GZIP = "assistant_stream_django.middleware.GZipMiddleware"
DJANGO_GZIP = "django.middleware.gzip.GZipMiddleware"


@pytest.fixture(scope="module")
def gzip_server() -> Iterator[str]:
    from starlette.middleware.gzip import GZipMiddleware

    app = GZipMiddleware(servers.starlette_app(), minimum_size=0)
    with servers.uvicorn_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def django_asgi_gzip_server() -> Iterator[str]:
    from . import django_app

    with servers.uvicorn_server(django_app.asgi_app([GZIP])) as url:
        yield url


@pytest.fixture(scope="module")
def django_wsgi_gzip_server() -> Iterator[str]:
    from . import django_app

    with servers.wsgi_server(django_app.wsgi_app([GZIP])) as url:
        yield url


def read_ticks(url: str, path: str, encoding: str | None, **params: str) -> bytes:
    """Read a compressed stream until the last tick; the run must still be going."""
    rid = uuid.uuid4().hex
    received = b""
    headers = {"Accept-Encoding": "gzip"}
    with (
        httpx.Client(base_url=url, timeout=5, headers=headers) as client,
        client.stream("GET", path, params={"rid": rid, **params}) as response,
    ):
        assert response.headers.get("content-encoding") == encoding
        deadline = time.monotonic() + 3
        chunks = response.iter_bytes()  # held: dropping it closes the connection
        for data in chunks:  # decompressed as it arrives
            received += data
            if b"tick 4" in received or time.monotonic() > deadline:
                break
        assert b"tick 4" in received, received
        assert not finished(rid).is_set(), "the run ended before the ticks arrived"
    assert b"tick 4" in received
    assert finished(rid).wait(2)
    return received


@pytest.mark.parametrize(
    ("protocol", "encoding"), [("data_stream", "gzip"), ("assistant_transport", None)]
)
def test_starlette_gzip_middleware_passes_each_drain_through(
    gzip_server: str, protocol: str, encoding: str | None
) -> None:
    # text/event-stream is excluded from compression by Starlette's default.
    read_ticks(gzip_server, f"/{protocol}/endless", encoding)


@pytest.mark.parametrize("how", ["1", "enable"])
def test_aiohttp_compression_flushes_every_write(aiohttp_server: str, how: str) -> None:
    read_ticks(aiohttp_server, "/assistant_transport/endless", "gzip", compress=how)


def test_aiohttp_compressed_body_is_the_reference(aiohttp_server: str) -> None:
    params = {"rid": uuid.uuid4().hex, "compress": "1"}
    with httpx.Client(base_url=aiohttp_server, timeout=5) as client:
        response = client.get(
            "/data_stream/tool", params=params, headers={"Accept-Encoding": "gzip"}
        )
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.content == reference("data_stream", "tool")


@pytest.mark.parametrize(("force", "encoding"), [("deflate", "deflate"), ("identity", None)])
def test_aiohttp_forced_coding(aiohttp_server: str, force: str, encoding: str | None) -> None:
    params = {"rid": uuid.uuid4().hex, "compress": force}
    with httpx.Client(base_url=aiohttp_server, timeout=5) as client:
        response = client.get(
            "/data_stream/tool", params=params, headers={"Accept-Encoding": "gzip"}
        )
    assert response.headers.get("content-encoding") == encoding
    assert response.content == reference("data_stream", "tool")


def test_aiohttp_compression_without_accept_encoding(aiohttp_server: str) -> None:
    params = {"rid": uuid.uuid4().hex, "compress": "1"}
    with httpx.Client(base_url=aiohttp_server, timeout=5) as client:
        response = client.get("/data_stream/tool", params=params, headers={"Accept-Encoding": ""})
    assert "content-encoding" not in response.headers
    assert response.content == reference("data_stream", "tool")


@pytest.mark.parametrize("protocol", ["data_stream", "openai_chat"])
def test_django_asgi_gzip_middleware_flushes_every_write(
    django_asgi_gzip_server: str, protocol: str
) -> None:
    read_ticks(django_asgi_gzip_server, f"/{protocol}/endless", "gzip")


@pytest.mark.parametrize("protocol", ["data_stream", "openai_chat"])
def test_django_wsgi_gzip_middleware_flushes_every_write(
    django_wsgi_gzip_server: str, protocol: str
) -> None:
    read_ticks(django_wsgi_gzip_server, f"/{protocol}/endless", "gzip", keepalive="0.05")


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_django_gzip_body_is_one_gzip_member(
    django_asgi_gzip_server: str, django_wsgi_gzip_server: str, kind: str
) -> None:
    url = django_asgi_gzip_server if kind == "asgi" else django_wsgi_gzip_server
    params = {"rid": uuid.uuid4().hex}
    with httpx.Client(base_url=url, timeout=5) as client:
        response = client.get(
            "/data_stream/tool", params=params, headers={"Accept-Encoding": "gzip"}
        )
        with client.stream(
            "GET", "/data_stream/tool", params=params, headers={"Accept-Encoding": "gzip"}
        ) as streamed:
            raw = b"".join(streamed.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == reference("data_stream", "tool")
    # One member: a decoder that stops after the first still gets everything.
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert decoder.decompress(raw) == reference("data_stream", "tool")
    assert decoder.eof
    assert decoder.unused_data == b""


def own_gzip_problem(kind: str) -> str | None:
    """What Django's own middleware does to a stream on the installed release
    (from its version number: the adapter finds out by running it)."""
    if django.VERSION >= (6, 1):
        return None  # flushes after every piece, under WSGI and ASGI
    if kind == "asgi" and django.VERSION < (6, 0):
        return SEPARATE_MEMBERS
    return HOLDS_BACK


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_django_own_gzip_middleware_as_on_this_release(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # "before", a second of silence, "after": when does "before" decode?
    from . import django_app

    caplog.set_level(logging.WARNING, logger="assistant_stream_ce")
    if kind == "asgi":
        server = servers.uvicorn_server(django_app.asgi_app([DJANGO_GZIP]))
    else:
        server = servers.wsgi_server(django_app.wsgi_app([DJANGO_GZIP]))
    gap = 1.0
    with (
        server as url,
        httpx.Client(base_url=url, timeout=5, headers={"Accept-Encoding": "gzip"}) as client,
        client.stream("GET", "/data_stream/silent", params={"gap": str(gap)}) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        started = time.monotonic()
        received, first_after = b"", None
        for data in response.iter_bytes():
            received += data
            if first_after is None and b"before" in received:
                first_after = time.monotonic() - started
    assert first_after is not None, received
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # Each names its response first ("source ... (not a run): ", this app's
    # source being no create_run run), and carries run_id for a handler.
    assert all(r.getMessage().startswith("source ") and r.run_id is None for r in records)
    warnings = [r.getMessage().partition(" (not a run): ")[2] for r in records]
    problem = own_gzip_problem(kind)
    if problem is None:  # streams as it should: no warning
        assert first_after < gap * 0.7
        assert b"after" in received
        assert warnings == []
    elif problem == HOLDS_BACK:  # "before" waits for the end of the stream
        assert first_after >= gap * 0.9
        assert b"after" in received
        assert warnings == [HOLDS_BACK]
    else:  # httpx decodes the first gzip member only: "after" is lost
        assert first_after < gap * 0.7
        assert b"after" not in received
        assert warnings == [SEPARATE_MEMBERS]
