"""The store contract: what a resumable-stream store must do.

A store keeps, per stream id, the encoded bytes of one run as a list of
entries (one per drained batch), a status, and the producer's *lease*:

* :meth:`ResumableStore.acquire_lease` elects exactly one producer per id
  (atomically, across processes for a shared store); every later caller,
  also after the stream finished, is a consumer.
* The producer :meth:`~ResumableStore.append`\\ s entries, renews its lease with
  :meth:`~ResumableStore.heartbeat` every :attr:`~ResumableStore.heartbeat_interval`
  seconds, and ends with :meth:`~ResumableStore.finalize`. Each of them takes
  the lease: a producer whose lease was superseded or taken away cannot
  write into the stream.
* :meth:`~ResumableStore.open_read` returns the entries after a cursor: what
  is stored, then the live appends, until the stream is finalized. A
  reader that waits while the lease has expired finalizes the stream as
  ``producer-lost`` and raises: a dead producer never makes a reader hang.
* :meth:`~ResumableStore.request_stop` (from any process) makes
  :meth:`~ResumableStore.wait_stop` return ``True`` in the producer.

Optionally, a store is an :class:`OffsetReader`: it finds the entry holding a
byte offset of the stream without reading what comes before it (the stores
shipped here keep each entry's cumulative byte offset). Byte-offset resumes
(Data Stream, OpenAI chat) then cost the same at any length; for a store
without it, :func:`~assistant_stream_core.resumable.offsets.open_read_at`
reads from the start and skips.

:func:`assistant_stream_core.testing.resumable.check_store` is the contract as a
test suite, for the stores shipped here and for your own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "CancellationSignal",
    "Lease",
    "OffsetReader",
    "ResumableStore",
    "StreamEntry",
    "StreamRole",
    "StreamStatus",
]

StreamRole = Literal["producer", "consumer"]
StreamStatus = Literal["streaming", "done", "error", "missing"]


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stored entry: the encoded bytes of one batch and its cursor."""

    #: Opaque, increasing within a stream; read after it to get what follows.
    cursor: str
    #: The bytes, exactly as appended.
    chunk: bytes


@dataclass(frozen=True, slots=True)
class Lease:
    """A producer's claim on a stream id, returned by :meth:`ResumableStore.acquire_lease`."""

    stream_id: str
    #: Identifies this acquisition (the Redis store's ``generation``).
    token: str


@runtime_checkable
class CancellationSignal(Protocol):
    """Upstream's read signal: an ``asyncio.Event`` or ``anyio.Event`` fits."""

    def is_set(self) -> bool:
        """``True`` once the reader should stop."""
        ...

    async def wait(self) -> object:
        """Return when the signal is set."""
        ...


@runtime_checkable
class ResumableStore(Protocol):
    """The contract every store implements (see the module docstring)."""

    #: Seconds between a producer's heartbeats; a lease lasts a few of them.
    heartbeat_interval: float

    async def acquire_lease(self, stream_id: str, *, ttl_ms: int | None = None) -> Lease | None:
        """Create the stream and return its lease, or ``None`` if it exists.

        :raises ResumableStreamError: ``invalid-id``; ``full`` (a bounded store).
        """
        ...

    async def append(self, stream_id: str, chunk: bytes, lease: Lease | None = None) -> str:
        """Store ``chunk`` as the next entry and return its cursor.

        :raises ResumableStreamError: ``finalized`` after :meth:`finalize`;
            ``missing`` if the stream is gone or ``lease`` lost it.
        """
        ...

    async def finalize(
        self,
        stream_id: str,
        status: Literal["done", "error"],
        error: str | None = None,
        lease: Lease | None = None,
        *,
        closed: bool = True,
    ) -> bool:
        """End the stream; ``False`` if it had already ended or ``lease`` lost it.

        ``closed`` says whether the stored bytes end with the protocol's
        closing frames (see :attr:`ResumableStreamError.closed`).
        """
        ...

    async def open_read(self, stream_id: str, cursor: str = "") -> AsyncIterator[StreamEntry]:
        """Check the stream and the cursor now; return the entries after ``cursor``.

        The iterator yields stored entries, then live ones, and ends after a
        ``done`` finalize (or when the stream is deleted); after an ``error``
        finalize, or a lost producer, it raises :class:`ResumableStreamError`
        (``failed`` or ``producer-lost``).

        :raises ResumableStreamError: ``missing``; ``invalid-cursor``.
        """
        ...

    async def status(self, stream_id: str) -> StreamStatus:
        """The stream's status; ``missing`` when unknown or expired."""
        ...

    async def delete(self, stream_id: str) -> None:
        """Forget the stream; readers end and the producer's next write fails."""
        ...

    async def heartbeat(self, lease: Lease) -> bool:
        """Renew the lease and the TTLs; ``False`` when the lease no longer owns a live stream."""
        ...

    async def request_stop(self, stream_id: str) -> bool:
        """Ask the stream's producer, wherever it runs, to stop; ``False`` if not streaming."""
        ...

    async def wait_stop(self, lease: Lease, interval: float) -> bool:
        """Wait up to ``interval`` seconds for a stop request; ``True`` if one came."""
        ...


@runtime_checkable
class OffsetReader(Protocol):
    """A store that opens a read at a byte offset in O(1) or O(log n) store round trips."""

    async def open_read_at(self, stream_id: str, offset: int) -> AsyncIterator[StreamEntry]:
        """As :meth:`ResumableStore.open_read`, from byte ``offset`` of the stream.

        The offset counts the bytes of every entry, from the start. The first
        entry yielded is the one holding byte ``offset``, cut to start there
        (its cursor unchanged); the rest follow whole, then the live appends.
        An offset equal to the bytes stored so far waits for the next append.

        :raises ResumableStreamError: ``missing``; ``invalid-cursor`` when
            ``offset`` is negative or past the bytes stored (no client can
            have received those).
        """
        ...
