"""Byte-offset resumes: exact bytes at any offset, and a cost that does not grow with the stream.

The Data Stream and OpenAI chat carry no event ids; their clients resume
with the number of bytes received. Both stores keep an offset index
(:mod:`assistant_stream_core.resumable.offsets`): the properties check the
bytes, the counting tests check that an offset resume's store work is the
same at 100 and at 5,000 entries (deterministic: round trips and entry
reads are counted, not timed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.resumable import InMemoryStore, ResumableStreamError, new_stream_id
from assistant_stream_core.resumable.offsets import open_read_at
from assistant_stream_core.resumable.store import Lease, ResumableStore, StreamEntry
from tests.redis_server import RedisServer

redis_asyncio = pytest.importorskip("redis.asyncio")

from assistant_stream_core.resumable.redis import RedisStore  # noqa: E402


class CountingRedis(redis_asyncio.Redis):  # type: ignore[misc]
    """A client that counts its round trips: commands and pipeline executions."""

    round_trips = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute
        client = self

        async def counted(raise_on_error: bool = True) -> Any:
            client.round_trips += 1
            return await execute(raise_on_error)

        pipe.execute = counted
        return pipe


async def _fill(store: Any, chunks: list[bytes]) -> tuple[str, Lease]:
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    for chunk in chunks:
        await store.append(sid, chunk, lease)
    return sid, lease


async def _read(entries: AsyncIterator[StreamEntry]) -> bytes:
    return b"".join([entry.chunk async for entry in entries])


async def _resume_exact(
    store: ResumableStore, chunks: list[bytes], split: int, offset: int
) -> None:
    """Append ``chunks[:split]``, resume at ``offset``, append the rest live: exact bytes."""
    sid, lease = await _fill(store, chunks[:split])
    entries = await open_read_at(store, sid, offset)
    for chunk in chunks[split:]:
        await store.append(sid, chunk, lease)
    await store.finalize(sid, "done", lease=lease)
    assert await asyncio.wait_for(_read(entries), 10) == b"".join(chunks)[offset:]
    # And once finished, from the same offset.
    assert await _read(await open_read_at(store, sid, offset)) == b"".join(chunks)[offset:]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    chunks = draw(st.lists(st.binary(max_size=40), max_size=25))
    split = draw(st.integers(0, len(chunks)))
    stored = sum(len(chunk) for chunk in chunks[:split])
    return chunks, split, draw(st.integers(0, stored))


@settings(max_examples=60, deadline=None)
@given(case=_cases())
def test_in_memory_resume_at_any_offset_is_exact(case: tuple[list[bytes], int, int]) -> None:
    asyncio.run(_resume_exact(InMemoryStore(), *case))


@pytest.fixture(scope="module")
def redis_url(redis_srv: RedisServer) -> str:
    return redis_srv.url


@settings(max_examples=60, deadline=None)
@given(case=_cases())
def test_redis_resume_at_any_offset_is_exact(
    redis_url: str, case: tuple[list[bytes], int, int]
) -> None:
    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_url)
        try:
            await _resume_exact(RedisStore(client), *case)
        finally:
            await client.aclose()

    asyncio.run(run())


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    client = CountingRedis.from_url(redis_url)
    yield loop, client
    loop.run_until_complete(client.aclose())
    loop.close()


def test_redis_offset_resume_round_trips_do_not_grow_with_length(client: Any) -> None:
    loop, redis = client
    store = RedisStore(redis)

    async def round_trips(entries: int) -> int:
        chunk = b'0:"tok "\n'
        sid, lease = await _fill(store, [chunk] * entries)
        await store.finalize(sid, "done", lease=lease)
        offset = len(chunk) * entries - 13  # inside the second-last entry
        before = redis.round_trips
        read = await store.open_read_at(sid, offset)
        first = await read.__anext__()
        used = redis.round_trips - before
        assert first.chunk == chunk[-4:]
        assert (await read.__anext__()).chunk == chunk
        await read.aclose()  # type: ignore[attr-defined]
        return int(used)

    short, long = (
        loop.run_until_complete(round_trips(100)),
        loop.run_until_complete(round_trips(5000)),
    )
    assert short == long == 3, (short, long)  # meta; the entries around the offset; one XREAD


def test_in_memory_offset_resume_reads_do_not_grow_with_length() -> None:
    """The entries read stay the same; the index probes grow as log2 of the length."""

    class Counted(list[Any]):
        def __init__(self, items: list[Any]) -> None:
            super().__init__(items)
            self.reads = 0

        def __getitem__(self, index: Any) -> Any:
            self.reads += 1
            return super().__getitem__(index)

    async def reads(entries: int) -> tuple[int, int]:
        store = InMemoryStore()
        sid, lease = await _fill(store, [b"abcd"] * entries)
        await store.finalize(sid, "done", lease=lease)
        stream = store._streams[sid]
        stream.entries = counted_entries = Counted(stream.entries)
        stream.ends = counted_ends = Counted(stream.ends)
        assert await _read(await store.open_read_at(sid, 4 * entries - 6)) == b"cdabcd"
        return counted_entries.reads, counted_ends.reads

    short_entries, short_probes = asyncio.run(reads(100))
    long_entries, long_probes = asyncio.run(reads(5000))
    assert short_entries == long_entries == 2, (short_entries, long_entries)
    # bisect: ceil(log2(n + 1)) probes, plus the predecessor's end.
    assert short_probes <= 8, short_probes
    assert long_probes <= 14, long_probes


def test_redis_streams_without_offset_ids_resume_from_the_start(client: Any) -> None:
    """Upstream's Python store writes time-based ids: the offset resume reads and skips."""
    from assistant_stream.resumable import create_redis_resumable_stream_store

    loop, redis = client

    async def run() -> None:
        upstream = create_redis_resumable_stream_store(redis)
        sid = new_stream_id()
        await upstream.acquire(sid)
        for part in (b"hello ", b"", b"wide ", b"world"):
            await upstream.append(sid, part)
        await upstream.finalize(sid, "done")
        ours = RedisStore(redis)
        whole = b"hello wide world"
        for offset in range(len(whole) + 1):
            assert await _read(await ours.open_read_at(sid, offset)) == whole[offset:]
        with pytest.raises(ResumableStreamError) as caught:
            await _read(await ours.open_read_at(sid, len(whole) + 1))
        assert caught.value.code == "invalid-cursor"

    loop.run_until_complete(run())


def test_redis_unleased_appends_keep_the_offset_index(client: Any) -> None:
    """Upstream's API (``acquire`` + ``append`` without a lease) writes offset ids too."""
    loop, redis = client

    async def run() -> None:
        store = RedisStore(redis)
        sid = new_stream_id()
        assert await store.acquire(sid) == "producer"
        parts = [b"ab", b"", b"", b"cde", b"f"]
        cursors = [await store.append(sid, part) for part in parts]
        assert cursors == ["2-0", "2-1", "2-2", "5-0", "6-0"]
        await store.finalize(sid, "done")
        for offset in range(7):
            assert await _read(await store.open_read_at(sid, offset)) == b"abcdef"[offset:]

    loop.run_until_complete(run())


def test_redis_two_store_objects_under_one_lease_keep_the_index(client: Any) -> None:
    """An append through a store object that has not seen the stream continues after its top."""
    loop, redis = client

    async def run() -> None:
        first, second = RedisStore(redis), RedisStore(redis)
        sid, lease = await _fill(first, [b"abc", b"de"])
        assert await second.append(sid, b"fgh", lease) == "8-0"
        assert await first.append(sid, b"i", lease) == "9-0"
        await first.finalize(sid, "done", lease=lease)
        assert await _read(await second.open_read_at(sid, 4)) == b"efghi"

    loop.run_until_complete(run())


def test_redis_append_after_producer_lost_is_refused(client: Any) -> None:
    """Once a reader declared the producer lost, the producer's next append says ``finalized``."""
    loop, redis = client

    async def run() -> None:
        store = RedisStore(redis, lease_ms=100)
        sid, lease = await _fill(store, [b"abc"])
        read = await store.open_read(sid)
        assert (await read.__anext__()).chunk == b"abc"
        with pytest.raises(ResumableStreamError) as lost:
            await asyncio.wait_for(read.__anext__(), 5)
        assert lost.value.code == "producer-lost"
        with pytest.raises(ResumableStreamError) as refused:
            await store.append(sid, b"late", lease)
        assert refused.value.code == "finalized"

    loop.run_until_complete(run())
