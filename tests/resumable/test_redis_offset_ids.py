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

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.resumable import ResumableStreamError, new_stream_id
from assistant_stream_core.resumable.store import StreamEntry
from tests.redis_server import RedisServer

redis_asyncio = pytest.importorskip("redis.asyncio")
from redis.asyncio.retry import Retry  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: E402

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
    """A stale view of the top guesses an id above the real top: Redis would take it."""
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


class DroppingProxy:
    """A TCP proxy to redis-server that, once armed, loses the reply to one command.

    The command reaches Redis and runs; the proxy drops its reply and closes
    the client's connection, as a network failure would. redis-py then sees
    a ``ConnectionError`` and, with a retry policy, sends the command again.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.armed: tuple[bytes, ...] = ()
        self.dropped = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        drop = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if self.armed and any(b"\r\n" + name + b"\r\n" in data for name in self.armed):
                    self.armed = ()
                    drop.set()
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if drop.is_set():
                    self.dropped += 1
                    break
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            writer.close()
            up_writer.close()


@pytest.mark.parametrize("leased", [True, False], ids=["leased", "unleased"])
def test_a_retried_append_that_was_applied_is_not_stored_twice(
    redis_srv: RedisServer, leased: bool
) -> None:
    """The reply of an applied append is lost; redis-py retries it: one copy, one id."""

    async def run() -> None:
        proxy = DroppingProxy(redis_srv.port)
        async with proxy as url:
            # retry_on_error too: redis-py before 6 retries only the errors listed.
            client = redis_asyncio.Redis.from_url(
                url, retry=Retry(NoBackoff(), 3), retry_on_error=[RedisConnectionError]
            )
            try:
                store = RedisStore(client)
                sid = new_stream_id()
                lease = await store.acquire_lease(sid)
                assert lease is not None
                use = lease if leased else None
                assert await store.append(sid, b"abc", use) == "3-0"
                # The append's command: XADD or EVALSHA alone, EXEC in a transaction.
                proxy.armed = (b"XADD", b"EVALSHA", b"EXEC")
                assert await store.append(sid, b"defg", use) == "7-0"
                assert proxy.dropped == 1
                assert await store.append(sid, b"h", use) == "8-0"
                await store.finalize(sid, "done", lease=lease)
                await _check_index(store, sid, b"abcdefgh")
            finally:
                await client.aclose()

    asyncio.run(run())


def test_unleased_appends_racing_finalize_land_before_it_or_are_refused(
    redis_srv: RedisServer,
) -> None:
    """Appends on several connections race a finalize: each is stored or ``finalized``."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            store, other = RedisStore(client), RedisStore(client)
            sid = new_stream_id()
            assert await store.acquire(sid) == "producer"
            await store.append(sid, b"abc")
            chunks = [bytes([97 + i % 26]) * (1 + i % 3) for i in range(40)]

            async def append(chunk: bytes) -> bytes | str:
                try:
                    await store.append(sid, chunk)
                except ResumableStreamError as refused:
                    return refused.code
                return chunk

            async def finalize() -> None:
                await asyncio.sleep(0.002)
                assert await other.finalize(sid, "done")

            *results, _ = await asyncio.gather(*(append(c) for c in chunks), finalize())
            assert {r for r in results if isinstance(r, str)} <= {"finalized"}
            landed = [r for r in results if isinstance(r, bytes)]
            stored = b"".join(e.chunk for e in await _drain(await store.open_read(sid)))
            assert sorted(stored) == sorted(b"abc" + b"".join(landed))
            await _check_index(store, sid, stored)
        finally:
            await client.aclose()

    asyncio.run(run())


def test_an_append_after_the_entries_were_lost_does_not_restart_at_zero(
    redis_srv: RedisServer,
) -> None:
    """The data key alone is gone (evicted, deleted by hand): ``missing``, not offset 0 again."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            first, second = RedisStore(client), RedisStore(client)
            sid = new_stream_id()
            lease = await first.acquire_lease(sid)
            assert lease is not None
            await first.append(sid, b"abc", lease)
            await client.delete(f"aui:resumable:{{{sid}}}:data:{lease.token}")
            for store in (first, second):
                with pytest.raises(ResumableStreamError) as lost:
                    await store.append(sid, b"de", lease)
                assert lost.value.code == "missing"
        finally:
            await client.aclose()

    asyncio.run(run())


def test_the_first_append_by_another_store_object_keeps_the_stream_ttl(
    redis_srv: RedisServer,
) -> None:
    """The entries live as long as the meta, whichever store object appends first."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            producer, other = RedisStore(client), RedisStore(client, default_ttl_ms=1_000)
            sid = new_stream_id()
            lease = await producer.acquire_lease(sid, ttl_ms=60_000)
            assert lease is not None
            await other.append(sid, b"abc", lease)
            assert await client.ttl(f"aui:resumable:{{{sid}}}:data:{lease.token}") > 50
        finally:
            await client.aclose()

    asyncio.run(run())


def test_concurrent_appends_by_the_owner_keep_the_index(redis_srv: RedisServer) -> None:
    """Appends awaited together by one store object: each id still names the size after it."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            store = RedisStore(client)
            sid = new_stream_id()
            lease = await store.acquire_lease(sid)
            assert lease is not None
            await store.append(sid, b"0", lease)
            chunks = [bytes([65 + i]) * (i % 5) for i in range(24)]
            ids = await asyncio.gather(*(store.append(sid, chunk, lease) for chunk in chunks))
            assert len(set(ids)) == len(ids)
            await store.append(sid, b"end", lease)
            await store.finalize(sid, "done", lease=lease)
            stored = b"".join(e.chunk for e in await _drain(await store.open_read(sid)))
            assert sorted(stored[1:-3]) == sorted(b"".join(chunks))
            await _check_index(store, sid, stored)
        finally:
            await client.aclose()

    asyncio.run(run())
