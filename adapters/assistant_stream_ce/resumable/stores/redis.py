"""Upstream's ``create_redis_resumable_stream_store``, over the core's Redis Streams store.

Differences from upstream, on purpose: the store writes the npm
``assistant-stream`` layout (``...:data:<generation>``) and reads both it and
upstream's; it waits with ``XREAD BLOCK`` instead of polling, so
``poll_interval_ms`` is accepted and ignored; and
:class:`RedisResumableStreamStore` takes a ``redis.asyncio.Redis`` client,
not a :class:`RedisLikeClient` wrapper.
"""

from __future__ import annotations

from typing import Any, Protocol

from assistant_stream_core.resumable.errors import DEFAULT_TTL_MS
from assistant_stream_core.resumable.redis import DEFAULT_KEY_PREFIX, RedisStore

from ._read import UpstreamRead

__all__ = ["RedisLikeClient", "RedisResumableStreamStore", "create_redis_resumable_stream_store"]


class RedisLikeClient(Protocol):
    """Upstream's structural client interface (kept for type annotations)."""

    async def set_nx(self, key: str, value: str, ttl_sec: int) -> bool:
        """``SET key value NX EX ttl_sec``."""
        ...

    async def get(self, key: str) -> str | None:
        """``GET key``."""
        ...

    async def exists(self, key: str) -> bool:
        """``EXISTS key``."""
        ...

    async def delete(self, keys: list[str]) -> None:
        """``DEL keys...``."""
        ...

    async def xrange(self, key: str, start: str, end: str) -> list[dict[str, Any]]:
        """``XRANGE key start end``."""
        ...

    async def pipeline(self, commands: list[dict[str, Any]]) -> None:
        """Run the commands in one round trip."""
        ...


class RedisResumableStreamStore(UpstreamRead, RedisStore):
    """The core's Redis Streams store with upstream's ``read(stream_id, cursor, signal)``."""


def create_redis_resumable_stream_store(
    client: Any,
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    default_ttl_ms: int = DEFAULT_TTL_MS,
    poll_interval_ms: int | None = None,
    max_chunk_bytes: int | None = None,
) -> RedisResumableStreamStore:
    """Create a store on a ``redis.asyncio.Redis`` client (without ``decode_responses``).

    ``poll_interval_ms`` is accepted for upstream's signature and ignored:
    readers block on ``XREAD`` instead of polling.

    :raises ValueError: the client decodes responses.
    """
    del poll_interval_ms
    return RedisResumableStreamStore(
        client,
        key_prefix=key_prefix,
        default_ttl_ms=default_ttl_ms,
        max_chunk_bytes=max_chunk_bytes,
    )
