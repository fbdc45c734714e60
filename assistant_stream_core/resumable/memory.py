"""The in-memory store: one process, bounded in total size.

Streams live in a dict; each reader waits on the stream's ``changed`` event,
which every write sets and replaces. Memory is bounded by ``max_bytes`` (the
sum of every stored chunk): when an append would pass it, finished streams
are evicted, oldest finished first, and if that is not enough the append
raises ``ResumableStreamError("full")``. Expired streams (no write for their
TTL) are evicted whenever the store is used, or by a sweeper task
(``gc_interval_ms``, asyncio only).

Each stream keeps the cumulative byte offset at the end of every entry, so a
read from a byte offset finds its entry by bisection
(:meth:`InMemoryStore.open_read_at`).
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from .errors import (
    DEFAULT_TTL_MS,
    ResumableStreamError,
    ResumableStreamErrorCode,
    validate_stream_id,
)
from .offsets import check_offset, cut_first
from .store import Lease, StreamEntry, StreamRole, StreamStatus

__all__ = ["DEFAULT_LEASE_MS", "DEFAULT_MAX_BYTES", "InMemoryStore"]

#: Default bound on the bytes one in-memory store holds: 64 MiB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: A producer that has not renewed its lease for this long is taken for dead.
DEFAULT_LEASE_MS = 4000


@dataclass(eq=False)
class _Stream:
    ttl_ms: int
    expires_at: float
    lease_token: str | None
    lease_expires_at: float
    entries: list[StreamEntry] = field(default_factory=list)
    #: ``ends[i]``: the stream's size after entry ``i`` (the offset index).
    ends: list[int] = field(default_factory=list)
    size: int = 0
    final: tuple[Literal["done", "error"], str | None, bool, ResumableStreamErrorCode] | None = None
    finished_at: float = 0.0
    changed: anyio.Event = field(default_factory=anyio.Event)
    stop: anyio.Event = field(default_factory=anyio.Event)


class InMemoryStore:
    """A :class:`~assistant_stream_core.resumable.store.ResumableStore` in this process.

    :param max_bytes: bound on the bytes of every stored chunk together.
    :param default_ttl_ms: how long a stream is kept after its last write.
    :param lease_ms: how long a producer's lease lasts without a heartbeat.
    :param now: the clock, in milliseconds (for tests).
    :param max_chunk_bytes: reject larger appends (upstream's option).
    :param max_entries_per_stream: reject appends past this count (upstream's option).
    :param max_streams: bound on the number of streams; finished ones are
        evicted first (upstream's option, which never evicts).
    :param gc_interval_ms: sweep expired streams this often (asyncio only;
        they are otherwise evicted on the next use of the store).
    """

    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        default_ttl_ms: int = DEFAULT_TTL_MS,
        lease_ms: int = DEFAULT_LEASE_MS,
        now: Callable[[], float] | None = None,
        max_chunk_bytes: int | None = None,
        max_entries_per_stream: int | None = None,
        max_streams: int | None = None,
        gc_interval_ms: int | None = None,
    ) -> None:
        for name, value in (("max_bytes", max_bytes), ("default_ttl_ms", default_ttl_ms)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be an int > 0, got {value!r}")
        if not isinstance(lease_ms, int) or lease_ms < 10:
            raise ValueError(f"lease_ms must be an int >= 10, got {lease_ms!r}")
        self._streams: dict[str, _Stream] = {}
        self._max_bytes = max_bytes
        self._size = 0
        self._default_ttl_ms = default_ttl_ms
        self._lease_ms = lease_ms
        self._now = now if now is not None else (lambda: time.time() * 1000)
        self._max_chunk_bytes = max_chunk_bytes
        self._max_entries = max_entries_per_stream
        self._max_streams = max_streams
        self._gc_interval_ms = gc_interval_ms
        self._gc_task: asyncio.Task[None] | None = None
        self._disposed = False
        #: Seconds between heartbeats: a quarter of the lease.
        self.heartbeat_interval = lease_ms / 4000

    @property
    def size(self) -> int:
        """Bytes stored, all streams together."""
        return self._size

    # -- bookkeeping ------------------------------------------------------------------

    def _maintain(self) -> None:
        if self._gc_interval_ms is not None and self._gc_task is None and not self._disposed:
            self._start_gc()
        now = self._now()
        for stream_id in [k for k, s in self._streams.items() if s.expires_at <= now]:
            self._drop(stream_id, "Stream expired")

    def _start_gc(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # trio: expired streams go on the next use instead
            return
        assert self._gc_interval_ms is not None
        interval = self._gc_interval_ms / 1000

        async def sweep() -> None:
            while True:
                await asyncio.sleep(interval)
                self._maintain()

        self._gc_task = loop.create_task(sweep())

    def dispose(self) -> None:
        """Stop the sweeper task, if any (upstream's method)."""
        self._disposed = True
        if self._gc_task is not None:
            self._gc_task.cancel()
            self._gc_task = None

    def _drop(self, stream_id: str, reason: str) -> None:
        stream = self._streams.pop(stream_id)
        self._size -= stream.size
        if stream.final is None:
            stream.final = ("error", reason, False, "failed")
        self._notify(stream)
        stream.stop.set()

    @staticmethod
    def _notify(stream: _Stream) -> None:
        changed, stream.changed = stream.changed, anyio.Event()
        changed.set()

    def _finished_oldest_first(self) -> list[str]:
        done = [(s.finished_at, k) for k, s in self._streams.items() if s.final is not None]
        return [k for _, k in sorted(done)]

    def _make_room(self, needed: int, keep: str) -> None:
        if self._size + needed <= self._max_bytes:
            return
        for stream_id in self._finished_oldest_first():
            if stream_id != keep:
                self._drop(stream_id, "Stream evicted")
                if self._size + needed <= self._max_bytes:
                    return
        raise ResumableStreamError(
            "full",
            f"the in-memory resumable store is full ({self._size} of {self._max_bytes} bytes "
            "held by running streams); raise max_bytes or use the Redis store",
        )

    def _live(self, stream_id: str, lease: Lease | None) -> _Stream:
        validate_stream_id(stream_id)
        self._maintain()
        stream = self._streams.get(stream_id)
        if stream is None or (lease is not None and lease.token != stream.lease_token):
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        if stream.final is not None:
            raise ResumableStreamError("finalized", f"Stream already finalized: {stream_id}")
        return stream

    # -- the contract -----------------------------------------------------------------

    async def acquire_lease(self, stream_id: str, *, ttl_ms: int | None = None) -> Lease | None:
        """Create the stream and return its lease, or ``None`` if it exists."""
        return self._acquire(stream_id, ttl_ms, leased=True)

    async def acquire(self, stream_id: str, *, ttl_ms: int | None = None) -> StreamRole:
        """Upstream's election: ``"producer"`` for the first caller, then ``"consumer"``.

        A stream acquired this way has no lease (its producer sends no
        heartbeats), as with upstream's store.
        """
        lease = self._acquire(stream_id, ttl_ms, leased=False)
        return "consumer" if lease is None else "producer"

    def _acquire(self, stream_id: str, ttl_ms: int | None, *, leased: bool) -> Lease | None:
        validate_stream_id(stream_id)
        self._maintain()
        if stream_id in self._streams:
            return None
        if self._max_streams is not None and len(self._streams) >= self._max_streams:
            finished = self._finished_oldest_first()
            if not finished:
                raise ResumableStreamError(
                    "full", f"maxStreams exceeded: {self._max_streams} streams are running"
                )
            self._drop(finished[0], "Stream evicted")
        ttl = ttl_ms if ttl_ms is not None else self._default_ttl_ms
        now = self._now()
        token = f"{id(self):x}.{now!r}.{len(self._streams)}" if leased else None
        self._streams[stream_id] = _Stream(
            ttl_ms=ttl,
            expires_at=now + ttl,
            lease_token=token,
            lease_expires_at=now + self._lease_ms,
        )
        return Lease(stream_id, token or "")

    async def append(self, stream_id: str, chunk: bytes, lease: Lease | None = None) -> str:
        """Store ``chunk`` as the next entry; return its cursor (``"1"``, ``"2"``, ...)."""
        validate_stream_id(stream_id)
        if self._max_chunk_bytes is not None and len(chunk) > self._max_chunk_bytes:
            raise ResumableStreamError(
                "full", f"Chunk exceeds maxChunkBytes: {len(chunk)} > {self._max_chunk_bytes}"
            )
        stream = self._live(stream_id, lease)
        if self._max_entries is not None and len(stream.entries) >= self._max_entries:
            raise ResumableStreamError("full", f"Stream exceeded maxEntriesPerStream: {stream_id}")
        self._make_room(len(chunk), stream_id)
        cursor = str(len(stream.entries) + 1)
        stream.entries.append(StreamEntry(cursor, bytes(chunk)))
        stream.size += len(chunk)
        stream.ends.append(stream.size)
        self._size += len(chunk)
        stream.expires_at = self._now() + stream.ttl_ms
        self._notify(stream)
        return cursor

    async def finalize(
        self,
        stream_id: str,
        status: Literal["done", "error"],
        error: str | None = None,
        lease: Lease | None = None,
        *,
        closed: bool = True,
    ) -> bool:
        """End the stream; ``False`` if it had already ended or the lease lost it."""
        validate_stream_id(stream_id)
        self._maintain()
        stream = self._streams.get(stream_id)
        if stream is None:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        if stream.final is not None or (lease is not None and lease.token != stream.lease_token):
            return False
        message = (error or "Stream errored") if status == "error" else None
        stream.final = (status, message, closed, "failed")
        stream.finished_at = now = self._now()
        stream.expires_at = now + stream.ttl_ms
        self._notify(stream)
        return True

    async def open_read(self, stream_id: str, cursor: str = "") -> AsyncIterator[StreamEntry]:
        """Check the stream and ``cursor`` now; return the entries after it."""
        validate_stream_id(stream_id)
        self._maintain()
        stream = self._streams.get(stream_id)
        if stream is None:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        if cursor == "":
            start = 0
        elif cursor.isdecimal() and cursor.isascii() and int(cursor) <= len(stream.entries):
            start = int(cursor)
        else:
            raise ResumableStreamError(
                "invalid-cursor", f"cursor {cursor[:40]!r} names no entry of stream {stream_id}"
            )
        return self._read(stream_id, stream, start)

    async def open_read_at(self, stream_id: str, offset: int) -> AsyncIterator[StreamEntry]:
        """Return the entries from byte ``offset`` on; the entry is found by bisection."""
        validate_stream_id(stream_id)
        self._maintain()
        stream = self._streams.get(stream_id)
        if stream is None:
            raise ResumableStreamError("missing", f"Stream not found: {stream_id}")
        check_offset(offset, stream.size)
        # The first entry ending after ``offset`` holds its byte.
        index = bisect_right(stream.ends, offset)
        start = stream.ends[index - 1] if index else 0
        return cut_first(self._read(stream_id, stream, index), offset - start)

    async def _read(
        self, stream_id: str, stream: _Stream, index: int
    ) -> AsyncIterator[StreamEntry]:
        wait = self.heartbeat_interval
        while True:
            entries = stream.entries
            while index < len(entries):
                yield entries[index]
                index += 1
            final = stream.final
            if final is not None:
                status, message, closed, code = final
                if status == "error":
                    raise ResumableStreamError(code, message or "Stream errored", closed=closed)
                return
            if self._streams.get(stream_id) is not stream:
                return  # deleted
            changed = stream.changed
            with anyio.move_on_after(wait):
                await changed.wait()
            if not changed.is_set():
                self._maintain()
                self._check_lease(stream_id, stream)

    def _check_lease(self, stream_id: str, stream: _Stream) -> None:
        if (
            stream.final is None
            and stream.lease_token is not None
            and stream.lease_expires_at < self._now()
        ):
            stream.final = (
                "error",
                f"producer lost: no heartbeat for {self._lease_ms} ms",
                False,
                "producer-lost",
            )
            stream.finished_at = self._now()
            self._notify(stream)

    async def status(self, stream_id: str) -> StreamStatus:
        """The stream's status; ``missing`` when unknown or expired."""
        validate_stream_id(stream_id)
        self._maintain()
        stream = self._streams.get(stream_id)
        if stream is None:
            return "missing"
        if stream.final is None:
            self._check_lease(stream_id, stream)
        if stream.final is None:
            return "streaming"
        return stream.final[0]

    async def delete(self, stream_id: str) -> None:
        """Forget the stream; readers end, the producer's next write fails."""
        validate_stream_id(stream_id)
        stream = self._streams.get(stream_id)
        if stream is not None:
            if stream.final is None:
                stream.final = ("done", None, False, "failed")
            self._drop(stream_id, "Stream deleted")

    async def heartbeat(self, lease: Lease) -> bool:
        """Renew the lease; ``False`` when it no longer owns a live stream."""
        stream = self._streams.get(lease.stream_id)
        if stream is None or stream.final is not None or stream.lease_token != lease.token:
            return False
        stream.lease_expires_at = self._now() + self._lease_ms
        return True

    async def request_stop(self, stream_id: str) -> bool:
        """Ask the producer to stop; ``False`` if the stream is not streaming."""
        validate_stream_id(stream_id)
        stream = self._streams.get(stream_id)
        if stream is None or stream.final is not None:
            return False
        stream.stop.set()
        return True

    async def wait_stop(self, lease: Lease, interval: float) -> bool:
        """Wait up to ``interval`` seconds for a stop request."""
        stream = self._streams.get(lease.stream_id)
        if stream is None or stream.lease_token != lease.token:
            return True
        with anyio.move_on_after(interval):
            await stream.stop.wait()
        return stream.stop.is_set()
