"""``CoreStreamEncoder.encode_stream``: one ``str`` per wire frame, as upstream's encoders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest
from assistant_stream_ce.serialization.stream_encoder import CoreStreamEncoder

from assistant_stream_core.chunks import (
    Chunk,
    ErrorChunk,
    ReasoningPartStartChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
)
from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder

RUN: list[Chunk] = [
    TextDeltaChunk("a"),
    TextDeltaChunk("b"),
    ReasoningPartStartChunk(),  # writes no frame in either protocol
    ToolCallBeginChunk("t1", "tool"),
    ToolCallDeltaChunk("t1", '{"x":'),
    TextDeltaChunk("c"),
    ErrorChunk("boom"),  # closes the open call first: several frames
]


async def feed(chunks: Iterable[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


class WithoutFrames:
    """A core-style encoder with only the Encoder protocol (no ``encode_frames``)."""

    def __init__(self) -> None:
        self._inner = AssistantTransportEncoder()
        self.media_type = self._inner.media_type
        self.headers = self._inner.headers
        self.keepalive = self._inner.keepalive

    def encode(self, chunk: Chunk) -> bytes:
        return self._inner.encode_many([chunk])

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        return self._inner.encode_many(chunks)

    def finish(self) -> bytes:
        return self._inner.finish()


def facade(make: type, end: str) -> CoreStreamEncoder:
    class Facade(CoreStreamEncoder):
        frame_end = end

        def make_encoder(self) -> Encoder:
            encoder: Encoder = make()
            return encoder

        def get_media_type(self) -> str:
            return "text/plain"

    return Facade()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("make", "end"),
    [(DataStreamEncoder, "\n"), (AssistantTransportEncoder, "\n\n"), (WithoutFrames, "\n\n")],
    ids=["data_stream", "assistant_transport", "without_encode_frames"],
)
async def test_one_str_per_frame(anyio_backend: str, make: type, end: str) -> None:
    pieces = [piece async for piece in facade(make, end).encode_stream(feed(RUN))]
    assert all(isinstance(piece, str) for piece in pieces)
    assert all(piece.endswith(end) and piece.count(end) == 1 for piece in pieces)
    reference = make()
    assert "".join(pieces).encode() == reference.encode_many(RUN) + reference.finish()
    if make is not DataStreamEncoder:
        assert pieces[-1] == "data: [DONE]\n\n"
