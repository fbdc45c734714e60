"""Buffering: coalescing, batches, drain() flow control, calls from worker threads."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.run import RunController, create_run, stream_text
from assistant_stream_core.run._buffer import CHUNK_COST, MERGE_LIMIT, TAKE_LIMIT

from ._util import coalesce, collect, operations

pytestmark = pytest.mark.anyio


async def test_200k_appends_merge_into_bounded_chunks_with_the_content_intact() -> None:
    pending: list[int] = []
    n = 200_000

    async def run(c: RunController) -> None:
        for i in range(n):
            c.append_text(str(i % 10))
        pending.append(run_._core.buffer.pending_count())

    run_ = create_run(run)
    start = time.monotonic()
    batches = [batch async for batch in run_.batches()]
    elapsed = time.monotonic() - start
    chunks = [chunk for batch in batches for chunk in batch]
    # Merged, but no chunk past MERGE_LIMIT and no take past TAKE_LIMIT.
    assert pending == [-(-n // MERGE_LIMIT)]
    assert all(isinstance(chunk, TextDeltaChunk) for chunk in chunks)
    assert max(len(chunk.text_delta) for chunk in chunks) == MERGE_LIMIT  # type: ignore[union-attr]
    assert max(sum(len(c.text_delta) for c in batch) for batch in batches) <= TAKE_LIMIT  # type: ignore[union-attr]
    assert coalesce(chunks) == [TextDeltaChunk(text_delta="0123456789" * (n // 10))]
    assert elapsed < 5  # linear: a quadratic join would take far longer


async def test_one_delta_larger_than_the_bounds_is_not_split() -> None:
    big = "x" * (3 * TAKE_LIMIT)

    async def run(c: RunController) -> None:
        c.append_text("a")
        c.append_text(big)
        c.append_text("b")
        c.add_data(1)

    batches = [batch async for batch in create_run(run).batches()]
    assert batches == [
        [TextDeltaChunk(text_delta="a"), TextDeltaChunk(text_delta=big)],
        [TextDeltaChunk(text_delta="b"), DataChunk(data=1)],
    ]


async def test_args_deltas_coalesce_per_tool_call() -> None:
    async def run(c: RunController) -> None:
        a = await c.add_tool_call("a", "ta")
        a.append_args_text("{")
        a.append_args_text("}")
        b = await c.add_tool_call("b", "tb")
        b.append_args_text("[")
        a.set_response(1)
        b.append_args_text("]")

    assert await collect(run) == [
        ToolCallBeginChunk(tool_call_id="ta", tool_name="a"),
        ToolCallDeltaChunk(tool_call_id="ta", args_text_delta="{}"),
        ToolCallBeginChunk(tool_call_id="tb", tool_name="b"),
        ToolCallDeltaChunk(tool_call_id="tb", args_text_delta="["),
        ToolResultChunk(tool_call_id="ta", result=1),
        ToolCallArgsTextFinishChunk(tool_call_id="ta"),
        ToolCallDeltaChunk(tool_call_id="tb", args_text_delta="]"),
        ToolCallArgsTextFinishChunk(tool_call_id="tb"),
    ]


async def test_a_batch_is_everything_pending_when_the_consumer_asks() -> None:
    async def run(c: RunController) -> None:
        c.append_text("a")
        c.add_data(1)
        c.append_text("b")
        await anyio.sleep(0.01)  # the consumer takes the three chunks above
        c.append_text("c")

    batches = [batch async for batch in create_run(run).batches()]
    assert batches == [
        [TextDeltaChunk(text_delta="a"), DataChunk(data=1), TextDeltaChunk(text_delta="b")],
        [TextDeltaChunk(text_delta="c")],
    ]


async def test_chunk_and_batch_iteration_share_one_run() -> None:
    async def run(c: RunController) -> None:
        c.append_text("a")
        c.add_data(1)
        c.add_data(2)

    run_ = create_run(run)
    assert await run_.__anext__() == TextDeltaChunk(text_delta="a")
    rest = [batch async for batch in run_.batches()]
    assert rest == [[DataChunk(data=1), DataChunk(data=2)]]


async def _tokens(count: int, size: int) -> AsyncIterator[str]:
    for i in range(count):
        yield chr(ord("a") + i % 26) * size


async def test_drain_holds_a_fast_producer_to_the_high_water_mark() -> None:
    high_water_mark = 1_000
    token_size = 10
    count = 2_000

    async def run(c: RunController) -> None:
        await stream_text(c, _tokens(count, token_size))

    sizes: list[int] = []
    text: list[str] = []
    async for batch in create_run(run, high_water_mark=high_water_mark).batches():
        size = 0
        for chunk in batch:
            assert isinstance(chunk, TextDeltaChunk)
            size += len(chunk.text_delta)
            text.append(chunk.text_delta)
        sizes.append(size)
        await anyio.sleep(0.001)  # a slow client
    expected = "".join([chr(ord("a") + i % 26) * token_size for i in range(count)])
    assert "".join(text) == expected
    # Never more than the mark plus one token was pending.
    assert max(sizes) <= high_water_mark + token_size
    assert len(sizes) >= count * token_size // (high_water_mark + token_size)


async def test_drain_counts_other_chunks_and_controller_stream_text_accepts_iterables() -> None:
    high_water_mark = CHUNK_COST * 4
    counts: list[int] = []

    async def run(c: RunController) -> None:
        for i in range(40):
            c.add_data(i)
            await c.drain()
        await c.stream_text(["x", "y"])

    async for batch in create_run(run, high_water_mark=high_water_mark).batches():
        counts.append(sum(isinstance(chunk, DataChunk) for chunk in batch))
        await anyio.sleep(0.001)
    assert sum(counts) == 40
    assert max(counts) <= 4


async def test_drain_returns_when_the_consumer_leaves() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        async def endless() -> AsyncIterator[str]:
            while True:
                yield "token "

        await stream_text(c, endless())
        seen["returned"] = c.is_cancelled

    run_ = create_run(run, high_water_mark=100, grace_period=5)
    await run_.__anext__()
    start = time.monotonic()
    await run_.aclose()
    assert time.monotonic() - start < 1  # no need to wait for the grace period
    assert seen == {"returned": True}


async def test_controller_methods_work_from_worker_threads() -> None:
    def work(c: RunController) -> None:
        for i in range(20):
            c.append_text(str(i))
            time.sleep(0.001)  # let the consumer drain between calls
        c.state["from_thread"] = True
        tool = anyio.from_thread.run(c.add_tool_call, "t", "t1")
        tool.append_args_text("{}")
        tool.set_response("ok")

    async def run(c: RunController) -> None:
        await anyio.to_thread.run_sync(work, c)
        c.append_text("done")

    chunks = await collect(run, state={})
    text = "".join(ch.text_delta for ch in chunks if isinstance(ch, TextDeltaChunk))
    assert text == "".join(str(i) for i in range(20)) + "done"
    assert operations(chunks) == [{"type": "set", "path": ["from_thread"], "value": True}]
    rest = [ch for ch in chunks if not isinstance(ch, (TextDeltaChunk, UpdateStateChunk))]
    assert rest == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t"),
        ToolCallDeltaChunk(tool_call_id="t1", args_text_delta="{}"),
        ToolResultChunk(tool_call_id="t1", result="ok"),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


async def test_a_plain_thread_wakes_the_waiting_consumer() -> None:
    # Not an anyio worker thread: the wake-up goes through the loop's token.
    received: list[tuple[float, Chunk]] = []

    async def run(c: RunController) -> None:
        def later() -> None:
            for word in ("one ", "two ", "three"):
                time.sleep(0.02)
                c.append_text(word)

        thread = threading.Thread(target=later)
        thread.start()
        await anyio.to_thread.run_sync(thread.join)

    async for chunk in create_run(run):
        received.append((time.monotonic(), chunk))
    chunks = [chunk for _, chunk in received]
    assert coalesce(chunks) == [TextDeltaChunk(text_delta="one two three")]
    # Woken as the words arrived, not once at the end.
    assert len(received) >= 2


async def test_many_threads_at_once_lose_nothing() -> None:
    def work(c: RunController, name: str) -> None:
        for i in range(500):
            c.add_data([name, i])

    async def run(c: RunController) -> None:
        async with anyio.create_task_group() as tg:
            for name in "abcd":
                tg.start_soon(anyio.to_thread.run_sync, work, c, name)

    chunks = await collect(run)
    for name in "abcd":
        seq = [ch.data[1] for ch in chunks if isinstance(ch, DataChunk) and ch.data[0] == name]
        assert seq == list(range(500))
