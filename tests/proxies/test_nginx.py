"""Streams through a real nginx with the config docs/guides/reverse-proxies.rst shows.

Each claim of that page is checked here against nginx itself: tokens arrive
as the run writes them (compressed by nginx or by the app, or not at all), a
client that leaves stops the run, keepalives hold a silent stream open past
``proxy_read_timeout``. Each claim has its control: the same request with the
setting that matters taken away fails the same assertion.
"""

from __future__ import annotations

import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest

from assistant_stream_core.resumable import new_stream_id
from assistant_stream_core.run.http import PROTOCOL_ENCODERS
from tests.adapters.servers import server_sockets, uvicorn_server
from tests.resumable.test_http import SSE_IDS, cut_and_cursor

from . import app
from .app import RUNS, RUNS_LOCK
from .conftest import READ_TIMEOUT
from .nginx import Nginx, nginx_in_front

#: One protocol per media type: text/plain and text/event-stream.
PROTOCOLS = ["data_stream", "assistant_transport"]
TOKENS = 3
EVERY = 0.25


def token_arrivals(url: str, accept_encoding: str) -> tuple[httpx.Headers, list[float]]:
    """GET ``url``; the seconds after the request at which each token was decoded."""
    arrivals: list[float] = []
    text = ""
    started = time.monotonic()
    with (
        httpx.Client(timeout=10) as client,
        client.stream("GET", url, headers={"Accept-Encoding": accept_encoding}) as r,
    ):
        assert r.status_code == 200
        for piece in r.iter_text():
            text += piece
            while f"tok{len(arrivals)} " in text:
                arrivals.append(time.monotonic() - started)
    return r.headers, arrivals


def assert_incremental(arrivals: list[float]) -> None:
    assert len(arrivals) == TOKENS
    # The run takes (TOKENS - 1) * EVERY = 0.5 s; the first token must not
    # wait for the end of it.
    assert arrivals[-1] - arrivals[0] > (TOKENS - 1) * EVERY * 0.6, arrivals


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tokens_arrive_as_the_run_writes_them(
    nginx: Nginx, protocol: str, accept_encoding: str
) -> None:
    headers, arrivals = token_arrivals(
        f"{nginx.url}/tokens/{protocol}?n={TOKENS}&every={EVERY}", accept_encoding
    )
    assert_incremental(arrivals)
    # nginx compresses although the response says no-transform: its gzip
    # filter does not look at Cache-Control. It flushes after every piece,
    # because X-Accel-Buffering: no makes it pass the response unbuffered.
    expected = "gzip" if accept_encoding == "gzip" else None
    assert headers.get("content-encoding") == expected
    assert "x-accel-buffering" not in headers  # nginx consumes it


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_control_without_the_header_nginx_gzip_holds_the_stream(
    nginx: Nginx, protocol: str
) -> None:
    # The app replaces X-Accel-Buffering: no with yes: nginx buffers the
    # response, and its gzip filter then sends nothing until the end.
    headers, arrivals = token_arrivals(
        f"{nginx.url}/tokens/{protocol}?n={TOKENS}&every={EVERY}&accel=yes", "gzip"
    )
    assert headers["content-encoding"] == "gzip"
    assert len(arrivals) == TOKENS
    assert arrivals[-1] - arrivals[0] < 0.05, arrivals


def test_control_buffered_but_uncompressed_still_streams(nginx: Nginx) -> None:
    # proxy_buffering alone (no gzip) does not hold small pieces back: nginx
    # writes what it has whenever the client can take it.
    _, arrivals = token_arrivals(
        f"{nginx.url}/tokens/data_stream?n={TOKENS}&every={EVERY}&accel=yes", "identity"
    )
    assert_incremental(arrivals)


@pytest.mark.parametrize("accel", ["", "yes"])
def test_a_stream_the_app_compressed_passes_through(nginx: Nginx, accel: str) -> None:
    # Starlette's GZipMiddleware compresses and flushes; nginx sees
    # Content-Encoding and leaves the body alone, buffered mode or not.
    headers, arrivals = token_arrivals(
        f"{nginx.url}/gz/tokens/data_stream?n={TOKENS}&every={EVERY}&accel={accel}", "gzip"
    )
    assert headers["content-encoding"] == "gzip"
    assert_incremental(arrivals)


def _open_stream(nginx: Nginx, path: str) -> socket.socket:
    """A raw HTTP/1.1 request to nginx; returns once the first token arrived."""
    address = urlsplit(nginx.url)
    assert address.hostname is not None
    assert address.port is not None
    sock = socket.create_connection((address.hostname, address.port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: chat\r\nAccept-Encoding: identity\r\n\r\n".encode())
    received = b""
    while b"tok0" not in received:
        data = sock.recv(65536)
        assert data, received
        received += data
    return sock


def _cancelled_after(rid: str, left: float, timeout: float = 5) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with RUNS_LOCK:
            cancelled = RUNS[rid].cancelled
        if cancelled is not None:
            return cancelled - left
        time.sleep(0.01)
    raise AssertionError(f"the run went on for {timeout} s after the client left")


@pytest.mark.parametrize("every", [0.1, 30.0], ids=["writing", "silent"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_client_that_leaves_stops_the_run(nginx: Nginx, protocol: str, every: float) -> None:
    # "silent": the run writes nothing after its first token, so no failed
    # write tells anyone; nginx notices the client's FIN and closes its
    # connection to the app, which is how the app learns.
    rid = uuid.uuid4().hex
    sock = _open_stream(nginx, f"/endless/{protocol}?rid={rid}&every={every}")
    sock.close()
    left = time.monotonic()
    delay = _cancelled_after(rid, left)
    print(f"run cancelled {delay:.3f} s after the client left")
    assert delay < 1.0


def test_control_with_proxy_ignore_client_abort_the_run_goes_on(app_url: str) -> None:
    # The setting that would break it: nginx keeps the app's connection open
    # after the client left, so a silent run never learns.
    with nginx_in_front(app_url, location_extra="proxy_ignore_client_abort on;") as ignoring:
        rid = uuid.uuid4().hex
        sock = _open_stream(ignoring, f"/endless/data_stream?rid={rid}&every=30")
        sock.close()
        time.sleep(1.2)
        with RUNS_LOCK:
            assert RUNS[rid].cancelled is None
    # nginx stopped: the connection closed, and now the run is stopped.
    assert _cancelled_after(rid, time.monotonic()) < 1.0


def silent_stream(nginx: Nginx, protocol: str, keepalive: float) -> str:
    """A run silent for longer than proxy_read_timeout; the body received."""
    url = f"{nginx.url}/silent/{protocol}?silence={READ_TIMEOUT + 0.5}&keepalive={keepalive}"
    with httpx.Client(timeout=10) as client:
        response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    return response.text


def test_keepalives_hold_a_silent_stream_open(nginx: Nginx) -> None:
    # Every protocol's own keepalive bytes, all at once (each waits out
    # proxy_read_timeout).
    with ThreadPoolExecutor(len(PROTOCOL_ENCODERS)) as pool:
        bodies = dict(
            zip(
                PROTOCOL_ENCODERS,
                pool.map(
                    lambda p: silent_stream(nginx, p, keepalive=READ_TIMEOUT / 4),
                    PROTOCOL_ENCODERS,
                ),
                strict=True,
            )
        )
    for protocol, body in bodies.items():
        assert "start" in body, protocol
        assert "done" in body, protocol


def test_control_without_keepalives_nginx_cuts_the_stream(nginx: Nginx) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        silent_stream(nginx, "data_stream", keepalive=0)
    assert "upstream timed out" in nginx.log_text()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_resume_through_nginx(nginx: Nginx, protocol: str) -> None:
    # The cursor headers (Last-Event-ID, x-resumable-stream-offset) reach the
    # app, and nginx's gzip does not shift byte offsets: the client counts
    # the bytes it decoded, which are the app's.
    sid = new_stream_id()
    with httpx.Client(base_url=f"{nginx.url}/resumable", timeout=10) as client:
        kept = b""
        with client.stream(
            "GET", f"/start/{protocol}", params={"n": 20, "delay": 0.02, "id": sid}
        ) as r:
            assert r.headers["content-encoding"] == "gzip"
            for data in r.iter_bytes():
                kept += data
                if kept.count(b"t") >= 6 and (protocol not in SSE_IDS or b"\nid: " in kept):
                    break
        kept, cursor = cut_and_cursor(kept, protocol)
        assert cursor
        resumed = client.get(
            f"/resume/{protocol}", headers={"x-resumable-stream-id": sid, **cursor}
        )
        assert resumed.status_code == 200
        whole = client.get(f"/resume/{protocol}", headers={"x-resumable-stream-id": sid})
    assert b"t19 " in whole.content
    assert len(kept) < len(whole.content)
    assert kept + resumed.content == whole.content


def test_proxy_buffering_off_does_what_the_header_does(app_url: str) -> None:
    # For a config that ignores the app's header (or a proxy that never
    # reads it): proxy_buffering off in the location streams under gzip too.
    extra = "proxy_ignore_headers X-Accel-Buffering;\nproxy_buffering off;"
    with nginx_in_front(app_url, location_extra=extra) as unbuffered:
        headers, arrivals = token_arrivals(
            f"{unbuffered.url}/tokens/data_stream?n={TOKENS}&every={EVERY}&accel=yes", "gzip"
        )
    assert headers["content-encoding"] == "gzip"
    assert_incremental(arrivals)


@pytest.mark.parametrize("compress", ["", "1"], ids=["nginx-gzip", "app-gzip"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_aiohttp_tokens_arrive_as_the_run_writes_them(
    aiohttp_nginx: Nginx, protocol: str, compress: str
) -> None:
    # Compressed by nginx, or by the app (compress=True: nginx passes it on).
    headers, arrivals = token_arrivals(
        f"{aiohttp_nginx.url}/tokens/{protocol}?n={TOKENS}&every={EVERY}&compress={compress}",
        "gzip",
    )
    assert headers["content-encoding"] == "gzip"
    assert_incremental(arrivals)


def test_nginx_default_http_1_0_to_the_app_streams_too(app_url: str) -> None:
    # Many guides leave proxy_http_version out: nginx then speaks HTTP/1.0
    # to the app, which ends the body by closing the connection. Still
    # streamed (the docs' config keeps 1.1 for connection reuse).
    without = ("proxy_http_version 1.1;", 'proxy_set_header Connection "";')
    with nginx_in_front(app_url, without=without) as http10:
        headers, arrivals = token_arrivals(
            f"{http10.url}/tokens/data_stream?n={TOKENS}&every={EVERY}", "gzip"
        )
    assert headers["content-encoding"] == "gzip"
    assert_incremental(arrivals)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_django_tokens_arrive_as_the_run_writes_them(django_nginx: Nginx, protocol: str) -> None:
    # Django under uvicorn: compressed by nginx, flushed per token.
    headers, arrivals = token_arrivals(
        f"{django_nginx.url}/tokens/{protocol}?n={TOKENS}&every={EVERY}", "gzip"
    )
    assert headers["content-encoding"] == "gzip"
    assert_incremental(arrivals)


@pytest.mark.parametrize("every", [0.1, 30.0], ids=["writing", "silent"])
@pytest.mark.parametrize("server", ["aiohttp", "django"])
def test_other_servers_a_client_that_leaves_stops_the_run(
    request: pytest.FixtureRequest, server: str, every: float
) -> None:
    # "silent": no write fails; the app hears of the client's leaving when
    # nginx closes its connection (Django: its ASGI handler's http.disconnect).
    in_front: Nginx = request.getfixturevalue(f"{server}_nginx")
    rid = uuid.uuid4().hex
    sock = _open_stream(in_front, f"/endless/data_stream?rid={rid}&every={every}")
    sock.close()
    left = time.monotonic()
    delay = _cancelled_after(rid, left)
    print(f"run cancelled {delay:.3f} s after the client left")
    assert delay < 1.0


def _stall(nginx: Nginx, path: str) -> socket.socket:
    """Like :func:`_open_stream`, with a small receive buffer, for a client
    that stops reading after the first token."""
    address = urlsplit(nginx.url)
    assert address.hostname is not None
    assert address.port is not None
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((address.hostname, address.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: chat\r\nAccept-Encoding: identity\r\n\r\n".encode())
    received = b""
    while b"tok0" not in received:
        data = sock.recv(65536)
        assert data, received
        received += data
    return sock


#: 16 KB tokens every 2 ms: the buffers between the app and a client that
#: stopped reading (nginx's, the sockets') fill in well under a second.
FLOOD = "every=0.002&pad=16384"


def _released(port: int, timeout: float) -> float | None:
    """Seconds until uvicorn holds no connection on ``port``; ``None`` if it still does."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server_sockets(port) == 0:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_nginx_send_timeout_stops_the_run_and_frees_the_app() -> None:
    # nginx passes the response unbuffered (X-Accel-Buffering: no), so it
    # stops reading from the app once its client stops reading: the app's
    # writes back up. With the app's own send_timeout long, nginx's ends it:
    # nginx closes both connections and the app hears a disconnect.
    # An app server of its own: its connections are this test's only.
    with (
        uvicorn_server(app.starlette_app()) as app_url,
        nginx_in_front(app_url, location_extra="send_timeout 2s;") as proxy,
    ):
        port = int(app_url.rsplit(":", 1)[1])
        rid = uuid.uuid4().hex
        with _stall(proxy, f"/endless/data_stream?rid={rid}&{FLOOD}&send_timeout=3600"):
            delay = _cancelled_after(rid, time.monotonic(), timeout=8)
            print(f"run stopped {delay:.2f} s after the client stopped reading")
            assert 2 <= delay < 2 + 2.5
            assert _released(port, 2) is not None


def test_the_app_send_timeout_stops_the_run_first_nginx_frees_the_connection() -> None:
    # The app's send_timeout (1 s) stops the run; uvicorn cannot abort the
    # connection (ASGI), and nginx reads nothing more from it while its own
    # client does not read: the connection is held until nginx's
    # send_timeout (4 s here, 60 s by default) closes it.
    with (
        uvicorn_server(app.starlette_app()) as app_url,
        nginx_in_front(app_url, location_extra="send_timeout 4s;") as proxy,
    ):
        port = int(app_url.rsplit(":", 1)[1])
        rid = uuid.uuid4().hex
        with _stall(proxy, f"/endless/data_stream?rid={rid}&{FLOOD}&send_timeout=1"):
            stopped_reading = time.monotonic()
            delay = _cancelled_after(rid, stopped_reading, timeout=8)
            print(f"run stopped {delay:.2f} s after the client stopped reading")
            assert 1 <= delay < 1 + 2.5
            assert server_sockets(port) == 1  # still held after the run stopped
            assert _released(port, 8) is not None
            released = time.monotonic() - stopped_reading
            print(f"uvicorn's connection closed {released:.2f} s after the client stopped")
            assert 4 <= released < 4 + 2.5


def test_control_with_both_send_timeouts_long_the_run_goes_on(app_url: str) -> None:
    # nginx's own default send_timeout is 60 s: nothing stops the run sooner.
    with nginx_in_front(app_url) as proxy:
        rid = uuid.uuid4().hex
        with _stall(proxy, f"/endless/data_stream?rid={rid}&{FLOOD}&send_timeout=3600"):
            time.sleep(4)
            with RUNS_LOCK:
                assert RUNS[rid].cancelled is None
