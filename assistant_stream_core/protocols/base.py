"""The shape every wire protocol shares: a sans-IO encoder and decoder.

An encoder turns chunks into bytes and holds the per-stream state machine (open
parts, open tool calls); it never awaits and never touches a socket. A decoder
turns bytes, split at any boundary, back into chunks. Adapters own the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

from ..chunks import Chunk

__all__ = ["DEFAULT_MAX_LINE_BYTES", "STREAMING_HEADERS", "Decoder", "Encoder"]

#: Headers every streaming response sends, whatever the protocol: no caching or
#: transformation by intermediaries, no proxy buffering (nginx honours
#: ``X-Accel-Buffering``). No ``Connection`` header: HTTP/2 forbids it.
STREAMING_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}

#: Default bound on one line (or one SSE event) a decoder will buffer: 16 MiB.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024


@runtime_checkable
class Encoder(Protocol):
    """Encodes one stream of chunks. Create one per response."""

    #: The response's media type, e.g. ``"text/event-stream"``.
    media_type: str
    #: Every response header the protocol needs, ``Content-Type`` included.
    headers: Mapping[str, str]
    #: Bytes that keep an idle connection open between frames, or ``None``.
    keepalive: bytes | None

    def encode(self, chunk: Chunk) -> bytes:
        """Return the frames for one chunk (possibly ``b""``)."""
        ...

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        """Return the frames for several chunks as one buffer."""
        ...

    def finish(self) -> bytes:
        """Return the closing frames. Call once, after the last chunk."""
        ...


@runtime_checkable
class Decoder(Protocol):
    """Decodes one stream of bytes. Create one per response body."""

    def feed(self, data: bytes) -> list[Chunk]:
        """Accept the next bytes (split anywhere); return the chunks completed."""
        ...

    def finish(self) -> list[Chunk]:
        """Signal the end of input; return any last chunks.

        Raises :class:`~assistant_stream_core.errors.ProtocolError` if the
        stream did not end cleanly.
        """
        ...
