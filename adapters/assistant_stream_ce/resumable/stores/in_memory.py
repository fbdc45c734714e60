"""Upstream's ``create_in_memory_resumable_stream_store``, over the core's store."""

from __future__ import annotations

from collections.abc import Callable

from assistant_stream_core.resumable.errors import DEFAULT_TTL_MS
from assistant_stream_core.resumable.memory import DEFAULT_MAX_BYTES, InMemoryStore

from ._read import UpstreamRead

__all__ = ["InMemoryResumableStreamStore", "create_in_memory_resumable_stream_store"]


class InMemoryResumableStreamStore(UpstreamRead, InMemoryStore):
    """The core's bounded in-memory store with upstream's ``read(stream_id, cursor, signal)``."""


def create_in_memory_resumable_stream_store(
    *,
    default_ttl_ms: int = DEFAULT_TTL_MS,
    now: Callable[[], float] | None = None,
    max_chunk_bytes: int | None = None,
    max_entries_per_stream: int | None = None,
    max_streams: int | None = None,
    gc_interval_ms: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> InMemoryResumableStreamStore:
    """Create an in-memory store (upstream's options, plus ``max_bytes``, the total bound)."""
    return InMemoryResumableStreamStore(
        max_bytes=max_bytes,
        default_ttl_ms=default_ttl_ms,
        now=now,
        max_chunk_bytes=max_chunk_bytes,
        max_entries_per_stream=max_entries_per_stream,
        max_streams=max_streams,
        gc_interval_ms=gc_interval_ms,
    )
