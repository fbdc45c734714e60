"""Read a chat request into a :class:`~assistant_stream_core.conversation.Conversation`.

::

    @app.post("/api/chat")
    async def chat(request: Request) -> UIMessageStreamResponse:
        conversation = await read_conversation(request, "ui_message_stream")
        ...

A malformed body raises :class:`RequestRejected`, an ``HTTPException`` with
status 400 (413 for a body over ``max_bytes``), so the response is never a
500: FastAPI answers ``{"detail": "<message naming the field>"}``, plain
Starlette the message as text. Register :func:`request_error_handler` (or pass
:data:`REQUEST_ERROR_HANDLERS` as ``exception_handlers``) to answer with the
library's JSON error, ``{"error": {"message", "type", "field"}}``.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from assistant_stream_core.conversation import (
    DEFAULT_MAX_REQUEST_BYTES,
    Conversation,
    RequestProtocol,
    decode_request,
)
from assistant_stream_core.errors import RequestError

__all__ = [
    "REQUEST_ERROR_HANDLERS",
    "RequestRejected",
    "read_body",
    "read_conversation",
    "request_error_handler",
]


class RequestRejected(HTTPException):
    """A request body the library could not read: 400, or 413 when too large.

    ``error`` is the :class:`~assistant_stream_core.errors.RequestError`.
    """

    def __init__(self, error: RequestError) -> None:
        super().__init__(error.status, detail=str(error))
        self.error = error


def _too_large(size: int, max_bytes: int) -> RequestRejected:
    return RequestRejected(
        RequestError(
            f"the request body is {size} bytes or more, more than the limit of {max_bytes}",
            status=413,
        )
    )


async def read_body(request: Request, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> bytes:
    """The request body, refused with a 413 :class:`RequestRejected` past ``max_bytes``.

    A ``Content-Length`` over the limit is refused before anything is read.
    """
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise _too_large(int(length), max_bytes)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > max_bytes:
            raise _too_large(len(body), max_bytes)
    return bytes(body)


async def read_conversation(
    request: Request,
    protocol: RequestProtocol | str,
    *,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Conversation:
    """Read ``request``'s body as ``protocol``'s chat request.

    :raises RequestRejected: the body is malformed (400) or larger than
        ``max_bytes`` (413).
    """
    body = await read_body(request, max_bytes=max_bytes)
    try:
        return decode_request(protocol, body, max_bytes=max_bytes)
    except RequestError as exc:
        raise RequestRejected(exc) from None


async def request_error_handler(request: Request, exc: Exception) -> Response:
    """Answer a :class:`RequestRejected` with the library's JSON error body."""
    assert isinstance(exc, RequestRejected)
    return Response(exc.error.to_json(), exc.status_code, media_type="application/json")


#: ``Starlette(exception_handlers=REQUEST_ERROR_HANDLERS)`` answers rejected requests in JSON.
REQUEST_ERROR_HANDLERS: dict[Any, Any] = {RequestRejected: request_error_handler}
