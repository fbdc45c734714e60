"""The shared guard timer: one timer per asyncio loop for every response's
keepalive and send timeout (``assistant_stream_core.run._guard``).

Many streams open at once share one entry in the loop's timer heap, each
still gets its keepalives and its send timeout, and every stream leaves the
registry however it ends. Trio keeps a timer per stream and registers nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run import _guard, create_run
from assistant_stream_core.run.serve import StreamEnd, StreamResult, stream_encoded

from ..conftest import UVLOOP

pytestmark = pytest.mark.anyio
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])
# The timer is the loop's call_later: uvloop's too (where no test looks into
# the standard loop's timer heap).
asyncio_loops = pytest.mark.parametrize("anyio_backend", ["asyncio", UVLOOP])

STREAMS = 200


class Sink:
    """One response's body; ``hang``: every write hangs; ``fail``: every write
    after the first fails."""

    def __init__(self, *, hang: bool = False, fail: bool = False) -> None:
        self.writes: list[bytes] = []
        self.hang = hang
        self.fail = fail

    async def __call__(self, data: bytes) -> None:
        if self.fail and self.writes:
            raise ConnectionResetError("peer gone")
        if self.hang:
            await anyio.sleep_forever()
        self.writes.append(data)

    def text(self) -> str:
        chunks = DataStreamDecoder().feed(b"".join(self.writes))
        return "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))


def _silent_run(release: anyio.Event) -> Any:
    """A run that writes, is silent until ``release``, then writes again."""

    async def callback(controller: Any) -> None:
        controller.append_text("before")
        await release.wait()
        controller.append_text("after")

    return create_run(callback)


def _timers(loop: asyncio.AbstractEventLoop) -> int:
    # asyncio's timer heap (a private list of the default loop): what every
    # push and pop of a timer pays for, in comparisons.
    return len(loop._scheduled)  # type: ignore[attr-defined]


@asyncio_only
async def test_many_silent_streams_share_one_timer_and_each_gets_keepalives(
    anyio_backend: str,
) -> None:
    loop = asyncio.get_running_loop()
    before = _timers(loop)
    release = anyio.Event()
    sinks = [Sink() for _ in range(STREAMS)]
    results: list[StreamResult] = []

    never = anyio.Event()

    async def serve(sink: Sink, signal: bool) -> None:
        # Half with a disconnect signal (as every adapter passes), half without.
        result = await stream_encoded(
            _silent_run(release),
            DataStreamEncoder(),
            sink,
            keepalive_interval=0.1,
            disconnected=never.wait if signal else None,
        )
        results.append(result)

    async with anyio.create_task_group() as tg:
        for i, sink in enumerate(sinks):
            tg.start_soon(serve, sink, i % 2 == 0)
        await anyio.sleep(0.2)
        assert _guard.watched(loop) == STREAMS
        # One guard timer for all of them (and this test's own sleep at most),
        # where a timer per stream would add STREAMS entries.
        assert _timers(loop) - before <= 2
        await anyio.sleep(0.25)
        release.set()
    assert len(results) == STREAMS
    for result, sink in zip(results, sinks, strict=False):
        assert result.end is StreamEnd.COMPLETE
        # 0.45 s of silence at an interval of 0.1 s, give or take a tick.
        assert 2 <= result.keepalives <= 5
        assert sink.writes.count(b"\n") == result.keepalives
    assert sorted({sink.text() for sink in sinks}) == ["beforeafter"]
    assert _guard.watched(loop) == 0
    assert _guard.guard_of(loop) is None


@asyncio_loops
async def test_hung_writes_end_by_the_shared_timer(anyio_backend: str) -> None:
    loop = asyncio.get_running_loop()
    results: list[StreamResult] = []

    async def serve() -> None:
        release = anyio.Event()
        release.set()
        results.append(
            await stream_encoded(
                _silent_run(release), DataStreamEncoder(), Sink(hang=True), send_timeout=0.2
            )
        )

    started = anyio.current_time()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(serve)
    elapsed = anyio.current_time() - started
    assert [r.end for r in results] == [StreamEnd.SEND_TIMEOUT] * 50
    # The timeout, plus a tick (an eighth of it) and a loaded machine's
    # scheduling: well before the first look of a 1-second tick.
    assert 0.2 <= elapsed < _guard.GUARD_TICK
    assert _guard.guard_of(loop) is None


@asyncio_loops
async def test_streams_leave_the_registry_on_disconnect_and_cancellation(
    anyio_backend: str,
) -> None:
    loop = asyncio.get_running_loop()
    gone = anyio.Event()
    release = anyio.Event()  # never set: the runs stay silent
    ends: list[StreamEnd] = []

    async def by_signal() -> None:
        result = await stream_encoded(
            _silent_run(release), DataStreamEncoder(), Sink(), disconnected=gone.wait
        )
        ends.append(result.end)

    async def by_failed_keepalive() -> None:
        result = await stream_encoded(
            _silent_run(release), DataStreamEncoder(), Sink(fail=True), keepalive_interval=0.05
        )
        ends.append(result.end)

    async def by_cancellation() -> None:
        with anyio.move_on_after(0.3):
            await stream_encoded(_silent_run(release), DataStreamEncoder(), Sink())
        ends.append(StreamEnd.DISCONNECTED)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for serve in (by_signal, by_failed_keepalive, by_cancellation) * 20:
                tg.start_soon(serve)
            await anyio.sleep(0.05)
            assert _guard.watched(loop) > 0
            await anyio.sleep(0.15)
            gone.set()
    assert ends == [StreamEnd.DISCONNECTED] * 60
    assert _guard.watched(loop) == 0
    assert _guard.guard_of(loop) is None


class _Member:
    """A stand-in response: counts the checks it gets."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.checks = 0

    def check(self, now: float) -> None:
        self.checks += 1


@asyncio_loops
async def test_the_shortest_interval_sets_the_pace_while_it_is_registered(
    anyio_backend: str,
) -> None:
    loop = asyncio.get_running_loop()
    slow, fast = _Member(_guard.GUARD_TICK), _Member(0.02)
    _guard.watch(loop, slow)
    try:
        guard = _guard.guard_of(loop)
        assert guard is not None
        assert guard.tick == _guard.GUARD_TICK
        _guard.watch(loop, fast)
        assert guard.tick == 0.02
        await anyio.sleep(0.2)
        assert 3 <= fast.checks <= 11  # about 10; fewer on a loaded machine
        assert slow.checks == fast.checks  # one timer looks at both
        _guard.unwatch(loop, fast)
        await anyio.sleep(0.05)  # the next look re-arms at the remaining pace
        assert guard.tick == _guard.GUARD_TICK
        assert _guard.watched(loop) == 1
    finally:
        _guard.unwatch(loop, slow)
    assert _guard.guard_of(loop) is None
    assert guard.handle is None


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_keeps_a_timer_per_stream(anyio_backend: str) -> None:
    release = anyio.Event()
    results: list[StreamResult] = []

    async def serve() -> None:
        results.append(
            await stream_encoded(
                _silent_run(release), DataStreamEncoder(), Sink(), keepalive_interval=0.1
            )
        )

    started = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(serve)
        await anyio.sleep(0.35)
        assert len(_guard._guards) == 0  # no asyncio loop, nothing shared
        release.set()
    # At most one keepalive per interval of the silence as it really lasted
    # (a loaded machine oversleeps), and each stream's own timer fired.
    most = int((anyio.current_time() - started) / 0.1)
    assert [r.end for r in results] == [StreamEnd.COMPLETE] * 20
    assert all(1 <= r.keepalives <= most for r in results), [r.keepalives for r in results]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_send_timeout(anyio_backend: str) -> None:
    release = anyio.Event()
    release.set()
    with anyio.fail_after(5):
        result = await stream_encoded(
            _silent_run(release), DataStreamEncoder(), Sink(hang=True), send_timeout=0.2
        )
    assert result.end is StreamEnd.SEND_TIMEOUT
