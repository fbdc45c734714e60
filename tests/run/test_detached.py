"""The plain shape (``async for chunk in create_run(cb)``): a detached producer.

No task group lives in a generator, so the run is not tied to the task that
iterates it: ``aclose()`` works from any task and may itself be cancelled, a
timeout may wrap one ``anext``, and a dropped run is stopped when collected.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import time
from typing import Any

import anyio
import anyio.abc
import pytest
import trio

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.run import RunController, create_run

pytestmark = pytest.mark.anyio

_VAR: contextvars.ContextVar[str] = contextvars.ContextVar("_VAR", default="unset")


def _stubborn(seconds: float, seen: _Seen) -> Any:
    """A callback that ignores cancellation for ``seconds``, then returns."""

    async def run(c: RunController) -> None:
        c.append_text("start")
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                try:
                    await anyio.sleep(0.01)
                except anyio.get_cancelled_exc_class():
                    seen["cancelled"] = True  # swallowed on purpose
                # Dropped quietly while the run is being cancelled, also after
                # a closer gave up waiting: not a RunClosedError.
                c.append_text(".")
        except Exception as exc:
            seen["error"] = exc
        finally:
            seen["finally"] = time.monotonic()
            seen["is_cancelled"] = c.is_cancelled
            seen.ended.set()

    return run


class _Seen(dict[str, Any]):
    """What a callback saw, and an event set when its ``finally:`` ran."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = anyio.Event()

    async def wait_ended(self, limit: float = 3.0) -> None:
        with anyio.fail_after(limit):
            await self.ended.wait()


async def test_cancelling_the_closing_task_ends_its_wait_and_spares_the_reader() -> None:
    seen = _Seen()
    hooks: list[tuple[str, Any]] = []
    run_ = create_run(
        _stubborn(0.3, seen),
        grace_period=0.01,
        on_cancel=lambda run_id, message: hooks.append(("cancel", message)),
        on_complete=lambda run_id, message: hooks.append(("complete", message)),
    )
    assert await run_.__anext__() == TextDeltaChunk(text_delta="start")
    closer_cancelled: list[bool] = []

    async def close(task_status: anyio.abc.TaskStatus[anyio.CancelScope]) -> None:
        with anyio.CancelScope() as scope:
            task_status.started(scope)
            await run_.aclose()
        closer_cancelled.append(scope.cancelled_caught)

    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        scope = await tg.start(close)
        await anyio.lowlevel.checkpoint()
        scope.cancel()
    assert closer_cancelled == [True]
    assert time.monotonic() - started < 0.2  # not the callback's 0.3 s
    # The reading task is not cancelled: it can still wait, and the run is over.
    await anyio.sleep(0.01)
    with pytest.raises(StopAsyncIteration):
        await run_.__anext__()
    # The producer was not abandoned: it was cancelled, and ended on its own.
    await seen.wait_ended()
    assert seen["cancelled"] is True
    assert seen["is_cancelled"] is True
    assert "error" not in seen
    # on_cancel was called once, by the cancelled closer (shielded), with
    # what the consumer had received.
    assert [(name, [p.text for p in m.parts]) for name, m in hooks] == [("cancel", ["start"])]


async def test_an_uncancelled_close_from_another_task_waits_for_the_callback() -> None:
    seen = _Seen()
    run_ = create_run(_stubborn(0.1, seen), grace_period=0)
    await run_.__anext__()
    async with anyio.create_task_group() as tg:
        tg.start_soon(run_.aclose)
    assert "finally" in seen
    await run_.aclose()  # again: nothing left to do
    assert [chunk async for chunk in run_] == []


async def test_a_close_from_another_task_ends_a_waiting_reader_cleanly() -> None:
    async def run(c: RunController) -> None:
        c.append_text("a")
        await anyio.sleep(30)

    run_ = create_run(run, grace_period=0)
    await run_.__anext__()
    received: list[Any] = []

    async def read() -> None:
        received.extend([chunk async for chunk in run_])
        received.append("end")

    with anyio.fail_after(2):
        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.sleep(0.02)  # the reader is waiting in __anext__
            await run_.aclose()
    assert received == ["end"]


async def test_a_timeout_around_one_anext_closes_the_run_and_nothing_else() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        c.append_text("a")
        try:
            await anyio.sleep(30)
        finally:
            seen["is_cancelled"] = c.is_cancelled

    run_ = create_run(run, grace_period=0.01)
    assert await run_.__anext__() == TextDeltaChunk(text_delta="a")
    with anyio.move_on_after(0.02) as scope:
        await run_.__anext__()
    assert scope.cancelled_caught
    # As an exception thrown into upstream's generator: the run is closed and
    # its callback has ended by the time the timeout is handled.
    assert seen == {"is_cancelled": True}
    with pytest.raises(StopAsyncIteration):
        await run_.__anext__()
    # The task's own cancel scopes are intact.
    with anyio.move_on_after(0.01) as later:
        await anyio.sleep(1)
    assert later.cancelled_caught


async def test_a_dropped_run_is_stopped_when_collected() -> None:
    seen = _Seen()

    async def run(c: RunController) -> None:
        try:
            while True:
                c.append_text("x")
                await anyio.sleep(0.005)
        finally:
            seen["is_cancelled"] = c.is_cancelled
            seen.ended.set()

    run_ = create_run(run, grace_period=0.01)
    await run_.__anext__()
    del run_
    gc.collect()
    await seen.wait_ended()
    assert seen == {"is_cancelled": True}


async def test_a_dropped_run_stuck_in_drain_is_released() -> None:
    seen = _Seen()

    async def run(c: RunController) -> None:
        try:
            while not c.is_cancelled:
                c.append_text("x" * 100)
                await c.drain()  # blocks: nobody reads any more
            seen["returned"] = True
        finally:
            seen["finally"] = True
            seen.ended.set()

    run_ = create_run(run, high_water_mark=1000, grace_period=1)
    await run_.__anext__()
    del run_
    gc.collect()
    await seen.wait_ended()
    assert seen == {"returned": True, "finally": True}  # cooperatively, in the grace period


async def test_the_callback_sees_the_iterating_task_s_context_variables() -> None:
    async def run(c: RunController) -> None:
        c.append_text(_VAR.get())

    token = _VAR.set("from the consumer")
    try:
        assert [chunk async for chunk in create_run(run)] == [
            TextDeltaChunk(text_delta="from the consumer")
        ]
    finally:
        _VAR.reset(token)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_closes_from_other_tasks_leak_no_task() -> None:
    baseline = len(asyncio.all_tasks())
    finished = 0

    async def run(c: RunController) -> None:
        nonlocal finished
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            finished += 1

    for _ in range(300):
        run_ = create_run(run, grace_period=0)
        await run_.__anext__()
        await asyncio.create_task(run_.aclose())
    assert finished == 300
    assert len(asyncio.all_tasks()) == baseline


def _started_and_abandoned(seen: dict[str, Any]) -> Any:
    keep: list[Any] = []

    async def run(c: RunController) -> None:
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            seen["finally"] = True

    async def main() -> None:
        run_ = create_run(run)
        keep.append(run_)  # neither closed nor collected: the loop ends first
        await run_.__anext__()

    return main, keep


def test_asyncio_run_ends_with_an_unclosed_run_and_cancels_its_callback() -> None:
    seen: dict[str, Any] = {}
    main, _keep = _started_and_abandoned(seen)
    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 5
    assert seen == {"finally": True}


def test_trio_run_ends_with_an_unclosed_run_and_cancels_its_callback() -> None:
    seen: dict[str, Any] = {}
    main, _keep = _started_and_abandoned(seen)
    started = time.monotonic()
    trio.run(main)  # a system task that raised would crash this run
    assert time.monotonic() - started < 5
    assert seen == {"finally": True}
