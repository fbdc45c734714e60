"""The resumable-store contract as checks you can run against any store.

Each check is an ``async def check(store)`` that raises ``AssertionError``
when the store breaks the contract of
:class:`~assistant_stream_core.resumable.store.ResumableStore`. Every check
uses fresh stream ids, so one store may serve them all. Run them with pytest::

    import pytest
    from assistant_stream_core.testing.resumable import CONTRACT_CHECKS

    @pytest.mark.anyio
    @pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda c: c.__name__)
    async def test_my_store(check):
        await check(MyStore(lease_ms=400))

Give the store a short lease (a few hundred milliseconds): the lost-producer
check waits for it to expire. A store need not be an
:class:`~assistant_stream_core.resumable.store.OffsetReader`; if it is,
:func:`check_offset_reads` checks its ``open_read_at`` too. This module
imports only the core and anyio.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

from ..resumable.errors import ResumableStreamError, new_stream_id
from ..resumable.offsets import open_read_at
from ..resumable.store import OffsetReader, ResumableStore, StreamEntry

__all__ = ["CONTRACT_CHECKS", "Check"]

Check = Callable[[Any], Awaitable[None]]


async def _drain(entries: AsyncIterator[StreamEntry]) -> list[StreamEntry]:
    return [entry async for entry in entries]


async def _expect_error(code: str, awaitable: Awaitable[object]) -> ResumableStreamError:
    try:
        await awaitable
    except ResumableStreamError as exc:
        error = exc
    else:
        raise AssertionError(f"expected ResumableStreamError({code!r})")
    assert error.code == code, f"expected code {code!r}, got {error.code!r}: {error}"
    return error


async def check_one_producer(store: ResumableStore) -> None:
    """The first acquisition gets a lease; every later one, also after the end, does not."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    assert lease.stream_id == sid
    assert await store.acquire_lease(sid) is None
    assert await store.finalize(sid, "done", lease=lease)
    assert await store.acquire_lease(sid) is None
    other = await store.acquire_lease(new_stream_id())
    assert other is not None
    assert other.token != lease.token


async def check_bytes_and_cursors(store: ResumableStore) -> None:
    """Entries come back byte for byte, in order; reading after a cursor skips up to it."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    chunks = [bytes(range(256)), b"\x00", "é✓".encode(), b"x" * 70_000]
    cursors = [await store.append(sid, chunk, lease) for chunk in chunks]
    assert len(set(cursors)) == len(cursors)
    assert all(cursors)
    assert await store.finalize(sid, "done", lease=lease)
    entries = await _drain(await store.open_read(sid))
    assert [e.chunk for e in entries] == chunks
    assert [e.cursor for e in entries] == cursors
    after = await _drain(await store.open_read(sid, cursors[1]))
    assert [e.chunk for e in after] == chunks[2:]
    assert await _drain(await store.open_read(sid, cursors[-1])) == []


async def check_many_entries(store: ResumableStore) -> None:
    """A long stream (more entries than a page) is read completely, in order."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    for i in range(1500):
        await store.append(sid, b"%d;" % i, lease)
    await store.finalize(sid, "done", lease=lease)
    data = b"".join(e.chunk for e in await _drain(await store.open_read(sid)))
    assert data == b"".join(b"%d;" % i for i in range(1500))


async def check_live_tail(store: ResumableStore) -> None:
    """A reader that started early receives later appends live and ends at ``done``."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    await store.append(sid, b"a", lease)
    seen: list[bytes] = []
    async with anyio.create_task_group() as tg:

        async def read() -> None:
            async for entry in await store.open_read(sid):
                seen.append(entry.chunk)

        tg.start_soon(read)
        await anyio.sleep(0.05)
        await store.append(sid, b"b", lease)
        await anyio.sleep(0.05)
        assert seen == [b"a", b"b"], seen
        await store.append(sid, b"c", lease)
        await store.finalize(sid, "done", lease=lease)
    assert seen == [b"a", b"b", b"c"]


async def check_error_end(store: ResumableStore) -> None:
    """An ``error`` finalize: readers get the entries, then the error and its ``closed`` flag."""
    for closed in (True, False):
        sid = new_stream_id()
        lease = await store.acquire_lease(sid)
        assert lease is not None
        await store.append(sid, b"partial", lease)
        assert await store.finalize(sid, "error", "boom", lease=lease, closed=closed)
        assert await store.status(sid) == "error"
        entries = await store.open_read(sid)
        first = await entries.__anext__()
        assert first.chunk == b"partial"
        exc = await _expect_error("failed", entries.__anext__())
        assert "boom" in str(exc)
        assert exc.closed is closed


async def check_status_and_finalize(store: ResumableStore) -> None:
    """Status goes missing → streaming → done; a second finalize and a late append are refused."""
    sid = new_stream_id()
    assert await store.status(sid) == "missing"
    lease = await store.acquire_lease(sid)
    assert lease is not None
    assert await store.status(sid) == "streaming"
    assert await store.finalize(sid, "done", lease=lease)
    assert await store.status(sid) == "done"
    assert not await store.finalize(sid, "error", "late", lease=lease)
    assert await store.status(sid) == "done"
    await _expect_error("finalized", store.append(sid, b"late"))


async def check_fencing(store: ResumableStore) -> None:
    """A lease that does not own the stream cannot finalize it or renew it."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    stranger = type(lease)(sid, "not-the-token")
    assert not await store.finalize(sid, "error", "stale", lease=stranger)
    assert not await store.heartbeat(stranger)
    assert await store.heartbeat(lease)
    assert await store.status(sid) == "streaming"
    assert await store.finalize(sid, "done", lease=lease)
    assert not await store.heartbeat(lease)


async def check_bad_input(store: ResumableStore) -> None:
    """Invalid ids, unknown streams and bad cursors raise the right codes."""
    for bad in ("", "a b", "x" * 257, "{slot}", "id\n", "*"):
        await _expect_error("invalid-id", store.acquire_lease(bad))
        await _expect_error("invalid-id", store.open_read(bad))
        await _expect_error("invalid-id", store.status(bad))
    await _expect_error("missing", store.open_read(new_stream_id()))
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    await store.append(sid, b"x", lease)
    for cursor in ("not-a-cursor", "999999999-0", "-1"):
        await _expect_error("invalid-cursor", store.open_read(sid, cursor))
    await _expect_error("missing", store.append(new_stream_id(), b"x"))


async def check_offset_reads(store: ResumableStore) -> None:
    """A read from any byte offset returns exactly the bytes from there on, live ones too.

    Through :func:`~assistant_stream_core.resumable.offsets.open_read_at`: the
    store's ``open_read_at`` if it has one (it must then refuse an offset
    past the stored bytes at once), else a read from the start.
    """
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    chunks = [b"ab", b"", b"cde", bytes(range(256)) * 3, b"", b"f", "é✓".encode()]
    cursors = [await store.append(sid, chunk, lease) for chunk in chunks]
    whole = b"".join(chunks)
    for offset in range(len(whole) + 1):
        entries = await _drain_until(await open_read_at(store, sid, offset), len(whole) - offset)
        got = b"".join(e.chunk for e in entries)
        assert got == whole[offset:], f"offset {offset}: {got[:40]!r}"
        # Entries keep their cursors: a reader may go on with open_read.
        assert all(e.cursor in cursors for e in entries)
    if isinstance(store, OffsetReader):
        for bad in (len(whole) + 1, -1):
            await _expect_error("invalid-cursor", store.open_read_at(sid, bad))
    # From the end of a live stream: the next append arrives whole.
    seen: list[bytes] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:

            async def read() -> None:
                async for entry in await open_read_at(store, sid, len(whole)):
                    seen.append(entry.chunk)

            tg.start_soon(read)
            await anyio.sleep(0.05)
            await store.append(sid, b"live", lease)
            await store.finalize(sid, "done", lease=lease)
    assert seen == [b"live"], seen
    if not isinstance(store, OffsetReader):
        # Past the end: found when the read reaches the end of the stream.
        await _expect_error("invalid-cursor", _drain(await open_read_at(store, sid, 10**6)))


async def check_mixed_appends(store: ResumableStore) -> None:
    """Appends with and without the lease, interleaved: every byte offset still reads exactly.

    Upstream's API appends without a lease; a store that keeps an offset
    index must count those bytes too, and refuse an append after the end.
    """
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    plan = [(b"abc", True), (b"defgh", False), (b"ijklmnop", True), (b"", False)]
    plan += [(b"q", True), (b"rstuvwxyz", False), (b"", True), (b"01234567", True)]
    for chunk, leased in plan:
        await store.append(sid, chunk, lease if leased else None)
    await store.finalize(sid, "done", lease=lease)
    whole = b"".join(chunk for chunk, _ in plan)
    assert b"".join(e.chunk for e in await _drain(await store.open_read(sid))) == whole
    for offset in range(len(whole) + 1):
        got = b"".join(e.chunk for e in await _drain(await open_read_at(store, sid, offset)))
        assert got == whole[offset:], f"offset {offset}: {got[:40]!r}"
    for leased in (True, False):
        await _expect_error("finalized", store.append(sid, b"late", lease if leased else None))


async def _drain_until(entries: AsyncIterator[StreamEntry], size: int) -> list[StreamEntry]:
    """The entries up to ``size`` bytes (the stream is still live), then close the read."""
    got: list[StreamEntry] = []
    total = 0
    with anyio.fail_after(10):
        while total < size:
            entry = await entries.__anext__()
            got.append(entry)
            total += len(entry.chunk)
    aclose = getattr(entries, "aclose", None)
    if aclose is not None:
        await aclose()
    return got


async def check_delete(store: ResumableStore) -> None:
    """Delete ends live readers, makes the stream missing and fails the producer's next append."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    await store.append(sid, b"x", lease)
    seen: list[bytes] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:

            async def read() -> None:
                async for entry in await store.open_read(sid):
                    seen.append(entry.chunk)

            tg.start_soon(read)
            await anyio.sleep(0.05)
            await store.delete(sid)
    assert seen == [b"x"]
    assert await store.status(sid) == "missing"
    await _expect_error("missing", store.append(sid, b"y", lease))
    await store.delete(sid)  # deleting twice is fine


async def check_stop(store: ResumableStore) -> None:
    """A stop request reaches a producer waiting for one; none comes otherwise."""
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    assert not await store.wait_stop(lease, 0.05)
    result: list[bool] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:

            async def wait() -> None:
                result.append(await store.wait_stop(lease, 5))

            tg.start_soon(wait)
            await anyio.sleep(0.05)
            start = anyio.current_time()
            assert await store.request_stop(sid)
    assert result == [True]
    assert anyio.current_time() - start < 0.5
    await store.finalize(sid, "done", lease=lease)
    assert not await store.request_stop(sid)
    assert not await store.request_stop(new_stream_id())


async def check_lost_producer(store: ResumableStore) -> None:
    """A reader of a stream whose producer stopped heartbeating gets ``producer-lost``.

    Within the lease plus one heartbeat interval (plus slack); heartbeats
    keep a quiet stream alive past its lease.
    """
    sid = new_stream_id()
    lease = await store.acquire_lease(sid)
    assert lease is not None
    await store.append(sid, b"stored", lease)
    interval = store.heartbeat_interval
    # Heartbeats for about two leases: the stream stays alive.
    for _ in range(8):
        await anyio.sleep(interval)
        assert await store.heartbeat(lease)
    assert await store.status(sid) == "streaming"
    entries = await store.open_read(sid)
    assert (await entries.__anext__()).chunk == b"stored"
    bound = interval * 4 + interval * 2 + 1.0
    with anyio.fail_after(bound):
        exc = await _expect_error("producer-lost", entries.__anext__())
    assert exc.closed is False
    assert await store.status(sid) == "error"
    assert not await store.heartbeat(lease)
    # The declared end is final for every reader.
    again = await store.open_read(sid)
    assert (await again.__anext__()).chunk == b"stored"
    await _expect_error("producer-lost", again.__anext__())


#: Every check, in a sensible order.
CONTRACT_CHECKS: list[Check] = [
    check_one_producer,
    check_bytes_and_cursors,
    check_many_entries,
    check_live_tail,
    check_error_end,
    check_status_and_finalize,
    check_fencing,
    check_bad_input,
    check_offset_reads,
    check_mixed_appends,
    check_delete,
    check_stop,
    check_lost_producer,
]
