"""Upstream's frame-at-a-time surface over the core encoders (not public).

Upstream's built-in encoders yield one ``str`` per wire frame from
``encode_stream``, and the Data Stream and OpenAI encoders have
``encode_chunk(chunk) -> str``; code written for upstream (its own tests
among it) reads frames one item at a time. The core encoder may return
several frames for one chunk (a part start before its first delta, the
closing frames of open parts), so :class:`FramedStreamEncoder` splits them.
"""

from __future__ import annotations

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import Encoder

from .stream_encoder import CoreStreamEncoder

__all__ = ["FramedStreamEncoder"]


class FramedStreamEncoder(CoreStreamEncoder):
    """A :class:`CoreStreamEncoder` with upstream's ``encode_chunk`` (``encode_stream``
    already yields one frame per item)."""

    _chunk_encoder: Encoder | None = None

    def encode_chunk(self, chunk: Chunk) -> str:
        """Encode one chunk and return its frames as text (``""`` if it writes none).

        Unlike upstream's stateless ``encode_chunk``, this encoder remembers
        what earlier calls opened (parts, tool calls), as ``encode_stream``
        does: a tool call delta needs its begin first, and the closing frames
        come from :meth:`finish_chunks`.
        """
        if self._chunk_encoder is None:
            self._chunk_encoder = self.make_encoder()
        return self._chunk_encoder.encode(chunk).decode()

    def finish_chunks(self) -> str:
        """The closing frames after the chunks given to :meth:`encode_chunk`; resets it."""
        encoder, self._chunk_encoder = self._chunk_encoder, None
        if encoder is None:
            encoder = self.make_encoder()
        return encoder.finish().decode()
