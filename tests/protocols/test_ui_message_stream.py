"""UI Message Stream v1: golden frames, part bookkeeping, bad input, round trips."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
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
from assistant_stream_core.limits import MAX_JSON_DEPTH
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.ui_message_stream import (
    UIMessageStreamDecoder,
    UIMessageStreamEncoder,
)
from assistant_stream_core.state import AppendTextOperation, SetOperation
from assistant_stream_core.testing.normalize import ui_message_stream as normalize
from tests.protocols._util import sse_payloads
from tests.protocols.test_openai_chat import chunk_sequences, split_feed


def frames(data: bytes) -> list[Any]:
    """A body's frames' JSON, checking the framing; it must end with ``[DONE]`` (left out)."""
    return sse_payloads(data, done=True)[:-1]


def encode(chunks: list[Chunk], **options: Any) -> list[Any]:
    encoder = UIMessageStreamEncoder(message_id="m1", **options)
    return frames(encoder.encode_many(chunks) + encoder.finish())


START = {"type": "start", "messageId": "m1"}
STOP = {"type": "finish", "finishReason": "stop"}

GOLDEN: list[tuple[str, list[Chunk], list[Any]]] = [
    ("nothing", [], [START, STOP]),
    (
        "text parts split by parent",
        [
            TextDeltaChunk("a"),
            TextDeltaChunk(""),
            TextDeltaChunk("b", ""),
            TextDeltaChunk("c", "p"),
        ],
        [
            START,
            {"type": "text-start", "id": "text-1"},
            {"type": "text-delta", "id": "text-1", "delta": "a"},
            {"type": "text-delta", "id": "text-1", "delta": "b"},
            {"type": "text-end", "id": "text-1"},
            {"type": "text-start", "id": "text-2"},
            {"type": "text-delta", "id": "text-2", "delta": "c"},
            {"type": "text-end", "id": "text-2"},
            STOP,
        ],
    ),
    (
        "reasoning then text",
        [
            ReasoningPartStartChunk("summary"),
            ReasoningDeltaChunk("r"),
            ReasoningPartStartChunk(),
            TextDeltaChunk("t"),
        ],
        [
            START,
            {"type": "reasoning-start", "id": "reasoning-1"},
            {"type": "reasoning-delta", "id": "reasoning-1", "delta": "r"},
            {"type": "reasoning-end", "id": "reasoning-1"},
            {"type": "reasoning-start", "id": "reasoning-2"},
            {"type": "reasoning-end", "id": "reasoning-2"},
            {"type": "text-start", "id": "text-3"},
            {"type": "text-delta", "id": "text-3", "delta": "t"},
            {"type": "text-end", "id": "text-3"},
            STOP,
        ],
    ),
    (
        "tool call with result",
        [
            TextDeltaChunk("x"),
            ToolCallBeginChunk("c1", "get"),
            ToolCallDeltaChunk("c1", '{"a":'),
            ToolCallArgsTextFinishChunk("c1", "1}"),
            ToolCallDeltaChunk("c1", "late"),
            ToolResultChunk("c1", {"ok": True}, artifact="dropped"),
        ],
        [
            START,
            {"type": "text-start", "id": "text-1"},
            {"type": "text-delta", "id": "text-1", "delta": "x"},
            {"type": "text-end", "id": "text-1"},
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "get"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"a":'},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "1}"},
            {
                "type": "tool-input-available",
                "toolCallId": "c1",
                "toolName": "get",
                "input": {"a": 1},
            },
            {"type": "tool-output-available", "toolCallId": "c1", "output": {"ok": True}},
            STOP,
        ],
    ),
    (
        "unanswered, argless tool call settles at the end",
        [ToolCallBeginChunk("c1", "f")],
        [
            START,
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "f"},
            {"type": "tool-input-available", "toolCallId": "c1", "toolName": "f", "input": {}},
            {"type": "finish", "finishReason": "tool-calls"},
        ],
    ),
    (
        "invalid args and an error result",
        [
            ToolCallBeginChunk("c1", "f"),
            ToolCallDeltaChunk("c1", "{oops"),
            ToolResultChunk("c1", [1], is_error=True),
        ],
        [
            START,
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "f"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{oops"},
            {
                "type": "tool-input-error",
                "toolCallId": "c1",
                "toolName": "f",
                "errorText": "tool call arguments are not valid JSON: JSON is malformed: "
                "object keys must be strings (byte 1)",
                "input": "{oops",
            },
            {"type": "tool-output-error", "toolCallId": "c1", "errorText": "[1]"},
            STOP,
        ],
    ),
    (
        "sources, files, data, annotations, state",
        [
            SourceChunk("s1", "https://a/", title="A"),
            SourceChunk("s2", "https://b/"),
            FileChunk("aGk=", "text/plain"),
            DataChunk({"k": None}),
            AnnotationsChunk([1]),
            UpdateStateChunk(
                [SetOperation(path=("a",), value=1), AppendTextOperation(path=("b",), value="x")]
            ),
        ],
        [
            START,
            {"type": "source-url", "sourceId": "s1", "url": "https://a/", "title": "A"},
            {"type": "source-url", "sourceId": "s2", "url": "https://b/"},
            {"type": "file", "url": "data:text/plain;base64,aGk=", "mediaType": "text/plain"},
            {"type": "data-data", "data": {"k": None}},
            {"type": "data-annotations", "data": [1]},
            {
                "type": "data-state",
                "data": [
                    {"type": "set", "path": ["a"], "value": 1},
                    {"type": "append-text", "path": ["b"], "value": "x"},
                ],
                "transient": True,
            },
            STOP,
        ],
    ),
    (
        "steps close parts; error; message finish wins",
        [
            StepStartChunk("s"),
            TextDeltaChunk("a"),
            ErrorChunk("boom"),
            StepFinishChunk("length", 1, 2),
            MessageFinishChunk("content-filter"),
        ],
        [
            START,
            {"type": "start-step"},
            {"type": "text-start", "id": "text-1"},
            {"type": "text-delta", "id": "text-1", "delta": "a"},
            {"type": "error", "errorText": "boom"},
            {"type": "text-end", "id": "text-1"},
            {"type": "finish-step"},
            {"type": "finish", "finishReason": "content-filter"},
        ],
    ),
    (
        "null values are written, not omitted",
        [
            ToolCallBeginChunk("c1", "f"),
            ToolCallDeltaChunk("c1", "null"),
            ToolResultChunk("c1", None),
            DataChunk(None),
        ],
        [
            START,
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "f"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "null"},
            {"type": "tool-input-available", "toolCallId": "c1", "toolName": "f", "input": None},
            {"type": "tool-output-available", "toolCallId": "c1", "output": None},
            {"type": "data-data", "data": None},
            STOP,
        ],
    ),
    (
        "a new step settles open tool calls",
        [StepStartChunk("a"), ToolCallBeginChunk("c1", "f"), StepStartChunk("b")],
        [
            START,
            {"type": "start-step"},
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "f"},
            {"type": "tool-input-available", "toolCallId": "c1", "toolName": "f", "input": {}},
            {"type": "start-step"},
            {"type": "finish", "finishReason": "tool-calls"},
        ],
    ),
    (
        "odd finish reason",
        [MessageFinishChunk("weird")],
        [START, {"type": "finish", "finishReason": "other"}],
    ),
]


@pytest.mark.parametrize(
    ("chunks", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN]
)
def test_golden_frames(chunks: list[Chunk], expected: list[Any]) -> None:
    assert encode(chunks) == expected


def test_options() -> None:
    parsed = encode(
        [DataChunk(1), UpdateStateChunk([])],
        message_metadata={"user": "u"},
        data_part_name="custom",
        state="drop",
        include_finish_reason=False,
    )
    assert parsed == [
        {"type": "start", "messageId": "m1", "messageMetadata": {"user": "u"}},
        {"type": "data-custom", "data": 1},
        {"type": "finish"},
    ]
    with pytest.raises(ValueError, match="reserved"):
        UIMessageStreamEncoder(data_part_name="state")
    generated = UIMessageStreamEncoder()
    assert generated.message_id.startswith("msg-")
    assert generated.message_id != UIMessageStreamEncoder().message_id


def test_state_drop_is_noted_once_per_stream_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="assistant_stream_core.protocols.ui_message_stream"):
        encode([UpdateStateChunk([]), UpdateStateChunk([])], state="drop")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_protocol_attributes() -> None:
    encoder = UIMessageStreamEncoder()
    assert isinstance(encoder, Encoder)
    assert isinstance(UIMessageStreamDecoder(), Decoder)
    assert encoder.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert encoder.headers["Content-Type"] == "text/event-stream"
    assert encoder.headers["Cache-Control"] == "no-cache, no-transform"
    assert "Connection" not in encoder.headers


class TestEncoderErrors:
    @pytest.mark.parametrize(
        "chunk",
        [
            ToolCallDeltaChunk("nope", "x"),
            ToolCallArgsTextFinishChunk("nope"),
            ToolResultChunk("nope", 1),
        ],
    )
    def test_unknown_tool_call_id(self, chunk: Chunk) -> None:
        encoder = UIMessageStreamEncoder()
        with pytest.raises(ChunkEncodeError, match="unknown tool_call_id 'nope'") as info:
            encoder.encode_many([TextDeltaChunk("a"), chunk])
        assert b'"delta":"a"' in info.value.partial

    def test_duplicate_begin(self) -> None:
        encoder = UIMessageStreamEncoder()
        encoder.encode(ToolCallBeginChunk("c", "f"))
        with pytest.raises(ChunkEncodeError, match="'c' was already used"):
            encoder.encode(ToolCallBeginChunk("c", "f"))

    def test_unencodable_result_does_not_settle(self) -> None:
        encoder = UIMessageStreamEncoder()
        encoder.encode(ToolCallBeginChunk("c", "f"))
        with pytest.raises(ChunkEncodeError, match="field 'result'"):
            encoder.encode(ToolResultChunk("c", object()))
        assert b'"finishReason":"tool-calls"' in encoder.finish()


class TestDecoder:
    def test_foreign_shapes(self) -> None:
        body = (
            b'data: {"type":"start"}\n\n'
            b'data: {"type":"start-step"}\n\n'
            b'data: {"type":"tool-input-available","toolCallId":"c","toolName":"f","input":{"q":1},'
            b'"providerExecuted":true}\n\n'
            b'data: {"type":"tool-output-available","toolCallId":"c","output":1,'
            b'"preliminary":true}\n\n'
            b'data: {"type":"data-weather","data":{"t":1},"id":"w"}\n\n'
            b'data: {"type":"file","url":"https://x/y.png","mediaType":"image/png"}\n\n'
            b'data: {"type":"message-metadata","messageMetadata":{}}\n\n'
            b'data: {"type":"message-metadata","messageMetadata":null}\n\n'
            b'data: {"type":"finish"}\n\n'
            b"data: [DONE]\n\n"
        )
        decoder = UIMessageStreamDecoder()
        assert split_feed(decoder, body, []) == [
            StepStartChunk(""),
            ToolCallBeginChunk("c", "f"),
            ToolCallDeltaChunk("c", '{"q":1}'),
            ToolCallArgsTextFinishChunk("c"),
            PreliminaryToolResultChunk("c", 1),
            DataChunk({"name": "weather", "data": {"t": 1}}),
            FileChunk("https://x/y.png", "image/png"),
            MessageMetadataChunk({}),  # a null one is nothing, as in ai
            MessageFinishChunk("unknown"),
        ]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"data: {oops\n\n", "not valid JSON"),
            (b"data: 1\n\n", "not a JSON object"),
            (b'data: {"id": 1}\n\n', "without a string 'type'"),
            (b'data: {"type": "tool-call-frobnicate"}\n\n', "unknown UI message chunk type"),
            (
                b'data: {"type": "text-delta", "id": "t", "delta": 1}\n\n',
                "invalid text-delta chunk",
            ),
            (
                b'data: {"type": "text-delta", "id": "t", "delta": "x"}\n\n',
                "text-delta for 't', which never started",
            ),
            (
                b'data: {"type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": "x"}\n\n',
                "never started",
            ),
            (
                b'data: {"type": "data-state", "data": [{"type": "nope"}]}\n\n',
                "invalid state operation",
            ),
            (b'event: other\ndata: {"type": "start"}\n\n', "unknown SSE event type 'other'"),
            (b"data: [DONE]\n\ndata: {}\n\n", "data after \\[DONE\\]"),
        ],
    )
    def test_malformed_input(self, body: bytes, message: str) -> None:
        decoder = UIMessageStreamDecoder()
        with pytest.raises(ProtocolError, match=message) as info:
            decoder.feed(b": ping\n\n" + body)
        assert info.value.offset == (22 if b"[DONE]" in body else 8)
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.finish()

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b'data: {"type":"start"}\n\n', "without data: \\[DONE\\]"),
            (b"data: [DONE]\n", "unterminated"),
        ],
    )
    def test_bad_end(self, body: bytes, message: str) -> None:
        decoder = UIMessageStreamDecoder()
        decoder.feed(body)
        with pytest.raises(ProtocolError, match=message):
            decoder.finish()

    def test_line_limit(self) -> None:
        with pytest.raises(ProtocolError, match="longer than the limit of 32 bytes"):
            UIMessageStreamDecoder(max_line_bytes=32).feed(b"data: " + b"x" * 40)


@settings(max_examples=150, deadline=None)
@given(chunks=chunk_sequences(), cuts=st.lists(st.integers(0, 10_000), max_size=6))
def test_round_trip(chunks: list[Chunk], cuts: list[int]) -> None:
    encoder = UIMessageStreamEncoder()
    body = encoder.encode_many(chunks) + encoder.finish()
    frames(body)
    decoded = split_feed(UIMessageStreamDecoder(), body, cuts)
    assert decoded == normalize(chunks, message_id=encoder.message_id)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decoder_raises_only_protocol_error(data: bytes) -> None:
    decoder = UIMessageStreamDecoder(max_line_bytes=128)
    try:
        decoder.feed(b"data: " + data + b"\n\n")
        decoder.finish()
    except ProtocolError:
        pass


@pytest.mark.parametrize(
    ("depth", "available"),
    [(MAX_JSON_DEPTH - 1, True), (MAX_JSON_DEPTH, False), (5_000, False)],
)
def test_tool_arguments_are_parsed_only_within_the_depth_limit(depth: int, available: bool) -> None:
    # The input's depth is counted: it used to be bounded by the interpreter's
    # recursion limit (about 1,000 levels on 3.11, 10,000 on 3.13), and a
    # deeper input made a frame past MAX_JSON_DEPTH, which no decoder reads.
    args = "[" * depth + "]" * depth
    encoder = UIMessageStreamEncoder()
    chunks = [ToolCallBeginChunk("c1", "f"), ToolCallDeltaChunk("c1", args)]
    body = encoder.encode_many([*chunks, ToolResultChunk("c1", 1)]) + encoder.finish()
    frames = [msgspec.json.decode(line[6:]) for line in body.split(b"\n\n") if line[6:7] == b"{"]
    settled = next(f for f in frames if f["type"].startswith("tool-input-") and "input" in f)
    if available:
        assert settled["type"] == "tool-input-available"
    else:
        assert settled == {
            "type": "tool-input-error",
            "toolCallId": "c1",
            "toolName": "f",
            "errorText": f"tool call arguments nest {depth} levels deep, "
            f"deeper than the limit of {MAX_JSON_DEPTH - 1}",
            "input": args,
        }
    decoder = UIMessageStreamDecoder()
    assert decoder.feed(body)  # the whole stream reads back
    decoder.finish()
