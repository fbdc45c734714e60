"""Memory behind a slow client: a producer that never calls ``drain()``.

The buffer may hold everything the producer wrote (that is what not calling
``drain()`` means), but only about once: merged deltas and takes are bounded,
so no multi-megabyte string, its JSON and its bytes exist at the same time.
"""

from __future__ import annotations

import tracemalloc

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run._buffer import MERGE_LIMIT, TAKE_LIMIT
from assistant_stream_core.run.serve import StreamEnd, stream_encoded

pytestmark = pytest.mark.anyio

_DELTA = 1024
_TOTAL = 4 * 2**20


async def test_a_slow_client_costs_the_text_about_once_in_bounded_frames() -> None:
    fill = "x" * (_DELTA - 8)

    async def run(c: RunController) -> None:
        # Each delta a new string, as a model's are; the loop gets a turn
        # now and then, as a producer awaiting its model does.
        for i in range(_TOTAL // _DELTA):
            c.append_text(f"{fill}{i:07d} ")
            if i % 64 == 63:
                await anyio.lowlevel.checkpoint()

    expected = "".join(f"{fill}{i:07d} " for i in range(_TOTAL // _DELTA))
    received = 0
    writes: list[int] = []
    frames: list[int] = []
    decoder = DataStreamDecoder()

    async def send(data: bytes) -> None:
        nonlocal received
        writes.append(len(data))
        frames.extend(len(line) for line in data.split(b"\n"))
        for chunk in decoder.feed(data):
            delta = getattr(chunk, "text_delta", "")
            assert expected.startswith(delta, received)
            received += len(delta)
        # A slow link (8 MiB/s): the producer runs far ahead.
        await anyio.sleep(len(data) / (8 * 2**20))

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = await stream_encoded(create_run(run), DataStreamEncoder(), send)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()

    assert result.end is StreamEnd.COMPLETE
    assert received == len(expected)  # the text arrived whole, in order
    # Frames and writes are bounded (a frame is its JSON string plus "0:").
    assert max(frames) <= MERGE_LIMIT + 8
    assert max(writes) <= TAKE_LIMIT + MERGE_LIMIT + 64
    # The producer ran ahead: the text was held, once, not three or four times
    # (one joined string, its JSON and its bytes).
    assert len(writes) > 50
    assert peak < 1.3 * _TOTAL, f"peak {peak / 2**20:.1f} MiB for {_TOTAL / 2**20:.0f} MiB"
