"""Read a chat request into a :class:`~assistant_stream_core.conversation.Conversation`.

::

    async def chat(request: web.Request) -> web.StreamResponse:
        conversation = await read_conversation(request, "ag_ui")
        return await stream_response(request, create_run(...), "ag_ui")

A malformed body raises aiohttp's ``HTTPBadRequest`` (a body over
``max_bytes``, ``HTTPRequestEntityTooLarge``) with the library's JSON error,
``{"error": {"message", "type", "field"}}``, as its body: aiohttp answers
with it, never with a 500. The body is read as a stream, so aiohttp's own
``client_max_size`` does not apply; ``max_bytes`` does.
"""

from __future__ import annotations

from aiohttp import web

from assistant_stream_core.conversation import (
    DEFAULT_MAX_REQUEST_BYTES,
    Conversation,
    RequestProtocol,
    decode_request,
)
from assistant_stream_core.errors import RequestError

__all__ = ["read_body", "read_conversation", "request_error_response"]


def request_error_response(error: RequestError) -> web.HTTPException:
    """The aiohttp exception (a response) for ``error``: 400 or 413, a JSON body."""
    text = error.to_json().decode()
    if error.status == 413:
        return web.HTTPRequestEntityTooLarge(
            max_size=0, actual_size=0, text=text, content_type="application/json"
        )
    return web.HTTPBadRequest(text=text, content_type="application/json")


async def read_body(request: web.Request, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> bytes:
    """The request body; past ``max_bytes``, a 413 is raised before reading further."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise request_error_response(
            RequestError(
                f"the request body is {length} bytes, more than the limit of {max_bytes}",
                status=413,
            )
        )
    body = bytearray()
    async for piece in request.content.iter_any():
        body += piece
        if len(body) > max_bytes:
            raise request_error_response(
                RequestError(
                    f"the request body is more than the limit of {max_bytes} bytes", status=413
                )
            )
    return bytes(body)


async def read_conversation(
    request: web.Request,
    protocol: RequestProtocol | str,
    *,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Conversation:
    """Read ``request``'s body as ``protocol``'s chat request.

    :raises aiohttp.web.HTTPBadRequest: the body is malformed (JSON error body).
    :raises aiohttp.web.HTTPRequestEntityTooLarge: the body is over ``max_bytes``.
    """
    body = await read_body(request, max_bytes=max_bytes)
    try:
        return decode_request(protocol, body, max_bytes=max_bytes)
    except RequestError as exc:
        raise request_error_response(exc) from None
