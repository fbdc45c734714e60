"""``encode_frames`` and the per-chunk fast paths of the two assistant-ui encoders.

The fast paths (``encode`` and ``encode_frames`` of a delta into an open part,
the prebuilt heads of args lines) must write exactly what the general path
writes: these tests compare them with ``encode_many`` over generated runs.
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
from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.testing.strategies import chunk_sequences

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ENCODERS = pytest.mark.parametrize(
    ("make", "end"),
    [(DataStreamEncoder, b"\n"), (AssistantTransportEncoder, b"\n\n")],
    ids=["data_stream", "assistant_transport"],
)


def frames_of(result: bytes | list[bytes]) -> list[bytes]:
    return [result] if isinstance(result, bytes) else result


@ENCODERS
@FAST
@given(run=chunk_sequences())
def test_encode_frames_writes_encode_many_bytes_one_frame_per_item(
    make: Any, end: bytes, run: list[Chunk]
) -> None:
    reference = make()
    expected = reference.encode_many(run)
    framed, single = make(), make()
    items = [frame for chunk in run for frame in frames_of(framed.encode_frames(chunk))]
    assert b"".join(items) == expected
    # Each item is one whole frame: it ends the frame and holds no other end.
    assert all(item.endswith(end) and item.count(end) == 1 for item in items)
    assert b"".join(single.encode(chunk) for chunk in run) == expected
    assert framed.finish() == single.finish() == reference.finish()


@ENCODERS
def test_a_delta_into_the_open_part_is_one_bytes_item(make: Any, end: bytes) -> None:
    framed, batch = make(), make()
    for encoder in (framed, batch):
        encoder.encode(TextDeltaChunk("open"))
    chunk = TextDeltaChunk('caf\u00e9 "q"\n\U0001f680')
    result = framed.encode_frames(chunk)
    assert isinstance(result, bytes)  # no list around a single frame
    assert result == batch.encode_many([chunk])


@ENCODERS
def test_fast_paths_raise_the_general_error(make: Any, end: bytes) -> None:
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


@ENCODERS
def test_a_failed_args_delta_changes_nothing(make: Any, end: bytes) -> None:
    framed, reference = make(), make()
    for encoder in (framed, reference):
        encoder.encode(ToolCallBeginChunk("t1", "tool"))
    with pytest.raises(ChunkEncodeError, match="args_text_delta"):
        framed.encode_frames(ToolCallDeltaChunk("t1", "\ud800"))
    # The call still has no args text: both close it with "{}".
    closing = reference.finish()
    assert b'"{}"' in closing
    assert framed.finish() == closing
