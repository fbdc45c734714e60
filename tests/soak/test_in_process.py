"""Thousands of streams through ``stream_encoded``, ended every way, leave nothing.

Each test serves :data:`STREAMS` streams (:data:`CONCURRENT` at a time) that
all end the same way, after a warm-up, and then compares the process's live
objects by type (and its allocated memory blocks) with what it held before:
no kind of object may grow with the number of streams (:mod:`.leaks`). The
module-level registries of open responses, detached producers and guard
timers must be empty again, and every run's ``finally:`` must have run.

Every stream also checks that it ended the way its test says, so a test
cannot pass by no longer reaching its end path.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, ToolResultChunk
from assistant_stream_core.resumable import InMemoryStore, ResumableStreams
from assistant_stream_core.resumable import streams as resumable_streams
from assistant_stream_core.resumable.errors import ResumableStreamError
from assistant_stream_core.run import RunController, _guard, _producer, create_run, shutdown
from assistant_stream_core.run.serve import (
    INTERRUPTED_MESSAGE,
    PROTOCOL_ENCODERS,
    StreamEnd,
    make_encoder,
    stream_encoded,
)

from .leaks import census, collect_garbage, describe, grown

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

#: Streams per measurement: a leak of one object per stream is 1,000 objects,
#: four times the limit (leaks.grown), where the bounded noise of the
#: process, measured over 8,000 streams of each test, stays under 50.
STREAMS = 1000
#: Streams before the first census: caches fill, free lists settle.
WARMUP = 200
#: Streams served at once.
CONCURRENT = 250
PROTOCOLS = list(PROTOCOL_ENCODERS)


class Tally:
    """Runs started and runs whose ``finally:`` ran."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0


class Sink:
    """One response's body.

    ``fail_after``: writes after that many raise ``ConnectionResetError``;
    ``hang_after``: writes after that many never return; ``on_write``:
    called with the body so far after each write.
    """

    def __init__(
        self,
        *,
        fail_after: int | None = None,
        hang_after: int | None = None,
        on_write: Callable[[bytes], object] | None = None,
    ) -> None:
        self.parts: list[bytes] = []
        self.fail_after = fail_after
        self.hang_after = hang_after
        self.on_write = on_write
        self.ended = False

    async def __call__(self, data: bytes) -> None:
        if self.fail_after is not None and len(self.parts) >= self.fail_after:
            raise ConnectionResetError("the client closed the connection")
        if self.hang_after is not None and len(self.parts) >= self.hang_after:
            await anyio.sleep_forever()
        self.parts.append(data)
        if self.on_write is not None:
            self.on_write(self.body)

    async def end(self) -> None:
        self.ended = True

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


class CountingHandler(logging.Handler):
    """Counts records and keeps none (a kept record would be a growing object)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def quiet_logs() -> Iterator[CountingHandler]:
    """The library's records go to a counter only.

    Not to pytest's capture, which keeps every record (and its traceback)
    until the test ends, and attaches itself to every logger when the test
    starts: so this is entered inside the test, and replaces the handlers.
    """
    handler = CountingHandler()
    loggers = [logging.getLogger(name) for name in ("assistant_stream_ce", "assistant_stream_core")]
    saved = [(lg.handlers, lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.handlers = [handler]
        lg.propagate = False
        lg.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for lg, (handlers, propagate, level) in zip(loggers, saved, strict=True):
            lg.handlers = handlers
            lg.propagate = propagate
            lg.setLevel(level)


def registries() -> dict[str, int]:
    """The size of every process-wide registry a stream enters."""
    sizes = {
        "shutdown._RESPONSES": len(shutdown._RESPONSES),
        "shutdown._PRODUCERS": len(shutdown._PRODUCERS),
        "shutdown._OWNED (this context)": 0 if shutdown._OWNED.get() is None else 1,
        "_guard._guards": len(_guard._guards),
        "_producer._DETACHED": len(_producer._DETACHED),
        "resumable.streams._TASKS": len(resumable_streams._TASKS),
    }
    with suppress(RuntimeError):  # not on trio
        sizes["asyncio tasks"] = len(asyncio.all_tasks())
    return sizes


#: Serves the stream of the given number, checking how it ended.
ServeOne = Callable[[int], Coroutine[Any, Any, None]]


async def serve_many(serve_one: ServeOne, count: int) -> None:
    for first in range(0, count, CONCURRENT):
        async with anyio.create_task_group() as tg:
            for i in range(first, min(first + CONCURRENT, count)):
                tg.start_soon(serve_one, i)


async def soak(
    serve_one: ServeOne,
    tally: Tally | None = None,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Serve WARMUP then STREAMS streams; fail if anything grew with them (and
    again with STREAMS more: a leak grows in both rounds, a one-off does not).
    Returns how many records the library logged."""
    with quiet_logs() as logged, anyio.fail_after(60):
        await serve_many(serve_one, WARMUP)
        if settle is not None:
            await settle()
        await anyio.sleep(0.01)
        empty = registries()
        # Taken twice: the census that follows is made while one other
        # census is alive (``before``), and so is this one.
        before = census()
        before = census()
        await serve_many(serve_one, STREAMS)
        if settle is not None:
            await settle()
        await anyio.sleep(0.01)
        after = census()
        growth = grown(before, after, STREAMS)
        if growth:
            # A leak grows again with the next streams; a one-off (a free
            # list or an allocator arena settling late, seen about once in
            # thirty runs on a loaded machine) does not.
            await serve_many(serve_one, STREAMS)
            if settle is not None:
                await settle()
            await anyio.sleep(0.01)
            again = grown(after, census(), STREAMS)
            growth = {name: delta for name, delta in again.items() if name in growth}
    assert not growth, describe(growth, STREAMS)
    assert registries() == empty
    assert empty["shutdown._RESPONSES"] == empty["shutdown._PRODUCERS"] == 0
    assert empty["_guard._guards"] == 0
    if tally is not None:
        assert tally.started in (WARMUP + STREAMS, WARMUP + 2 * STREAMS)
        assert tally.ended == tally.started, "a run's finally: did not run"
    return logged.count


def counted(tally: Tally, body: Callable[[RunController], Awaitable[None]]) -> Any:
    """``body`` as a run callback that counts its start and its ``finally:``."""

    async def callback(controller: RunController) -> None:
        tally.started += 1
        try:
            await body(controller)
        finally:
            tally.ended += 1

    return callback


async def endless(controller: RunController) -> None:
    """A run that writes until it is stopped."""
    i = 0
    while True:
        controller.append_text(f"t{i} ")
        i += 1
        await anyio.sleep(0.001)


# -- the end paths ------------------------------------------------------------------


async def test_completed(anyio_backend: str) -> None:
    tally = Tally()

    async def body(controller: RunController) -> None:
        controller.add_reasoning_part()
        controller.append_reasoning("thinking")
        for word in ("It ", "is ", "sunny."):
            controller.append_text(word)
            await anyio.lowlevel.checkpoint()
        tool = await controller.add_tool_call("get_weather")
        tool.append_args_text('{"city": "Paris"}')
        tool.set_response({"temp_c": 21})
        controller.state["status"] = "done"
        controller.add_data({"n": 1})

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, body), state={})
        sink = Sink()
        result = await stream_encoded(run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), sink)
        assert result.end is StreamEnd.COMPLETE, result
        assert result.chunks > 5

    await soak(serve_one, tally)


#: How each stream of the cycle test ends: its run's body, its client, and
#: the end stream_encoded must report.
CYCLE_FREE_WAYS: dict[
    str, tuple[Callable[[RunController], Awaitable[None]], dict[str, Any], StreamEnd]
] = {}


async def _sunny(controller: RunController) -> None:
    controller.append_text("It is sunny.")
    tool = await controller.add_tool_call("get_weather")
    tool.set_response({"temp_c": 21})
    controller.state["status"] = "done"


async def _drain_loop(controller: RunController) -> None:
    while True:
        controller.append_text("x" * 1024)
        await controller.drain()


CYCLE_FREE_WAYS.update(
    completed=(_sunny, {}, StreamEnd.COMPLETE),
    client_left=(endless, {"fail_after": 3}, StreamEnd.DISCONNECTED),
    send_timeout=(endless, {"hang_after": 2}, StreamEnd.SEND_TIMEOUT),
    drain_loop_client_left=(_drain_loop, {"fail_after": 3}, StreamEnd.DISCONNECTED),
)


@pytest.mark.parametrize("way", list(CYCLE_FREE_WAYS))
async def test_streams_are_freed_without_the_cycle_collector(anyio_backend: str, way: str) -> None:
    """A stream's objects go when its last reference does.

    Objects in a reference cycle wait for the cycle collector, which a busy
    server runs in full rarely. Each run left its buffer, state and encoder
    that way (its core and its cancellation signal referred to each other),
    and a stream that ended by an exception (the client left, a send
    timeout) its whole serving state, through frames of that exception's
    traceback that held the exception or the stream.
    """
    tally = Tally()
    body, client, end = CYCLE_FREE_WAYS[way]

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, body), state={}, grace_period=0.01)
        result = await stream_encoded(
            run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), Sink(**client), send_timeout=0.02
        )
        assert result.end is end, result

    streams = 200
    with quiet_logs():
        await serve_many(serve_one, 20)
        gc.collect()
        gc.disable()
        try:
            await serve_many(serve_one, streams)
            await anyio.sleep(0.01)
            garbage = collect_garbage()
        finally:
            gc.enable()
    cyclic = {name: n for name, n in garbage.items() if n >= streams // 4}
    assert not cyclic, describe(cyclic, streams, "objects left to the cycle collector")
    assert tally.ended == tally.started == 20 + streams


async def test_run_raised(anyio_backend: str) -> None:
    tally = Tally()

    async def body(controller: RunController) -> None:
        controller.append_text("partial ")
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("the model went away")

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, body))
        result = await stream_encoded(run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), Sink())
        assert result.end is StreamEnd.RUN_ERROR, result

    assert await soak(serve_one, tally) >= WARMUP + STREAMS


async def test_encoder_failed(anyio_backend: str) -> None:
    tally = Tally()

    async def unencodable() -> AsyncIterator[Chunk]:
        yield TextDeltaChunk(text_delta="merged ")
        # A result for a call this stream never began: no protocol can carry it.
        yield ToolResultChunk(tool_call_id="call_nobody_made", result={"ok": True})

    async def body(controller: RunController) -> None:
        controller.append_text("before ")
        controller.add_stream(unencodable())
        await endless(controller)

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, body))
        result = await stream_encoded(run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), Sink())
        assert result.end is StreamEnd.ENCODE_ERROR, result

    await soak(serve_one, tally)


async def test_client_disconnected(anyio_backend: str) -> None:
    """Half learn it from a failed write, half from the framework's signal
    (on asyncio half of those as a future, as aiohttp's adapter passes it)."""
    tally = Tally()
    on_asyncio = anyio_backend == "asyncio"

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, endless))
        disconnected: Callable[[], Awaitable[object]] | None = None
        if i % 2:
            sink = Sink(fail_after=3)
        else:
            gone = anyio.Event()
            future: asyncio.Future[None] | None = None
            if on_asyncio and i % 4 == 0:
                future = asyncio.get_running_loop().create_future()

            def leave(body: bytes) -> None:
                if body.count(b"t") >= 3:
                    gone.set()
                    if future is not None and not future.done():
                        future.set_result(None)

            sink = Sink(on_write=leave)
            disconnected = (lambda: future) if future is not None else gone.wait
        result = await stream_encoded(
            run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), sink, disconnected=disconnected
        )
        assert result.end is StreamEnd.DISCONNECTED, result

    await soak(serve_one, tally)


async def test_send_timeout(anyio_backend: str) -> None:
    tally = Tally()

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, endless))
        sink = Sink(hang_after=2)
        result = await stream_encoded(
            run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), sink, send_timeout=0.02
        )
        assert result.end is StreamEnd.SEND_TIMEOUT, result

    await soak(serve_one, tally)


async def test_calling_task_cancelled(anyio_backend: str) -> None:
    """The server's shutdown path: the response is cancelled mid-stream and
    writes its error frame and closing frames first."""
    tally = Tally()

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, endless))
        with anyio.CancelScope() as scope:
            sink = Sink(on_write=lambda body: scope.cancel() if body.count(b"t") >= 3 else None)
            await stream_encoded(
                run, make_encoder(PROTOCOLS[i % len(PROTOCOLS)]), sink, end_body=sink.end
            )
        assert scope.cancelled_caught
        assert INTERRUPTED_MESSAGE.encode() in sink.body
        assert sink.ended

    await soak(serve_one, tally)


async def test_drain_loop_client_left(anyio_backend: str) -> None:
    """A run that loops on ``append_text`` + ``drain()`` and never looks at
    ``is_cancelled``: only ``drain()`` can end it once the client is gone."""
    tally = Tally()

    async def body(controller: RunController) -> None:
        while True:
            controller.append_text("x" * 1024)
            await controller.drain()

    async def serve_one(i: int) -> None:
        # A short grace: the loop spins through it (as it would in production).
        run = create_run(counted(tally, body), grace_period=0.01)
        result = await stream_encoded(run, make_encoder("data_stream"), Sink(fail_after=3))
        assert result.end is StreamEnd.DISCONNECTED, result

    await soak(serve_one, tally)


async def test_tool_waiting_for_a_person_client_left(anyio_backend: str) -> None:
    """The run asks for approval and waits for the person's answer; the
    client leaves before it comes."""
    tally = Tally()

    async def body(controller: RunController) -> None:
        tool = await controller.add_tool_call("delete_file")
        tool.append_args_text('{"path": "notes.txt"}')
        tool.request_approval("deletes a file")
        await anyio.Event().wait()  # the person's answer, which never comes

    async def serve_one(i: int) -> None:
        run = create_run(counted(tally, body))
        gone = anyio.Event()

        def leave(body: bytes) -> None:
            if b"tool-approval-request" in body:
                gone.set()

        result = await stream_encoded(
            run,
            make_encoder("ui_message_stream"),
            Sink(on_write=leave),
            disconnected=gone.wait,
        )
        assert result.end is StreamEnd.DISCONNECTED, result

    await soak(serve_one, tally)


# -- resumable streams on the in-memory store ----------------------------------------


class Clock:
    """The store's clock, in milliseconds: moved by hand to expire streams."""

    def __init__(self) -> None:
        self.ms = 0.0

    def __call__(self) -> float:
        return self.ms


TTL_MS = 60_000


def resumable() -> tuple[ResumableStreams, InMemoryStore, Clock]:
    clock = Clock()
    store = InMemoryStore(now=clock, default_ttl_ms=TTL_MS, lease_ms=60_000)
    return ResumableStreams(store), store, clock


async def producers_done() -> None:
    """Wait until the detached producers have ended."""
    with anyio.fail_after(10):
        while shutdown._PRODUCERS:  # noqa: ASYNC110 - a test's wait
            await anyio.sleep(0.005)


async def test_resumable_detached_then_resumed(anyio_backend: str) -> None:
    """The starting client leaves; its producer runs on detached and completes
    the stream; a second client resumes from the bytes it had; the app deletes it."""
    tally = Tally()
    streams, store, _ = resumable()

    async def body(controller: RunController) -> None:
        for i in range(20):
            controller.append_text(f"t{i} ")
            await anyio.lowlevel.checkpoint()

    async def serve_one(i: int) -> None:
        replay = await streams.start(counted(tally, body), "data_stream")
        first = Sink(fail_after=2)
        result = await stream_encoded(replay.source, replay.encoder, first)
        assert result.end is StreamEnd.DISCONNECTED, result
        # Reconnects at once: reads the rest live, as the producer writes it.
        again = await streams.resume(replay.stream_id, "data_stream", offset=len(first.body))
        rest = Sink()
        result = await stream_encoded(again.source, again.encoder, rest)
        assert result.end is StreamEnd.COMPLETE, result
        assert (first.body + rest.body).count(b"t") == 20
        await streams.delete(replay.stream_id)

    await soak(serve_one, tally, producers_done)
    assert store.size == 0
    assert store._streams == {}


async def test_resumable_stopped_and_expired(anyio_backend: str) -> None:
    """Streams that end by a stop request while a client reads them, or whose
    producer finishes with nobody reading; none is deleted: they expire (a
    resume after the TTL finds nothing) and the store is empty again."""
    tally = Tally()
    streams, store, clock = resumable()

    async def serve_one(i: int) -> None:
        replay = await streams.start(counted(tally, endless), "ui_message_stream")
        if i % 2:
            # Stopped (from any worker) while its client reads.
            def stop(body: bytes) -> None:
                if body.count(b"text-delta") == 2:
                    stopping.append(replay.stream_id)

            stopping: list[str] = []
            sink = Sink(on_write=stop)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_stop_when_asked, streams, stopping)
                result = await stream_encoded(replay.source, replay.encoder, sink)
                tg.cancel_scope.cancel()
            assert result.end is StreamEnd.COMPLETE, result
            assert b"data: [DONE]" in sink.body[-200:], sink.body[-200:]
        else:
            # The client leaves at once; the run goes on until it is stopped.
            result = await stream_encoded(replay.source, replay.encoder, Sink(fail_after=0))
            assert result.end is StreamEnd.DISCONNECTED, result
            assert await streams.stop(replay.stream_id)

    async def expire() -> None:
        await producers_done()
        clock.ms += TTL_MS + 1
        with pytest.raises(ResumableStreamError) as missing:
            await streams.resume("expired-probe", "data_stream")
        assert missing.value.code == "missing"

    await soak(serve_one, tally, expire)
    assert store.size == 0
    assert store._streams == {}


async def _stop_when_asked(streams: ResumableStreams, stopping: list[str]) -> None:
    while not stopping:  # noqa: ASYNC110 - a test's wait
        await anyio.sleep(0.001)
    assert await streams.stop(stopping[0])


def test_the_soak_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import soak as benchmark

    benchmark.main(["--streams", "600", "--every", "300"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["streams", "RSS", "MB", "objects", "blocks"]
    assert [line.split()[0] for line in lines[1:3]] == ["300", "600"]
    assert lines[3].startswith("RSS after the first report: ")
