"""Assistant Transport: golden frames per chunk kind, part bookkeeping, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

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
    UpdateStateChunk,
)
from assistant_stream_core.errors import ChunkEncodeError, ProtocolError
from assistant_stream_core.protocols.assistant_transport import (
    AssistantTransportDecoder,
    AssistantTransportEncoder,
)
from assistant_stream_core.state import AppendTextOperation, SetOperation
from assistant_stream_core.testing.normalize import assistant_transport as normalize
from tests.protocols._util import decode_all, sse_payloads

DONE = b"data: [DONE]\n\n"


def text_start(parent: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "text"}
    if parent:
        part["parentId"] = parent
    return {"type": "part-start", "part": part, "path": []}


def delta(text: str, index: int) -> dict[str, Any]:
    return {"type": "text-delta", "textDelta": text, "path": [index]}


def finish(index: int) -> dict[str, Any]:
    return {"type": "part-finish", "path": [index]}


def settle(index: int) -> list[dict[str, Any]]:
    return [{"type": "tool-call-args-text-finish", "path": [index]}, finish(index)]


def tool_start(tool_call_id: str, name: str) -> dict[str, Any]:
    part = {"type": "tool-call", "toolCallId": tool_call_id, "toolName": name}
    return {"type": "part-start", "part": part, "path": []}


def test_worked_example_of_the_protocol_notes() -> None:
    # the protocol pages in docs/protocols, in call order (decision 4), as parsed JSON (decision 1).
    chunks: list[Chunk] = [
        TextDeltaChunk("Checking the weather"),
        ToolCallBeginChunk("call_1", "get_weather"),
        ToolCallDeltaChunk("call_1", '{"city": '),
        ToolCallDeltaChunk("call_1", '"Paris"}'),
        ToolResultChunk("call_1", {"temp_c": 21}),
        ToolCallArgsTextFinishChunk("call_1"),
        UpdateStateChunk(
            [
                AppendTextOperation(("log",), " Paris"),
                SetOperation(("status",), "done"),
                SetOperation(("items", "0"), {"n": 1}),
            ]
        ),
        TextDeltaChunk("It is 21 °C."),
    ]
    encoder = AssistantTransportEncoder()
    body = encoder.encode_many(chunks) + encoder.finish()
    assert sse_payloads(body) == [
        text_start(),
        delta("Checking the weather", 0),
        finish(0),
        tool_start("call_1", "get_weather"),
        delta('{"city": ', 1),
        delta('"Paris"}', 1),
        {"type": "result", "result": {"temp_c": 21}, "isError": False, "path": [1]},
        *settle(1),
        {
            "type": "update-state",
            "operations": [
                {"type": "append-text", "path": ["log"], "value": " Paris"},
                {"type": "set", "path": ["status"], "value": "done"},
                {"type": "set", "path": ["items", "0"], "value": {"n": 1}},
            ],
        },
        text_start(),
        delta("It is 21 °C.", 2),
        finish(2),
        "[DONE]",
    ]


GOLDEN: list[tuple[str, list[Chunk], list[Any]]] = [
    (
        "deltas of one kind and parent share a part",
        [TextDeltaChunk("a"), TextDeltaChunk("b", "")],
        [text_start(), delta("a", 0), delta("b", 0)],
    ),
    (
        "a new parent opens a new part",
        [TextDeltaChunk("a"), TextDeltaChunk("b", "p1")],
        [text_start(), delta("a", 0), finish(0), text_start("p1"), delta("b", 1)],
    ),
    (
        "reasoning after text",
        [TextDeltaChunk("a"), ReasoningDeltaChunk("r")],
        [
            text_start(),
            delta("a", 0),
            finish(0),
            {"type": "part-start", "part": {"type": "reasoning"}, "path": []},
            delta("r", 1),
        ],
    ),
    ("reasoning start without summary writes nothing", [ReasoningPartStartChunk()], []),
    (
        "reasoning start with summary opens the part the deltas extend",
        [ReasoningPartStartChunk("Plan", "p"), ReasoningDeltaChunk("r", "p")],
        [
            {
                "type": "part-start",
                "part": {"type": "reasoning", "unstable_summary": "Plan", "parentId": "p"},
                "path": [],
            },
            delta("r", 0),
        ],
    ),
    (
        "tool call with no args settles with {} at its result; artifact kept",
        [ToolCallBeginChunk("t", "f"), ToolResultChunk("t", "ok", {"a": 1}, True)],
        [
            tool_start("t", "f"),
            {"type": "result", "result": "ok", "isError": True, "artifact": {"a": 1}, "path": [0]},
            delta("{}", 0),
            *settle(0),
        ],
    ),
    (
        "args finish carries trailing text; a later result is written alone",
        [
            ToolCallBeginChunk("t", "f"),
            ToolCallArgsTextFinishChunk("t", "{}"),
            ToolCallDeltaChunk("t", "dropped"),
            ToolResultChunk("t", None),
        ],
        [
            tool_start("t", "f"),
            delta("{}", 0),
            *settle(0),
            {"type": "result", "result": None, "isError": False, "path": [0]},
        ],
    ),
    (
        "parallel tool calls keep their paths; text is not closed by args",
        [
            ToolCallBeginChunk("a", "f"),
            ToolCallBeginChunk("b", "g"),
            ToolCallDeltaChunk("a", "{}"),
            ToolCallDeltaChunk("b", "[]"),
        ],
        [tool_start("a", "f"), tool_start("b", "g"), delta("{}", 0), delta("[]", 1)],
    ),
    (
        "source and file are whole parts",
        [
            TextDeltaChunk("t"),
            SourceChunk("s", "https://x.test", title="X"),
            FileChunk("aGk=", "image/png", "p"),
        ],
        [
            text_start(),
            delta("t", 0),
            finish(0),
            {
                "type": "part-start",
                "part": {
                    "type": "source",
                    "sourceType": "url",
                    "id": "s",
                    "url": "https://x.test",
                    "title": "X",
                },
                "path": [],
            },
            finish(1),
            {
                "type": "part-start",
                "part": {"type": "file", "data": "aGk=", "mimeType": "image/png", "parentId": "p"},
                "path": [],
            },
            finish(2),
        ],
    ),
    (
        "message-level frames carry no path and keep the text part open",
        [
            TextDeltaChunk("t"),
            DataChunk({"k": 1}),
            AnnotationsChunk(["a"]),
            StepStartChunk("m"),
            StepFinishChunk("stop", 1, 2),
            MessageFinishChunk("length", 3, 4),
            ErrorChunk("oops"),
            TextDeltaChunk("u"),
        ],
        [
            text_start(),
            delta("t", 0),
            {"type": "data", "data": [{"k": 1}]},
            {"type": "annotations", "annotations": ["a"]},
            {"type": "step-start", "messageId": "m"},
            {
                "type": "step-finish",
                "finishReason": "stop",
                "usage": {"inputTokens": 1, "outputTokens": 2},
                "isContinued": False,
            },
            {
                "type": "message-finish",
                "finishReason": "length",
                "usage": {"inputTokens": 3, "outputTokens": 4},
            },
            {"type": "error", "error": "oops"},
            delta("u", 0),
        ],
    ),
]


@pytest.mark.parametrize(
    ("chunks", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN]
)
def test_golden_frames(chunks: list[Chunk], expected: list[Any]) -> None:
    encoder = AssistantTransportEncoder()
    body = encoder.encode_many(chunks)
    assert sse_payloads(body) == expected
    single = AssistantTransportEncoder()
    assert b"".join(single.encode(c) for c in chunks) == body


def test_finish_closes_the_part_and_settles_calls() -> None:
    encoder = AssistantTransportEncoder()
    encoder.encode_many([ToolCallBeginChunk("a", "f"), TextDeltaChunk("x")])
    encoder.encode(ToolCallDeltaChunk("a", "{"))
    assert sse_payloads(encoder.finish()) == [finish(1), *settle(0), "[DONE]"]


def test_headers_and_keepalive() -> None:
    encoder = AssistantTransportEncoder()
    assert encoder.headers["Content-Type"] == "text/event-stream"
    assert encoder.headers["Cache-Control"] == "no-cache, no-transform"
    assert "Connection" not in encoder.headers
    assert encoder.keepalive == b": heartbeat\n\n"


class TestEncodeErrors:
    def test_bad_value_keeps_state_and_whole_frames(self) -> None:
        encoder = AssistantTransportEncoder()
        with pytest.raises(ChunkEncodeError, match="annotations chunk: field 'annotations'") as e:
            encoder.encode_many(
                [TextDeltaChunk("a"), ReasoningDeltaChunk("r"), AnnotationsChunk([object()])]
            )
        assert sse_payloads(e.value.partial)[-1] == delta("r", 1)
        # The failed chunk changed nothing: the reasoning part is still open.
        assert sse_payloads(encoder.encode(ReasoningDeltaChunk("s"))) == [delta("s", 1)]

    def test_lone_surrogate_on_the_hot_path(self) -> None:
        encoder = AssistantTransportEncoder()
        with pytest.raises(ChunkEncodeError, match="text-delta chunk: field 'text_delta'") as e:
            encoder.encode_many([TextDeltaChunk("a"), TextDeltaChunk("\udc00")])
        assert sse_payloads(e.value.partial) == [text_start(), delta("a", 0)]
        assert sse_payloads(encoder.encode(TextDeltaChunk("b"))) == [delta("b", 0)]

    def test_unknown_and_duplicate_ids(self) -> None:
        encoder = AssistantTransportEncoder()
        with pytest.raises(ChunkEncodeError, match="unknown tool_call_id 'x'"):
            encoder.encode(ToolResultChunk("x", 1))
        encoder.encode(ToolCallBeginChunk("x", "f"))
        with pytest.raises(ChunkEncodeError, match="already used"):
            encoder.encode(ToolCallBeginChunk("x", "f"))


def test_round_trip_any_split() -> None:
    chunks = [
        chunk
        for _, group, _ in GOLDEN
        for chunk in group
        if not isinstance(
            chunk,
            ToolCallBeginChunk | ToolCallDeltaChunk | ToolResultChunk | ToolCallArgsTextFinishChunk,
        )
    ]
    chunks += [
        ToolCallBeginChunk("a", "f", ""),
        ToolCallDeltaChunk("a", '{"x":'),
        ToolCallArgsTextFinishChunk("a", "1}"),
        ToolCallBeginChunk("b", "g"),
        ToolResultChunk("b", [1], is_error=True),
        ToolCallBeginChunk("c", "h"),
        TextDeltaChunk("😀 after"),
    ]
    encoder = AssistantTransportEncoder()
    body = encoder.encode_many(chunks) + encoder.finish()
    expected = normalize(chunks)
    for step in (1, 2, 5, len(body)):
        assert decode_all(AssistantTransportDecoder(), body, step) == expected


class TestDecoder:
    def test_ignores_comments_and_bytes_after_done(self) -> None:
        body = b": hi\n\ndata: " + json.dumps(text_start()).encode() + b"\r\n\r\n"
        body += b"data: " + json.dumps(delta("x", 0)).encode() + b"\n\n" + DONE + b"garbage"
        assert decode_all(AssistantTransportDecoder(), body, 1) == [TextDeltaChunk("x")]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"event: other\ndata: {}\n\n", "unknown SSE event type 'other'"),
            (b"data: {nope\n\n", "frame is not valid JSON"),
            (b"data: [1]\n\n", "frame is not a JSON object"),
            (b'data: {"type":"mystery"}\n\n', "unknown frame type 'mystery'"),
            (b'data: {"type":[1]}\n\n', "unknown frame type \\[1\\]"),
            (b'data: {"type":"text-delta","textDelta":1,"path":[0]}\n\n', "invalid text-delta"),
            (b'data: {"type":"text-delta","textDelta":"x"}\n\n', "invalid text-delta"),
            (b'data: {"type":"text-delta","textDelta":"x","path":[3]}\n\n', "names no part"),
            (b'data: {"type":"result","result":1,"path":[]}\n\n', "names no part"),
            (b'data: {"type":"update-state","operations":[{"type":"x"}]}\n\n', "operation"),
            (b'data: {"type":"error","error":"x"}\n\n', "without the data: \\[DONE\\] marker"),
            (b"data: [DONE]\n", "without the data: \\[DONE\\] marker"),
        ],
    )
    def test_malformed_input(self, body: bytes, message: str) -> None:
        with pytest.raises(ProtocolError, match=message):
            decode_all(AssistantTransportDecoder(), body, 3)

    def test_an_error_names_the_offset_of_its_event(self) -> None:
        good = b"data: " + json.dumps(text_start()).encode() + b"\n\n"
        with pytest.raises(ProtocolError, match="names no part") as info:
            AssistantTransportDecoder().feed(good + b'data: {"type":"part-finish","path":[4]}\n\n')
        assert info.value.offset == len(good)

    def test_event_limit(self) -> None:
        decoder = AssistantTransportDecoder(max_event_bytes=64)
        with pytest.raises(ProtocolError, match="longer than the limit of 64 bytes"):
            decoder.feed(b"data: " + b"x" * 100)
