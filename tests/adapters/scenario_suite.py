"""The shared scenario suite: every adapter, every protocol, a real server.

This module holds the tests; each ``test_scenarios_<adapter>.py`` imports
them and provides the ``server`` fixture (and ``probe_only`` for servers that
are not async), so every adapter runs the same scenarios in its own file.
Each test talks HTTP over a real socket to the adapter's server (see
``servers.py``). The body an adapter sends must equal, byte for byte, what the
serving loop produces in-process for the same scenario: adapters add only HTTP
framing.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Any

import anyio
import httpx
import pytest

from assistant_stream_core.chunks import (
    Chunk,
    ErrorChunk,
    TextDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.message import MessageAccumulator, TextPart, ToolCallPart
from assistant_stream_core.protocols.ag_ui import AGUIDecoder
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatDecoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamDecoder
from assistant_stream_core.run import INTERNAL_ERROR_MESSAGE
from assistant_stream_core.run.serve import make_encoder, stream_encoded

from .scenarios import build, encoder_for, finished, saw_cancel, started

DECODERS: dict[str, Any] = {
    "data_stream": DataStreamDecoder,
    "assistant_transport": AssistantTransportDecoder,
    "openai_chat": OpenAIChatDecoder,
    "ui_message_stream": UIMessageStreamDecoder,
    "ag_ui": AGUIDecoder,
}


def new_rid() -> str:
    return uuid.uuid4().hex


async def areference(protocol: str, scenario: str) -> bytes:
    """The body the serving loop produces in-process for this scenario."""
    writes: list[bytes] = []

    async def send(data: bytes) -> None:
        writes.append(data)

    source, _ = build(scenario, {"rid": new_rid()})
    await stream_encoded(source, encoder_for(protocol), send, keepalive_interval=None)
    return b"".join(writes)


def reference(protocol: str, scenario: str) -> bytes:
    """:func:`areference`, from synchronous code."""
    return anyio.run(areference, protocol, scenario)


def decode(protocol: str, body: bytes) -> list[Chunk]:
    decoder = DECODERS[protocol]()
    chunks: list[Chunk] = decoder.feed(body)
    return chunks + decoder.finish()


def get(server: str, path: str, **params: str) -> httpx.Response:
    with httpx.Client(base_url=server, timeout=10) as client:
        return client.get(path, params=params)


def task_count(server: str) -> int:
    return int(get(server, "/tasks").text)


def wait_for_tasks(server: str, baseline: int, timeout: float = 3.0) -> int:
    deadline = time.monotonic() + timeout
    count = task_count(server)
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
        count = task_count(server)
    return count


@pytest.mark.parametrize(
    "scenario", ["text", "tool", "state", "add_error", "empty", "run", "run_error"]
)
def test_body_is_the_reference_bytes(server: str, protocol: str, scenario: str) -> None:
    response = get(server, f"/{protocol}/{scenario}", rid=new_rid())
    assert response.status_code == 200
    assert response.content == reference(protocol, scenario)
    decode(protocol, response.content)  # a complete, valid stream


def test_plain_text_and_tool_call_decode(server: str, protocol: str) -> None:
    chunks = decode(protocol, get(server, f"/{protocol}/tool", rid=new_rid()).content)
    texts = [c.text_delta for c in chunks if isinstance(c, TextDeltaChunk)]
    assert "".join(texts) == "Checking."
    results = [c for c in chunks if isinstance(c, ToolResultChunk)]
    assert [(r.tool_call_id, r.result) for r in results] == [("t1", {"temp_c": 21})]


def test_real_run_decodes_to_what_the_callback_meant(server: str, protocol: str) -> None:
    chunks = decode(protocol, get(server, f"/{protocol}/run", rid=new_rid()).content)
    texts = [c.text_delta for c in chunks if isinstance(c, TextDeltaChunk)]
    assert "".join(texts) == "Checking the weatherIt is 21 C."
    results = [c for c in chunks if isinstance(c, ToolResultChunk)]
    assert [(r.tool_call_id, r.result) for r in results] == [("call_1", {"temp_c": 21})]
    if protocol != "openai_chat":  # the one protocol without state
        assert any(isinstance(c, UpdateStateChunk) for c in chunks)


def test_readme_headline_snippet_reaches_the_client(server: str, protocol: str) -> None:
    """The README's first snippet, served here, gives its tool call and its state."""
    accumulator = MessageAccumulator(state={}, strict=True)
    for chunk in decode(protocol, get(server, f"/{protocol}/run_readme").content):
        accumulator.add(chunk)
    message = accumulator.finish()
    tools = [part for part in message.parts if isinstance(part, ToolCallPart)]
    assert [(t.tool_name, t.args, t.result) for t in tools] == [
        ("get_weather", {"city": "Paris"}, {"temp_c": 21})
    ]
    texts = [part.text for part in message.parts if isinstance(part, TextPart)]
    assert texts == ["Checking the weather…"]
    if protocol != "openai_chat":  # the one protocol without state
        assert message.metadata.unstable_state == {"status": "done"}


def test_real_run_sees_cancellation_when_the_client_leaves(
    server: str, protocol: str, probe_only: bool
) -> None:
    baseline = task_count(server)
    rid = new_rid()
    params = {"rid": rid, "keepalive": "0.05"} if probe_only else {"rid": rid}
    with (
        httpx.Client(base_url=server, timeout=10) as client,
        client.stream("GET", f"/{protocol}/run_waiting", params=params) as response,
    ):
        assert b"Thinking" in next(response.iter_raw())
    assert saw_cancel(rid).wait(2), "the run never saw is_cancelled"
    assert finished(rid).wait(2)
    assert wait_for_tasks(server, baseline) <= baseline


def test_raising_run_sends_error_then_closes_cleanly(
    server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    rid = new_rid()
    with caplog.at_level(logging.ERROR, logger="assistant_stream_ce"):
        response = get(server, f"/{protocol}/error", rid=rid)
        assert finished(rid).wait(2)
    assert response.content == reference(protocol, "error")
    chunks = decode(protocol, response.content)
    assert ErrorChunk(error="boom") in chunks
    assert "the run raised: boom" in caplog.text


@pytest.mark.parametrize("scenario", ["error", "run_error", "bad_encode"])
def test_error_message_policy_hides_the_exception_and_logs_it(
    server: str, protocol: str, scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    # ``error_message=internal_error`` on the response: the client reads a
    # fixed sentence for a raising run (real or not) and for an encoder
    # error; the real exception is in the log.
    rid = new_rid()
    with caplog.at_level(logging.ERROR):
        response = get(server, f"/{protocol}/{scenario}", rid=rid, errors="safe")
        assert finished(rid).wait(2)
    chunks = decode(protocol, response.content)
    errors = [c.error for c in chunks if isinstance(c, ErrorChunk)]
    assert errors == [INTERNAL_ERROR_MESSAGE]
    for secret in (b"boom", b"JSON-serialisable", b"could not be encoded"):
        assert secret not in response.content
    assert ("boom" if scenario != "bad_encode" else "encoding the stream failed") in caplog.text


def test_a_failed_run_is_one_log_record_with_its_traceback(
    server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    rid = new_rid()
    with caplog.at_level(logging.DEBUG):
        response = get(server, f"/{protocol}/run_error", rid=rid)
        assert finished(rid).wait(2)
        assert ErrorChunk(error="boom") in decode(protocol, response.content)
        time.sleep(0.05)  # the serving loop logs after its last write
    ours = [r for r in caplog.records if r.name.startswith("assistant_stream")]
    warned = [r for r in ours if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warned] == ["run run_test failed"]
    assert warned[0].exc_info is not None
    assert str(warned[0].exc_info[1]) == "boom"


def test_encoder_error_mid_stream(
    server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    rid = new_rid()
    with caplog.at_level(logging.ERROR, logger="assistant_stream_ce"):
        response = get(server, f"/{protocol}/bad_encode", rid=rid)
        assert finished(rid).wait(2)
    assert response.content == reference(protocol, "bad_encode")
    assert b"never sent" not in response.content
    assert any(isinstance(c, ErrorChunk) for c in decode(protocol, response.content))
    assert "encoding the stream failed" in caplog.text


def test_headers(server: str, protocol: str) -> None:
    response = get(server, f"/{protocol}/text", rid=new_rid())
    encoder = make_encoder(protocol)
    for name, value in encoder.headers.items():
        assert response.headers[name] == value
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-custom"] == "yes"
    exposed = response.headers["access-control-expose-headers"]
    if protocol == "data_stream":
        assert "x-vercel-ai-data-stream" in exposed


def test_keepalive_during_a_silent_gap(server: str, protocol: str) -> None:
    response = get(server, f"/{protocol}/silent", rid=new_rid(), gap="0.45", keepalive="0.1")
    keepalive = make_encoder(protocol).keepalive
    assert keepalive
    assert response.content.count(keepalive) >= 3
    texts = [c for c in decode(protocol, response.content) if isinstance(c, TextDeltaChunk)]
    assert [c.text_delta for c in texts] == ["before", "after"]


def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 2.0) -> bool:
    """Wait for a log line from the server thread (logged after the run closed)."""
    deadline = time.monotonic() + timeout
    while text not in caplog.text:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_client_disconnect_mid_stream_stops_the_run(
    server: str, protocol: str, probe_only: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistant_stream_ce")
    baseline = task_count(server)
    rid = new_rid()
    params = {"rid": rid}
    if probe_only:
        params["keepalive"] = "0.05"  # the only way a sync server can notice
    with (
        httpx.Client(base_url=server, timeout=10) as client,
        client.stream("GET", f"/{protocol}/endless", params=params) as response,
    ):
        first = next(response.iter_raw())
        assert b"tick 0" in first
        time.sleep(0.1)  # the run is silent now
    assert finished(rid).wait(2), "the run was not stopped"
    assert wait_for_tasks(server, baseline) <= baseline
    assert wait_for_log(caplog, "client disconnected")


def test_client_gone_before_the_first_byte(server: str, protocol: str, probe_only: bool) -> None:
    rid = new_rid()
    host, port = server.removeprefix("http://").split(":")
    probe = "&keepalive=0.05" if probe_only else ""
    with socket.create_connection((host, int(port))) as sock:
        request = f"GET /{protocol}/endless?rid={rid}{probe} HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request.encode())
    # Either the server never started the run (Django may drop the request
    # before its response is iterated), or it stopped it.
    time.sleep(0.3)
    if started(rid).is_set():
        assert finished(rid).wait(3), "the run was not stopped"


def read_to_eof(sock: socket.socket, timeout: float) -> bool:
    """Read until the server closes the connection; ``False`` on timeout."""
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 20):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_slow_client_hits_the_send_timeout(
    server: str, protocol: str, caplog: pytest.LogCaptureFixture, closes_stuck_connections: bool
) -> None:
    caplog.set_level(logging.INFO, logger="assistant_stream_ce")
    rid = new_rid()
    host, port = server.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    try:
        request = f"GET /{protocol}/flood?rid={rid}&send_timeout=0.3 HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(request.encode())
        # Never read: buffers fill, a write blocks, the send timeout fires.
        assert finished(rid).wait(10), "the run was not stopped"
        assert wait_for_log(caplog, "longer than the send timeout")
        if closes_stuck_connections:
            # Under the servers' 5 s keep-alive timeout: the adapter closed it.
            assert read_to_eof(sock, 2), "the server kept the connection open"
    finally:
        sock.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_200_concurrent_streams(server: str) -> None:
    protocol = "data_stream"  # the protocol does not matter here; time does
    expected = await areference(protocol, "tool")
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server, timeout=30, limits=limits) as client:

        async def one(results: list[bytes]) -> None:
            response = await client.get(f"/{protocol}/tool", params={"rid": new_rid()})
            results.append(response.content)

        results: list[bytes] = []
        started = time.monotonic()
        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(one, results)
        elapsed = time.monotonic() - started
    assert len(results) == 200
    assert all(body == expected for body in results)
    assert elapsed < 20
