"""What one stream of a run sets up, and that each guarantee survives the lean shape.

On asyncio a run served by ``stream_encoded`` is two tasks besides the
response's own: the run's producer, which is the callback's own task, and a
plain task waiting for the framework's disconnect signal (none without one).
The serving loop writes every frame and keepalive itself, woken by the
loop's shared guard timer. These tests count the tasks, and check the
keepalive (also before the first chunk), the disconnect, the failure of the
signal itself, and a merged stream's failure on this shape; on trio too
where the guarantee is the same.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import DataChunk, ErrorChunk, TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.serve import StreamEnd, stream_encoded

from ._util import collect_with_error

pytestmark = pytest.mark.anyio
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


class Sink:
    """A response body."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def __call__(self, data: bytes) -> None:
        self.writes.append(data)


class Waiting:
    """A callback that writes ``first`` (if any), then waits to be released or cancelled."""

    def __init__(self, first: str | None = None) -> None:
        self.first = first
        self.started = anyio.Event()
        self.release = anyio.Event()
        self.cancelled = False
        self.ended = False

    async def __call__(self, controller: RunController) -> None:
        if self.first is not None:
            controller.append_text(self.first)
        self.started.set()
        try:
            await self.release.wait()
            controller.append_text("after")
        except anyio.get_cancelled_exc_class():
            self.cancelled = True
            raise
        finally:
            self.ended = True


@asyncio_only
@pytest.mark.parametrize("signal", [True, False])
async def test_a_served_run_is_two_tasks_or_one_without_a_disconnect_signal(
    anyio_backend: str, signal: bool
) -> None:
    callback = Waiting("hello")
    never = asyncio.Event()
    baseline = asyncio.all_tasks()
    serving = asyncio.ensure_future(
        stream_encoded(
            create_run(callback),
            DataStreamEncoder(),
            Sink(),
            disconnected=never.wait if signal else None,
        )
    )
    with anyio.fail_after(5):
        await callback.started.wait()
    await asyncio.sleep(0.01)  # the serving loop has written "hello" and waits
    extra = asyncio.all_tasks() - baseline - {serving}
    # The run's producer (the callback's task) and the disconnect watcher.
    assert len(extra) == (2 if signal else 1), extra
    callback.release.set()
    result = await serving
    assert result.end is StreamEnd.COMPLETE
    await asyncio.sleep(0)  # the watcher, cancelled, ends at the next turn
    assert asyncio.all_tasks() - baseline == set()


@asyncio_only
async def test_a_disconnect_signal_that_is_a_future_needs_no_task(anyio_backend: str) -> None:
    # What the Django adapter passes: a callable returning a future, watched
    # with a callback instead of a task.
    callback = Waiting("hello")
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    baseline = asyncio.all_tasks()
    serving = asyncio.ensure_future(
        stream_encoded(
            create_run(callback, grace_period=0),
            DataStreamEncoder(),
            Sink(),
            disconnected=lambda: gone,
        )
    )
    with anyio.fail_after(5):
        await callback.started.wait()
    await asyncio.sleep(0.01)
    # Only the run's producer.
    assert len(asyncio.all_tasks() - baseline - {serving}) == 1
    gone.set_result(None)
    with anyio.fail_after(5):
        result = await serving
    assert result.end is StreamEnd.DISCONNECTED
    assert callback.cancelled


async def test_a_run_silent_from_its_start_gets_keepalives() -> None:
    # The first wait is a poll like every other: the keepalive also reaches
    # a run whose first chunk is slow to come (a model thinking).
    callback = Waiting()
    sink = Sink()

    async def release() -> None:
        await anyio.sleep(0.45)
        callback.release.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(release)
        result = await stream_encoded(
            create_run(callback), DataStreamEncoder(), sink, keepalive_interval=0.1
        )
    assert result.end is StreamEnd.COMPLETE
    # 0.45 s of silence at an interval of 0.1 s, give or take a tick.
    assert 2 <= result.keepalives <= 5
    assert sink.writes[: result.keepalives] == [b"\n"] * result.keepalives
    chunks = DataStreamDecoder().feed(b"".join(sink.writes))
    assert chunks == [TextDeltaChunk(text_delta="after")]


async def test_a_disconnect_signal_cancels_a_waiting_run_within_its_grace_period() -> None:
    callback = Waiting("hello")
    gone = anyio.Event()
    left_at: list[float] = []

    async def leave() -> None:
        await callback.started.wait()
        await anyio.sleep(0.05)
        left_at.append(anyio.current_time())
        gone.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(leave)
            result = await stream_encoded(
                create_run(callback, grace_period=0.1),
                DataStreamEncoder(),
                Sink(),
                disconnected=gone.wait,
            )
            elapsed = anyio.current_time() - left_at[0]
    assert result.end is StreamEnd.DISCONNECTED
    # The run was cancelled after its grace period and had ended before
    # stream_encoded returned: nothing outlives the response.
    assert callback.cancelled
    assert callback.ended
    assert 0.1 <= elapsed < 0.1 + 0.5


@asyncio_only
async def test_a_failing_disconnect_signal_is_a_disconnect(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    callback = Waiting("hello")
    broken = OSError("the connection is broken")

    async def disconnected() -> None:
        await callback.started.wait()
        raise broken

    with caplog.at_level(logging.ERROR), anyio.fail_after(5):
        result = await stream_encoded(
            create_run(callback, grace_period=0),
            DataStreamEncoder(),
            Sink(),
            disconnected=disconnected,
        )
    assert result.end is StreamEnd.DISCONNECTED
    assert result.error is broken
    assert callback.cancelled
    await asyncio.sleep(0)
    # Nothing left for asyncio to report ("Task exception was never retrieved").
    assert "never retrieved" not in caplog.text


async def test_a_failing_merged_stream_cancels_the_callback_at_once() -> None:
    callback_cancelled = anyio.Event()

    async def failing() -> Any:
        yield TextDeltaChunk(text_delta="merged")
        raise KeyError("reader")

    async def run(controller: RunController) -> None:
        controller.add_stream(failing())
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            callback_cancelled.set()
            raise

    with anyio.fail_after(5):
        chunks, error = await collect_with_error(create_run(run))
    assert isinstance(error, KeyError)
    assert callback_cancelled.is_set()
    assert chunks == [TextDeltaChunk(text_delta="merged"), ErrorChunk(error="'reader'")]


async def test_a_stop_after_the_callback_returned_cancels_its_merged_streams() -> None:
    reader_cancelled = anyio.Event()

    async def endless() -> Any:
        yield TextDeltaChunk(text_delta="merged")
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            reader_cancelled.set()
            raise
        yield TextDeltaChunk(text_delta="never")  # pragma: no cover

    async def run(controller: RunController) -> None:
        controller.add_stream(endless())

    run_ = create_run(run, grace_period=0.05)
    with anyio.fail_after(5):
        assert await run_.__anext__() == TextDeltaChunk(text_delta="merged")
        await run_.aclose()
    assert reader_cancelled.is_set()


async def test_a_run_closed_right_after_it_started_ends_promptly() -> None:
    callback = Waiting()
    run = create_run(callback, grace_period=0.05)
    batches = run.batches()
    assert batches.start() is not None  # started, not yet stepped
    with anyio.fail_after(5):
        await run.aclose()
    # Either never called, or called and cancelled after the grace period.
    assert callback.ended == callback.started.is_set()
    assert not callback.started.is_set() or callback.cancelled


async def test_a_run_read_chunk_by_chunk_then_served_loses_nothing() -> None:
    async def run(controller: RunController) -> None:
        controller.append_text("first")
        controller.add_data({"n": 1})  # the same batch: left over after one __anext__
        await anyio.sleep(0.02)
        controller.append_text("later")

    run_ = create_run(run)
    assert await run_.__anext__() == TextDeltaChunk(text_delta="first")
    sink = Sink()
    with anyio.fail_after(5):
        result = await stream_encoded(run_, DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert DataStreamDecoder().feed(b"".join(sink.writes)) == [
        DataChunk(data={"n": 1}),
        TextDeltaChunk(text_delta="later"),
    ]


@asyncio_only
async def test_cancelling_the_serving_task_stops_the_run_and_leaves_no_task(
    anyio_backend: str,
) -> None:
    # A server shutting down cancels the request's task mid-stream.
    callback = Waiting("hello")
    never = asyncio.Event()
    baseline = asyncio.all_tasks()
    serving = asyncio.ensure_future(
        stream_encoded(
            create_run(callback, grace_period=0.05),
            DataStreamEncoder(),
            Sink(),
            disconnected=never.wait,
        )
    )
    with anyio.fail_after(5):
        await callback.started.wait()
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
    assert callback.cancelled
    assert callback.ended
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - baseline == set()
