"""One uvicorn worker for the HTTP resume benchmark (:mod:`benchmarks.resume_http`).

``python -m benchmarks.resume_worker PORT REDIS_URL ours|upstream``. Routes:

* ``GET /start?n=&id=`` streams a run of ``n`` text deltas (``sleep(0)``
  after each) as a resumable Data Stream with the given id;
* ``GET /resume`` serves a resume request (id in ``x-resumable-stream-id``).

Ours also takes ``protocol=`` on both routes (default ``data_stream``).

``ours`` serves :mod:`assistant_stream_starlette.resumable` on
:class:`~assistant_stream_core.resumable.redis.RedisStore`; ``upstream``
serves ``assistant_stream.resumable`` 0.0.36 on its Redis store, with the
same run, framework and server settings.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


def _callback(n: int) -> Any:
    async def run(controller: Any) -> None:
        for i in range(n):
            controller.append_text(f"t{i} ")
            await asyncio.sleep(0)

    return run


def ours_app(url: str) -> Any:
    """Our Starlette adapter on our Redis store."""
    import redis.asyncio
    from assistant_stream_starlette.resumable import resume_response, start_resumable
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from assistant_stream_core.resumable import ResumableStreams
    from assistant_stream_core.resumable.redis import RedisStore

    client = redis.asyncio.Redis.from_url(url, max_connections=2000)
    streams = ResumableStreams(RedisStore(client))

    async def start(request: Request) -> Response:
        query = request.query_params
        protocol = query.get("protocol", "data_stream")
        return await start_resumable(
            streams, _callback(int(query["n"])), protocol, stream_id=query["id"]
        )

    async def resume(request: Request) -> Response:
        protocol = request.query_params.get("protocol", "data_stream")
        return await resume_response(request, streams, protocol)

    return Starlette(routes=[Route("/start", start), Route("/resume", resume)])


def upstream_app(url: str) -> Any:
    """Upstream's resumable responses on its Redis store (``assistant-stream`` 0.0.36)."""
    import redis.asyncio
    from assistant_stream.resumable import (  # type: ignore[import-untyped]
        create_redis_resumable_stream_store,
        create_resumable_stream_context,
    )
    from assistant_stream.resumable.response import (  # type: ignore[import-untyped]
        create_resumable_assistant_stream_response,
        create_resume_assistant_stream_response,
    )
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = redis.asyncio.Redis.from_url(url, max_connections=2000)
    context = create_resumable_stream_context(store=create_redis_resumable_stream_store(client))

    async def start(request: Request) -> Response:
        query = request.query_params
        response: Response = await create_resumable_assistant_stream_response(
            context=context, stream_id=query["id"], callback=_callback(int(query["n"]))
        )
        return response

    async def resume(request: Request) -> Response:
        response: Response = await create_resume_assistant_stream_response(
            context=context, stream_id=request.headers["x-resumable-stream-id"]
        )
        return response

    return Starlette(routes=[Route("/start", start), Route("/resume", resume)])


def main() -> None:
    import uvicorn

    port, url, contender = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = ours_app(url) if contender == "ours" else upstream_app(url)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        http="h11",
        ws="none",
    )


if __name__ == "__main__":
    main()
