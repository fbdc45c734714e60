"""Resumable streams over aiohttp: start a stream, serve a resume request.

::

    async def chat(request: web.Request) -> web.StreamResponse:
        return await start_resumable(streams, my_run, "data_stream")

    async def resume(request: web.Request) -> web.StreamResponse:
        return await resume_response(request, streams, "data_stream")

Errors are JSON responses with a 4xx/5xx status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

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


def _error(exc: ResumableStreamError) -> web.Response:
    status, body = error_body(exc)
    return web.Response(body=body, status=status, content_type="application/json")


def _respond(replay: Replay, headers: Mapping[str, str] | None, kwargs: Any) -> web.StreamResponse:
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
) -> web.StreamResponse:
    """Start ``run`` as a resumable stream and return its response (a handler may return it).

    Further keyword arguments go to :class:`~.responses.AssistantStreamResponse`.
    """
    try:
        replay = await streams.start(run, protocol, stream_id=stream_id)
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)


async def resume_response(
    request: web.Request,
    streams: ResumableStreams,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> web.StreamResponse:
    """Serve a resume request (see :mod:`assistant_stream_core.resumable.http`)."""
    try:
        replay = await open_resume(
            streams,
            protocol,
            header=request.headers.get,
            query=request.query.get,
            stream_id=stream_id,
        )
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)
