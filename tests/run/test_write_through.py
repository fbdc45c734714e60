"""The write-through's contract with the adapter's ``send`` (asyncio).

A run's write sent from the producer's call runs the send as the serving
loop's task, in one context: cancel scopes, timeouts, ``current_task()`` and
context variables inside the send behave as if the serving loop had called
it, also when the send suspends and the serving loop finishes it. A send
that fails fails the stream as it would without write-through, and never
raises into the producer's call. On trio there is no write-through.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run import create_run, serve
from assistant_stream_core.run.serve import StreamEnd, StreamResult, stream_encoded

from ..conftest import UVLOOP

pytestmark = pytest.mark.anyio

TOKENS = 30
# The standard library's event loop and uvloop's: the write-through sets
# asyncio's record of the running task, which uvloop's tasks (asyncio's own)
# keep in the same place.
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio", UVLOOP])


async def _paced(controller: Any) -> None:
    for i in range(TOKENS):
        controller.append_text(f"t{i} ")
        await anyio.sleep(0.003)


def _text(body: bytes) -> str:
    chunks = DataStreamDecoder().feed(body)
    return "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))


EXPECTED = "".join(f"t{i} " for i in range(TOKENS))


async def _serve(send: Any, **options: Any) -> StreamResult:
    return await stream_encoded(
        create_run(_paced, **options), DataStreamEncoder(), send, keepalive_interval=None
    )


@asyncio_only
async def test_send_runs_as_the_serving_loops_task_with_its_scopes(anyio_backend: str) -> None:
    """A send that enters a cancel scope and suspends inside it, every third
    write: the scope is entered and left in the same task, the serving loop's."""
    body = bytearray()
    tasks: set[Any] = set()
    calls = 0

    async def send(data: bytes) -> None:
        nonlocal calls
        calls += 1
        tasks.add(asyncio.current_task())
        with anyio.fail_after(5):
            if calls % 3 == 0:
                await anyio.sleep(0.001)  # suspends: the serving loop finishes it
            body.extend(data)
        tasks.add(asyncio.current_task())

    serving = asyncio.current_task()
    result = await _serve(send)
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == EXPECTED
    assert result.write_throughs >= TOKENS // 2
    assert tasks == {serving}  # stream_encoded runs in this task


@asyncio_only
async def test_a_context_variable_set_before_a_suspension_is_reset_after_it(
    anyio_backend: str,
) -> None:
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)
    body = bytearray()

    async def send(data: bytes) -> None:
        token = var.set(len(data))
        await asyncio.sleep(0)  # suspends in every write
        var.reset(token)  # ValueError if resumed in another context
        body.extend(data)

    result = await _serve(send)
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == EXPECTED
    assert result.write_throughs >= TOKENS // 2


@asyncio_only
async def test_a_send_that_returns_a_future_is_awaited_by_the_serving_loop(
    anyio_backend: str,
) -> None:
    body = bytearray()

    def send(data: bytes) -> asyncio.Future[None]:
        future = asyncio.get_running_loop().create_future()
        body.extend(data)
        asyncio.get_running_loop().call_soon(future.set_result, None)
        return future

    result = await _serve(send)
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == EXPECTED
    assert result.write_throughs >= TOKENS // 2


@asyncio_only
async def test_a_failed_send_mid_write_through_stops_the_run_not_its_call(
    anyio_backend: str,
) -> None:
    cancelled: list[str] = []
    errors: list[BaseException] = []
    writes = 0

    async def send(data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes == 5:
            raise ConnectionResetError("client gone")

    async def paced(controller: Any) -> None:
        try:
            await _paced(controller)
        except Exception as exc:
            errors.append(exc)
            raise

    run = create_run(paced, on_cancel=lambda run_id, message: cancelled.append(run_id))
    result = await stream_encoded(run, DataStreamEncoder(), send, keepalive_interval=None)
    assert result.end is StreamEnd.DISCONNECTED
    assert isinstance(result.error, ConnectionResetError)
    assert result.write_throughs >= 2  # the failed write was a write-through
    assert errors == []  # nothing raised into append_text
    assert cancelled == [run.run_id]  # stopped through the grace path


@asyncio_only
async def test_a_send_error_is_raised_as_without_write_through(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def send(data: bytes) -> None:
        if b"t3 " in data:
            raise RuntimeError("the server is confused")

    raised: list[tuple[type[BaseException], str]] = []
    for write_through in (True, False):
        monkeypatch.setattr(serve, "WRITE_THROUGH", write_through)
        with pytest.raises(BaseException) as info:  # noqa: PT011 - compared below
            await _serve(send)
        error = info.value
        while getattr(error, "exceptions", None):  # an exception group: its first
            error = error.exceptions[0]  # type: ignore[attr-defined]
        raised.append((type(info.value), str(error)))
    assert raised[0] == raised[1]
    assert raised[0][1] == "the server is confused"


@pytest.mark.parametrize("anyio_backend", [UVLOOP])
async def test_write_through_is_on_under_uvloop(anyio_backend: Any) -> None:
    """uvloop runs asyncio's own tasks, which keep the running task in
    asyncio's record: the write-through finds it there and is used."""
    import uvloop

    loop = asyncio.get_running_loop()
    assert isinstance(loop, uvloop.Loop)
    assert serve._current_task_of(loop) is asyncio.current_task()
    body = bytearray()

    async def send(data: bytes) -> None:
        body.extend(data)

    result = await _serve(send)
    assert result.end is StreamEnd.COMPLETE
    assert result.write_throughs >= TOKENS // 2
    assert _text(bytes(body)) == EXPECTED


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_no_write_through_on_trio(anyio_backend: str) -> None:
    body = bytearray()

    async def send(data: bytes) -> None:
        body.extend(data)

    result = await _serve(send)
    assert result.end is StreamEnd.COMPLETE
    assert result.write_throughs == 0
    assert _text(bytes(body)) == EXPECTED


@asyncio_only
async def test_writes_faster_than_the_quiet_time_merge(anyio_backend: str) -> None:
    writes: list[bytes] = []

    async def send(data: bytes) -> None:
        writes.append(data)

    async def bursts(controller: Any) -> None:
        for burst in range(10):
            for i in range(100):
                controller.append_text(f"{burst}.{i} ")
            await anyio.sleep(0.003)

    result = await stream_encoded(
        create_run(bursts), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.COMPLETE
    # Each burst: its first write may go through, the rest merge into one.
    assert len(writes) <= 2 * 10 + 1
    text = _text(b"".join(writes))
    assert text == "".join(f"{b}.{i} " for b in range(10) for i in range(100))


@asyncio_only
async def test_a_handed_over_send_that_hangs_meets_the_send_timeout(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cancelled: list[str] = []
    handed: list[int] = []
    writes = 0
    hand_over = serve._Streamer.hand_over

    def counting(self: serve._Streamer, step: Any, yielded: Any, size: int) -> None:
        handed.append(size)
        hand_over(self, step, yielded, size)

    monkeypatch.setattr(serve._Streamer, "hand_over", counting)

    async def send(data: bytes) -> None:
        nonlocal writes
        writes += 1
        if writes == 4:
            await asyncio.Event().wait()  # a client that stopped reading

    run = create_run(_paced, on_cancel=lambda run_id, message: cancelled.append(run_id))
    with anyio.fail_after(5):
        result = await stream_encoded(
            run, DataStreamEncoder(), send, keepalive_interval=None, send_timeout=0.2
        )
    assert result.end is StreamEnd.SEND_TIMEOUT
    assert len(handed) == 1  # the hung send was a write-through's
    assert cancelled == [run.run_id]


@asyncio_only
async def test_a_write_from_a_thread_comes_before_the_loops_write_it_caused(
    anyio_backend: str,
) -> None:
    """A thread's write finds the write-through armed but is buffered (another
    thread); the loop's write it then causes must not overtake it."""
    rounds = 20

    async def producer(controller: Any) -> None:
        for i in range(rounds):
            await anyio.sleep(0.003)  # the serving loop waits again: armed

            def work(i: int = i) -> None:
                controller.append_text(f"x{i} ")
                # On the loop's thread, outside any task, after the write above.
                anyio.from_thread.run_sync(controller.append_text, f"y{i} ")

            await anyio.to_thread.run_sync(work)

    body = bytearray()

    async def send(data: bytes) -> None:
        body.extend(data)

    result = await stream_encoded(
        create_run(producer), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == "".join(f"x{i} y{i} " for i in range(rounds))


@asyncio_only
async def test_a_write_from_a_loop_callback_goes_through_as_the_serving_loops_task(
    anyio_backend: str,
) -> None:
    """No task is running in a loop callback: the step enters the serving
    loop's task and leaves none behind."""
    loop = asyncio.get_running_loop()
    tasks: list[Any] = []
    after: list[Any] = []

    async def producer(controller: Any) -> None:
        def write(i: int) -> None:
            controller.append_text(f"c{i} ")
            after.append(asyncio.current_task())

        for i in range(TOKENS):
            loop.call_soon(write, i)
            await anyio.sleep(0.003)

    async def send(data: bytes) -> None:
        tasks.append(asyncio.current_task())
        body.extend(data)

    body = bytearray()
    result = await stream_encoded(
        create_run(producer), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == "".join(f"c{i} " for i in range(TOKENS))
    assert result.write_throughs >= TOKENS // 2
    assert set(tasks) == {asyncio.current_task()}
    assert after == [None] * TOKENS


@asyncio_only
async def test_a_write_made_inside_a_send_waits_for_that_send(anyio_backend: str) -> None:
    """A send that appends to the run (after more than the quiet time): the
    write is buffered behind the frame being sent, never sent inside it."""
    body = bytearray()
    controllers: list[Any] = []
    nested = False

    async def producer(controller: Any) -> None:
        controllers.append(controller)
        await _paced(controller)

    async def send(data: bytes) -> None:
        nonlocal nested
        if b"t3 " in data and not nested:
            nested = True
            # Synchronous on purpose: past WRITE_THROUGH_QUIET since this write began.
            time.sleep(0.002)  # noqa: ASYNC251
            controllers[0].append_text("nested ")
        body.extend(data)

    result = await stream_encoded(
        create_run(producer), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == EXPECTED.replace("t3 ", "t3 nested ")


@asyncio_only
async def test_nothing_goes_through_while_a_keepalive_is_being_sent(anyio_backend: str) -> None:
    """Keepalives written while the serving loop waits, each send taking a
    while: no second send starts before one has ended."""
    in_flight = 0
    overlaps = 0
    body = bytearray()

    async def send(data: bytes) -> None:
        nonlocal in_flight, overlaps
        in_flight += 1
        overlaps += in_flight > 1
        try:
            if data == DataStreamEncoder.keepalive:
                await anyio.sleep(0.010)  # the bursts' next writes come meanwhile
            body.extend(data)
        finally:
            in_flight -= 1

    async def bursts(controller: Any) -> None:
        for burst in range(6):
            for i in range(5):
                controller.append_text(f"{burst}.{i} ")
                await anyio.sleep(0.003)
            await anyio.sleep(0.012)  # a keepalive after 8 ms

    result = await stream_encoded(
        create_run(bursts), DataStreamEncoder(), send, keepalive_interval=0.008
    )
    assert result.end is StreamEnd.COMPLETE
    assert result.keepalives > 0
    assert result.write_throughs > 0
    assert overlaps == 0
    assert _text(bytes(body)) == "".join(f"{b}.{i} " for b in range(6) for i in range(5))


@asyncio_only
async def test_the_counts_add_up_with_handed_over_and_empty_writes(anyio_backend: str) -> None:
    """chunks, writes and bytes_sent count the write-throughs exactly: those
    that end in the producer's call, those handed over, and a chunk that
    encodes to nothing."""
    body = bytearray()
    calls = 0

    async def send(data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            await asyncio.sleep(0.001)  # handed over
        body.extend(data)

    async def producer(controller: Any) -> None:
        for i in range(TOKENS):
            controller.append_text(f"t{i} ")
            if i == 7:
                controller.add_reasoning_part()  # no summary: no frame of its own
            await anyio.sleep(0.003)

    result = await stream_encoded(
        create_run(producer), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.COMPLETE
    assert _text(bytes(body)) == EXPECTED
    assert result.chunks == TOKENS + 1
    assert result.writes == calls
    assert result.bytes_sent == len(body)
    assert TOKENS // 2 <= result.write_throughs <= result.writes


@asyncio_only
async def test_a_send_that_raises_before_awaiting_never_raises_into_append_text(
    anyio_backend: str,
) -> None:
    errors: list[BaseException] = []
    calls = 0

    def send(data: bytes) -> Any:  # not a coroutine function: raises at once
        nonlocal calls
        calls += 1
        if calls == 4:
            raise ConnectionResetError("client gone")
        return asyncio.sleep(0)

    async def paced(controller: Any) -> None:
        try:
            await _paced(controller)
        except Exception as exc:
            errors.append(exc)
            raise

    result = await stream_encoded(
        create_run(paced), DataStreamEncoder(), send, keepalive_interval=None
    )
    assert result.end is StreamEnd.DISCONNECTED
    assert isinstance(result.error, ConnectionResetError)
    assert errors == []


@asyncio_only
async def test_a_run_with_hooks_counts_what_went_through_in_its_message(
    anyio_backend: str,
) -> None:
    seen: list[Any] = []
    body = bytearray()

    async def send(data: bytes) -> None:
        body.extend(data)

    result = await _serve(send, on_complete=lambda run_id, message: seen.append(message))
    assert result.end is StreamEnd.COMPLETE
    assert result.write_throughs >= TOKENS // 2
    assert _text(bytes(body)) == EXPECTED
    assert len(seen) == 1
    assert "".join(getattr(part, "text", "") for part in seen[0].parts) == EXPECTED
