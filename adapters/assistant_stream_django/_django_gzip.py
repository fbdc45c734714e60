"""What Django's own ``GZipMiddleware`` does to a stream, on the installed Django.

It changed from release to release:

* up to 5.2, under WSGI ``compress_sequence`` writes one gzip stream but never
  flushes it, so frames wait until the compressor's buffer fills; under ASGI
  a local ``gzip_wrapper`` compresses each piece as a gzip member of its own,
  and several clients (httpx, for one) stop decoding after the first;
* 6.0 compresses under ASGI with ``acompress_sequence``: one gzip stream, not
  flushed either;
* 6.1 flushes after every piece, under WSGI and ASGI: fine for streams.

Whether the installed Django's functions flush is found out by running them
once on two small pieces, not read from its version number, so a fix
backported to an older release counts too.
"""

from __future__ import annotations

import functools
import inspect
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

__all__ = ["gzip_problem"]

_REPLACE = "; use assistant_stream_django.middleware.GZipMiddleware instead"
HOLDS_BACK = (
    "Django's GZipMiddleware compressed a streaming response without flushing: "
    "frames wait until its compressor's buffer fills" + _REPLACE
)
SEPARATE_MEMBERS = (
    "Django's GZipMiddleware compressed a streaming response as one gzip member "
    "per piece, which some clients (httpx, for one) stop decoding after the first" + _REPLACE
)


def gzip_problem(value: object) -> str | None:
    """Why ``value`` is unfit to stream through, if it is the body wrapper of
    Django's own ``GZipMiddleware`` and that wrapper is unfit; else ``None``."""
    code = getattr(value, "gi_code", None) or getattr(value, "ag_code", None)
    if code is None:
        return None
    from django.utils import text  # type: ignore[import-untyped]

    for compress in (text.compress_sequence, getattr(text, "acompress_sequence", None)):
        if compress is not None and code is compress.__code__:
            return None if flushes_every_piece(compress) else HOLDS_BACK
    if code.co_name == "gzip_wrapper" and code.co_filename.replace("\\", "/").endswith(
        "django/middleware/gzip.py"
    ):
        return SEPARATE_MEMBERS  # Django <= 5.2 under ASGI
    return None


_FIRST, _SECOND = b"data: first piece\n\n", b"data: second piece\n\n"


@functools.cache
def flushes_every_piece(compress: Callable[..., Any]) -> bool:
    """Whether ``compress`` (Django's ``compress_sequence`` or
    ``acompress_sequence``) lets a client decode a piece before it asks
    for the next."""
    asked = 0

    def pieces() -> Iterator[bytes]:
        nonlocal asked
        for piece in (_FIRST, _SECOND):
            asked += 1
            yield piece

    async def async_pieces() -> AsyncIterator[bytes]:
        for piece in pieces():
            yield piece

    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    decoded = b""
    asked_when_decoded = None
    try:
        if inspect.isasyncgenfunction(compress):
            output = _without_loop(compress(async_pieces(), max_random_bytes=0))
        else:
            output = compress(pieces(), max_random_bytes=0)
        for data in output:  # all of it: the generators end by themselves
            decoded += decoder.decompress(data)
            if asked_when_decoded is None and _FIRST in decoded:
                asked_when_decoded = asked
    except Exception:  # a Django this probe does not fit: not known to flush
        return False
    return asked_when_decoded == 1 and decoded == _FIRST + _SECOND


def _without_loop(iterator: AsyncIterator[bytes]) -> Iterator[bytes]:
    """Step an async iterator that never waits for anything, without an
    event loop (the probe may run on the loop's thread, inside a step)."""
    while True:
        step: Any = iterator.__anext__()
        try:
            step.send(None)
        except StopIteration as done:
            yield done.value
        except StopAsyncIteration:
            return
        else:  # it waited for something after all: not a probe we can run
            step.close()
            return
