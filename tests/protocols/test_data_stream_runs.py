"""The Data Stream encoder's fast paths write what its general path writes.

``encode_many`` writes a run of text (or reasoning) deltas without a parent,
or of args deltas of one open tool call, in an inner loop, each line's end
sent together with the next line's head, and records no frame start: a
failure finds it from the last newline. ``encode_frames`` formats the kinds
a run writes most (tool call begin, result, state, steps) as one line without
a batch buffer, and falls back to the general path on any failure. These
tests pin that the bytes, the failure's ``partial`` and the encoder's state
after a failure are those of the general path.
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
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.errors import ChunkEncodeError
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.state import SetOperation
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


def one_line_cases() -> list[Chunk]:
    return [
        StepStartChunk("m\u00e9"),
        ToolCallBeginChunk('id "\u00e9\\', "get_\u00e9"),
        ToolCallBeginChunk(7, 8),  # type: ignore[arg-type]  # not validated: written as given
        ToolCallDeltaChunk('id "\u00e9\\', '{"a":'),
        ToolResultChunk('id "\u00e9\\', None),
        ToolResultChunk(7, {"x": [1.5, None]}, artifact={"a": 1}, is_error=True),  # type: ignore[arg-type]
        UpdateStateChunk([SetOperation(("a", "0"), {"b": float("nan")})]),
        StepFinishChunk("stop", 3, 4, is_continued=True),
    ]


def test_one_line_kinds_write_the_general_paths_bytes() -> None:
    run = one_line_cases()
    framed, batch = DataStreamEncoder(), DataStreamEncoder()
    items = [framed.encode_frames(chunk) for chunk in run]
    assert all(isinstance(item, bytes) for item in items)  # one line each, no list
    assert b"".join(items) == batch.encode_many(run)  # type: ignore[arg-type]
    assert items[1] == b'b:{"toolCallId":"id \\"\xc3\xa9\\\\","toolName":"get_\xc3\xa9"}\n'
    assert items[2] == b'b:{"toolCallId":7,"toolName":8}\n'
    assert items[0] == b'f:{"messageId":"m\xc3\xa9"}\n'
    assert framed.finish() == batch.finish() == b""


def test_begin_and_step_start_lines_are_the_wire_structs() -> None:
    # The formatted lines must equal msgspec's encoding of the wire objects
    # (key order included), in encode_many as in encode_frames.
    run: list[Chunk] = [
        StepStartChunk('m"1'),
        ToolCallBeginChunk("t1", "x"),
        ToolCallBeginChunk("t2", "y", parent_id="p"),
        ToolCallBeginChunk("t3", "z", parent_id=""),
    ]
    expected = (
        b'f:{"messageId":"m\\"1"}\n'
        b'b:{"toolCallId":"t1","toolName":"x"}\n'
        b'b:{"toolCallId":"t2","toolName":"y","parentId":"p"}\n'
        b'b:{"toolCallId":"t3","toolName":"z"}\n'
    )
    assert DataStreamEncoder().encode_many(run) == expected
    framed = DataStreamEncoder()
    assert b"".join(framed.encode(chunk) for chunk in run) == expected


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (ToolCallBeginChunk("t2", object()), "tool_name"),  # type: ignore[arg-type]
        (ToolResultChunk("t1", object()), "result"),
        (UpdateStateChunk([SetOperation(("a",), object())]), "operations"),
        (StepStartChunk(object()), "message_id"),  # type: ignore[arg-type]
    ],
)
def test_a_failed_one_line_kind_changes_nothing(bad: Chunk, field: str) -> None:
    framed, reference = DataStreamEncoder(), DataStreamEncoder()
    for encoder in (framed, reference):
        encoder.encode(ToolCallBeginChunk("t1", "tool"))
    for method in (framed.encode_frames, framed.encode):
        with pytest.raises(ChunkEncodeError, match=field) as info:
            method(bad)
        assert info.value.field == field
        assert info.value.partial == b""
    # The call is still open and "t2" still unused: both encoders go on alike.
    after: list[Chunk] = [
        ToolCallBeginChunk("t2", "x"),
        ToolCallDeltaChunk("t1", "{}"),
        StepFinishChunk("stop"),
    ]
    assert framed.encode_many(after) == reference.encode_many(after)


def test_a_step_finish_with_open_calls_closes_them_first() -> None:
    encoder = DataStreamEncoder()
    encoder.encode(ToolCallBeginChunk("t1", "tool"))
    assert encoder.encode_frames(StepFinishChunk("stop")) == [
        b'c:{"toolCallId":"t1","argsTextDelta":"{}","isFinal":true}\n',
        b'e:{"finishReason":"stop","usage":{"inputTokens":0,"outputTokens":0},'
        b'"isContinued":false}\n',
    ]
    # A begun id stays taken after its call settled.
    with pytest.raises(ChunkEncodeError, match="already used"):
        encoder.encode_frames(ToolCallBeginChunk("t1", "tool"))


def test_a_failed_args_delta_in_a_batch_keeps_the_lines_before_and_the_call_open() -> None:
    encoder = DataStreamEncoder()
    with pytest.raises(ChunkEncodeError, match="args_text_delta") as info:
        encoder.encode_many(
            [
                ToolCallBeginChunk("t1", "x"),
                ToolCallDeltaChunk("t1", '{"a":'),
                TextDeltaChunk("b"),
                ToolCallDeltaChunk("t1", object()),  # type: ignore[arg-type]
            ]
        )
    assert info.value.partial == (
        b'b:{"toolCallId":"t1","toolName":"x"}\n'
        b'c:{"toolCallId":"t1","argsTextDelta":"{\\"a\\":"}\n0:"b"\n'
    )
    # Args text after the call settled is dropped, as upstream does.
    assert encoder.encode_many(
        [ToolCallDeltaChunk("t1", "1}"), ToolResultChunk("t1", 1), ToolCallDeltaChunk("t1", "x")]
    ) == (b'c:{"toolCallId":"t1","argsTextDelta":"1}"}\na:{"toolCallId":"t1","result":1}\n')
    with pytest.raises(ChunkEncodeError, match="unknown tool_call_id"):
        encoder.encode_many([ToolCallDeltaChunk("t9", "x")])


@pytest.mark.parametrize(
    ("sent", "final_text"),
    [
        (["", '{"a":', "1"], b'""'),  # args text was sent: the final frame adds nothing
        (["", ""], b'"{}"'),  # only empty deltas: the final frame sends an empty object
    ],
)
def test_a_failure_inside_an_args_run_keeps_its_lines_and_the_calls_state(
    sent: list[str], final_text: bytes
) -> None:
    encoder = DataStreamEncoder()
    deltas: list[Chunk] = [ToolCallDeltaChunk("t1", text) for text in sent]
    with pytest.raises(ChunkEncodeError, match="args_text_delta") as info:
        encoder.encode_many(
            [
                ToolCallBeginChunk("t1", "x"),
                *deltas,
                ToolCallDeltaChunk("t1", object()),  # type: ignore[arg-type]
                ToolCallDeltaChunk("t1", "never"),
            ]
        )
    reference = DataStreamEncoder()
    assert info.value.partial == reference.encode_many([ToolCallBeginChunk("t1", "x"), *deltas])
    assert (
        encoder.finish()
        == reference.finish()
        == (b'c:{"toolCallId":"t1","argsTextDelta":%b,"isFinal":true}\n' % final_text)
    )


def test_args_runs_of_interleaved_calls_write_the_general_paths_bytes() -> None:
    run: list[Chunk] = [
        ToolCallBeginChunk("t1", "x"),
        ToolCallBeginChunk("t2", "y"),
        ToolCallDeltaChunk("t1", '{"a":'),
        ToolCallDeltaChunk("t1", "1"),
        ToolCallDeltaChunk("t2", "{}"),
        ToolCallDeltaChunk("t1", "}"),
        ToolResultChunk("t2", None),
        ToolCallDeltaChunk("t2", "dropped: the call settled"),
        ToolCallDeltaChunk("t1", ""),
    ]
    batch, single = DataStreamEncoder(), DataStreamEncoder()
    assert batch.encode_many(run) == b"".join(single.encode(chunk) for chunk in run)
    assert batch.finish() == single.finish()


def test_a_failed_step_finish_leaves_the_open_calls_open() -> None:
    # All or nothing: the final args lines a step finish writes before its own
    # go with it, and the call is closed by what comes next (here, finish()).
    encoder = DataStreamEncoder()
    with pytest.raises(ChunkEncodeError, match="finish_reason") as info:
        encoder.encode_many(
            [ToolCallBeginChunk("t1", "x"), StepFinishChunk(object())]  # type: ignore[arg-type]
        )
    assert info.value.partial == b'b:{"toolCallId":"t1","toolName":"x"}\n'
    assert encoder.finish() == b'c:{"toolCallId":"t1","argsTextDelta":"{}","isFinal":true}\n'
