"""Hostile input at the decoders: deep JSON, long frames fed in small pieces, padded events.

Every decoder must answer with :class:`ProtocolError` (and stay failed), in
time linear in what it read and with memory bounded by its limit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from assistant_stream_core.chunks import Chunk, DataChunk, TextDeltaChunk, UpdateStateChunk
from assistant_stream_core.errors import ProtocolError
from assistant_stream_core.limits import MAX_JSON_DEPTH, MAX_STATE_DEPTH, json_depth
from assistant_stream_core.protocols.base import DEFAULT_MAX_LINE_BYTES, Decoder
from assistant_stream_core.state import SetOperation
from tests.wires import WIRES, Wire, decode_all, encode_all

wires = pytest.mark.parametrize("wire", WIRES, ids=str)
sse_wires = pytest.mark.parametrize("wire", [w for w in WIRES if w.name != "data_stream"], ids=str)

#: A valid OpenAI chunk; extra members are ignored by the decoder, as by the SDK.
_OPENAI_FRAME = (
    'data: {{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
    '"choices":[{{"index":0,"delta":{{"content":"x"}},"finish_reason":null}}],"extra":{}}}\n\n'
)


def nested(depth: int) -> str:
    """JSON text ``depth`` levels deep, alternating lists and objects."""
    opening = "".join('{"k":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return opening + "1" + closing


def frame_depth(body: bytes) -> int:
    return max(json_depth(line, 0) for line in body.split(b"\n"))


def deep_body(wire: Wire, frame_nesting: int) -> tuple[bytes, list[Chunk]]:
    """A valid body whose deepest frame nests exactly ``frame_nesting`` levels,
    and what it decodes to (for a depth this library can still encode)."""
    if not wire.carries_data:
        body = _OPENAI_FRAME.format(nested(frame_nesting - 1)).encode() + b"data: [DONE]\n\n"
        assert frame_depth(body) == frame_nesting
        return body, [TextDeltaChunk("x")]
    # The frame is encoded around a placeholder, which deep JSON text replaces:
    # an encoder cannot write JSON this deep itself.
    template, encoder = encode_all(wire, [DataChunk("@@deep@@")])
    wrapper = frame_depth(template)
    value = nested(frame_nesting - wrapper)
    body = template.replace(b'"@@deep@@"', value.encode())
    assert frame_depth(body) == frame_nesting
    if frame_nesting > MAX_JSON_DEPTH:
        return body, []
    return body, wire.normalize([DataChunk(msgspec.json.decode(value))], encoder)


@wires
def test_json_at_the_depth_limit_decodes(wire: Wire) -> None:
    body, expected = deep_body(wire, MAX_JSON_DEPTH)
    decoded = decode_all(wire, [body])
    if wire.carries_data:
        assert decoded == expected
    else:
        assert TextDeltaChunk("x") in decoded


@wires
@pytest.mark.parametrize("excess", [1, 1000])
def test_json_deeper_than_the_limit_is_a_protocol_error_and_fails_the_decoder(
    wire: Wire, excess: int
) -> None:
    body, _ = deep_body(wire, MAX_JSON_DEPTH + excess)
    decoder = wire.decoder()
    # In pieces for the small case: the check must hold however the frame is split.
    pieces = [body] if excess > 1 else [body[i : i + 97] for i in range(0, len(body), 97)]
    with pytest.raises(ProtocolError, match=f"nested deeper than the limit of {MAX_JSON_DEPTH}"):
        Feeder(decoder).feed_all(pieces)
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(b"\n")
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.finish()


class Feeder:
    """Feeds a decoder piece by piece and counts the bytes it was given."""

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder
        self.read = 0  # the failing piece included

    def feed_all(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self.read += len(piece)
            self.decoder.feed(piece)


def _at_stack_depth(headroom: int, call: Callable[[], Any]) -> Any:
    """Run ``call`` with only about ``headroom`` frames left before the recursion limit."""

    def depth() -> int:
        frame, count = sys._getframe(), 0
        while frame is not None:
            frame, count = frame.f_back, count + 1  # type: ignore[assignment]
        return count

    target = sys.getrecursionlimit() - headroom

    def descend(level: int) -> Any:
        if level >= target:
            return call()
        return descend(level + 1)

    return descend(depth())


@wires
def test_a_deep_caller_stack_gives_a_protocol_error_never_recursion_error(wire: Wire) -> None:
    # Within the limit, but the caller has used most of the stack: msgspec runs
    # out of it (on Pythons where the C stack counts against the limit). The
    # decoder must still answer with ProtocolError and be failed, or decode.
    body, _ = deep_body(wire, MAX_JSON_DEPTH - 4)
    decoder = wire.decoder()

    def feed() -> object:
        try:
            return decoder.feed(body)
        except ProtocolError as exc:
            return exc

    outcome = _at_stack_depth(60, feed)
    if isinstance(outcome, ProtocolError):
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.feed(b"")
    else:
        assert isinstance(outcome, list)


# --- size: linear time, every byte counted ----------------------------------------------


@wires
def test_a_16_mib_frame_fed_in_4_kib_pieces_decodes_in_under_a_second(wire: Wire) -> None:
    # Quadratic line assembly took minutes here; a linear one takes ~0.2 s.
    text = "x" * (DEFAULT_MAX_LINE_BYTES - 400)
    body, _ = encode_all(wire, [TextDeltaChunk(text)])
    assert max(len(frame) for frame in body.split(b"\n")) > DEFAULT_MAX_LINE_BYTES - 400
    pieces = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    decoder = wire.decoder()
    decoded: list[Chunk] = []
    # CPU time, not wall time: what is measured is the decoder's work, which
    # other processes on a shared CI machine do not change.
    started = time.process_time()
    for piece in pieces:
        decoded.extend(decoder.feed(piece))
    decoded.extend(decoder.finish())
    elapsed = time.process_time() - started
    assert "".join(c.text_delta for c in decoded if isinstance(c, TextDeltaChunk)) == text
    assert elapsed < 1.0, f"{elapsed:.2f} s for a 16 MiB frame in 4 KiB pieces"


@wires
def test_a_line_longer_than_the_limit_fails_once_the_limit_is_passed(wire: Wire) -> None:
    limit = 64 * 1024
    decoder = wire.decoder(limit)
    prefix = b"data: " if wire.name != "data_stream" else b"0:"
    pieces = [prefix + b'"', *[b"x" * 4096] * (10 * limit // 4096)]
    feeder = Feeder(decoder)
    with pytest.raises(ProtocolError, match="longer than the limit"):
        feeder.feed_all(pieces)
    assert feeder.read <= limit + 4096


@sse_wires
@pytest.mark.parametrize(
    "padding", [b"data:\n", b"data: \n", b":\n", b": keep-alive\n", b"retry: 1\n"], ids=repr
)
def test_an_event_padded_with_empty_lines_counts_every_byte(wire: Wire, padding: bytes) -> None:
    # Empty data lines and comments inside an event used to count one byte or
    # none, so an event read six times its limit, or without end.
    limit = 64 * 1024
    decoder = wire.decoder(limit)
    piece = padding * (4096 // len(padding))
    pieces = [b"data: {}\n", *[piece] * (10 * limit // len(piece))]
    feeder = Feeder(decoder)
    with pytest.raises(ProtocolError, match="event longer than the limit"):
        feeder.feed_all(pieces)
    assert feeder.read <= limit + len(piece)
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(b"\n")


@sse_wires
def test_an_event_just_under_the_limit_is_accepted(wire: Wire) -> None:
    body, _ = encode_all(wire, [TextDeltaChunk("x" * 1000)])
    largest = max(len(event) for event in body.split(b"\n\n"))
    decode_all(wire, [body], limit=largest)  # raises if the bound counted too much


@pytest.mark.parametrize("wire", [w for w in WIRES if w.name != "openai_chat"], ids=str)
def test_a_state_path_deeper_than_the_limit_is_a_protocol_error(wire: Wire) -> None:
    # The operations a decoder builds are bounded like everyone else's.
    chunks: list[Chunk] = [UpdateStateChunk([SetOperation(("a",), 1)])]
    long_path = ["a"] * (MAX_STATE_DEPTH + 1)
    if wire.name == "ag_ui":  # a snapshot that deep, then a JSON Patch inside it
        deep: Any = 1
        for _ in long_path:
            deep = {"a": deep}
        events = [
            {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
            {"type": "STATE_SNAPSHOT", "snapshot": deep},
            {"type": "STATE_DELTA", "delta": [{"op": "replace", "path": "/a" * 201, "value": 2}]},
        ]
        body = b"".join(b"data: " + msgspec.json.encode(e) + b"\n\n" for e in events)
    else:
        body, _ = encode_all(wire, chunks)
        body = body.replace(b'["a"]', msgspec.json.encode(long_path))
    decoder = wire.decoder()
    with pytest.raises(ProtocolError, match=f"limit of {MAX_STATE_DEPTH}"):
        decoder.feed(body)
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(b"")
