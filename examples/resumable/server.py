"""A chat endpoint whose answers survive dropped connections (resumable streams).

Run with ``uvicorn server:app`` (set ``REDIS_URL`` to share streams between
workers; the default in-memory store serves one process). Routes:

* ``POST /chat`` starts an answer as a resumable Data Stream; the response
  names it in the ``x-resumable-stream-id`` header.
* ``POST /transport`` the same in the Assistant Transport protocol (SSE).
* ``GET /chat/resume`` and ``GET /transport/resume`` send the rest of a
  stream: the id in ``x-resumable-stream-id``, the cursor in
  ``x-resumable-stream-offset`` (Data Stream) or ``Last-Event-ID`` (SSE).
* ``POST /chat/{stream_id}/stop`` stops a running answer, from any worker.

``resumable-fetch.mjs`` next to this file is the client side.
"""

from __future__ import annotations

import os

import anyio
from assistant_stream_starlette.resumable import resume_response, start_resumable
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assistant_stream_core.resumable import ResumableStore, ResumableStreams
from assistant_stream_core.run import RunController


def _store() -> ResumableStore | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None  # the in-memory store
    import redis.asyncio

    from assistant_stream_core.resumable.redis import RedisStore

    return RedisStore(redis.asyncio.Redis.from_url(url))


streams = ResumableStreams(_store())


async def answer(controller: RunController) -> None:
    """A slow answer: a tool call, then 40 words."""
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    for i in range(40):
        controller.append_text(f"word{i} ")
        await anyio.sleep(float(os.environ.get("WORD_DELAY", "0.02")))


async def chat(request: Request) -> Response:
    return await start_resumable(streams, answer, "data_stream")


async def transport(request: Request) -> Response:
    return await start_resumable(streams, answer, "assistant_transport")


async def chat_resume(request: Request) -> Response:
    return await resume_response(request, streams, "data_stream")


async def transport_resume(request: Request) -> Response:
    return await resume_response(request, streams, "assistant_transport")


async def stop(request: Request) -> Response:
    return JSONResponse({"stopped": await streams.stop(request.path_params["stream_id"])})


app = Starlette(
    routes=[
        Route("/chat", chat, methods=["POST"]),
        Route("/transport", transport, methods=["POST"]),
        Route("/chat/resume", chat_resume),
        Route("/transport/resume", transport_resume),
        Route("/chat/{stream_id}/stop", stop, methods=["POST"]),
    ],
    middleware=[
        # A browser app on another origin must be allowed to read the stream id.
        Middleware(
            CORSMiddleware,
            allow_origins=["http://localhost:3000"],
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["x-resumable-stream-id"],
        )
    ],
)
