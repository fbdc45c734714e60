"""SIGTERM with HTTP/2 streams open, on Hypercorn, Granian and Daphne over TLS.

As :mod:`.test_asgi_servers` does over HTTP/1.1, each test starts the server
by its command line (with a certificate made for the test) on
:mod:`.env_app`, opens two streams on one HTTP/2 connection, sends ``SIGTERM``
after their first bytes, and reads what arrives frame by frame
(:class:`tests.adapters.h2_client.H2Client`). docs/guides/graceful-shutdown.rst
("HTTP/2") sums up what they show.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.adapters.cli_servers import Certs
from tests.adapters.h2_client import H2Client

from .procs import Server, app_env, asgi_server, server
from .test_graceful_shutdown import INTERRUPTED, PROMPT_EXIT

#: The last stream id of a GOAWAY that announces a shutdown (RFC 9113, 6.8).
ANNOUNCE = 2**31 - 1
APP = "tests.shutdown.env_app:app"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs.make(tmp_path_factory.mktemp("certs"))


def deltas(n: int) -> bytes:
    return b"".join(f'0:"t{i} "\n'.encode() for i in range(n))


def _two_streams(srv: Server, client: H2Client, n: int) -> tuple[int, int]:
    """Streams ``a`` (``n`` deltas 50 ms apart) and ``b`` (four more) on one
    connection; ``SIGTERM`` once both have their first bytes."""
    a = client.get(f"/stream?n={n}&delay=0.05&rid=a")
    b = client.get(f"/stream?n={n + 4}&delay=0.05&rid=b")
    assert client.until(lambda: bool(client.streams[a].body and client.streams[b].body), 5)
    srv.terminate()
    return a, b


@pytest.mark.parametrize("app", ["starlette", "django"])
def test_granian_announces_its_shutdown_and_finishes_the_streams(
    tmp_path: Path, certs: Certs, app: str
) -> None:
    """GOAWAY with the largest stream id at once (no new streams, the open
    ones go on), every stream whole with its end, a last GOAWAY, the exit."""
    argv = asgi_server("granian") + certs.argv("granian")
    with (
        server(argv, tmp_path, env=app_env(app, tmp_path, 5)) as srv,
        H2Client(srv.port, certs.client()) as client,
    ):
        a, b = _two_streams(srv, client, 12)
        assert client.until(lambda: bool(client.goaways), 1)
        assert client.goaways[0] == ANNOUNCE
        assert client.until(lambda: client.closed, 10)
        ended = time.monotonic()
        for sid, n in ((a, 12), (b, 16)):
            stream = client.streams[sid]
            assert stream.ended
            assert stream.body == deltas(n)
            # Streamed as written, Django's too: not one lump at the end.
            assert stream.arrivals[-1] - stream.arrivals[0] > 0.3
        assert client.goaways[-1] == b
        srv.process.wait(10)
        assert time.monotonic() - ended < PROMPT_EXIT
        assert (srv.flag("a"), srv.flag("b")) == ("done", "done")


def test_hypercorn_finishes_the_streams_but_drops_the_last_ones_end(
    tmp_path: Path, certs: Certs
) -> None:
    """Hypercorn 0.18 refuses new streams after SIGTERM; as soon as its last
    stream's response returns it sends GOAWAY and closes the connection,
    before its sending task has written that stream's END_STREAM: the client
    gets every byte, then a connection that closes under a stream not ended.
    When this test fails, Hypercorn has fixed it: update
    docs/guides/graceful-shutdown.rst."""
    argv = asgi_server("hypercorn") + certs.argv("hypercorn")
    with (
        server(argv, tmp_path, env=app_env("starlette", tmp_path, 5)) as srv,
        H2Client(srv.port, certs.client()) as client,
    ):
        a, b = _two_streams(srv, client, 12)
        time.sleep(0.3)  # SIGTERM handled: a new stream is refused
        late = client.get("/ping")
        assert client.until(lambda: client.streams[late].reset is not None, 2)
        assert client.until(lambda: client.closed, 10)
        assert client.goaways == [late]  # no announcement: GOAWAY comes at the close
        assert client.streams[a].ended
        assert client.streams[a].body == deltas(12)
        assert client.streams[b].body == deltas(16)
        assert not client.streams[b].ended
        assert (srv.flag("a"), srv.flag("b")) == ("done", "done")
        # Over TLS its worker exits once the client has closed its side.
        client.close()
        assert srv.exited_after(10) < 1 + PROMPT_EXIT


def test_hypercorn_past_its_graceful_timeout_cuts_http2_streams(
    tmp_path: Path, certs: Certs
) -> None:
    """Over HTTP/1.1 the cancelled response's error frame and end reach the
    client; over HTTP/2 Hypercorn has stopped sending for the connection by
    then: the body stops between two frames. The runs are cancelled and
    their ``finally`` blocks run."""
    argv = asgi_server("hypercorn", 1) + certs.argv("hypercorn")
    with (
        server(argv, tmp_path, env=app_env("starlette", tmp_path, 2)) as srv,
        H2Client(srv.port, certs.client()) as client,
    ):
        a, b = _two_streams(srv, client, 100)
        assert client.until(lambda: client.closed, 10)
        for sid in (a, b):
            stream = client.streams[sid]
            assert not stream.ended
            assert INTERRUPTED not in stream.body
            assert stream.body.endswith(b'"\n')
        client.close()
        assert srv.exited_after(10) < 2 + PROMPT_EXIT
        assert (srv.flag("a"), srv.flag("b")) == ("cancelled", "cancelled")


def test_daphne_cancels_http2_streams_at_once_with_their_error_frame(
    tmp_path: Path, certs: Certs
) -> None:
    """As over HTTP/1.1: no graceful period, every response cancelled at
    once; each stream gets the error frame and its end, then the process
    exits (Daphne sends no GOAWAY)."""
    argv = [sys.executable, "-m", "daphne", "-e", certs.endpoint("{port}"), APP]
    with (
        server(argv, tmp_path, env=app_env("starlette", tmp_path, 2)) as srv,
        H2Client(srv.port, certs.client()) as client,
    ):
        a, b = _two_streams(srv, client, 100)
        assert client.until(lambda: client.closed, 10)
        for sid in (a, b):
            stream = client.streams[sid]
            assert stream.ended
            assert stream.body.endswith(INTERRUPTED)
        assert srv.exited_after(10) < PROMPT_EXIT
        assert (srv.flag("a"), srv.flag("b")) == ("cancelled", "cancelled")
