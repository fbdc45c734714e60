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
from collections.abc import AsyncIterable, AsyncIterator

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import Encoder

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

    @abstractmethod
    def make_encoder(self) -> Encoder:
        """Return a fresh core encoder for one stream."""

    async def encode_stream(self, stream: AsyncIterable[Chunk]) -> AsyncIterator[str]:
        """Encode ``stream`` chunk by chunk, then the closing frames."""
        encoder = self.make_encoder()
        encode = encoder.encode
        async for chunk in stream:
            data = encode(chunk)
            if data:
                yield data.decode()
        tail = encoder.finish()
        if tail:
            yield tail.decode()
