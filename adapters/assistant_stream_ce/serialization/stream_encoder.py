"""``StreamEncoder``, the base of upstream's encoders and of users' own.

A user's encoder subclasses :class:`StreamEncoder` and implements
``get_media_type`` and ``encode_stream`` (an async generator of ``str`` or
``bytes``), exactly as upstream; :class:`AssistantStreamResponse
<assistant_stream_ce.serialization.assistant_stream_response.AssistantStreamResponse>`
streams it. The built-in encoders are :class:`CoreStreamEncoder` subclasses:
``encode_stream`` works as upstream's, and the responses skip it and drive the
core's sans-IO encoder directly, one write per batch of chunks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import ClassVar

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import Encoder

from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from .heartbeat import SSE_HEARTBEAT_LINE

__all__ = ["CoreStreamEncoder", "StreamEncoder"]


class StreamEncoder(ABC):
    """Turns a stream of chunks into a stream of encoded text (upstream's base class)."""

    @abstractmethod
    def get_media_type(self) -> str:
        """Return the response's media type, e.g. ``"text/event-stream"``."""

    def get_keepalive_token(self) -> str | None:
        """Return what to send while the stream is idle, or ``None`` for nothing.

        The default is an SSE comment for ``text/event-stream`` and ``None``
        otherwise, as upstream.
        """
        if self.get_media_type() == "text/event-stream":
            return SSE_HEARTBEAT_LINE
        return None

    @abstractmethod
    def encode_stream(self, stream: AsyncIterable[Chunk]) -> AsyncIterator[str]:
        """Encode ``stream``; an async generator of ``str`` (``bytes`` also works)."""


class CoreStreamEncoder(StreamEncoder):
    """A :class:`StreamEncoder` backed by a sans-IO encoder of the core."""

    #: What ends one frame of the wire format (``"\n"`` for lines, ``"\n\n"``
    #: for SSE): :meth:`encode_stream` yields one ``str`` per frame, as
    #: upstream's encoders do.
    frame_end: ClassVar[str] = "\n\n"

    @abstractmethod
    def make_encoder(self) -> Encoder:
        """Return a fresh core encoder for one stream."""

    async def encode_stream(self, stream: AsyncIterable[Chunk]) -> AsyncIterator[str]:
        """Encode ``stream``: one ``str`` per wire frame, then the closing frames."""
        encoder = self.make_encoder()
        end = self.frame_end.encode()
        # The Data Stream and Assistant Transport encoders hand out frames
        # themselves, a single one without a list; for others, split what
        # encode() returns.
        encode_frames: Callable[[Chunk], bytes | list[bytes]] | None
        encode_frames = getattr(encoder, "encode_frames", None)
        if encode_frames is None:
            encode = encoder.encode

            def encode_frames(chunk: Chunk) -> bytes | list[bytes]:
                return _split_frames(encode(chunk), end)

        # One generator around the caller's, and the least work per item: an
        # extra hop or call per item costs as much as encoding a small delta.
        async for chunk in stream:
            frames = encode_frames(chunk)
            if isinstance(frames, bytes):
                yield frames.decode()
            else:
                for frame in frames:
                    yield frame.decode()
        tail = _split_frames(encoder.finish(), end)
        for frame in [tail] if isinstance(tail, bytes) else tail:
            yield frame.decode()


def _split_frames(data: bytes, end: bytes) -> bytes | list[bytes]:
    """Split encoded bytes at ``end``: one frame as ``bytes``, else a list.

    Frames end with a newline, which JSON payloads never hold raw.
    """
    parts = data.split(end)
    if len(parts) == 2:
        return data
    return [part + end for part in parts[:-1]]
