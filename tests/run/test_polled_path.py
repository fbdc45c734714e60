"""The serving loop's polled path: one take per batch, the wait armed by the take.

At a model's pace every token is a batch, so these pin down the per-token
shape: ``ChunkBuffer.poll`` takes a lone text delta and (on asyncio) arms the
wait for the next write in the same call; a write during the send resolves
that wait; the serving loop takes a run's batches without a coroutine per
batch, and still ends, stops and merges as the iterator does.
"""

from __future__ import annotations

import asyncio
import sys
from types import FrameType
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run import create_run
from assistant_stream_core.run._buffer import _TEXT, ChunkBuffer
from assistant_stream_core.run.serve import StreamEnd, stream_encoded

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_take_arms_the_next_wait_on_asyncio(anyio_backend: str) -> None:
    buffer = ChunkBuffer(1024)
    buffer.bind()
    wait = buffer.poll()
    assert isinstance(wait, asyncio.Future)
    assert not wait.done()
    assert buffer.poll() is wait  # polling again while armed: the same wait
    buffer.add_delta(_TEXT, None, "a")
    assert wait.done()
    assert buffer.poll() == [TextDeltaChunk(text_delta="a")]
    armed = buffer.waiter
    assert isinstance(armed, asyncio.Future)
    assert not armed.done()
    # Writes during the send resolve the armed wait and merge.
    buffer.add_delta(_TEXT, None, "b")
    buffer.add_delta(_TEXT, None, "c")
    assert armed.done()
    assert buffer.waiter is None
    await armed  # returns at once
    assert buffer.poll() == [TextDeltaChunk(text_delta="bc")]
    buffer.finish()
    assert buffer.waiter is None or buffer.waiter.done()
    assert buffer.poll() is None


async def test_poll_after_the_consumer_left_asks_for_the_iterator() -> None:
    buffer = ChunkBuffer(1024)
    buffer.bind()
    buffer.add_delta(_TEXT, None, "a")
    buffer.cancel()
    assert buffer.poll() is None


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_polls_twice_and_awaits_an_event(anyio_backend: str) -> None:
    buffer = ChunkBuffer(1024)
    buffer.bind()
    buffer.add_delta(_TEXT, None, "a")
    assert buffer.poll() == [TextDeltaChunk(text_delta="a")]
    assert buffer.waiter is None  # not armed by the take: no future on trio
    wait = buffer.poll()
    assert wait is not None
    assert not isinstance(wait, list)

    async def waiting() -> None:
        await wait  # type: ignore[misc]

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiting)
        await anyio.sleep(0.01)
        buffer.add_delta(_TEXT, None, "b")
    assert buffer.poll() == [TextDeltaChunk(text_delta="b")]


class _Sink:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def __call__(self, data: bytes) -> None:
        self.writes.append(data)


async def _paced(controller: Any) -> None:
    for i in range(20):
        controller.append_text(f"t{i} ")
        await anyio.sleep(0.002)


async def test_paced_run_one_write_per_batch_every_backend() -> None:
    sink = _Sink()
    result = await stream_encoded(create_run(_paced), DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    # One text chunk and one write per batch (tokens merge only if this
    # machine falls behind the pace); every token arrives, in order.
    assert result.writes == len(sink.writes) == result.chunks
    assert result.bytes_sent == sum(map(len, sink.writes))
    decoded = DataStreamDecoder().feed(b"".join(sink.writes))
    assert "".join(c.text_delta for c in decoded if isinstance(c, TextDeltaChunk)) == "".join(
        f"t{i} " for i in range(20)
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_no_coroutine_per_batch(anyio_backend: str) -> None:
    """After the first batch, the run's iterator is not entered per token."""
    calls = {"_next_batch": 0, "__anext__": 0}

    def profile(frame: FrameType, event: str, arg: object) -> None:
        name = frame.f_code.co_name
        if event == "call" and name in calls and "runner" in frame.f_code.co_filename:
            calls[name] += 1

    sink = _Sink()
    sys.setprofile(profile)
    try:
        result = await stream_encoded(create_run(_paced), DataStreamEncoder(), sink)
    finally:
        sys.setprofile(None)
    assert result.writes >= 2
    # The first batch and the end (a coroutine frame is "called" once per
    # resumption: a handful, not one per token).
    assert calls["__anext__"] <= 2
    assert calls["_next_batch"] <= 6


async def test_a_stopped_run_ends_the_polled_loop() -> None:
    run = create_run(_paced)
    sink = _Sink()

    async def close_soon() -> None:
        await anyio.sleep(0.01)
        await run.aclose()

    async with anyio.create_task_group() as tg:
        tg.start_soon(close_soon)
        result = await stream_encoded(run, DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert 1 <= len(sink.writes) < 20


async def test_hooks_still_see_every_batch() -> None:
    seen: list[Any] = []
    run = create_run(_paced, on_complete=lambda run_id, message: seen.append(message))
    sink = _Sink()
    result = await stream_encoded(run, DataStreamEncoder(), sink)
    assert result.end is StreamEnd.COMPLETE
    assert len(seen) == 1
    text = "".join(getattr(part, "text", "") for part in seen[0].parts)
    assert text == "".join(f"t{i} " for i in range(20))
