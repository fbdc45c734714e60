"""The protocols every property test runs against: one entry per wire format.

Add a protocol by appending a :class:`ProtocolEntry` to :data:`PROTOCOLS`:
its encoder and decoder factories (no required arguments), ``normalise`` (what
``decode(encode(chunks))`` gives back, see the protocol pages in docs/protocols) and
``check_frames`` (raises ``AssertionError`` if a body holds a frame the real
client would reject or misread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols import assistant_transport, data_stream
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.testing import normalize

_JSON = msgspec.json.Decoder()


@dataclass(frozen=True)
class ProtocolEntry:
    """One wire format under test."""

    name: str
    encoder: Callable[[], Encoder]
    decoder: Callable[[], Decoder]
    normalise: Callable[[Iterable[Chunk]], list[Chunk]]
    check_frames: Callable[[bytes], None]

    def __str__(self) -> str:
        return self.name


# --- frame checks -----------------------------------------------------------

# Data Stream codes and the JSON type each payload must have (TS chunk-types.ts).
_DATA_STREAM_CODES: dict[str, type] = {
    "0": str,
    "g": str,
    "3": str,
    "2": list,
    "8": list,
    "aui-state": list,
    "a": dict,
    "b": dict,
    "c": dict,
    "d": dict,
    "e": dict,
    "f": dict,
    "h": dict,
    "k": dict,
    "aui-text-delta": dict,
    "aui-reasoning-delta": dict,
    "aui-reasoning-part-start": dict,
}


def check_data_stream_frames(body: bytes) -> None:
    """Every line is ``<known code>:<JSON of the right type>\\n``; args only for begun ids."""
    assert body == b"" or body.endswith(b"\n"), "body must end with a complete line"
    begun: set[str] = set()
    for raw in body.split(b"\n")[:-1]:
        line = raw.decode("utf-8")  # strict: no invalid UTF-8
        assert "\r" not in line, f"raw CR splits the line for the TS decoder: {line!r}"
        code, sep, payload = line.partition(":")
        assert sep, f"line without ':' {line!r}"
        assert code in _DATA_STREAM_CODES, f"unknown code {code!r}"
        value = _JSON.decode(payload)
        assert isinstance(value, _DATA_STREAM_CODES[code]), f"{code}: payload {value!r}"
        if code == "b":
            assert value["toolCallId"] not in begun, f"duplicate begin {value!r}"
            begun.add(value["toolCallId"])
        elif code in ("a", "c"):
            assert value["toolCallId"] in begun, f"{code}: unknown tool call {value!r}"
        if code == "c":
            assert isinstance(value["argsTextDelta"], str)
        if code == "e":
            assert isinstance(value["usage"]["inputTokens"], int)


_MESSAGE_TYPES = {
    "part-start",
    "annotations",
    "data",
    "update-state",
    "step-start",
    "step-finish",
    "message-finish",
    "error",
}
_PART_TYPES = {"part-finish", "tool-call-args-text-finish", "text-delta", "result"}


def check_assistant_transport_frames(body: bytes) -> None:
    """One ``data: <JSON object>`` per event; known types; paths name started parts; [DONE] last."""
    text = body.decode("utf-8")
    assert text.endswith("data: [DONE]\n\n"), "missing [DONE]"
    events = text.split("\n\n")
    assert events[-1] == ""
    parts = 0
    for event in events[:-2]:
        assert event.startswith("data: "), f"not a data line {event!r}"
        assert "\n" not in event, f"line break inside an event {event!r}"
        assert "\r" not in event, f"line break inside an event {event!r}"
        frame: Any = _JSON.decode(event[len("data: ") :])
        assert isinstance(frame, dict), frame
        kind = frame.get("type")
        assert kind in _MESSAGE_TYPES | _PART_TYPES, f"unknown type {kind!r}"
        if kind in _PART_TYPES:
            path = frame["path"]
            assert isinstance(path, list), frame
            assert len(path) == 1, frame
            assert isinstance(path[0], int), frame
            assert 0 <= path[0] < parts, f"no part at {path}"
        elif kind == "part-start":
            assert frame.get("path", []) == [], frame
            assert isinstance(frame["part"], dict), frame
            assert "type" in frame["part"], frame
            parts += 1
        if kind == "text-delta":
            assert isinstance(frame["textDelta"], str)
        elif kind == "result":
            assert isinstance(frame.get("isError", False), bool)
        elif kind in ("annotations", "data"):
            assert isinstance(frame[kind], list)
        elif kind == "update-state":
            assert isinstance(frame["operations"], list)
        elif kind in ("step-finish", "message-finish"):
            assert isinstance(frame["finishReason"], str)
    assert events[-2] == "data: [DONE]"


PROTOCOLS: list[ProtocolEntry] = [
    ProtocolEntry(
        "data_stream",
        data_stream.DataStreamEncoder,
        data_stream.DataStreamDecoder,
        normalize.data_stream,
        check_data_stream_frames,
    ),
    ProtocolEntry(
        "assistant_transport",
        assistant_transport.AssistantTransportEncoder,
        assistant_transport.AssistantTransportDecoder,
        normalize.assistant_transport,
        check_assistant_transport_frames,
    ),
]
