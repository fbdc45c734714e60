"""``DataStreamEncoder.encode_many`` writes runs of deltas in an inner loop.

A run of text (or reasoning) deltas without a parent is written with each
line's newline sent together with the next line's code, and no frame start is
recorded per line: a failure finds it from the last newline. These tests pin
that the bytes and the failure's ``partial`` are those of the general path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
)
from assistant_stream_core.errors import ChunkEncodeError
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.testing.strategies import chunk_sequences

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(run=chunk_sequences(), cut=st.integers(min_value=0, max_value=200))
def test_a_batch_cut_anywhere_writes_the_same_bytes(run: list[Chunk], cut: int) -> None:
    whole, parts, single = DataStreamEncoder(), DataStreamEncoder(), DataStreamEncoder()
    expected = whole.encode_many(run)
    assert parts.encode_many(run[:cut]) + parts.encode_many(iter(run[cut:])) == expected
    assert b"".join(single.encode(chunk) for chunk in run) == expected


def test_runs_of_each_kind_and_their_boundaries() -> None:
    run: list[Chunk] = [
        TextDeltaChunk("a"),
        TextDeltaChunk('"b"\n'),
        ReasoningDeltaChunk("r1"),
        ReasoningDeltaChunk("r2"),
        TextDeltaChunk("c", parent_id="p"),
        TextDeltaChunk("d"),
        DataChunk(1),
        TextDeltaChunk("é"),
    ]
    assert DataStreamEncoder().encode_many(run) == (
        b'0:"a"\n0:"\\"b\\"\\n"\ng:"r1"\ng:"r2"\n'
        b'aui-text-delta:{"textDelta":"c","parentId":"p"}\n0:"d"\n2:[1]\n0:"\xc3\xa9"\n'
    )


@pytest.mark.parametrize("kind", [TextDeltaChunk, ReasoningDeltaChunk])
@pytest.mark.parametrize("position", [0, 1, 3])
def test_a_failure_inside_a_run_keeps_the_whole_lines_before_it(kind: Any, position: int) -> None:
    before: list[Chunk] = [DataChunk("x")] + [kind(str(n)) for n in range(position)]
    bad = kind({"text": object()})
    encoder = DataStreamEncoder()
    expected = DataStreamEncoder().encode_many(before)
    with pytest.raises(ChunkEncodeError) as info:
        encoder.encode_many([*before, bad, kind("never")])
    assert info.value.partial == expected
    assert info.value.chunk_type == kind.type
    assert info.value.field == ("text_delta" if kind is TextDeltaChunk else "reasoning_delta")


def test_a_failure_after_a_run_cuts_back_to_the_failed_chunk() -> None:
    encoder = DataStreamEncoder()
    with pytest.raises(ChunkEncodeError) as info:
        encoder.encode_many([TextDeltaChunk("a"), TextDeltaChunk("b"), DataChunk(object())])
    assert info.value.partial == b'0:"a"\n0:"b"\n'
    assert info.value.chunk_type == "data"
    with pytest.raises(ChunkEncodeError, match="already used") as again:
        encoder.encode_many(
            [ToolCallBeginChunk("t", "x"), TextDeltaChunk("c"), ToolCallBeginChunk("t", "x")]
        )
    assert again.value.partial == b'b:{"toolCallId":"t","toolName":"x"}\n0:"c"\n'


def test_none_in_the_input_is_not_a_chunk_not_the_end() -> None:
    def items() -> Iterator[Any]:
        yield TextDeltaChunk("a")
        yield None
        yield TextDeltaChunk("b")

    with pytest.raises(ChunkEncodeError, match="not a chunk") as info:
        DataStreamEncoder().encode_many(items())
    assert info.value.partial == b'0:"a"\n'
