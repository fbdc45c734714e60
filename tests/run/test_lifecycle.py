"""A run's life: errors, early close, grace then cancel, no leaked tasks, hooks."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.chunks import (
    Chunk,
    ErrorChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    UpdateStateChunk,
)
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.state import SetOperation

from ._util import collect, collect_with_error

pytestmark = pytest.mark.anyio


async def test_cancel_signal_is_read_only_and_clear_on_normal_completion() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        seen["signal"] = c.cancelled_event
        seen["signal_again"] = c.cancelled_event
        seen["before"] = c.is_cancelled
        c.append_text("hello")

    chunks = await collect(run)
    assert chunks == [TextDeltaChunk(text_delta="hello")]
    signal = seen["signal"]
    assert callable(signal.wait)
    assert signal.is_set() is False
    assert not hasattr(signal, "set")
    assert signal is seen["signal_again"]
    assert seen["before"] is False


async def test_error_chunk_is_last_then_the_exception_is_raised() -> None:
    async def run(c: RunController) -> None:
        c.append_text("partial")
        await c.add_tool_call("t", "t1")
        c.state["k"] = 1
        raise RuntimeError("boom")

    received, exc = await collect_with_error(create_run(run, state={}))
    assert isinstance(exc, RuntimeError)
    assert str(exc) == "boom"
    assert received == [
        TextDeltaChunk(text_delta="partial"),
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t"),
        UpdateStateChunk(operations=[SetOperation(path=("k",), value=1)]),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
        ErrorChunk(error="boom"),
    ]


def _plain_def(c: RunController) -> None:
    c.append_text("runs")


async def _async_generator(c: RunController) -> Any:
    yield "x"


@pytest.mark.parametrize(
    ("callback", "returned"),
    [(_plain_def, "NoneType"), (_async_generator, "async_generator")],
    ids=["def", "async-generator"],
)
async def test_a_callback_that_is_not_async_def_is_named(callback: Any, returned: str) -> None:
    """The first-hour mistake: ``def run(controller)``, or a run that yields.

    Awaiting what it returned failed with "object NoneType can't be used in
    'await' expression", which names neither the callback nor the fix.
    """
    received, exc = await collect_with_error(create_run(callback))
    assert isinstance(exc, TypeError)
    assert str(exc) == (
        f"the run callback {callback.__qualname__} returned {returned}, not an awaitable: "
        "define it with async def (and without yield)"
    )
    assert received[-1] == ErrorChunk(error=str(exc))


async def test_error_batch_is_yielded_before_the_raise() -> None:
    async def run(c: RunController) -> None:
        raise ValueError("bad")

    it = create_run(run).batches()
    assert await it.__anext__() == [ErrorChunk(error="bad")]
    with pytest.raises(ValueError, match="bad"):
        await it.__anext__()
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()


async def test_early_close_sets_is_cancelled_and_a_cooperative_callback_returns() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        c.append_text("start")
        try:
            await c.cancelled_event.wait()
            seen["cancelled"] = c.is_cancelled
            seen["returned"] = True
        except BaseException as exc:  # pragma: no cover - would be a failure
            seen["exc"] = exc
            raise
        finally:
            seen["finally"] = True

    run_ = create_run(run, grace_period=5)
    assert await run_.__anext__() == TextDeltaChunk(text_delta="start")
    start = time.monotonic()
    await run_.aclose()
    assert time.monotonic() - start < 1  # returned on its own, long before the grace ran out
    assert seen == {"cancelled": True, "returned": True, "finally": True}


async def test_grace_period_then_cancel_for_a_callback_that_ignores_the_signal() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        c.append_text("start")
        try:
            await anyio.sleep(30)
        except anyio.get_cancelled_exc_class():
            seen["cancelled_exc"] = True
            seen["is_cancelled"] = c.is_cancelled
            raise
        finally:
            seen["finally"] = time.monotonic()

    run_ = create_run(run, grace_period=0.1)
    await run_.__anext__()
    start = time.monotonic()
    await run_.aclose()
    elapsed = time.monotonic() - start
    assert seen["cancelled_exc"] is True
    assert seen["is_cancelled"] is True
    # aclose waited the grace period, then the callback's finally ran before it returned.
    assert 0.09 <= seen["finally"] - start <= elapsed
    assert elapsed < 2


async def test_early_close_swallows_a_late_callback_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run(c: RunController) -> None:
        c.append_text("start")
        await c.cancelled_event.wait()
        c.append_text("dropped quietly while cancelling")
        raise RuntimeError("late")

    run_ = create_run(run)
    await run_.__anext__()
    with caplog.at_level(logging.WARNING, logger="assistant_stream_core.run"):
        await run_.aclose()  # does not raise
    assert "after its consumer left" in caplog.text


async def test_close_before_iteration_never_starts_the_callback() -> None:
    started: list[bool] = []

    async def run(c: RunController) -> None:
        started.append(True)

    run_ = create_run(run)
    await run_.aclose()
    await run_.aclose()
    assert [chunk async for chunk in run_] == []
    assert started == []


async def test_outer_cancellation_of_the_consumer_cancels_the_run() -> None:
    seen: dict[str, Any] = {}

    async def run(c: RunController) -> None:
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            seen["is_cancelled"] = c.is_cancelled

    got: list[Chunk] = []
    with anyio.move_on_after(0.05) as scope:
        async for chunk in create_run(run, grace_period=0.01):
            got.append(chunk)
    assert scope.cancelled_caught
    assert got == [TextDeltaChunk(text_delta="x")]
    assert seen == {"is_cancelled": True}


async def test_async_with_closes_the_run() -> None:
    seen: list[str] = []

    async def run(c: RunController) -> None:
        c.append_text("a")
        try:
            await anyio.sleep(30)
        finally:
            seen.append("finally")

    async with create_run(run, grace_period=0) as run_:
        async for chunk in run_:
            assert chunk == TextDeltaChunk(text_delta="a")
            break
    assert seen == ["finally"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_thousand_early_closes_leak_no_task() -> None:
    baseline = len(asyncio.all_tasks())

    async def cooperative(c: RunController) -> None:
        c.append_text("x")
        await c.cancelled_event.wait()

    async def stubborn(c: RunController) -> None:
        c.append_text("x")
        await anyio.sleep(30)

    for i in range(1000):
        run_ = create_run(cooperative) if i % 2 else create_run(stubborn, grace_period=0)
        assert await run_.__anext__() == TextDeltaChunk(text_delta="x")
        await run_.aclose()
    assert len(asyncio.all_tasks()) == baseline


async def test_a_thousand_early_closes_on_any_backend_finish_every_callback() -> None:
    finished = 0

    async def run(c: RunController) -> None:
        nonlocal finished
        c.append_text("x")
        try:
            await anyio.sleep(30)
        finally:
            finished += 1

    for _ in range(1000):
        run_ = create_run(run, grace_period=0)
        await run_.__anext__()
        await run_.aclose()
    assert finished == 1000


class _Hooks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def complete(self, *args: Any) -> None:
        self.calls.append(("complete", args))

    async def error(self, *args: Any) -> None:
        await anyio.lowlevel.checkpoint()
        self.calls.append(("error", args))

    async def cancel(self, *args: Any) -> None:
        await anyio.lowlevel.checkpoint()  # runs although the consumer is being cancelled
        self.calls.append(("cancel", args))

    def kwargs(self) -> dict[str, Any]:
        return {"on_complete": self.complete, "on_error": self.error, "on_cancel": self.cancel}


async def test_on_complete_is_called_once_with_the_message() -> None:
    hooks = _Hooks()

    async def run(c: RunController) -> None:
        c.append_text("Hello ")
        c.append_text("world")

    await collect(run, run_id="r1", **hooks.kwargs())
    assert [name for name, _ in hooks.calls] == ["complete"]
    run_id, message = hooks.calls[0][1]
    assert run_id == "r1"
    assert [part.text for part in message.parts] == ["Hello world"]
    assert message.status.type == "complete"


async def test_on_error_is_called_once_with_the_exception() -> None:
    hooks = _Hooks()
    boom = RuntimeError("boom")

    async def run(c: RunController) -> None:
        c.append_text("partial")
        raise boom

    with pytest.raises(RuntimeError):
        await collect(run, run_id="r2", **hooks.kwargs())
    assert [name for name, _ in hooks.calls] == ["error"]
    run_id, message, exc = hooks.calls[0][1]
    assert (run_id, exc) == ("r2", boom)
    assert message.parts[0].text == "partial"
    assert message.status.type == "incomplete"


async def test_on_cancel_is_called_once_with_what_was_received() -> None:
    hooks = _Hooks()

    async def run(c: RunController) -> None:
        c.append_text("first")
        await anyio.sleep(0.01)
        c.append_text("never received")
        await anyio.sleep(30)

    run_ = create_run(run, run_id="r3", grace_period=0, **hooks.kwargs())
    await run_.__anext__()
    await run_.aclose()
    assert [name for name, _ in hooks.calls] == ["cancel"]
    run_id, message = hooks.calls[0][1]
    assert run_id == "r3"
    assert [part.text for part in message.parts] == ["first"]
    assert message.status.type == "running"  # a snapshot: the message never finished


async def test_a_raising_hook_is_logged_not_propagated(caplog: pytest.LogCaptureFixture) -> None:
    def bad_hook(run_id: str, message: Any) -> None:
        raise KeyError("hook")

    async def run(c: RunController) -> None:
        c.append_text("ok")

    with caplog.at_level(logging.ERROR, logger="assistant_stream_core.run"):
        assert await collect(run, on_complete=bad_hook) == [TextDeltaChunk(text_delta="ok")]
    assert "hook" in caplog.text


async def test_bad_create_run_arguments() -> None:
    async def run(c: RunController) -> None:
        pass

    with pytest.raises(ValueError, match="grace_period"):
        create_run(run, grace_period=-1)
    with pytest.raises(ValueError, match="high_water_mark"):
        create_run(run, high_water_mark=0)
    with pytest.raises(TypeError, match="on_error"):
        create_run(run, on_error="nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="run_id"):
        create_run(run, run_id=5)  # type: ignore[arg-type]
    generated = create_run(run)
    assert generated.run_id.startswith("run_")
    assert generated.controller.run_id == generated.run_id
    assert create_run(run, run_id="mine").run_id == "mine"


class _Fatal(BaseException):
    """Not an Exception: not turned into an error chunk."""


def _leaves(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        return [exc]
    return [leaf for sub in inner for leaf in _leaves(sub)]


async def test_a_base_exception_from_the_callback_ends_the_stream_without_hanging() -> None:
    async def run(c: RunController) -> None:
        c.append_text("x")
        raise _Fatal("fatal")

    received: list[Chunk] = []
    caught: list[BaseException] = []
    with anyio.fail_after(5):
        try:
            async for chunk in create_run(run):
                received.append(chunk)
        except BaseException as exc:
            caught.append(exc)
    assert received == [TextDeltaChunk(text_delta="x")]
    assert [type(e) for e in _leaves(caught[0])] == [_Fatal]
