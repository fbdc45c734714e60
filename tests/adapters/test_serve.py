"""The shared serving loop, without a web framework (asyncio and trio)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import Chunk, ErrorChunk, TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run.serve import (
    StreamEnd,
    make_encoder,
    response_headers,
    stream_encoded,
)

from .scenarios import ScriptRun, build, finished

pytestmark = pytest.mark.anyio


class Sink:
    """Collects writes; can be made slow or broken."""

    def __init__(self, *, delay: float = 0.0, fail_after: int | None = None) -> None:
        self.writes: list[bytes] = []
        self.delay = delay
        self.fail_after = fail_after

    async def __call__(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.writes) >= self.fail_after:
            raise ConnectionResetError("peer gone")
        if self.delay:
            await anyio.sleep(self.delay)
        self.writes.append(data)

    def chunks(self) -> list[Chunk]:
        decoder = DataStreamDecoder()
        out = decoder.feed(b"".join(self.writes))
        return out + decoder.finish()


def run(name: str, rid: str, **query: str) -> ScriptRun:
    return build(name, {"rid": rid, **query})[0]


async def test_one_write_per_batch_then_closing_frames() -> None:
    sink = Sink()
    result = await stream_encoded(run("text", "u1"), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert result.chunks == 3
    # One write per batch (Data Stream has no closing frames here).
    assert sink.writes == [b'0:"Hello"\n', b'0:", "\n0:"world"\n']
    assert result.writes == 2
    assert result.bytes_sent == sum(map(len, sink.writes))
    texts = [c.text_delta for c in sink.chunks() if isinstance(c, TextDeltaChunk)]
    assert "".join(texts) == "Hello, world"


async def test_plain_async_iterable_is_one_frame_per_chunk() -> None:
    closed = anyio.Event()

    async def chunks() -> AsyncIterator[Chunk]:
        try:
            yield TextDeltaChunk("a")
            yield TextDeltaChunk("b")
        finally:
            closed.set()

    sink = Sink()
    result = await stream_encoded(chunks(), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert sink.writes == [b'0:"a"\n', b'0:"b"\n']
    assert closed.is_set()


async def test_raising_source_gets_error_frame_and_closing_frames(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def chunks() -> AsyncIterator[Chunk]:
        yield TextDeltaChunk("a")
        raise RuntimeError("boom")

    sink = Sink()
    with caplog.at_level(logging.ERROR, logger="assistant_stream_ce"):
        result = await stream_encoded(chunks(), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.RUN_ERROR
    assert isinstance(result.error, RuntimeError)
    decoded = sink.chunks()
    assert ErrorChunk(error="boom") in decoded
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)


async def test_run_that_already_sent_its_error_chunk_gets_no_second_one() -> None:
    async def script() -> AsyncIterator[list[Chunk]]:
        yield [TextDeltaChunk("a"), ErrorChunk(error="boom")]
        raise RuntimeError("boom")

    sink = Sink()
    result = await stream_encoded(ScriptRun(script, "u2"), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.RUN_ERROR
    assert [c for c in sink.chunks() if isinstance(c, ErrorChunk)] == [ErrorChunk(error="boom")]


async def test_encoder_error_is_logged_and_ends_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Sink()
    with caplog.at_level(logging.ERROR, logger="assistant_stream_ce"):
        result = await stream_encoded(run("bad_encode", "u3"), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.ENCODE_ERROR
    assert finished("u3").is_set()
    body = b"".join(sink.writes)
    assert b"never sent" not in body
    assert body.startswith(b'0:"ok"\n')
    assert "encoding the stream failed" in caplog.text
    errors = [c for c in sink.chunks() if isinstance(c, ErrorChunk)]
    assert len(errors) == 1
    assert "could not be encoded" in errors[0].error


async def test_keepalive_while_silent_and_timer_resets() -> None:
    sink = Sink()
    source = run("silent", "u4", gap="0.35")
    result = await stream_encoded(source, DataStreamEncoder(), sink, keepalive_interval=0.1)
    assert result.end is StreamEnd.COMPLETE
    assert 2 <= result.keepalives <= 4
    assert sink.writes.count(b"\n") == result.keepalives
    # Keepalives only between whole frames: the decoder accepts the stream.
    assert [c.text_delta for c in sink.chunks() if isinstance(c, TextDeltaChunk)] == [
        "before",
        "after",
    ]


async def test_keepalive_disabled() -> None:
    sink = Sink()
    source = run("silent", "u5", gap="0.25")
    result = await stream_encoded(source, DataStreamEncoder(), sink, keepalive_interval=None)
    assert result.keepalives == 0
    assert b"\n" not in sink.writes


async def test_failed_keepalive_write_stops_a_silent_run() -> None:
    # The run is silent for an hour; only the keepalive probe finds the client gone.
    sink = Sink(fail_after=5)
    source = run("endless", "u6")
    with anyio.fail_after(5):
        result = await stream_encoded(source, DataStreamEncoder(), sink, keepalive_interval=0.05)
    assert result.end is StreamEnd.DISCONNECTED
    assert isinstance(result.error, ConnectionResetError)
    assert finished("u6").is_set()


async def test_disconnect_signal_stops_a_silent_run_quickly() -> None:
    gone = anyio.Event()

    async def disconnected() -> None:
        await gone.wait()

    async def fire() -> None:
        await anyio.sleep(0.2)
        gone.set()

    sink = Sink()
    async with anyio.create_task_group() as tg:
        tg.start_soon(fire)
        started = anyio.current_time()
        result = await stream_encoded(
            run("endless", "u7"), DataStreamEncoder(), sink, disconnected=disconnected
        )
        elapsed = anyio.current_time() - started
    assert result.end is StreamEnd.DISCONNECTED
    assert result.client_gone
    assert finished("u7").is_set()
    assert elapsed < 0.2 + 0.1


async def test_send_timeout_means_client_gone() -> None:
    sink = Sink(delay=10)
    with anyio.fail_after(5):
        result = await stream_encoded(
            run("flood", "u8"), DataStreamEncoder(), sink, send_timeout=0.1
        )
    assert result.end is StreamEnd.SEND_TIMEOUT
    assert result.client_gone
    assert finished("u8").is_set()


async def test_start_failure_closes_the_source() -> None:
    async def start() -> None:
        raise BrokenPipeError

    sink = Sink()
    result = await stream_encoded(run("text", "u9"), DataStreamEncoder(), sink, start=start)
    assert result.end is StreamEnd.DISCONNECTED
    assert sink.writes == []
    assert finished("u9").is_set()


async def test_cancelling_the_caller_still_closes_the_source() -> None:
    with anyio.move_on_after(0.1):
        await stream_encoded(run("endless", "u10"), DataStreamEncoder(), Sink())
    assert finished("u10").is_set()


async def test_empty_run_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    sink = Sink()
    with caplog.at_level(logging.INFO, logger="assistant_stream_ce"):
        result = await stream_encoded(run("empty", "u11"), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert "without producing any chunks" in caplog.text
    assert sink.chunks() == []


def test_make_encoder_accepts_names_classes_and_instances() -> None:
    assert isinstance(make_encoder("data_stream"), DataStreamEncoder)
    assert isinstance(make_encoder(DataStreamEncoder), DataStreamEncoder)
    encoder = DataStreamEncoder()
    assert make_encoder(encoder) is encoder
    with pytest.raises(ValueError, match="unknown protocol"):
        make_encoder("smoke_signals")


def test_response_headers_merge_and_expose() -> None:
    headers = dict(
        response_headers(
            DataStreamEncoder(),
            {"cache-control": "no-store", "X-Request-Id": "7"},
            expose_headers=True,
        )
    )
    assert headers["cache-control"] == "no-store"
    assert "Cache-Control" not in headers
    assert headers["X-Request-Id"] == "7"
    assert headers["x-vercel-ai-data-stream"] == "v1"
    exposed = headers["Access-Control-Expose-Headers"].split(", ")
    assert "x-vercel-ai-data-stream" in exposed
    assert "Content-Type" not in exposed


async def test_keepalive_after_a_start_and_a_send_timeout() -> None:
    # The timer must not sleep through the send timeout just because it
    # first looked while the head was being written.
    async def start() -> None:
        await anyio.sleep(0.01)

    sink = Sink()
    source = run("silent", "u12", gap="0.35")
    result = await stream_encoded(
        source, DataStreamEncoder(), sink, start=start, keepalive_interval=0.1, send_timeout=30
    )
    assert 2 <= result.keepalives <= 4


class CountingEncoder(DataStreamEncoder):
    """Records every batch it is asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def encode_many(self, chunks: Any) -> bytes:
        self.batches.append(len(chunks))
        return super().encode_many(chunks)


async def test_a_batch_that_arrives_after_the_client_left_is_dropped_not_encoded() -> None:
    # The batch is ready only after the disconnect (a source that finishes
    # its step shielded, as a run's buffer hand-over does): encoding it would
    # be work for nobody, and for a large buffer, a great deal of it.
    gone = anyio.Event()

    async def late() -> AsyncIterator[list[Chunk]]:
        yield [TextDeltaChunk("seen")]
        with anyio.CancelScope(shield=True):
            gone.set()
            await anyio.sleep(0.05)
        yield [TextDeltaChunk("x" * 1_000_000)]

    encoder = CountingEncoder()
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    result = await stream_encoded(
        ScriptRun(late, "late"), encoder, send, disconnected=gone.wait, keepalive_interval=None
    )
    assert result.end is StreamEnd.DISCONNECTED
    assert encoder.batches == [1]
    assert b"".join(sent) == b'0:"seen"\n'
