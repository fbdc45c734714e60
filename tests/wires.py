"""The five wire formats, for tests that run the same hostile input through every one.

Each entry builds an encoder and a decoder (with an optional size limit, whose
keyword differs between protocols) and says what decoding an encoded run gives
back (the protocol's function in ``assistant_stream_core.testing.normalize``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols import (
    ag_ui,
    assistant_transport,
    data_stream,
    openai_chat,
    ui_message_stream,
)
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.testing import normalize


@dataclass(frozen=True)
class Wire:
    """One wire format."""

    name: str
    encoder: Callable[..., Encoder]
    decoder_class: Callable[..., Decoder]
    #: The decoder's keyword for its line or event size limit.
    limit_keyword: str
    #: ``normalize(chunks, encoder)``: what decoding gives back.
    normalize: Callable[[Iterable[Chunk], Any], list[Chunk]]
    #: Whether the protocol carries ``data`` chunks (OpenAI chat does not).
    carries_data: bool = True

    def decoder(self, limit: int | None = None, **options: Any) -> Decoder:
        """A fresh decoder, with ``limit`` as its size bound when given."""
        if limit is not None:
            options[self.limit_keyword] = limit
        return self.decoder_class(**options)

    def __str__(self) -> str:
        return self.name


WIRES: list[Wire] = [
    Wire(
        "data_stream",
        data_stream.DataStreamEncoder,
        data_stream.DataStreamDecoder,
        "max_line_bytes",
        lambda chunks, encoder: normalize.data_stream(chunks),
    ),
    Wire(
        "assistant_transport",
        assistant_transport.AssistantTransportEncoder,
        assistant_transport.AssistantTransportDecoder,
        "max_event_bytes",
        lambda chunks, encoder: normalize.assistant_transport(chunks),
    ),
    Wire(
        "openai_chat",
        openai_chat.OpenAIChatEncoder,
        openai_chat.OpenAIChatDecoder,
        "max_line_bytes",
        lambda chunks, encoder: normalize.openai_chat(chunks),
        carries_data=False,
    ),
    Wire(
        "ui_message_stream",
        ui_message_stream.UIMessageStreamEncoder,
        ui_message_stream.UIMessageStreamDecoder,
        "max_line_bytes",
        lambda chunks, encoder: normalize.ui_message_stream(chunks, message_id=encoder.message_id),
    ),
    Wire(
        "ag_ui",
        ag_ui.AGUIEncoder,
        ag_ui.AGUIDecoder,
        "max_event_bytes",
        lambda chunks, encoder: normalize.ag_ui(chunks),
    ),
]


def encode_all(wire: Wire, chunks: Iterable[Chunk]) -> tuple[bytes, Encoder]:
    """The whole body for ``chunks`` (closing frames included) and the encoder used."""
    encoder = wire.encoder()
    return encoder.encode_many(list(chunks)) + encoder.finish(), encoder


def decode_all(wire: Wire, pieces: Iterable[bytes], limit: int | None = None) -> list[Chunk]:
    """Feed ``pieces`` to a fresh decoder, then finish it; every chunk decoded."""
    decoder = wire.decoder(limit)
    out: list[Chunk] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    out.extend(decoder.finish())
    return out
