"""Upstream's ``append`` without a lease is one round trip, on a real redis-server.

The meta's checks, the append and both TTLs run in one script (one
``EVALSHA``): counted here as the connection's sends and as the commands the
server ran, for streams with offset ids and for those of the npm store and
upstream's (time-based ids).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from assistant_stream_core.resumable import ResumableStreamError, new_stream_id
from tests.redis_server import RedisServer

redis_asyncio = pytest.importorskip("redis.asyncio")
from redis.asyncio.connection import Connection  # noqa: E402

from assistant_stream_core.resumable.redis import RedisStore  # noqa: E402


class CountingConnection(Connection):  # type: ignore[misc]
    """Counts requests: a command, a pipeline or a transaction is one send."""

    sends = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        await super().send_packed_command(command, check_health)


async def _commands(client: Any) -> dict[str, int]:
    """The server's calls per command, but INFO's own."""
    stats = await client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(value["calls"])
        for name, value in stats.items()
        if name != "cmdstat_info"
    }


async def _ours(client: Any, sid: str) -> str:
    assert await RedisStore(client).acquire(sid) == "producer"
    generation = json.loads(await client.get(f"aui:resumable:{{{sid}}}:meta"))["generation"]
    return f"aui:resumable:{{{sid}}}:data:{generation}"


async def _npm_layout(client: Any, sid: str) -> str:
    # As the npm store (0.3.57) acquires: a generation, no offsetIds.
    meta = b'{"status":"streaming","ttlSec":60,"generation":"g1"}'
    assert await client.set(f"aui:resumable:{{{sid}}}:meta", meta, nx=True, ex=60)
    return f"aui:resumable:{{{sid}}}:data:g1"


async def _upstream_layout(client: Any, sid: str) -> str:
    # As upstream's Python store acquires: no generation.
    assert await client.set(f"aui:resumable:{{{sid}}}:meta", b'{"status":"streaming","ttlSec":60}')
    return f"aui:resumable:{{{sid}}}:data"


LAYOUTS = {"offset-ids": _ours, "npm": _npm_layout, "upstream": _upstream_layout}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_unleased_append_is_one_round_trip(redis_srv: RedisServer, layout: str) -> None:
    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url, connection_class=CountingConnection)
        try:
            store = RedisStore(client)
            sid = new_stream_id()
            data = await LAYOUTS[layout](client, sid)
            await store.append(sid, b"warm")  # loads the script (NOSCRIPT, SCRIPT LOAD)
            meta = f"aui:resumable:{{{sid}}}:meta"
            await client.expire(meta, 5)
            await client.expire(data, 5)
            before, sends = await _commands(client), CountingConnection.sends
            ids = [await store.append(sid, part) for part in (b"ab", b"", b"cde")]
            assert CountingConnection.sends - sends == 3
            after = await _commands(client)
            ran = {name: n - before.get(name, 0) for name, n in after.items()}
            # (commandstats counts the script's own calls too: GET, XADD, EXPIRE.)
            assert ran["evalsha"] == 3
            assert not {n for n in ("multi", "exec", "script|exists") if ran.get(n)}
            # Both TTLs are back to the stream's 60 s.
            assert await client.ttl(meta) > 50
            assert await client.ttl(data) > 50
            stored = await client.xrange(data)
            assert [fields[b"c"] for _, fields in stored] == [b"warm", b"ab", b"", b"cde"]
            assert [entry_id.decode() for entry_id, _ in stored[1:]] == ids
            if layout == "offset-ids":
                assert ids == ["6-0", "6-1", "9-0"]
            else:  # time-based, as the npm store and upstream's write
                assert all(int(i.partition("-")[0]) > 10**12 for i in ids), ids
        finally:
            await client.aclose()

    asyncio.run(run())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_unleased_append_to_an_ended_stream_is_refused(
    redis_srv: RedisServer, layout: str
) -> None:
    """``finalized``, with today's message; nothing stored, no TTL renewed."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            store = RedisStore(client)
            sid = new_stream_id()
            await LAYOUTS[layout](client, sid)
            await store.append(sid, b"abc")
            assert await store.finalize(sid, "done")
            meta = f"aui:resumable:{{{sid}}}:meta"
            await client.expire(meta, 5)
            with pytest.raises(ResumableStreamError) as refused:
                await store.append(sid, b"late")
            assert refused.value.code == "finalized"
            assert str(refused.value) == f"Stream already finalized: {sid}"
            assert await client.ttl(meta) <= 5
            assert [e.chunk async for e in await store.open_read(sid)] == [b"abc"]
        finally:
            await client.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(
    "meta", [None, b"not json", b'{"status":', b"[1, 2]", b"[]", b'"streaming"'], ids=repr
)
def test_an_unleased_append_without_a_readable_meta_is_missing(
    redis_srv: RedisServer, meta: bytes | None
) -> None:
    """No meta, or one that is not a JSON object: ``missing``, and no key is created."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            sid = new_stream_id()
            if meta is not None:
                await client.set(f"aui:resumable:{{{sid}}}:meta", meta)
            with pytest.raises(ResumableStreamError) as missing:
                await RedisStore(client).append(sid, b"abc")
            assert missing.value.code == "missing"
            assert str(missing.value) == f"Stream not found: {sid}"
            assert await client.keys(f"aui:resumable:{{{sid}}}:*") == (
                [] if meta is None else [f"aui:resumable:{{{sid}}}:meta".encode()]
            )
        finally:
            await client.aclose()

    asyncio.run(run())


def test_a_meta_with_a_bad_ttl_gets_the_default(redis_srv: RedisServer) -> None:
    """``ttlSec`` not a positive integer: the store's default TTL, as before."""

    async def run() -> None:
        client = redis_asyncio.Redis.from_url(redis_srv.url)
        try:
            sid = new_stream_id()
            meta = f"aui:resumable:{{{sid}}}:meta"
            await client.set(meta, b'{"status":"streaming","ttlSec":2.5}')
            await RedisStore(client, default_ttl_ms=120_000).append(sid, b"abc")
            assert 110 < await client.ttl(meta) <= 120
            assert 110 < await client.ttl(f"aui:resumable:{{{sid}}}:data") <= 120
        finally:
            await client.aclose()

    asyncio.run(run())
