"""The HTTP helpers every adapter shares: encoders by name, headers, compression.

None of this awaits: :func:`make_encoder` turns what an adapter accepts as a
protocol into a fresh encoder, :func:`response_headers` merges the protocol's
headers with the user's, :func:`accepted_coding` reads ``Accept-Encoding``,
and :class:`FlushingCompressor` is the HTTP compression the adapters share:
gzip or deflate with a sync flush after every write, so compression never
holds a frame back (frameworks' own compressors wait for their buffer to
fill). The serving loop itself is :mod:`assistant_stream_core.run.serve`.
"""

from __future__ import annotations

import contextlib
import importlib
import secrets
import socket
import string
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..protocols.base import Encoder

__all__ = [
    "PROTOCOL_ENCODERS",
    "EncoderSpec",
    "FlushingCompressor",
    "accepted_coding",
    "check_source",
    "make_encoder",
    "reset_on_close",
    "response_headers",
]

# Response headers a browser script may read without CORS exposing them.
_CORS_SAFELISTED = frozenset(
    {
        "cache-control",
        "content-language",
        "content-length",
        "content-type",
        "expires",
        "last-modified",
        "pragma",
    }
)


#: Protocol names accepted by :func:`make_encoder`: module under
#: :mod:`assistant_stream_core.protocols` and encoder class name.
PROTOCOL_ENCODERS: Mapping[str, tuple[str, str]] = {
    "data_stream": ("data_stream", "DataStreamEncoder"),
    "assistant_transport": ("assistant_transport", "AssistantTransportEncoder"),
    "openai_chat": ("openai_chat", "OpenAIChatEncoder"),
    "ui_message_stream": ("ui_message_stream", "UIMessageStreamEncoder"),
    "ag_ui": ("ag_ui", "AGUIEncoder"),
}

#: What adapters accept as a protocol: an encoder, an encoder class (or any
#: factory), or a protocol name from :data:`PROTOCOL_ENCODERS`.
EncoderSpec = Encoder | Callable[[], Encoder] | str


def check_source(source: object) -> None:
    """Raise unless ``source`` is a run or an async iterable of chunks.

    Called when a response is built: otherwise the mistake surfaces while the
    response is being sent, as a 500 and an ``AttributeError: __aiter__``.
    Not an ``isinstance`` against the runtime protocol, which costs tens of
    microseconds per response.

    :raises TypeError: naming what was passed, and ``create_run`` when it was
        the run's callback or its coroutine.
    """
    if hasattr(source, "__aiter__") or hasattr(source, "batches"):
        return
    kind = type(source).__name__
    if callable(source):
        name = getattr(source, "__qualname__", kind)
        hint = f"; pass create_run({name}), not the callback itself"
    elif hasattr(source, "__await__"):
        hint = "; pass create_run(callback), not the coroutine callback(controller)"
    else:
        hint = ""
    raise TypeError(f"a response streams a run or an async iterable of chunks, got {kind}{hint}")


def make_encoder(spec: EncoderSpec) -> Encoder:
    """Return a fresh encoder for ``spec``.

    An encoder instance is returned as is (it must not have been used for
    another response); a class or factory is called; a name such as
    ``"data_stream"`` is looked up in :data:`PROTOCOL_ENCODERS`, importing the
    protocol module on first use.

    :raises ValueError: for an unknown protocol name.
    :raises ImportError: if the protocol's module is not available.
    """
    if isinstance(spec, str):
        try:
            module_name, class_name = PROTOCOL_ENCODERS[spec]
        except KeyError:
            known = ", ".join(sorted(PROTOCOL_ENCODERS))
            raise ValueError(f"unknown protocol {spec!r}; known: {known}") from None
        module = importlib.import_module(f"assistant_stream_core.protocols.{module_name}")
        factory: Callable[[], Encoder] = getattr(module, class_name)
        return factory()
    # A class first: an encoder class has the protocol's attributes too.
    if not isinstance(spec, type) and isinstance(spec, Encoder):
        return spec
    return spec()


def response_headers(
    encoder: Encoder,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    *,
    expose_headers: bool = False,
) -> list[tuple[str, str]]:
    """Return the response headers for ``encoder``, with the user's merged in.

    The protocol's headers come first; a user header with the same name
    (compared case-insensitively) replaces the protocol's. With
    ``expose_headers=True`` an ``Access-Control-Expose-Headers`` header lists
    the protocol headers that are not CORS-safelisted (such as
    ``x-vercel-ai-data-stream``), so a browser client on another origin can read
    them and pick its decoder; alternatively list them in your CORS
    middleware's ``expose_headers`` setting.
    """
    merged: dict[str, tuple[str, str]] = {
        name.lower(): (name, value) for name, value in encoder.headers.items()
    }
    if headers is not None:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            merged[name.lower()] = (name, value)
    if expose_headers and "access-control-expose-headers" not in merged:
        exposed = [name for name in encoder.headers if name.lower() not in _CORS_SAFELISTED]
        if exposed:
            merged["access-control-expose-headers"] = (
                "Access-Control-Expose-Headers",
                ", ".join(exposed),
            )
    return list(merged.values())


def reset_on_close(sock: Any) -> None:
    """Make closing ``sock`` reset the connection and drop its unsent bytes.

    For a client that stopped reading: a plain close leaves the kernel
    trying to deliver what is queued (the connection lingers in
    ``FIN_WAIT1``, its buffers held); with a zero linger time the close sends
    a reset and frees it at once. ``sock`` is a :class:`socket.socket` or
    asyncio's wrapper of one (``transport.get_extra_info("socket")``).
    """
    # OSError: the socket is already closed or reset.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


#: Content codings :class:`FlushingCompressor` can write, in order of preference,
#: with the ``wbits`` zlib needs for each.
_CODINGS: Mapping[str, int] = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def accepted_coding(accept_encoding: str | None) -> str | None:
    """Pick ``"gzip"`` or ``"deflate"`` from an ``Accept-Encoding`` header.

    Returns ``None`` when the client accepts neither (or refuses both with
    ``q=0``). ``*`` accepts gzip.

    >>> from assistant_stream_core.run.http import accepted_coding
    >>> accepted_coding("br, gzip, deflate;q=0.5")
    'gzip'
    >>> accepted_coding("gzip;q=0, deflate")
    'deflate'
    >>> accepted_coding("identity") is None
    True
    """
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name.strip().lower()] = q
    star = weights.get("*")
    best: tuple[float, str] | None = None
    for coding in _CODINGS:
        q = weights.get(coding, star if coding == "gzip" and star is not None else 0.0)
        if q > 0 and (best is None or q > best[0]):
            best = (q, coding)
    return best[1] if best else None


class FlushingCompressor:
    """Compress a stream for HTTP, flushing after every write.

    ``compress(data)`` returns everything needed to decode ``data`` on the
    client (a zlib sync flush), so each drain of a run still reaches the client
    as soon as it is written; ``finish()`` returns the end of the compressed
    stream. One instance per response; the output is a single gzip member (or
    zlib stream), which every HTTP client decodes incrementally.

    :param coding: ``"gzip"`` or ``"deflate"`` (the ``Content-Encoding`` value).
    :param level: the zlib compression level.
    :param random_padding: gzip only: put between 1 and this many random
        letters in the header's file name field, as Django's ``GZipMiddleware``
        does against BREACH-style length attacks (``0``: none).

    >>> import zlib
    >>> from assistant_stream_core.run.http import FlushingCompressor
    >>> c = FlushingCompressor("gzip")
    >>> d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    >>> d.decompress(c.compress(b"a frame"))
    b'a frame'
    >>> d.decompress(c.finish()), d.eof
    (b'', True)
    """

    def __init__(self, coding: str = "gzip", *, level: int = 6, random_padding: int = 0) -> None:
        if coding not in _CODINGS:
            raise ValueError(f"unsupported content coding {coding!r}")
        #: The ``Content-Encoding`` header value.
        self.coding = coding
        self._gzip = coding == "gzip"
        # gzip is written by hand (raw deflate between header and trailer):
        # zlib's own gzip wrapper cannot write the file name field.
        wbits = -zlib.MAX_WBITS if self._gzip else _CODINGS[coding]
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
        self._crc = 0
        self._size = 0
        self._header = b""
        if self._gzip:
            flags = b"\x00"
            name = b""
            if random_padding > 0:
                letters = string.ascii_letters
                length = secrets.randbelow(random_padding) + 1
                name = "".join(secrets.choice(letters) for _ in range(length)).encode() + b"\x00"
                flags = b"\x08"  # FNAME
            # magic, deflate, flags, mtime 0, no extra flags, OS unknown
            self._header = b"\x1f\x8b\x08" + flags + b"\x00\x00\x00\x00\x00\xff" + name

    def compress(self, data: bytes) -> bytes:
        """Compress ``data`` and flush it: the client can decode all of it now."""
        out = (
            self._header
            + self._compressor.compress(data)
            + self._compressor.flush(zlib.Z_SYNC_FLUSH)
        )
        self._header = b""
        if self._gzip:
            self._crc = zlib.crc32(data, self._crc)
            self._size += len(data)
        return out

    def finish(self) -> bytes:
        """End the compressed stream (gzip trailer); call once, after the last write."""
        out = self._header + self._compressor.flush(zlib.Z_FINISH)
        self._header = b""
        if self._gzip:
            out += struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
        return out
