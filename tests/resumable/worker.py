"""One uvicorn worker process serving :func:`tests.resumable.apps.starlette_app` on Redis.

``python -m tests.resumable.worker PORT REDIS_URL [LEASE_MS]``. Several of
them on one redis-server are the "many workers" of the cross-worker tests.
"""

from __future__ import annotations

import logging
import sys


def main() -> None:
    import redis.asyncio
    import uvicorn

    from assistant_stream_core.resumable import ResumableStreams
    from assistant_stream_core.resumable.redis import RedisStore
    from tests.resumable.apps import starlette_app

    port, url = int(sys.argv[1]), sys.argv[2]
    lease_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    # Every running producer and every live reader holds a connection in a
    # blocking XREAD: size the pool for the streams a worker serves at once.
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=10, max_connections=2000)
    streams = ResumableStreams(RedisStore(client, lease_ms=lease_ms))
    uvicorn.run(
        starlette_app(streams),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        http="h11",
        ws="none",
    )


if __name__ == "__main__":
    main()
