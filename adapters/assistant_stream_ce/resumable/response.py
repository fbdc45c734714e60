"""Upstream's response helpers: a run as a resumable Starlette response, and its resume.

:func:`create_resumable_assistant_stream_response` encodes the run with the
core encoder behind ``encoder`` (Data Stream by default), one store append
per drained batch; a raising run's bytes end with the error frame and the
closing frames, so readers end cleanly where upstream's cut the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from assistant_stream_core.resumable.errors import ResumableStreamError
from assistant_stream_core.resumable.replay import RESUMABLE_STREAM_ID_HEADER
from assistant_stream_core.run import RunController, create_run

from ..serialization.data_stream import DataStreamEncoder
from ..serialization.stream_encoder import CoreStreamEncoder, StreamEncoder
from .context import CLOSED_MARK, ResumableStreamContext

__all__ = [
    "RESUMABLE_STREAM_ID_HEADER",
    "create_resumable_assistant_stream_response",
    "create_resume_assistant_stream_response",
]


def _make_stream(
    callback: Callable[[RunController], Coroutine[Any, Any, None]], encoder: StreamEncoder
) -> Callable[[], AsyncIterator[bytes]]:
    async def core_stream(stream_encoder: CoreStreamEncoder) -> AsyncIterator[bytes]:
        encoder = stream_encoder.make_encoder()
        run = create_run(callback)
        try:
            async for batch in run.batches():
                data = encoder.encode_many(batch)
                if data:
                    yield data
        except Exception as exc:
            # The error chunk is encoded already; close the protocol, then report.
            yield encoder.finish()
            setattr(exc, CLOSED_MARK, True)
            raise
        finally:
            await run.aclose()
        tail = encoder.finish()
        if tail:
            yield tail

    async def custom_stream() -> AsyncIterator[bytes]:
        async for frame in encoder.encode_stream(create_run(callback)):
            yield frame.encode() if isinstance(frame, str) else frame

    if isinstance(encoder, CoreStreamEncoder):
        return lambda: core_stream(encoder)
    return custom_stream


async def _clean_end(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    # A stream whose bytes already end with the protocol's closing frames ends
    # the body cleanly; any other failure propagates, as upstream.
    try:
        async for data in body:
            yield data
    except ResumableStreamError as exc:
        if not exc.closed:
            raise


async def create_resumable_assistant_stream_response(
    *,
    context: ResumableStreamContext,
    stream_id: str,
    callback: Callable[[RunController], Coroutine[Any, Any, None]],
    encoder: StreamEncoder | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Start (or join) the stream ``stream_id`` running ``callback``; stream it.

    :raises ResumableStreamError: ``invalid-id`` (as upstream).
    """
    resolved = encoder if encoder is not None else DataStreamEncoder()
    body = await context.run(stream_id, _make_stream(callback, resolved))
    return StreamingResponse(
        _clean_end(body),
        media_type=resolved.get_media_type(),
        headers=_merge_headers(headers, stream_id),
    )


async def create_resume_assistant_stream_response(
    *,
    context: ResumableStreamContext,
    stream_id: str,
    encoder: StreamEncoder | None = None,
    headers: Mapping[str, str] | None = None,
    missing_response: Callable[[], Response] | None = None,
) -> Response:
    """Replay the stream from its start; a 404 JSON response if it is missing or the id invalid."""
    try:
        body = await context.resume(stream_id)
    except ResumableStreamError as err:
        if err.code != "invalid-id":
            raise
        body = None
    if body is None:
        if missing_response is not None:
            return missing_response()
        return JSONResponse({"error": "stream not found"}, status_code=404)
    resolved = encoder if encoder is not None else DataStreamEncoder()
    return StreamingResponse(
        _clean_end(body),
        media_type=resolved.get_media_type(),
        headers=_merge_headers(headers, stream_id),
    )


def _merge_headers(extra: Mapping[str, str] | None, stream_id: str) -> dict[str, str]:
    merged = {
        key: value
        for key, value in (extra or {}).items()
        if key.lower() != RESUMABLE_STREAM_ID_HEADER
    }
    merged[RESUMABLE_STREAM_ID_HEADER] = stream_id
    return merged
