"""Hostile-input properties, in all five protocols.

* nesting depth: a frame decodes when its JSON nests up to ``MAX_JSON_DEPTH``
  levels and is a ``ProtocolError`` (the decoder then failed) beyond, however
  the bytes are split; nothing else ever escapes;
* frames split at every size: a body fed in pieces of any one size, or cut in
  two at any byte, decodes to what it decodes to whole;
* every string field, ids included, with control characters, line breaks,
  SSE and Data Stream syntax: encoded, split anywhere, decoded to what the
  protocol's ``normalize`` says;
* every string a run's controller takes, with a lone surrogate anywhere: a
  ``ValueError`` at the call naming the argument, and a stream that still ends
  cleanly in every protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_core.errors import ProtocolError
from assistant_stream_core.limits import MAX_JSON_DEPTH, json_depth
from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.testing.strategies import byte_splits
from tests.run.test_hostile_values import CALLS
from tests.wires import WIRES, Wire, decode_all, encode_all

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

wires = pytest.mark.parametrize("wire", WIRES, ids=str)

#: What breaks naive framing: line ends of every kind, SSE and Data Stream
#: syntax, JSON escapes, C0/C1 controls, a BOM, astral characters.
_HOSTILE = [
    "\n",
    "\r",
    "\r\n",
    "\n\n",
    "\u2028",
    "\u2029",
    "\x85",
    "\x00",
    "\x1b",
    "\x7f",
    "\t",
    "\ufeff",
    '"',
    "\\",
    "\\u0000",
    "data: ",
    "data: [DONE]\n\n",
    "event: x\n",
    ": c\n",
    "0:",
    "3:",
    "😀",
]


def hostile_texts(min_size: int = 0) -> st.SearchStrategy[str]:
    """Text UTF-8 can carry, made mostly of :data:`_HOSTILE` pieces."""
    piece = st.one_of(st.sampled_from(_HOSTILE), st.characters(codec="utf-8").map(str))
    return st.lists(piece, min_size=min_size, max_size=6).map("".join)


@st.composite
def hostile_runs(draw: st.DrawFn) -> list[Chunk]:
    """A run touching every kind of chunk, every string field (ids too) hostile."""
    text = hostile_texts()
    tool_id = draw(hostile_texts(min_size=1))
    args = msgspec.json.encode({"q": draw(text)}).decode()
    cut = draw(st.integers(0, len(args)))
    return [
        TextDeltaChunk(draw(text)),
        ReasoningPartStartChunk(draw(st.none() | text)),
        ReasoningDeltaChunk(draw(text)),
        TextDeltaChunk(draw(text), parent_id=draw(hostile_texts(min_size=1))),
        ToolCallBeginChunk(tool_id, draw(hostile_texts(min_size=1))),
        ToolCallDeltaChunk(tool_id, args[:cut]),
        ToolCallDeltaChunk(tool_id, args[cut:]),
        ToolCallArgsTextFinishChunk(tool_id),
        ToolResultChunk(tool_id, {draw(text): draw(text)}),
        DataChunk({draw(text): [draw(text)]}),
        SourceChunk(draw(hostile_texts(min_size=1)), draw(text), title=draw(st.none() | text)),
        FileChunk("eA==", draw(hostile_texts(min_size=1))),
        AnnotationsChunk([draw(text)]),
        StepStartChunk(draw(hostile_texts(min_size=1))),
        StepFinishChunk(draw(hostile_texts(min_size=1))),
        MessageFinishChunk(draw(hostile_texts(min_size=1))),
        ErrorChunk(draw(text)),  # last: AG-UI ends the run at an error
    ]


@wires
@FAST
@given(data=st.data(), run=hostile_runs())
def test_every_string_field_survives_control_characters(
    wire: Wire, data: st.DataObject, run: list[Chunk]
) -> None:
    body, encoder = encode_all(wire, run)
    for line in body.split(b"\n"):
        line.decode("utf-8")  # strict
        assert b"\r" not in line
    expected = wire.normalize(run, encoder)
    assert decode_all(wire, data.draw(byte_splits(body, max_pieces=30))) == expected


# --- frames split at every size ----------------------------------------------------------


@wires
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=hostile_runs())
def test_frames_split_at_every_size_decode_the_same(wire: Wire, run: list[Chunk]) -> None:
    body, _ = encode_all(wire, run[:6])
    whole = decode_all(wire, [body])
    for size in range(1, min(len(body), 96) + 1):
        assert decode_all(wire, [body[i : i + size] for i in range(0, len(body), size)]) == whole
    for cut in range(1, len(body)):
        assert decode_all(wire, [body[:cut], body[cut:]]) == whole


# --- nesting depth -----------------------------------------------------------------------


def nested_text(depth: int, shapes: list[bool]) -> str:
    """JSON text ``depth`` levels deep; ``shapes`` picks list or object per level."""
    kinds = [shapes[level % len(shapes)] for level in range(depth)]
    opening = "".join("[" if is_list else '{"k":' for is_list in kinds)
    closing = "".join("]" if is_list else "}" for is_list in reversed(kinds))
    return opening + '"]}[{"' + closing  # brackets inside a string do not count


def deep_frame(wire: Wire, depth: int, shapes: list[bool]) -> bytes:
    """A body whose deepest frame nests ``depth`` levels."""
    if not wire.carries_data:
        template = (
            b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
            b'"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],'
            b'"extra":"@@deep@@"}\n\ndata: [DONE]\n\n'
        )
    else:
        template, _ = encode_all(wire, [DataChunk("@@deep@@")])
    wrapper = max(json_depth(line, 0) for line in template.split(b"\n"))
    value = nested_text(max(depth - wrapper, 0), shapes)
    return template.replace(b'"@@deep@@"', value.encode())


@wires
@FAST
@given(
    data=st.data(),
    depth=st.one_of(
        st.integers(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 3), st.integers(0, 3 * MAX_JSON_DEPTH)
    ),
    shapes=st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_nesting_depth_is_bounded_with_protocol_error(
    wire: Wire, data: st.DataObject, depth: int, shapes: list[bool]
) -> None:
    body = deep_frame(wire, depth, shapes)
    actual = max(json_depth(line, 0) for line in body.split(b"\n"))
    pieces = data.draw(byte_splits(body, max_pieces=8))
    decoder = wire.decoder()

    def feed_all() -> None:
        for piece in pieces:
            decoder.feed(piece)
        decoder.finish()

    if actual <= MAX_JSON_DEPTH:
        feed_all()
    else:
        with pytest.raises(ProtocolError, match="nested deeper than the limit"):
            feed_all()
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.feed(b"")


# --- lone surrogates, through the controller ----------------------------------------------


@FAST
@given(
    call=st.sampled_from(CALLS),
    text=hostile_texts(),
    where=st.integers(0, 6),
    surrogate=st.integers(0xD800, 0xDFFF).map(chr),
)
def test_a_lone_surrogate_anywhere_fails_the_call_not_the_stream(
    call: tuple[str, Callable[[RunController, str], Any]], text: str, where: int, surrogate: str
) -> None:
    name, method = call
    where = min(where, len(text))
    bad = text[:where] + surrogate + text[where:]
    errors: list[ValueError] = []

    async def run(c: RunController) -> None:
        c.state = {"log": "start"}
        c.append_text("before ")
        try:
            result = method(c, bad)
            if hasattr(result, "__await__"):
                await result
        except ValueError as exc:
            errors.append(exc)
        c.append_text("after")

    async def collect() -> list[Chunk]:
        return [chunk async for chunk in create_run(run)]

    chunks = anyio.run(collect)
    assert len(errors) == 1
    assert name in str(errors[0])
    assert "surrogate" in str(errors[0])
    for wire in WIRES:
        body, _ = encode_all(wire, chunks)
        decoded = decode_all(wire, [body])
        text_out = "".join(c.text_delta for c in decoded if isinstance(c, TextDeltaChunk))
        assert text_out == "before after", wire
