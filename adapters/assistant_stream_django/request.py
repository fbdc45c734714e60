"""Read a chat request into a :class:`~assistant_stream_core.conversation.Conversation`.

::

    async def chat(request):
        conversation = read_conversation(request, "ui_message_stream")
        return UIMessageStreamHttpResponse(create_run(...))

It works in sync and async views, under ASGI and WSGI. A malformed body
raises :class:`RequestRejected`, a subclass of Django's ``BadRequest``, so
Django answers 400 rather than 500 even without help; add
``"assistant_stream_django.request.RequestErrorMiddleware"`` to
``settings.MIDDLEWARE`` to answer with the library's JSON error
(``{"error": {"message", "type", "field"}}``) and 413 for a body over
``max_bytes``. The body is read through ``request.read()``, so ``max_bytes``
(not ``DATA_UPLOAD_MAX_MEMORY_SIZE``) is the limit.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest  # type: ignore[import-untyped]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped]
from django.utils.deprecation import MiddlewareMixin  # type: ignore[import-untyped]

from assistant_stream_core.conversation import (
    DEFAULT_MAX_REQUEST_BYTES,
    Conversation,
    RequestProtocol,
    decode_request,
)
from assistant_stream_core.errors import RequestError

__all__ = [
    "RequestErrorMiddleware",
    "RequestRejected",
    "read_conversation",
    "request_error_response",
]


class RequestRejected(BadRequest):  # type: ignore[misc]
    """A request body the library could not read; ``error`` is the RequestError."""

    def __init__(self, error: RequestError) -> None:
        super().__init__(str(error))
        self.error = error


def request_error_response(error: RequestError) -> HttpResponse:
    """The JSON error response for ``error`` (status 400 or 413)."""
    return HttpResponse(error.to_json(), status=error.status, content_type="application/json")


def _body(request: HttpRequest, max_bytes: int) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    too_large = RequestError(
        f"the request body is more than the limit of {max_bytes} bytes", status=413
    )
    if length > max_bytes:
        raise RequestRejected(too_large)
    if getattr(request, "_read_started", False):
        body: bytes = request.body  # already read (and kept) by something else
    else:
        body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise RequestRejected(too_large)
    return body


def read_conversation(
    request: HttpRequest,
    protocol: RequestProtocol | str,
    *,
    max_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Conversation:
    """Read ``request``'s body as ``protocol``'s chat request.

    :raises RequestRejected: the body is malformed or larger than ``max_bytes``.
    """
    body = _body(request, max_bytes)
    try:
        return decode_request(protocol, body, max_bytes=max_bytes)
    except RequestError as exc:
        raise RequestRejected(exc) from None


class RequestErrorMiddleware(MiddlewareMixin):  # type: ignore[misc]
    """Answers a :class:`RequestRejected` raised by a view with its JSON error (400/413)."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestRejected):
            return request_error_response(exception.error)
        return None
