"""The store contract against the Redis store, on a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistant_stream_core.testing.resumable import CONTRACT_CHECKS, Check
from tests.redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # redis.asyncio runs on asyncio only


@pytest.fixture
async def redis_store(redis_srv: RedisServer) -> AsyncIterator[Any]:
    import redis.asyncio

    from assistant_stream_core.resumable.redis import RedisStore

    client = redis.asyncio.Redis.from_url(redis_srv.url)
    try:
        yield RedisStore(client, lease_ms=400, page_size=100)
    finally:
        await client.aclose()


@pytest.mark.parametrize("check", CONTRACT_CHECKS, ids=lambda c: c.__name__)
async def test_redis_store(check: Check, redis_store: Any) -> None:
    await check(redis_store)
