"""Resumable streams: a run's encoded bytes in a store, readable from any worker.

The picture::

    run ──batches──▶ producer ──one append per batch──▶ store ──▶ readers
                        │                         (in-memory or Redis Streams)
                        └──▶ the client that started the run

* :class:`ResumableStreams` starts a run as a stream (:meth:`~ResumableStreams.start`),
  resumes it (:meth:`~ResumableStreams.resume`), stops it from any worker
  (:meth:`~ResumableStreams.stop`).
* A :class:`Replay` is what one response sends; every adapter streams it.
* :class:`ResumableStore` is the store contract; :class:`InMemoryStore` and
  :class:`~assistant_stream_core.resumable.redis.RedisStore` (``[redis]``
  extra) implement it.

Framework-free: this package imports only the standard library, msgspec and
anyio (the Redis store imports ``redis.asyncio``, and only when imported).
"""

from .errors import (
    DEFAULT_TTL_MS,
    STREAM_ID_PATTERN,
    ResumableStreamError,
    ResumableStreamErrorCode,
    new_stream_id,
    validate_stream_id,
)
from .http import (
    LAST_EVENT_ID_HEADER,
    LAST_EVENT_ID_QUERY,
    RESUME_OFFSET_HEADER,
    RESUME_OFFSET_QUERY,
    error_body,
    open_resume,
)
from .memory import DEFAULT_LEASE_MS, DEFAULT_MAX_BYTES, InMemoryStore
from .offsets import check_offset, cut_first, open_read_at, skip_bytes
from .producer import LocalLog, produce
from .replay import (
    RESUMABLE_STREAM_ID_HEADER,
    Replay,
    ReplayEncoder,
    event_cursor,
    event_id,
    uses_event_ids,
)
from .store import (
    CancellationSignal,
    Lease,
    OffsetReader,
    ResumableStore,
    StreamEntry,
    StreamRole,
    StreamStatus,
)
from .streams import ResumableStreams, parse_offset

__all__ = [
    "LAST_EVENT_ID_HEADER",
    "LAST_EVENT_ID_QUERY",
    "RESUME_OFFSET_HEADER",
    "RESUME_OFFSET_QUERY",
    "error_body",
    "open_resume",
    "DEFAULT_LEASE_MS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TTL_MS",
    "RESUMABLE_STREAM_ID_HEADER",
    "STREAM_ID_PATTERN",
    "CancellationSignal",
    "InMemoryStore",
    "Lease",
    "LocalLog",
    "OffsetReader",
    "Replay",
    "ReplayEncoder",
    "ResumableStore",
    "ResumableStreamError",
    "ResumableStreamErrorCode",
    "ResumableStreams",
    "StreamEntry",
    "StreamRole",
    "StreamStatus",
    "check_offset",
    "cut_first",
    "event_cursor",
    "event_id",
    "new_stream_id",
    "open_read_at",
    "parse_offset",
    "produce",
    "skip_bytes",
    "uses_event_ids",
    "validate_stream_id",
]
