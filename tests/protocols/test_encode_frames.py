"""``encode``, ``encode_frames`` and ``encode_many`` agree, in every protocol.

The three are loops over one write path: per chunk or per batch, one frame
per item or one buffer, they must write the same bytes; a failed delta
changes nothing; and every call after ``finish()`` raises.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from assistant_stream_core.chunks import (
    Chunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
)
from assistant_stream_core.errors import ChunkEncodeError
from assistant_stream_core.protocols._frames import split_frames
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.testing.strategies import chunk_sequences
from tests.protocols._util import EVERY_ENCODER, EncoderEntry

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frames_of(result: bytes | list[bytes]) -> list[bytes]:
    return [result] if isinstance(result, bytes) else result


@EVERY_ENCODER
@FAST
@given(run=chunk_sequences())
def test_encode_frames_writes_encode_many_bytes_one_frame_per_item(
    protocol: EncoderEntry, run: list[Chunk]
) -> None:
    make, end = protocol.make, protocol.frame_end
    run = protocol.playable(run)
    reference = make()
    expected = reference.encode_many(run)
    framed, single = make(), make()
    items = [frame for chunk in run for frame in frames_of(framed.encode_frames(chunk))]
    assert b"".join(items) == expected
    # Each item is one whole frame: it ends the frame and holds no other end.
    assert all(item.endswith(end) and item.count(end) == 1 for item in items)
    assert b"".join(single.encode(chunk) for chunk in run) == expected
    assert framed.finish() == single.finish() == reference.finish()


@EVERY_ENCODER
def test_every_call_returns_bytes_not_the_buffer(protocol: EncoderEntry) -> None:
    # The frames are built in a bytearray and copied out; an adapter hands the
    # result to a server, which may keep it: it must be immutable bytes.
    for tools in (False, True):  # a closing frame to write, or none (Data Stream)
        encoder = protocol.make()
        results = [encoder.encode(TextDeltaChunk("a")), encoder.encode_many([])]
        if tools:
            results.append(encoder.encode_many([ToolCallBeginChunk("call-1", "f")]))
        results.append(encoder.finish())
        assert [type(result) for result in results] == [bytes] * len(results)
        assert results[0]


@EVERY_ENCODER
def test_a_delta_into_the_open_part_is_one_bytes_item(protocol: EncoderEntry) -> None:
    make = protocol.make
    framed, batch = make(), make()
    for encoder in (framed, batch):
        encoder.encode(TextDeltaChunk("open"))
    chunk = TextDeltaChunk('caf\u00e9 "q"\n\U0001f680')
    result = framed.encode_frames(chunk)
    assert isinstance(result, bytes)  # no list around a single frame
    assert result == batch.encode_many([chunk])


@EVERY_ENCODER
def test_a_failed_delta_raises_the_general_error(protocol: EncoderEntry) -> None:
    make = protocol.make
    encoder = make()
    encoder.encode(TextDeltaChunk("open"))
    bad = TextDeltaChunk("\ud800")  # a lone surrogate is not UTF-8
    for method in (encoder.encode, encoder.encode_frames):
        with pytest.raises(ChunkEncodeError, match="text_delta") as info:
            method(bad)
        assert info.value.partial == b""
    # Nothing was written or changed: the next delta continues the part.
    assert encoder.encode(TextDeltaChunk("x")) == make_continuation(make, "x")


def make_continuation(make: Any, text: str) -> bytes:
    encoder = make()
    encoder.encode(TextDeltaChunk("open"))
    result: bytes = encoder.encode(TextDeltaChunk(text))
    return result


def test_args_lines_match_the_struct_encoding() -> None:
    # The prebuilt head must equal msgspec's encoding of the wire struct,
    # ids that need escaping included.
    encoder = DataStreamEncoder()
    encoder.encode(ToolCallBeginChunk('id "\u00e9\\', "t"))
    line = encoder.encode(ToolCallDeltaChunk('id "\u00e9\\', '{"a":'))
    assert line == b'c:{"toolCallId":"id \\"\xc3\xa9\\\\","argsTextDelta":"{\\"a\\":"}\n'


def test_split_frames() -> None:
    assert split_frames(b"", b"\n") == []
    one = b"0:1\n"
    assert split_frames(one, b"\n") is one
    assert split_frames(b"a\n\nb\n\n", b"\n\n") == [b"a\n\n", b"b\n\n"]


@EVERY_ENCODER
def test_a_failed_args_delta_changes_nothing(protocol: EncoderEntry) -> None:
    framed, reference = protocol.make(), protocol.make()
    for encoder in (framed, reference):
        encoder.encode(ToolCallBeginChunk("t1", "tool"))
    with pytest.raises(ChunkEncodeError, match="args_text_delta"):
        framed.encode_frames(ToolCallDeltaChunk("t1", "\ud800"))
    # The call still has no args text: both close it alike ("{}").
    closing = reference.finish()
    assert b'"{}"' in closing or b'"input":{}' in closing
    assert framed.finish() == closing


@EVERY_ENCODER
def test_every_call_after_finish_raises(protocol: EncoderEntry) -> None:
    encoder = protocol.make()
    encoder.encode(TextDeltaChunk("hi"))
    encoder.finish()
    for call in (
        lambda: encoder.encode(TextDeltaChunk("x")),
        lambda: encoder.encode_many([TextDeltaChunk("x")]),
        lambda: encoder.encode_frames(TextDeltaChunk("x")),
        encoder.finish,
    ):
        with pytest.raises(ChunkEncodeError, match="after finish"):
            call()
