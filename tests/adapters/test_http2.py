"""Streams over HTTP/2 on Hypercorn, Granian and Daphne, started by their command line.

Each server serves the Starlette scenario app (:mod:`.cli_app`) over TLS (a
certificate made for the test; HTTP/2 chosen by ALPN) and, Hypercorn and
Granian, over h2c (HTTP/2 with prior knowledge, no TLS). The clients are httpx (``http2=True``) and,
where a test needs control of single frames -- ``RST_STREAM``, a stream whose
flow-control window the client stops crediting -- :class:`.h2_client.H2Client`
on a real socket. docs/adapters/index.rst ("HTTP/2") sums up what they show.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import anyio
import httpx
import pytest

from .cli_servers import Certs, finished, group_rss, serving
from .h2_client import H2Client
from .scenarios import encoder_for

PROTOCOLS = ["data_stream", "assistant_transport", "openai_chat", "ui_message_stream", "ag_ui"]
MB = 1 << 20
#: Seconds a run may take to end after its stream was reset or its
#: connection closed (measured: 0.01 to 0.07 s; a loaded 2-core machine is slower).
PROMPT = 0.5


@dataclass(frozen=True)
class Served:
    name: str
    port: int
    pgid: int
    certs: Certs | None  # None: h2c

    @property
    def url(self) -> str:
        return f"{'http' if self.certs is None else 'https'}://127.0.0.1:{self.port}"

    def client(self, http2: bool = True) -> httpx.AsyncClient:
        """An httpx client speaking only HTTP/2 (``http2=False``: only HTTP/1.1)."""
        verify = True if self.certs is None else self.certs.client()
        return httpx.AsyncClient(http1=not http2, http2=http2, verify=verify, timeout=10)

    def h2(self) -> H2Client:
        return H2Client(self.port, None if self.certs is None else self.certs.client())

    def finished(self, rid: str) -> bool:
        return finished(self.port, rid, self.certs)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs.make(tmp_path_factory.mktemp("certs"))


#: Each server over TLS and over h2c (``served``'s parameters).
EVERY = ["hypercorn-tls", "hypercorn-h2c", "granian-tls", "granian-h2c", "daphne-tls"]
#: The streams' state machine is the same with and without TLS.
TLS = ["hypercorn-tls", "granian-tls", "daphne-tls"]


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, certs: Certs) -> Iterator[Served]:
    name, _, transport = request.param.partition("-")
    tls = certs if transport == "tls" else None
    with serving(name, certs=tls) as (port, pgid):
        yield Served(name, port, pgid, tls)


def wait_for(predicate: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until ``predicate()`` held, polled every 10 ms; ``None``: it did not."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            return None
        time.sleep(0.01)
    return time.monotonic() - start


async def _get(
    client: httpx.AsyncClient,
    url: str,
    version: str = "HTTP/2",
    connections: set[int] | None = None,
) -> tuple[bytes, list[tuple[float, bytes]]]:
    """The body, and each piece with the seconds since the request when it
    arrived; ``connections`` collects the identity of the connection used."""
    start = time.monotonic()
    pieces: list[tuple[float, bytes]] = []
    async with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.http_version == version
        if connections is not None:
            connections.add(id(response.extensions["network_stream"]))
        async for data in response.aiter_raw():
            pieces.append((time.monotonic() - start, data))
    return b"".join(data for _, data in pieces), pieces


@pytest.mark.parametrize("served", EVERY, indirect=True)
def test_every_protocol_streams_over_http2_as_over_http11(served: Served) -> None:
    """Five streams at once on one connection: each protocol's frames arrive
    as the run writes them, keepalives pass during a silence, and a whole
    body is byte for byte what HTTP/1.1 carries."""
    silences: dict[str, list[tuple[float, bytes]]] = {}
    bodies: dict[tuple[str, str], bytes] = {}
    connections: set[int] = set()

    async def main() -> None:
        async with served.client() as h2, served.client(http2=False) as h1:

            async def silence(protocol: str) -> None:
                url = f"{served.url}/{protocol}/silent?gap=0.8&keepalive=0.1"
                silences[protocol] = (await _get(h2, url, connections=connections))[1]

            async def whole(protocol: str, client: httpx.AsyncClient, version: str) -> None:
                url = f"{served.url}/{protocol}/run_paced?keepalive=none"
                bodies[protocol, version] = (await _get(client, url, f"HTTP/{version}"))[0]

            async with anyio.create_task_group() as tg:
                for protocol in PROTOCOLS:
                    tg.start_soon(silence, protocol)
                    tg.start_soon(whole, protocol, h2, "2")
                    tg.start_soon(whole, protocol, h1, "1.1")

    anyio.run(main)
    assert len(connections) == 1, "the streams did not share one connection"
    for protocol in PROTOCOLS:
        assert bodies[protocol, "2"] == bodies[protocol, "1.1"], protocol
        assert b"It is 21 C." in bodies[protocol, "2"]
        pieces = silences[protocol]
        body = b"".join(data for _, data in pieces)
        before = next(t for t, data in pieces if b"before" in data)
        after = next(t for t, data in pieces if b"after" in data)
        # Half the silence at least, however late a loaded machine delivers the first.
        assert after - before > 0.4, (protocol, before, after)
        keepalive = encoder_for(protocol).keepalive
        assert keepalive is not None
        assert body.count(keepalive) >= 2, (protocol, body)


@pytest.mark.parametrize("served", TLS, indirect=True)
def test_a_reset_stream_or_a_closed_connection_ends_its_runs(served: Served) -> None:
    """``RST_STREAM`` (a browser's abort) on three streams of one connection:
    a run that writes, one that loops on ``drain()`` and one that is silent
    all end at once, while a fourth stream on the connection arrives whole.
    Then closing the connection ends the three runs of a second set."""
    with served.h2() as client:
        _reset_and_close(served, client)


def _reset_and_close(served: Served, client: H2Client) -> None:
    rids = {name: uuid.uuid4().hex for name in ("run_paced_endless", "run_drain_loop", "endless")}
    reset = [client.get(f"/data_stream/{name}?rid={rid}") for name, rid in rids.items()]
    keep = client.get("/data_stream/silent?gap=0.5&keepalive=none")
    assert client.until(lambda: all(client.streams[sid].body for sid in reset), 5)
    for sid in reset:
        client.reset(sid)
    took = wait_for(lambda: all(served.finished(rid) for rid in rids.values()), 3)
    print(f"{served.name}: runs of reset streams ended {took} s after the reset")
    assert took is not None, "a run went on after its stream was reset"
    assert took < PROMPT
    assert client.until(lambda: client.streams[keep].ended, 5)
    assert client.streams[keep].body == b'0:"before"\n0:"after"\n'

    rids = {name: uuid.uuid4().hex for name in ("run_waiting", "run_drain_loop", "endless")}
    sids = [client.get(f"/data_stream/{name}?rid={rid}") for name, rid in rids.items()]
    assert client.until(lambda: all(client.streams[sid].body for sid in sids), 5)
    client.close()
    took = wait_for(lambda: all(served.finished(rid) for rid in rids.values()), 3)
    print(f"{served.name}: runs ended {took} s after the connection closed")
    assert took is not None, "a run went on after its connection closed"
    assert took < PROMPT


def _stall(served: Served) -> tuple[H2Client, str, int, int]:
    """A flood to a stream whose window the client never credits, beside a
    paced stream it reads; return the client, the flood's run id, both streams."""
    client = served.h2()
    rid = uuid.uuid4().hex
    stalled = client.get(f"/data_stream/flood?rid={rid}&keepalive=none&send_timeout=0.3")
    client.stalled.add(stalled)
    flowing = client.get(f"/data_stream/run_paced_endless?rid={uuid.uuid4().hex}")
    return client, rid, stalled, flowing


def _read_for(client: H2Client, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        client.pump()


@pytest.mark.parametrize("served", ["granian-tls"], indirect=True)
def test_granian_holds_a_stalled_stream_back_and_send_timeout_stops_it(served: Served) -> None:
    before = group_rss(served.pgid)
    client, rid, stalled, flowing = _stall(served)
    with client:
        took = None
        start = time.monotonic()
        while took is None and time.monotonic() - start < 5:
            client.pump()
            took = time.monotonic() - start if served.finished(rid) else None
        assert took is not None, "send_timeout did not stop the stalled stream's run"
        grown = (group_rss(served.pgid) - before) / MB
        print(f"granian: stalled run stopped after {took:.2f} s; server +{grown:.1f} MiB")
        assert grown < 32
        flowed = len(client.streams[flowing].body)
        _read_for(client, 0.3)
        assert len(client.streams[flowing].body) > flowed, "the other stream stopped"
        # The window the client announced, and not a byte more.
        assert len(client.streams[stalled].body) == 65535


@pytest.mark.parametrize("served", ["hypercorn-tls"], indirect=True)
def test_hypercorn_buffers_a_stalled_stream_without_bound(served: Served) -> None:
    """Hypercorn 0.18 lets a write to a stream with no window return at once
    (its stream buffer resumes the writer on an empty read): it buffers
    whatever the run writes, and ``send_timeout`` never fires. Resetting the
    stream still ends the run. When this test fails, Hypercorn has fixed it:
    update docs/adapters/index.rst."""
    before = group_rss(served.pgid)
    client, rid, stalled, flowing = _stall(served)
    with client:
        start = time.monotonic()
        grown = 0.0
        # A loaded machine runs the flood slower: read until it has grown.
        while grown < 64 and time.monotonic() - start < 3:
            _read_for(client, 0.2)
            grown = (group_rss(served.pgid) - before) / MB
        took = time.monotonic() - start
        print(f"{served.name}: +{grown:.0f} MiB in {took:.1f} s for a client that reads nothing")
        assert grown >= 64
        # Still growing, well past the send timeout (0.3 s): the run writes on.
        _read_for(client, 0.3)
        assert (group_rss(served.pgid) - before) / MB > grown
        assert len(client.streams[stalled].body) == 65535
        assert client.streams[stalled].reset is None
        assert len(client.streams[flowing].body) > 0
        client.reset(stalled)
        took_end = wait_for(lambda: served.finished(rid), 5)
        print(f"{served.name}: the run ended {took_end} s after the reset")
        assert took_end is not None
        assert took_end < PROMPT
