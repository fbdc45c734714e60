"""A drop-in ``GZipMiddleware`` that never holds a streamed frame back.

Django's own ``django.middleware.gzip.GZipMiddleware`` is fine for ordinary
responses, and from Django 6.1 for streams too. Before 6.1 it is not: it
writes each piece into a ``GzipFile`` without flushing (under WSGI, and under
ASGI in 6.0), so frames wait until the compressor's buffer fills (a chat
answer arrives in one lump, or not until the run ends); under ASGI up to 5.2
it compresses each piece as a separate gzip member, which several clients
(httpx, for one) stop decoding after the first.

:class:`GZipMiddleware` behaves exactly like Django's for responses that are
not streaming, and compresses streaming responses (any
``StreamingHttpResponse``, not only this package's) as one gzip stream flushed
after every piece, under WSGI and ASGI alike, on every Django release.
Before Django 6.1, replace Django's in ``settings.MIDDLEWARE``::

    MIDDLEWARE = [
        "assistant_stream_django.middleware.GZipMiddleware",  # not django.middleware.gzip
        ...
    ]
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponseBase  # type: ignore[import-untyped]
from django.middleware.gzip import (  # type: ignore[import-untyped]
    GZipMiddleware as DjangoGZipMiddleware,
)
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers  # type: ignore[import-untyped]

from assistant_stream_core.run.serve import FlushingCompressor

__all__ = ["GZipMiddleware"]

#: Marks a streaming response compressed by :class:`GZipMiddleware`.
FLUSHED_ATTRIBUTE = "_assistant_stream_flushed_gzip"


def _accepts_gzip(request: HttpRequest) -> bool:
    return bool(re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))


def _gzip_sync(content: Iterable[bytes], padding: int) -> Iterator[bytes]:
    compressor = FlushingCompressor("gzip", random_padding=padding)
    for piece in content:
        if piece:  # an empty piece would still cost a flush marker
            yield compressor.compress(piece)
    yield compressor.finish()


async def _gzip_async(content: AsyncIterable[bytes], padding: int) -> AsyncIterator[bytes]:
    compressor = FlushingCompressor("gzip", random_padding=padding)
    async for piece in content:
        if piece:
            yield compressor.compress(piece)
    yield compressor.finish()


class GZipMiddleware(DjangoGZipMiddleware):  # type: ignore[misc]
    """Django's ``GZipMiddleware``, with streaming responses flushed per piece.

    Each piece a streaming response yields (for this package's responses, one
    drain of the run) leaves compressed and flushed, so the client can decode
    it at once. Everything else (the ``Vary`` header, a weak ``ETag``, the
    random padding against BREACH, skipping responses that already have a
    ``Content-Encoding``) is as in Django.
    """

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> Any:
        """Compress ``response`` if the client accepts gzip."""
        if not response.streaming:
            return super().process_response(request, response)
        if response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not _accepts_gzip(request):
            return response
        padding = int(self.max_random_bytes or 0)
        content = response.streaming_content
        if response.is_async:
            response.streaming_content = _gzip_async(content, padding)
        else:
            response.streaming_content = _gzip_sync(content, padding)
        setattr(response, FLUSHED_ATTRIBUTE, True)
        del response.headers["Content-Length"]
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag
        response.headers["Content-Encoding"] = "gzip"
        return response
