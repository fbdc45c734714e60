"""Write-through on real servers: a run's write sent from the run's own call.

While the serving loop waits for the run's next write, a write that finds
nothing pending is encoded and sent from the producer's call (one task wake
per token instead of two). These pin down that nothing a client can see
changes: the same bytes as with every write made by the serving loop's task,
the same end on a disconnect, on flow control, on an encoder error; keepalive
still fires in silence; a fast producer's writes still merge.

The servers run in this process (threads), so a test switches write-through
off with ``serve.WRITE_THROUGH`` and counts the writes that went through.
Each server runs twice: on the standard library's event loop with uvicorn's
h11, and as production runs it, on uvloop (uvicorn with httptools, as
``uvicorn[standard]`` installs it; aiohttp's server on a uvloop loop).
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from assistant_stream_core.run import serve

from .scenario_suite import decode, new_rid
from .scenarios import (
    APPEND_ERRORS,
    BIG_WRITE,
    BIG_WRITES,
    BULK_WRITES,
    finished,
    saw_cancel,
    started,
)

SERVERS = [
    "starlette_server",
    "aiohttp_server",
    "django_asgi_server",
    # What production runs: uvicorn[standard] (uvloop, httptools), aiohttp on uvloop.
    "starlette_uvloop_server",
    "aiohttp_uvloop_server",
    "django_asgi_uvloop_server",
]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def loop_kind(server: str) -> str:
    """The kind of event loop ``server`` runs on (its ``GET /loop``)."""
    return httpx.get(f"{server}/loop", timeout=10).text


@pytest.fixture
def through(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the writes offered to the write-through: 1 taken, 0 declined,
    2 taken and its send handed to the serving loop (it suspended)."""
    calls: list[int] = []
    write_through = serve._Streamer.write_through
    hand_over = serve._Streamer.hand_over

    def counting(self: serve._Streamer, chunk: object) -> bool:
        went = write_through(self, chunk)  # type: ignore[arg-type]
        calls.append(int(went))
        return went

    def handing(self: serve._Streamer, step: object, yielded: object, size: int) -> None:
        hand_over(self, step, yielded, size)
        calls.append(2)

    monkeypatch.setattr(serve._Streamer, "write_through", counting)
    monkeypatch.setattr(serve._Streamer, "hand_over", handing)
    return calls


def fetch(server: str, path: str, **params: str) -> bytes:
    with httpx.Client(base_url=server, timeout=20) as client:
        response = client.get(path, params={"rid": new_rid(), **params})
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("protocol", ["data_stream", "assistant_transport", "ui_message_stream"])
def test_paced_stream_is_byte_identical_with_and_without_write_through(
    server: str, protocol: str, through: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_through = fetch(server, f"/{protocol}/run_paced")
    assert through.count(1) >= 8, f"{through}: the paced writes did not go through"
    monkeypatch.setattr(serve, "WRITE_THROUGH", False)
    through.clear()
    without = fetch(server, f"/{protocol}/run_paced")
    assert through == []
    assert with_through == without
    text = "".join(getattr(c, "text_delta", "") for c in decode(protocol, with_through))
    assert text == "token 0 token 1 token 2 token 3 It is 21 C."


@pytest.mark.parametrize("name", [name for name in SERVERS if "uvloop" in name])
def test_write_through_is_on_under_uvloop(
    name: str, request: pytest.FixtureRequest, through: list[int]
) -> None:
    # uvloop's tasks are asyncio's own (the C Task), which keep the running
    # task in asyncio's record: the check that arms the write-through holds.
    server: str = request.getfixturevalue(name)
    assert loop_kind(server) == "uvloop"
    body = fetch(server, "/data_stream/run_paced")
    assert b"It is 21 C." in body
    assert through.count(1) >= 8, f"{through}: the paced writes did not go through"


def test_unencodable_chunk_mid_write_through_gives_the_same_error_frame(
    server: str, through: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with_through = fetch(server, "/data_stream/run_paced_bad")
    # The bad chunk was offered to the write-through, which declined it.
    assert 0 in through
    assert through.count(1) >= 8
    monkeypatch.setattr(serve, "WRITE_THROUGH", False)
    without = fetch(server, "/data_stream/run_paced_bad")
    assert with_through == without
    assert with_through.endswith(
        b"3:\"the response could not be encoded: cannot encode data chunk: field 'data' "
        b'objects of type object are not JSON-serialisable"\n'
    )
    assert b" and then" in with_through
    assert b"never sent" not in with_through


def test_disconnect_during_paced_write_through_stops_the_run(
    server: str, through: list[int]
) -> None:
    rid = new_rid()
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"GET /data_stream/run_paced_endless?rid={rid} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        received = b""
        while received.count(b"token") < 10:
            received += sock.recv(65536)
    # The client is gone; the run sees it through the grace path, and its
    # own calls never raised.
    assert saw_cancel(rid).wait(5), "the run never saw is_cancelled"
    assert finished(rid).wait(5)
    assert rid not in APPEND_ERRORS
    assert through.count(1) >= 8


def test_slow_client_mid_write_through_loses_nothing_and_keeps_order(
    server: str, through: list[int]
) -> None:
    rid = new_rid()
    host, port = server.removeprefix("http://").split(":")
    sock = socket.socket()
    # A small receive window: the server's writes pause (flow control).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    sock.connect((host, int(port)))
    with sock:
        sock.sendall(
            f"GET /data_stream/run_paced_big?rid={rid} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        )
        assert started(rid).wait(5)
        time.sleep(0.5)  # not reading while the run writes
        sock.settimeout(20)
        received = bytearray()
        while not received.endswith(b"0\r\n\r\n"):
            data = sock.recv(1 << 20)
            if not data:
                break
            received += data
    body = bytes(received)
    text = body.replace(b"\r\n", b"")  # chunked framing aside, the text is in order
    positions = [text.find(f"{i:04d}x".encode()) for i in range(BIG_WRITES)]
    assert -1 not in positions, "a write was lost"
    assert positions == sorted(positions), "the writes are out of order"
    assert body.count(b"x") >= BIG_WRITES * (BIG_WRITE - 4)
    assert finished(rid).wait(5)
    assert 2 in through, f"{through}: no write-through's send suspended"


def test_keepalive_fires_in_silence_after_write_throughs(server: str, through: list[int]) -> None:
    # The interval is 80 times the pace, so that a busy machine's stall
    # between two tokens does not pass for a silence.
    body = fetch(server, "/assistant_transport/run_paced_then_silent", keepalive="0.4")
    before, _, after = body.partition(b"token 2")
    # Written through, the paced tokens count as writes: no keepalive
    # between them; then the silence gets its keepalives.
    assert b": heartbeat" not in before
    assert after.count(b": heartbeat") >= 2
    assert b"after the silence" in after
    assert through.count(1) >= 2


def test_bulk_producer_still_merges(server: str, through: list[int]) -> None:
    body = fetch(server, "/data_stream/run_bulk")
    frames = body.count(b'0:"')
    assert frames <= 60, f"{frames} frames for {BULK_WRITES} writes: they did not merge"
    assert body.count(b" ") == BULK_WRITES
