"""Upstream's ``assistant_stream.resumable.types``: the store protocol and its values."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

from assistant_stream_core.resumable.store import (
    CancellationSignal,
    StreamEntry,
    StreamRole,
    StreamStatus,
)

__all__ = [
    "CancellationSignal",
    "ResumableStreamEntry",
    "ResumableStreamRole",
    "ResumableStreamStatus",
    "ResumableStreamStore",
]

#: One stored entry: ``cursor`` and ``chunk`` (bytes).
ResumableStreamEntry = StreamEntry
ResumableStreamRole = StreamRole
ResumableStreamStatus = StreamStatus


class ResumableStreamStore(Protocol):
    """Upstream's store protocol. The stores here implement it and, beyond it,
    :class:`assistant_stream_core.resumable.ResumableStore` (leases, heartbeats,
    stop requests), which :class:`~.context.ResumableStreamContext` uses when
    it is there."""

    async def acquire(self, stream_id: str, *, ttl_ms: int | None = None) -> StreamRole:
        """Elect the producer: ``"producer"`` for the first caller, else ``"consumer"``."""
        ...

    async def append(self, stream_id: str, chunk: bytes) -> object:
        """Store the next chunk."""
        ...

    async def finalize(
        self, stream_id: str, status: Literal["done", "error"], error: str | None = None
    ) -> object:
        """End the stream."""
        ...

    def read(
        self, stream_id: str, cursor: str, signal: CancellationSignal
    ) -> AsyncIterator[StreamEntry]:
        """Stored entries after ``cursor``, then live ones, until the end or ``signal``."""
        ...

    async def status(self, stream_id: str) -> StreamStatus:
        """``"streaming"``, ``"done"``, ``"error"`` or ``"missing"``."""
        ...

    async def delete(self, stream_id: str) -> None:
        """Forget the stream."""
        ...
