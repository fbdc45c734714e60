"""Upstream's ``assistant_stream.resumable``: resumable streams, same names and behaviour.

Backed by :mod:`assistant_stream_core.resumable`. What differs, on purpose
(``docs/resumable.rst`` lists it): the stores have producer leases (a dead
producer's readers get an error within seconds), the Redis store blocks on
``XREAD`` instead of polling and writes the npm ``assistant-stream`` layout,
the in-memory store is bounded in bytes, and the response helpers append one
entry per drained batch of chunks.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from assistant_stream_core.resumable.replay import RESUMABLE_STREAM_ID_HEADER

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

if TYPE_CHECKING:
    from .response import (
        create_resumable_assistant_stream_response,
        create_resume_assistant_stream_response,
    )
    from .stores.redis import RedisLikeClient as RedisLikeClient
    from .stores.redis import RedisResumableStreamStore as RedisResumableStreamStore
    from .stores.redis import (
        create_redis_resumable_stream_store as create_redis_resumable_stream_store,
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

# The response helpers are Starlette responses, as upstream's, and the Redis
# store needs redis-py: both load on first use, so the package imports without
# either, and a missing one raises an ImportError naming the extra to install
# (a suppressed import would leave only "cannot import name").
_RESPONSES = (
    "create_resumable_assistant_stream_response",
    "create_resume_assistant_stream_response",
)
_REDIS = ("RedisLikeClient", "RedisResumableStreamStore", "create_redis_resumable_stream_store")

# As upstream: the Redis names are listed only when the store can be imported.
try:
    _redis_installed = importlib.util.find_spec("redis") is not None
except ImportError:  # an import hook that refuses the package
    _redis_installed = False
if _redis_installed:
    __all__ += _REDIS


def __getattr__(name: str) -> Any:
    if name in _RESPONSES:
        try:
            from . import response
        except ImportError as exc:
            raise ImportError(
                f'{name} returns a Starlette response: pip install "assistant-stream-ce[starlette]"'
            ) from exc
        return getattr(response, name)
    if name in _REDIS:
        from .stores import redis  # its ImportError names the redis extra

        return getattr(redis, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
