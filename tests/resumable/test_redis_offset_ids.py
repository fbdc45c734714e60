"""The Redis store's offset ids stay exact whoever appends, on a real redis-server.

Each data entry's id is ``<the stream's size after it>-<n>``. These tests
interleave the writers that can disagree about that size — a leased
producer, upstream's unleased ``append``, a second store object (another
process) under the same lease — then check the ids against the bytes and
read from every byte offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.resumable import ResumableStreamError, new_stream_id
from assistant_stream_core.resumable.store import Lease, StreamEntry
from tests.redis_server import RedisServer

redis_asyncio = pytest.importorskip("redis.asyncio")

from assistant_stream_core.resumable.redis import RedisStore  # noqa: E402

# A writer: 0 and 1 are two store objects appending under the lease, 2 appends without it.
Op = tuple[int, bytes]


async def _drain(entries: AsyncIterator[StreamEntry]) -> list[StreamEntry]:
    return [entry async for entry in entries]


async def _check_index(store: RedisStore, sid: str, whole: bytes) -> None:
    """Every entry's id names the size after it; every byte offset reads exactly."""
    entries = await _drain(await store.open_read(sid))
    assert b"".join(e.chunk for e in entries) == whole
    size = 0
    for entry in entries:
        size += len(entry.chunk)
        assert int(entry.cursor.partition("-")[0]) == size, (entry.cursor, size)
    for offset in range(len(whole) + 1):
        got = b"".join(e.chunk for e in await _drain(await store.open_read_at(sid, offset)))
        assert got == whole[offset:], f"offset {offset}: {got[:40]!r}"


async def _run(url: str, ops: list[Op]) -> None:
    client = redis_asyncio.Redis.from_url(url)
    try:
        stores = [RedisStore(client), RedisStore(client)]
        sid = new_stream_id()
        lease = await stores[0].acquire_lease(sid)
        assert lease is not None
        for writer, chunk in ops:
            if writer == 2:
                await stores[0].append(sid, chunk)
            else:
                await stores[writer].append(sid, chunk, lease)
        assert await stores[1].finalize(sid, "done", lease=lease)
        await _check_index(stores[0], sid, b"".join(chunk for _, chunk in ops))
    finally:
        await client.aclose()


def test_a_stale_store_object_whose_next_id_is_higher_keeps_the_index(
    redis_srv: RedisServer,
) -> None:
    """The case a cached top gets wrong: the stale guess is above the real top, so Redis takes it."""
    # First writes 3 bytes (its top 3-0), the second 2 (5-0); first then guesses 3+6 = 9-0
    # for 6 bytes, above 5-0, while the stream's size becomes 11.
    asyncio.run(_run(redis_srv.url, [(0, b"abc"), (1, b"de"), (0, b"fghijk"), (1, b"l")]))


def test_an_unleased_append_between_leased_ones_keeps_the_index(redis_srv: RedisServer) -> None:
    asyncio.run(_run(redis_srv.url, [(0, b"0123456789"), (2, b"ABCDE"), (0, b"abcdefgh")]))


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 2), st.binary(max_size=12) | st.sampled_from([b"", b"ab"])),
        max_size=14,
    )
)
def test_any_interleaving_of_writers_keeps_the_index(redis_srv: RedisServer, ops: list[Op]) -> None:
    asyncio.run(_run(redis_srv.url, ops))
