"""Upstream's ``assistant_stream.resumable``: resumable streams, same names and behaviour.

Backed by :mod:`assistant_stream_core.resumable`. What differs, on purpose
(``docs/resumable.rst`` lists it): the stores have producer leases (a dead
producer's readers get an error within seconds), the Redis store blocks on
``XREAD`` instead of polling and writes the npm ``assistant-stream`` layout,
the in-memory store is bounded in bytes, and the response helpers append one
entry per drained batch of chunks.
"""

from contextlib import suppress

from .context import ResumableStreamContext, create_resumable_stream_context
from .errors import (
    DEFAULT_TTL_MS,
    ResumableStreamError,
    ResumableStreamErrorCode,
    validate_stream_id,
)
from .stores.in_memory import create_in_memory_resumable_stream_store
from .types import (
    CancellationSignal,
    ResumableStreamEntry,
    ResumableStreamRole,
    ResumableStreamStatus,
    ResumableStreamStore,
)

__all__ = [
    "DEFAULT_TTL_MS",
    "RESUMABLE_STREAM_ID_HEADER",
    "CancellationSignal",
    "ResumableStreamContext",
    "ResumableStreamEntry",
    "ResumableStreamError",
    "ResumableStreamErrorCode",
    "ResumableStreamRole",
    "ResumableStreamStatus",
    "ResumableStreamStore",
    "create_in_memory_resumable_stream_store",
    "create_resumable_assistant_stream_response",
    "create_resumable_stream_context",
    "create_resume_assistant_stream_response",
    "validate_stream_id",
]

from assistant_stream_core.resumable.replay import RESUMABLE_STREAM_ID_HEADER

# The response helpers are Starlette responses, as upstream's.
with suppress(ImportError):
    from .response import (
        create_resumable_assistant_stream_response,
        create_resume_assistant_stream_response,
    )

with suppress(ImportError):
    from .stores.redis import (
        RedisLikeClient,
        RedisResumableStreamStore,
        create_redis_resumable_stream_store,
    )

    __all__ += [
        "RedisLikeClient",
        "RedisResumableStreamStore",
        "create_redis_resumable_stream_store",
    ]
