"""``async with create_run(...) as run``: the task group belongs to the block."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import Chunk, ErrorChunk, TextDeltaChunk
from assistant_stream_core.run import RunController, create_run

pytestmark = pytest.mark.anyio


async def test_the_callback_starts_on_entry_and_chunks_arrive() -> None:
    started = anyio.Event()

    async def run(c: RunController) -> None:
        started.set()
        c.append_text("a")
        await anyio.sleep(0.01)
        c.append_text("b")

    async with create_run(run) as run_:
        with anyio.fail_after(1):
            await started.wait()
        chunks = [chunk async for chunk in run_]
    assert chunks == [TextDeltaChunk(text_delta="a"), TextDeltaChunk(text_delta="b")]


async def test_a_timeout_may_wrap_a_single_anext() -> None:
    release = anyio.Event()

    async def run(c: RunController) -> None:
        await release.wait()
        c.append_text("late")

    async with create_run(run) as run_:
        with anyio.move_on_after(0.02) as scope:
            await run_.__anext__()
        assert scope.cancelled_caught
        release.set()
        with anyio.fail_after(1):
            assert await run_.__anext__() == TextDeltaChunk(text_delta="late")
        with pytest.raises(StopAsyncIteration):
            await run_.__anext__()


async def test_callback_error_is_the_last_chunk_then_raised_unchanged() -> None:
    received: list[Chunk] = []
    calls: list[tuple[str, Any]] = []

    async def run(c: RunController) -> None:
        c.append_text("partial")
        raise LookupError("boom")

    def on_error(run_id: str, message: Any, exc: BaseException) -> None:
        calls.append(("error", exc))

    async def consume() -> None:
        async with create_run(run, on_error=on_error) as run_:
            async for chunk in run_:
                received.append(chunk)

    with pytest.raises(LookupError, match="boom"):
        await consume()
    assert received == [TextDeltaChunk(text_delta="partial"), ErrorChunk(error="boom")]
    assert [name for name, _ in calls] == ["error"]


async def test_leaving_the_block_early_stops_the_callback() -> None:
    seen: dict[str, Any] = {}
    calls: list[str] = []

    async def run(c: RunController) -> None:
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            seen["is_cancelled"] = c.is_cancelled

    async with create_run(run, grace_period=0.01, on_cancel=lambda *a: calls.append("cancel")) as r:
        async for _ in r:
            break
    assert seen == {"is_cancelled": True}
    assert calls == ["cancel"]


async def test_an_error_in_the_block_propagates_unchanged_and_stops_the_run() -> None:
    finished: list[bool] = []

    async def run(c: RunController) -> None:
        try:
            await anyio.sleep(30)
        finally:
            finished.append(c.is_cancelled)

    async def body() -> None:
        async with create_run(run, grace_period=0):
            raise KeyError("from the body")

    with pytest.raises(KeyError, match="from the body"):
        await body()
    assert finished == [True]


async def test_outer_cancellation_gives_the_callback_its_grace_period() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        c.append_text("x")
        await c.cancelled_event.wait()
        await anyio.sleep(0.01)  # still allowed: the grace period shields it
        seen["returned"] = time.monotonic()

    with anyio.move_on_after(0.05) as scope:
        async with create_run(run, grace_period=1) as run_:
            async for _ in run_:
                pass
    assert scope.cancelled_caught
    assert "returned" in seen


async def test_aclose_inside_the_block_and_misuse() -> None:
    seen: list[bool] = []

    async def run(c: RunController) -> None:
        try:
            await anyio.sleep(30)
        finally:
            seen.append(c.is_cancelled)

    async with create_run(run, grace_period=0) as run_:
        await run_.aclose()
        assert seen == [True]
        assert [chunk async for chunk in run_] == []

    iterated = create_run(run)
    await iterated.aclose()
    with pytest.raises(RuntimeError, match="async with"):
        await iterated.__aenter__()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_scoped_runs_leak_no_task() -> None:
    baseline = len(asyncio.all_tasks())

    async def run(c: RunController) -> None:
        c.append_text("x")
        await anyio.sleep(30)

    for _ in range(300):
        async with create_run(run, grace_period=0) as run_:
            async for _ in run_:
                break
    assert len(asyncio.all_tasks()) == baseline


async def test_adapter_pattern_close_inside_the_consumers_own_task_group() -> None:
    # An adapter that iterates a run inside its own task group must close the
    # run before that group exits (the run's scope sits above the group's).
    seen: list[bool] = []

    async def run(c: RunController) -> None:
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            seen.append(c.is_cancelled)

    run_ = create_run(run, grace_period=0)
    batches = run_.batches()
    async with anyio.create_task_group() as tg:
        try:
            assert await batches.__anext__() == [TextDeltaChunk(text_delta="x")]
        finally:
            await batches.aclose()
        tg.cancel_scope.cancel()
    assert seen == [True]


async def test_adapter_pattern_async_with_outside_the_consumers_task_group() -> None:
    seen: list[bool] = []

    async def run(c: RunController) -> None:
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            seen.append(c.is_cancelled)

    async with create_run(run, grace_period=0) as run_:
        batches = run_.batches()
        async with anyio.create_task_group() as tg:
            assert await batches.__anext__() == [TextDeltaChunk(text_delta="x")]
            tg.cancel_scope.cancel()  # stop early, close nothing here
    assert seen == [True]
