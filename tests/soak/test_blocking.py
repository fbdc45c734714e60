"""The blocking iterator (WSGI, scripts), served many times, leaves nothing behind.

Each :class:`~assistant_stream_core.run.blocking.BlockingStream` runs its
event loop on a portal thread of its own. Four consumer threads, as a
threaded WSGI server has, serve :data:`STREAMS` streams that cycle through
the ways a WSGI response ends: read to the end, a run that raises, a client
that leaves mid-stream (the server closes the iterator), and an iterator
dropped without ``close()``. A kind of object that grows in each of two
rounds of :data:`STREAMS` streams, by half of what one object per stream of
a single way adds, is a leak (trio's caches settle over the first thousand
or so, and grow in the first round only); no portal thread may be left.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.blocking import BlockingStream
from assistant_stream_core.run.serve import StreamEnd

from .leaks import census, describe
from .test_in_process import Tally, counted, endless, quiet_logs

pytestmark = pytest.mark.slow

#: Streams per round, a quarter of them each way.
STREAMS = 600
WARMUP = 200
WAYS = 4
#: What a kind of object may grow by in a round.
LIMIT = STREAMS // WAYS // 2


def portal_threads() -> int:
    return sum(1 for t in threading.enumerate() if "-portal-" in t.name)


async def words(controller: RunController) -> None:
    for i in range(5):
        controller.append_text(f"t{i} ")
        await anyio.lowlevel.checkpoint()


async def fails(controller: RunController) -> None:
    controller.append_text("partial ")
    await anyio.lowlevel.checkpoint()
    raise RuntimeError("the model went away")


def serve(i: int, tally: Tally, backend: str) -> None:
    way = i % WAYS
    body: Callable[[RunController], Awaitable[None]] = (words, fails, endless, endless)[way]
    stream = BlockingStream(create_run(counted(tally, body)), "data_stream", backend=backend)
    if way < 2:  # to the end
        data = b"".join(stream)
        stream.close()
        assert stream.result is not None
        expected = StreamEnd.COMPLETE if way == 0 else StreamEnd.RUN_ERROR
        assert stream.result.end is expected, stream.result
        assert (b"t4 " if way == 0 else b"the model went away") in data
    elif way == 2:  # the client leaves: the server closes the iterator
        assert b"t0 " in next(stream)
        stream.close()
        assert stream.result is not None
        assert stream.result.end is StreamEnd.DISCONNECTED, stream.result
    else:  # a server that forgets close()
        assert b"t0 " in next(stream)
        del stream


def serve_many(count: int, tally: Tally, backend: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(serve, i, tally, backend) for i in range(count)]:
            future.result()


def settle(tally: Tally) -> None:
    """Wait for the dropped streams' runs and portal threads to end."""
    import time

    deadline = time.monotonic() + 10
    while (tally.ended < tally.started or portal_threads()) and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_blocking_streams_leave_nothing_behind(backend: str) -> None:
    tally = Tally()
    with quiet_logs():
        serve_many(WARMUP, tally, backend)
        settle(tally)
        last = census()
        last = census()  # made while one census is alive, as every later one
        rounds: list[dict[str, int]] = []
        for _ in range(2):
            serve_many(STREAMS, tally, backend)
            settle(tally)
            now = census()
            # Only what grew (a few entries): what stays alive is the same
            # at every census.
            rounds.append(
                {name: now[name] - last[name] for name in now if now[name] - last[name] >= LIMIT}
            )
            last = now
    leaks = {name: rounds[0][name] + n for name, n in rounds[1].items() if name in rounds[0]}
    assert not leaks, describe(leaks, 2 * STREAMS)
    assert portal_threads() == 0
    assert tally.ended == tally.started == WARMUP + 2 * STREAMS
