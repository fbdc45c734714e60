"""MessageAccumulator: part boundaries, tool calls, metadata, status, problems."""

from __future__ import annotations

import msgspec
import pytest

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SetOperation,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.errors import StateError
from assistant_stream_core.limits import MAX_JSON_DEPTH
from assistant_stream_core.message import (
    FilePart,
    MessageAccumulator,
    MessageAccumulatorError,
    ReasoningPart,
    SourcePart,
    TextPart,
    ToolCallPart,
    accumulate,
    parse_partial_json,
)
from assistant_stream_core.state import AppendTextOperation


def test_text_deltas_extend_one_part_until_kind_or_parent_changes() -> None:
    message = accumulate(
        [
            TextDeltaChunk("Hel"),
            TextDeltaChunk("lo", parent_id=""),  # empty parent is no parent
            ReasoningDeltaChunk("think"),
            ReasoningDeltaChunk("ing"),
            TextDeltaChunk("a", parent_id="p1"),
            TextDeltaChunk("b", parent_id="p1"),
            TextDeltaChunk("c"),
        ]
    )
    assert [(type(p).__name__, p.text, p.parent_id) for p in message.parts] == [  # type: ignore[union-attr]
        ("TextPart", "Hello", None),
        ("ReasoningPart", "thinking", None),
        ("TextPart", "ab", "p1"),
        ("TextPart", "c", None),
    ]
    assert all(p.status.type == "complete" for p in message.parts)  # type: ignore[union-attr]


def test_reasoning_part_start_with_summary_opens_a_part_without_does_nothing() -> None:
    message = accumulate(
        [
            ReasoningDeltaChunk("a"),
            ReasoningPartStartChunk(),  # no summary: no new part
            ReasoningDeltaChunk("b"),
            ReasoningPartStartChunk("Plan", parent_id="p"),
            ReasoningDeltaChunk("c", parent_id="p"),
        ]
    )
    assert message.parts == (
        ReasoningPart(text="ab", status=message.parts[0].status),  # type: ignore[union-attr]
        ReasoningPart(
            text="c",
            unstable_summary="Plan",
            parent_id="p",
            status=message.parts[1].status,  # type: ignore[union-attr]
        ),
    )


def test_non_part_chunks_do_not_close_the_open_text_part() -> None:
    message = accumulate(
        [
            TextDeltaChunk("a"),
            DataChunk({"k": 1}),
            AnnotationsChunk([1, 2]),
            StepStartChunk("m1"),
            UpdateStateChunk([SetOperation(path=("x",), value=1)]),
            TextDeltaChunk("b"),
        ]
    )
    assert len(message.parts) == 1
    assert message.parts[0].text == "ab"  # type: ignore[union-attr]


def test_tool_call_lifecycle_with_streamed_args_and_result() -> None:
    acc = MessageAccumulator()
    acc.add_many(
        [
            TextDeltaChunk("Checking"),
            ToolCallBeginChunk("t1", "weather", parent_id="p"),
            ToolCallDeltaChunk("t1", '{"city": "Pa'),
        ]
    )
    mid = acc.message
    tool = mid.parts[1]
    assert isinstance(tool, ToolCallPart)
    assert tool.args == {"city": "Pa"}  # partial JSON, completed
    assert tool.state == "partial-call"
    assert tool.status.is_args_complete is False
    assert mid.parts[0].status.type == "complete"  # type: ignore[union-attr]
    assert mid.status.type == "running"

    acc.add(ToolCallDeltaChunk("t1", 'ris"}'))
    acc.add(ToolResultChunk("t1", {"temp": 21}, artifact={"raw": 1}))
    acc.add(ToolCallArgsTextFinishChunk("t1"))  # upstream's order: after the result
    acc.add(TextDeltaChunk("Done"))
    message = acc.finish()
    tool = message.parts[1]
    assert isinstance(tool, ToolCallPart)
    assert (tool.args_text, tool.args, tool.state) == (
        '{"city": "Paris"}',
        {"city": "Paris"},
        "result",
    )
    assert (tool.result, tool.artifact, tool.is_error) == ({"temp": 21}, {"raw": 1}, False)
    assert tool.parent_id == "p"
    assert [type(p) for p in message.parts] == [TextPart, ToolCallPart, TextPart]
    assert message.status.type == "complete"
    assert message.status.reason == "unknown"
    assert acc.problems == ()
    # The snapshot taken earlier did not change.
    assert mid.parts[1].args_text == '{"city": "Pa'  # type: ignore[union-attr]


def test_tool_call_without_args_gets_empty_object_and_requires_action() -> None:
    message = accumulate([ToolCallBeginChunk("t1", "noop")])
    tool = message.parts[0]
    assert isinstance(tool, ToolCallPart)
    assert (tool.args_text, tool.args, tool.state) == ("{}", {}, "call")
    assert tool.result is msgspec.UNSET
    assert not tool.has_result
    assert message.status.type == "requires-action"
    assert message.status.reason == "tool-calls"


def test_args_finish_with_trailing_text_then_late_result() -> None:
    acc = MessageAccumulator()
    acc.add_many(
        [
            ToolCallBeginChunk("t1", "f"),
            ToolCallDeltaChunk("t1", '{"a": '),
            ToolCallArgsTextFinishChunk("t1", "1}"),
        ]
    )
    settled = acc.message.parts[0]
    assert isinstance(settled, ToolCallPart)
    assert (settled.args, settled.state, settled.status.type) == ({"a": 1}, "call", "complete")
    acc.add(ToolResultChunk("t1", None, is_error=True))
    tool = acc.finish().parts[0]
    assert isinstance(tool, ToolCallPart)
    assert tool.state == "result"
    assert tool.result is None
    assert tool.has_result
    assert tool.is_error is True
    assert tool.status.reason == "stop"  # a result after settling: complete/stop, as TS


def test_parallel_tool_calls_route_by_id() -> None:
    message = accumulate(
        [
            ToolCallBeginChunk("a", "f"),
            ToolCallBeginChunk("b", "g"),
            ToolCallDeltaChunk("b", '{"y":2}'),
            ToolCallDeltaChunk("a", '{"x":1}'),
            ToolResultChunk("b", "B"),
            ToolResultChunk("a", "A"),
        ]
    )
    assert [(p.tool_call_id, p.args, p.result) for p in message.parts] == [  # type: ignore[union-attr]
        ("a", {"x": 1}, "A"),
        ("b", {"y": 2}, "B"),
    ]


def test_inconsistent_tool_chunks_are_recorded_in_lenient_mode() -> None:
    acc = MessageAccumulator()
    acc.add_many(
        [
            ToolCallDeltaChunk("nope", "{}"),
            ToolCallBeginChunk("t1", "f"),
            ToolCallBeginChunk("t1", "f"),
            ToolCallArgsTextFinishChunk("t1"),
            ToolCallDeltaChunk("t1", "x"),
            ToolResultChunk("ghost", 1),
        ]
    )
    assert [(p.index, p.reason) for p in acc.problems] == [
        (0, "unknown-tool-call-id"),
        (2, "duplicate-tool-call-id"),
        (4, "settled-tool-call-id"),
        (5, "unknown-tool-call-id"),
    ]
    assert len(acc.finish().parts) == 1


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        ([ToolCallDeltaChunk("x", "{}")], "unknown-tool-call-id"),
        ([ToolCallBeginChunk("x", "f"), ToolCallBeginChunk("x", "f")], "duplicate-tool-call-id"),
        (
            [
                ToolCallBeginChunk("x", "f"),
                ToolCallArgsTextFinishChunk("x"),
                ToolCallDeltaChunk("x", "a"),
            ],
            "settled-tool-call-id",
        ),
    ],
)
def test_strict_mode_raises_and_leaves_message_unchanged(chunks: list[object], reason: str) -> None:
    acc = MessageAccumulator(strict=True)
    acc.add_many(chunks[:-1])  # type: ignore[arg-type]
    before = acc.message
    with pytest.raises(MessageAccumulatorError) as caught:
        acc.add(chunks[-1])  # type: ignore[arg-type]
    assert caught.value.reason == reason
    assert acc.message == before


def test_state_operations_apply_in_order_and_bad_ones_are_skipped() -> None:
    acc = MessageAccumulator(state={"log": "a"})
    acc.add(
        UpdateStateChunk(
            [
                AppendTextOperation(path=("log",), value="b"),
                AppendTextOperation(path=("missing",), value="x"),  # client rejects
                {"type": "set", "path": ["items", 0], "value": {"n": 1}},  # type: ignore[list-item]
            ]
        )
    )
    assert acc.message.metadata.unstable_state == {"log": "ab", "items": {"0": {"n": 1}}}
    assert [p.reason for p in acc.problems] == ["state"]
    strict = MessageAccumulator(strict=True)
    with pytest.raises(StateError):
        strict.add(UpdateStateChunk([AppendTextOperation(path=("x",), value="y")]))


def test_metadata_steps_data_annotations() -> None:
    message = accumulate(
        [
            StepStartChunk("m1"),
            DataChunk([1, 2]),
            DataChunk({"k": "v"}),
            AnnotationsChunk([{"a": 1}, "b"]),
            StepFinishChunk("tool-calls", input_tokens=3, output_tokens=4, is_continued=True),
            StepFinishChunk("stop"),
        ]
    )
    meta = message.metadata
    assert meta.unstable_data == ([1, 2], {"k": "v"})  # one value per data chunk
    assert meta.unstable_annotations == ({"a": 1}, "b")  # spread
    steps = message.to_client_json()["metadata"]["steps"]
    assert steps == [
        {
            "state": "finished",
            "messageId": "m1",
            "finishReason": "tool-calls",
            "usage": {"inputTokens": 3, "outputTokens": 4},
            "isContinued": True,
        },
        {
            "state": "finished",
            "finishReason": "stop",
            "usage": {"inputTokens": 0, "outputTokens": 0},
            "isContinued": False,
        },
    ]
    assert message.status.type == "complete"  # steps never change status


def test_error_status_wins_over_message_finish() -> None:
    message = accumulate([ErrorChunk("boom"), ErrorChunk("again"), MessageFinishChunk("stop")])
    assert message.errors == ("boom", "again")
    assert msgspec.to_builtins(message.status) == {
        "type": "incomplete",
        "reason": "error",
        "error": {"message": "again", "code": "unknown"},
    }


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("stop", {"type": "complete", "reason": "stop"}),
        ("tool-calls", {"type": "requires-action", "reason": "tool-calls"}),
        ("length", {"type": "incomplete", "reason": "length"}),
    ],
)
def test_message_finish_sets_status(reason: str, status: dict[str, str]) -> None:
    assert msgspec.to_builtins(accumulate([MessageFinishChunk(reason)]).status) == status


def test_sources_and_files_are_parts_that_close_text() -> None:
    message = accumulate(
        [
            TextDeltaChunk("a"),
            SourceChunk(id="s1", url="https://x", title="X", parent_id="p"),
            TextDeltaChunk("b"),
            FileChunk(data="aGk=", mime_type="text/plain"),
        ]
    )
    assert [type(p) for p in message.parts] == [TextPart, SourcePart, TextPart, FilePart]


def test_to_client_json_matches_the_ts_shape() -> None:
    message = accumulate(
        [
            ReasoningPartStartChunk("Sum"),
            TextDeltaChunk("hi", parent_id="p1"),
            ToolCallBeginChunk("t1", "f"),
            ToolResultChunk("t1", [1]),
            SourceChunk(id="s", url="u", title=""),
            DataChunk(1),
        ]
    )
    client = message.to_client_json()
    assert client == {
        "role": "assistant",
        "status": {"type": "complete", "reason": "unknown"},
        "parts": client["content"],
        "content": [
            {
                "type": "reasoning",
                "text": "",
                "status": {"type": "complete", "reason": "unknown"},
                "unstable_summary": "Sum",
            },
            {
                "type": "text",
                "text": "hi",
                "status": {"type": "complete", "reason": "unknown"},
                "parentId": "p1",
            },
            {
                "type": "tool-call",
                "toolCallId": "t1",
                "toolName": "f",
                "argsText": "{}",
                "args": {},
                "state": "result",
                "status": {"type": "complete", "reason": "unknown"},
                "result": [1],
                "isError": False,
            },
            {
                "type": "source",
                "sourceType": "url",
                "id": "s",
                "url": "u",
                "status": {"type": "complete", "reason": "unknown"},
            },
        ],
        "metadata": {
            "unstable_state": None,
            "unstable_data": [1],
            "unstable_annotations": [],
            "steps": [],
            "custom": {},
        },
    }


def test_finish_is_idempotent_and_add_after_finish_raises() -> None:
    acc = MessageAccumulator()
    acc.add(TextDeltaChunk("x"))
    first = acc.finish()
    assert acc.finish() is first
    assert acc.message is first
    assert acc.finished
    with pytest.raises(MessageAccumulatorError):
        acc.add(TextDeltaChunk("y"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ('{"a": "x', {"a": "x"}),
        ('{"a": "x\\', {"a": "x"}),
        ('{"a": "\\u00', {"a": ""}),
        ('{"a": tr', {"a": True}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": 1.5e', {"a": 1.5}),
        ('{"a": -', {}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": {"b": nu', {"a": {"b": None}}),
        ("[1,", [1]),
        ("42", None),
        ("{]", None),
        ("hello", None),
    ],
)
def test_parse_partial_json(text: str, expected: object) -> None:
    assert parse_partial_json(text) == expected


def test_args_keep_last_parsable_value() -> None:
    message = accumulate(
        [
            ToolCallBeginChunk("t", "f"),
            ToolCallDeltaChunk("t", '{"a": 1'),
            ToolCallDeltaChunk("t", "x"),  # no longer parses: args stay {"a": 1}
        ]
    )
    assert message.parts[0].args == {"a": 1}  # type: ignore[union-attr]


def test_result_then_settle_frames_as_decoded_from_the_transport() -> None:
    # The transport writes result, "{}" args, args finish; a run says just result.
    wire = accumulate(
        [
            ToolCallBeginChunk("t", "f"),
            ToolResultChunk("t", 1),
            ToolCallDeltaChunk("t", "{}"),
            ToolCallArgsTextFinishChunk("t"),
        ],
        strict=True,
    )
    run = accumulate([ToolCallBeginChunk("t", "f"), ToolResultChunk("t", 1)], strict=True)
    assert wire == run
    tool = run.parts[0]
    assert isinstance(tool, ToolCallPart)
    assert (tool.args_text, tool.state, tool.status.reason) == ("{}", "result", "unknown")


def test_non_ascii_digit_list_index_is_a_state_problem() -> None:
    acc = MessageAccumulator(state={"items": []})
    acc.add(UpdateStateChunk([SetOperation(path=("items", "²"), value=1)]))
    assert [p.reason for p in acc.problems] == ["state"]


def test_streamed_args_parse_like_each_prefix_parsed_alone() -> None:
    # The accumulator completes args incrementally; every prefix must read as
    # if parsed from scratch.
    doc = (
        '{"a": [1, -2.5e-3, "x\\\\y\\"z\\u00e9", null, true, false, {"k": {}}], '
        '"b\\"": "😀", "c": []}'
    )
    acc = MessageAccumulator()
    acc.add(ToolCallBeginChunk("t", "f"))
    last: object = {}
    for end in range(1, len(doc) + 1):
        acc.add(ToolCallDeltaChunk("t", doc[end - 1]))
        parsed = parse_partial_json(doc[:end])
        last = last if parsed is None else parsed
        assert acc.message.parts[0].args == last, doc[:end]  # type: ignore[union-attr]
    assert last == msgspec.json.decode(doc)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 50_000])
@pytest.mark.parametrize("whole", [True, False], ids=["whole", "cut"])
def test_parse_partial_json_gives_none_past_the_depth_limit(depth: int, whole: bool) -> None:
    # Counted: the parser's own guard (the interpreter's recursion limit)
    # raised RecursionError on 3.11 and let 5,000 levels through on 3.13.
    text = "[" * depth + ("]" * depth if whole else "")
    assert parse_partial_json(text) is None
    assert parse_partial_json("[" * MAX_JSON_DEPTH + ("]" * MAX_JSON_DEPTH if whole else ""))
    message = accumulate([ToolCallBeginChunk("c1", "f"), ToolCallDeltaChunk("c1", text)])
    (part,) = message.parts
    assert isinstance(part, ToolCallPart)
    assert part.args_text == text
