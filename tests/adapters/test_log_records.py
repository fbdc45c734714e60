"""Every record the serving loop writes about one response names its run.

In the text (``run <id>: ...``) and as the record's ``run_id`` attribute
(``extra=``), so that a structured handler can group a response's records.
The events a client causes (it leaves, it stops reading) go through a real
uvicorn and real sockets; the others through ``stream_encoded`` directly.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

from assistant_stream_core.chunks import (
    Chunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolResultChunk,
)
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.log_records import SourceLog, describe_source
from assistant_stream_core.run.serve import LOGGER_NAME, stream_encoded

from . import servers

pytestmark = pytest.mark.anyio


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if text in r.getMessage()]


def wait_for(caplog: pytest.LogCaptureFixture, text: str, timeout: float) -> logging.LogRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(caplog, text)
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no record with {text!r}: {[r.getMessage() for r in caplog.records]}")


def app() -> Any:
    """Streams an endless run whose id is the ``rid`` query parameter."""
    from assistant_stream_starlette import AssistantStreamResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def endless(controller: RunController) -> None:
        while True:
            # 8 KiB a step: a client that stops reading fills the socket
            # buffers (several MB on loopback) in well under a second.
            controller.append_text("x" * 8192)
            await asyncio.sleep(0.001)

    async def stream(request: Request) -> Response:
        return AssistantStreamResponse(
            create_run(endless, run_id=request.query_params["rid"]),
            DataStreamEncoder(),
            send_timeout=float(request.query_params.get("send_timeout", "30")),
        )

    return Starlette(routes=[Route("/stream", stream)])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with servers.uvicorn_server(app()) as base:
        yield base


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    return caplog


def test_a_client_that_leaves_is_logged_with_its_run_id(
    url: str, caplog_info: pytest.LogCaptureFixture
) -> None:
    with (
        httpx.Client(base_url=url, timeout=5) as client,
        client.stream("GET", "/stream", params={"rid": "run_leaves"}) as response,
    ):
        next(response.iter_bytes())
    record = wait_for(caplog_info, "client disconnected after", 5)
    assert record.run_id == "run_leaves"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("run run_leaves: client disconnected after ")
    assert record.levelno == logging.INFO


def test_a_client_that_stops_reading_is_logged_with_its_run_id(
    url: str, caplog_info: pytest.LogCaptureFixture
) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        path = "/stream?rid=run_stalls&send_timeout=0.3"
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        record = wait_for(caplog_info, "longer than the send timeout", 10)
    assert record.run_id == "run_stalls"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("run run_stalls: a write took longer")
    assert record.levelno == logging.WARNING


async def collect(source: Any, **options: Any) -> bytes:
    out: list[bytes] = []

    async def send(data: bytes) -> None:
        out.append(data)

    await stream_encoded(source, DataStreamEncoder(), send, **options)
    return b"".join(out)


async def test_a_raising_run_is_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    async def fails(controller: RunController) -> None:
        controller.append_text("hi")
        raise RuntimeError("boom")

    await collect(create_run(fails, run_id="run_fails"))
    found = [r for r in caplog_info.records if r.levelno >= logging.ERROR]
    assert found, caplog_info.records
    # The run layer logs the failure once (run <id> failed); the serving
    # loop does not repeat it.
    assert all(r.run_id == "run_fails" for r in found)  # type: ignore[attr-defined]
    assert any("run run_fails failed" in r.getMessage() for r in found)


async def test_a_raising_iterable_says_it_is_not_a_run(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    async def chunks() -> AsyncIterator[Chunk]:
        yield TextDeltaChunk(text_delta="hi")
        raise RuntimeError("boom")

    source = chunks()
    await collect(source)
    (record,) = records(caplog_info, "the run raised: boom")
    assert record.run_id is None  # type: ignore[attr-defined]
    assert record.source == f"chunks@{id(source):#x}"  # type: ignore[attr-defined]
    assert record.getMessage().startswith(f"source chunks@{id(source):#x} (not a run): ")


async def test_an_encoding_failure_is_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    async def bad() -> AsyncIterator[Chunk]:
        yield ToolCallBeginChunk(tool_call_id="t1", tool_name="f")
        yield ToolResultChunk(tool_call_id="t1", result=object())  # not JSON

    await collect(Named("run_bad_value", bad()))
    (record,) = records(caplog_info, "encoding the stream failed")
    assert record.run_id == "run_bad_value"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("run run_bad_value: encoding the stream failed")


async def test_an_empty_run_is_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    async def nothing(controller: RunController) -> None:
        pass

    await collect(create_run(nothing, run_id="run_empty"))
    (record,) = records(caplog_info, "without producing any chunks")
    assert record.run_id == "run_empty"  # type: ignore[attr-defined]
    assert record.getMessage() == "run run_empty: the run ended without producing any chunks"


async def test_a_response_cancelled_mid_run_is_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    async def endless(controller: RunController) -> None:
        while True:
            controller.append_text("x")
            await anyio.sleep(0.01)

    async def send(data: bytes) -> None:
        pass

    async def start() -> None:
        pass

    with anyio.move_on_after(0.1):  # as a server's graceful timeout cancels
        await stream_encoded(
            create_run(endless, run_id="run_cut"), DataStreamEncoder(), send, start=start
        )
    (record,) = records(caplog_info, "cancelled before the run ended")
    assert record.run_id == "run_cut"  # type: ignore[attr-defined]
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith("the client got the error frame")


class Named:
    """An async iterable of chunks that carries a run id, as a custom run may."""

    def __init__(self, run_id: str, chunks: AsyncIterator[Chunk]) -> None:
        self.run_id, self.chunks = run_id, chunks

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self.chunks


class Stubborn:
    """A source whose close fails, or hangs past the close timeout."""

    def __init__(self, run_id: str, hang: bool) -> None:
        self.run_id, self.hang = run_id, hang

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self

    async def __anext__(self) -> Chunk:
        raise OSError("the client left")  # so that the source is closed

    async def aclose(self) -> None:
        if self.hang:
            await anyio.sleep(10)
        raise RuntimeError("will not close")


@pytest.mark.parametrize(
    ("hang", "text"),
    [(False, "closing the stream source failed"), (True, "did not close within")],
)
async def test_source_close_problems_are_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture, hang: bool, text: str
) -> None:
    await collect(Stubborn("run_stubborn", hang), close_timeout=0.2)
    (record,) = records(caplog_info, text)
    assert record.run_id == "run_stubborn"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("run run_stubborn: ")


def test_an_id_with_a_percent_sign_is_text_not_a_placeholder(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    source = create_run(lambda c: asyncio.sleep(0), run_id="run_%s%d")
    log = SourceLog(logging.getLogger(LOGGER_NAME), source)
    log.info("sent %d bytes", 5)
    log.info("100% done")
    assert [r.getMessage() for r in caplog.records] == [
        "run run_%s%d: sent 5 bytes",
        "run run_%s%d: 100% done",
    ]
    assert caplog.records[0].filename == "test_log_records.py"  # the caller's line


def test_a_stream_id_is_named_too() -> None:
    class Resumable:
        run_id = "run_r"
        stream_id = "st_1"

    assert describe_source(Resumable()) == (
        "run run_r, stream st_1",
        {"run_id": "run_r", "stream_id": "st_1"},
    )


async def test_a_failing_error_message_policy_is_logged_with_its_run_id(
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    caplog_info.set_level(logging.ERROR, logger="assistant_stream_core.run")

    async def fails(controller: RunController) -> None:
        raise RuntimeError("boom")

    def policy(exc: BaseException) -> str:
        raise ValueError("the policy itself fails")

    await collect(create_run(fails, run_id="run_policy"), error_message=policy)
    (record,) = records(caplog_info, "error_message policy")
    assert record.run_id == "run_policy"  # type: ignore[attr-defined]
    assert record.getMessage().startswith("run run_policy: the error_message policy ")


def test_a_failing_blocking_serving_task_is_logged_with_its_run_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A start hook that raises (not a disconnect) ends the blocking stream's
    # serving task with that exception; the record about it names the run.
    # (The disconnect watch, cancelled before it ran, once left its
    # coroutine unawaited: with warnings as errors, the run then failed.)
    from assistant_stream_core.run._blocking_pump import Pump

    async def run(controller: RunController) -> None:
        controller.append_text("never sent")

    def start() -> Any:
        raise RuntimeError("headers could not be written")

    stream = create_run(run)
    pump = Pump("asyncio", 1)
    pump.start(stream, {"encoder": DataStreamEncoder(), "start": start}, None)
    with caplog.at_level(logging.ERROR, "assistant_stream_ce"), pytest.raises(StopIteration):
        pump.next()
    (record,) = records(caplog, "serving task failed")
    assert record.getMessage().startswith(f"run {stream.run_id}: ")
    assert getattr(record, "run_id", None) == stream.run_id
