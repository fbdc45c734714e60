"""Resumable streams in Django async views (ASGI): start a stream, serve a resume request.

::

    async def chat(request):
        return await start_resumable(streams, my_run, "data_stream")

    async def resume(request):
        return await resume_response(request, streams, "data_stream")

The producer of a resumable stream outlives the request that started it, so
it needs a long-lived event loop. Under ASGI that is the server's; under WSGI
use :func:`start_resumable_wsgi` and :func:`resume_response_wsgi` in sync
views, with a :class:`~assistant_stream_core.resumable.blocking.BlockingStreams`
(one background event loop for the process). Errors are JSON responses with a
4xx/5xx status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]

from assistant_stream_core.resumable import (
    Replay,
    ResumableStreamError,
    ResumableStreams,
    error_body,
    open_resume,
)
from assistant_stream_core.run.runner import RunCallback
from assistant_stream_core.run.serve import EncoderSpec, RunSource

from .responses import AssistantStreamHttpResponse

if TYPE_CHECKING:
    from assistant_stream_core.resumable.blocking import BlockingReplay, BlockingStreams

__all__ = ["resume_response", "resume_response_wsgi", "start_resumable", "start_resumable_wsgi"]


def _error(exc: ResumableStreamError) -> HttpResponse:
    status, body = error_body(exc)
    return HttpResponse(body, status=status, content_type="application/json")


def _respond(replay: Replay, headers: Mapping[str, str] | None, kwargs: Any) -> HttpResponse:
    return AssistantStreamHttpResponse(
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
) -> HttpResponse:
    """Start ``run`` as a resumable stream and return its response.

    Further keyword arguments go to :class:`~.responses.AssistantStreamHttpResponse`.
    """
    try:
        replay = await streams.start(run, protocol, stream_id=stream_id)
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)


async def resume_response(
    request: HttpRequest,
    streams: ResumableStreams,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    """Serve a resume request (see :mod:`assistant_stream_core.resumable.http`)."""
    try:
        replay = await open_resume(
            streams,
            protocol,
            header=request.headers.get,
            query=request.GET.get,
            stream_id=stream_id,
        )
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond(replay, headers, kwargs)


def _respond_wsgi(replay: BlockingReplay, headers: Mapping[str, str] | None) -> HttpResponse:
    from django.http import StreamingHttpResponse

    response = StreamingHttpResponse(replay, content_type=replay.media_type)
    for name, value in {**replay.headers, **(headers or {})}.items():
        if name.lower() != "content-type":
            response[name] = value
    return response


def start_resumable_wsgi(
    streams: BlockingStreams,
    run: RunCallback,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """:func:`start_resumable` for a sync view (WSGI): the run goes on ``streams``' loop."""
    try:
        replay = streams.start(run, protocol, stream_id=stream_id)
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond_wsgi(replay, headers)


def resume_response_wsgi(
    request: HttpRequest,
    streams: BlockingStreams,
    protocol: EncoderSpec,
    *,
    stream_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """:func:`resume_response` for a sync view (WSGI)."""
    try:
        replay = streams.resume(
            protocol, header=request.headers.get, query=request.GET.get, stream_id=stream_id
        )
    except ResumableStreamError as exc:
        return _error(exc)
    return _respond_wsgi(replay, headers)
