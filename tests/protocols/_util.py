"""Helpers the protocol tests share, and the registry of the five encoders.

Tests that hold for every protocol (all or nothing, frames, the state after
``finish()``) parametrize over :data:`ENCODERS`; a new protocol joins them by
adding one entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from assistant_stream_core.chunks import Chunk, ErrorChunk
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder


@dataclass(frozen=True)
class EncoderEntry:
    """One protocol's encoder: how to make one with fixed ids, and its frame end."""

    name: str
    make: Callable[[], Any]
    frame_end: bytes
    #: The stream ends at its first error: later chunks are dropped with a warning.
    ends_at_error: bool = False

    def __str__(self) -> str:
        return self.name

    def playable(self, run: list[Chunk]) -> list[Chunk]:
        """``run`` up to and including its first error, if the stream ends there."""
        if self.ends_at_error:
            for i, chunk in enumerate(run):
                if isinstance(chunk, ErrorChunk):
                    return run[: i + 1]
        return run


#: Every encoder, made with fixed ids so two instances write the same bytes.
ENCODERS: list[EncoderEntry] = [
    EncoderEntry("data_stream", DataStreamEncoder, b"\n"),
    EncoderEntry("assistant_transport", AssistantTransportEncoder, b"\n\n"),
    EncoderEntry("openai_chat", lambda: OpenAIChatEncoder(completion_id="c", created=1), b"\n\n"),
    EncoderEntry("ui_message_stream", lambda: UIMessageStreamEncoder(message_id="msg-1"), b"\n\n"),
    EncoderEntry(
        "ag_ui",
        lambda: AGUIEncoder(thread_id="t", run_id="r", message_id="m", state={}),
        b"\n\n",
        ends_at_error=True,
    ),
]

#: ``@EVERY_ENCODER`` runs a test once per protocol, with its :class:`EncoderEntry`.
EVERY_ENCODER = pytest.mark.parametrize("protocol", ENCODERS, ids=str)


def sse_payloads(data: bytes, *, done: bool | None = None) -> list[Any]:
    """Parse ``data: <json>\\n\\n`` frames, checking the framing strictly.

    ``"[DONE]"`` is kept as that string. ``done=True`` requires the body to
    end with it, ``done=False`` requires it absent; ``None`` checks neither.
    """
    assert data.endswith(b"\n\n") or data == b""
    out: list[Any] = []
    for event in data.decode().split("\n\n")[:-1]:
        assert event.startswith("data: "), event
        assert "\n" not in event, event  # one data line per event, no id:/event: lines
        payload = event[len("data: ") :]
        out.append(payload if payload == "[DONE]" else json.loads(payload))
    if done is True:
        assert out
        assert out[-1] == "[DONE]"
    elif done is False:
        assert "[DONE]" not in out
    return out


def decode_all(decoder: Decoder, body: bytes, step: int | None = None) -> list[Chunk]:
    """Feed ``body`` to ``decoder`` whole, or ``step`` bytes at a time; then finish."""
    chunks: list[Chunk] = []
    if step is None:
        chunks += decoder.feed(body)
    else:
        for i in range(0, len(body), step):
            chunks += decoder.feed(body[i : i + step])
    return chunks + decoder.finish()


def encode_body(encoder: Encoder, chunks: list[Chunk]) -> bytes:
    """The whole body: ``encode_many`` and the closing frames."""
    return encoder.encode_many(chunks) + encoder.finish()
