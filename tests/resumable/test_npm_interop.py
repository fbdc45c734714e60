"""Mixed deployments through one redis-server: the npm ``assistant-stream`` 0.3.57
Redis store and this library's, in both directions; and upstream Python's layout.

The npm side is ``tests/resumable/npm/store.mjs`` on the real npm package and
node-redis (installed by ``scripts/install-node-deps.sh``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from assistant_stream_core.resumable import ResumableStreams, new_stream_id
from assistant_stream_core.run import RunController
from tests.conftest import require_executable, require_tool
from tests.redis_server import RedisServer

NPM = Path(__file__).parent / "npm"

pytestmark = [pytest.mark.anyio, pytest.mark.interop]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def node() -> str:
    path = require_executable("node")
    require_tool(
        (NPM / "node_modules" / "assistant-stream").is_dir(),
        "the npm packages of tests/resumable/npm (scripts/install-node-deps.sh)",
    )
    return path


@pytest.fixture
async def client(redis_srv: RedisServer) -> AsyncIterator[Any]:
    import redis.asyncio

    redis_client = redis.asyncio.Redis.from_url(redis_srv.url)
    try:
        yield redis_client
    finally:
        await redis_client.aclose()


def _prefix() -> str:
    return f"aui:resumable:test:{uuid.uuid4().hex[:8]}"


async def _node(node: str, *args: str, stdin: bytes = b"") -> list[str]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(NPM / "store.mjs"),
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().splitlines()


async def test_python_reads_a_stream_the_npm_store_writes_live(
    node: str, client: Any, redis_srv: RedisServer
) -> None:
    from assistant_stream_core.resumable.redis import RedisStore

    prefix, sid = _prefix(), new_stream_id()
    chunks = [b"data: one\n\n", bytes(range(256)), "é✓ done".encode()]
    store = RedisStore(client, key_prefix=prefix)
    payload = json.dumps([base64.b64encode(c).decode() for c in chunks]).encode()
    producer = asyncio.ensure_future(
        _node(node, "produce", redis_srv.url, prefix, sid, stdin=payload)
    )
    while await store.status(sid) == "missing":  # noqa: ASYNC110 - another process writes
        await asyncio.sleep(0.01)
    read = [entry.chunk async for entry in await store.open_read(sid)]
    assert await producer == ["PRODUCED"]
    assert read == chunks
    assert await store.status(sid) == "done"
    meta = json.loads(await client.get(f"{prefix}:{{{sid}}}:meta"))
    assert set(meta) >= {"status", "ttlSec", "generation"}


async def test_the_npm_store_reads_a_stream_python_writes(
    node: str, client: Any, redis_srv: RedisServer
) -> None:
    from assistant_stream_core.resumable.redis import RedisStore

    prefix, sid = _prefix(), new_stream_id()
    store = RedisStore(client, key_prefix=prefix)

    async def run(controller: RunController) -> None:
        for i in range(20):
            controller.append_text(f"t{i} ")
            await asyncio.sleep(0.01)

    streams = ResumableStreams(store)
    replay = await streams.start(run, "data_stream", stream_id=sid)
    reader = asyncio.ensure_future(_node(node, "read", redis_srv.url, prefix, sid))
    live = b"".join([data async for data in replay.read_bytes()])
    lines = await reader
    assert lines[-1] == "END"
    assert b"".join(base64.b64decode(line) for line in lines[:-1]) == live
    assert b't19 "' in live


async def test_python_reads_upstream_pythons_layout(client: Any) -> None:
    from assistant_stream.resumable import create_redis_resumable_stream_store

    from assistant_stream_core.resumable.redis import RedisStore

    prefix, sid = _prefix(), new_stream_id()
    upstream = create_redis_resumable_stream_store(client, key_prefix=prefix)
    await upstream.acquire(sid)
    ours = RedisStore(client, key_prefix=prefix)
    entries = await ours.open_read(sid)
    await upstream.append(sid, b"hello ")
    await upstream.append(sid, b"world")
    await upstream.finalize(sid, "done")
    assert [entry.chunk async for entry in entries] == [b"hello ", b"world"]
    assert await ours.status(sid) == "done"
