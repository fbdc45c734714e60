"""Resumable streams over Starlette/FastAPI: start a stream, serve a resume request.

::

    streams = ResumableStreams(RedisStore(redis.asyncio.Redis()))

    @app.post("/chat")
    async def chat(request: Request) -> Response:
        return await start_resumable(streams, my_run, "data_stream")

    @app.get("/chat/resume")
    async def resume(request: Request) -> Response:
        return await resume_response(request, streams, "data_stream")

Errors (an invalid id, an unknown stream, a bad cursor, the store down) are
JSON responses with a 4xx/5xx status, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from assistant_stream_core.resumable import (
    Replay,
    ResumableStreamError,
    ResumableStreams,
    error_body,
    open_resume,
)
from assistant_stream_core.run.runner import RunCallback
from assistant_stream_core.run.serve import EncoderSpec, RunSource

from .responses import AssistantStreamResponse

__all__ = ["resume_response", "start_resumable"]


def _error(exc: ResumableStreamError) -> Response:
    status, body = error_body(exc)
    return Response(body, status_code=status, media_type="application/json")


def _respond(replay: Replay, headers: Mapping[str, str] | None, kwargs: Any) -> Response:
    return AssistantStreamResponse(
        replay.source, replay.encoder, headers={**(headers or {}), **replay.headers}, **kwargs
    )


async def start_resumable(
    streams: ResumableStreams,
    run: RunSource | RunCallback,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Response:
    """Start ``run`` as a resumable stream (see :meth:`ResumableStreams.start`) and stream it.

    The response carries the stream id in ``x-resumable-stream-id``. Further
    keyword arguments go to :class:`~.responses.AssistantStreamResponse`.
    """
    try:
        replay = await streams.start(run, protocol, stream_id=stream_id)
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)


async def resume_response(
    request: Request,
    streams: ResumableStreams,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Response:
    """Serve a resume request (see :mod:`assistant_stream_core.resumable.http`)."""
    try:
        replay = await open_resume(
            streams,
            protocol,
            header=request.headers.get,
            query=request.query_params.get,
            stream_id=stream_id,
        )
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)
