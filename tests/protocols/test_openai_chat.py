"""OpenAI chat.completion.chunk SSE: golden frames, finish reasons, bad input, round trips."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    AbortChunk,
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
    SourceDocumentChunk,
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
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.openai_chat import (
    OpenAIChatDecoder,
    OpenAIChatEncoder,
)
from assistant_stream_core.state import SetOperation
from assistant_stream_core.testing.normalize import openai_chat as normalize
from tests.protocols._util import sse_payloads

# --- a strategy for valid chunk sequences (also used by the UI stream tests) ----

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_text = st.text(max_size=6)
_parent = st.sampled_from([None, "", "p1", "p2"])
_FINISHES: list[Chunk] = [
    StepFinishChunk("stop", 3, 4),
    StepFinishChunk("length", 1, 1),
    MessageFinishChunk("content-filter", 5, 6),
    MessageFinishChunk("other"),
]


@st.composite
def chunk_sequences(draw: st.DrawFn) -> list[Chunk]:
    """Valid runs: tool chunks refer only to tool calls begun earlier."""
    chunks: list[Chunk] = []
    calls: list[str] = []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 20))
        if kind in (0, 1):
            chunks.append(TextDeltaChunk(draw(_text), draw(_parent)))
        elif kind == 2:
            chunks.append(ReasoningDeltaChunk(draw(_text), draw(_parent)))
        elif kind == 3:
            chunks.append(ReasoningPartStartChunk(draw(st.none() | _text), draw(_parent)))
        elif kind == 4:
            calls.append(f"call_{len(calls)}")
            chunks.append(ToolCallBeginChunk(calls[-1], draw(st.sampled_from(["f", "g"]))))
        elif kind in (5, 6) and calls:
            chunks.append(ToolCallDeltaChunk(draw(st.sampled_from(calls)), draw(_text)))
        elif kind == 7 and calls:
            chunks.append(ToolCallArgsTextFinishChunk(draw(st.sampled_from(calls)), draw(_text)))
        elif kind == 8 and calls:
            chunks.append(
                ToolResultChunk(
                    draw(st.sampled_from(calls)), draw(_json), is_error=draw(st.booleans())
                )
            )
        elif kind == 9:
            chunks.append(DataChunk(draw(_json)))
        elif kind == 10:
            chunks.append(ErrorChunk(draw(_text)))
        elif kind == 11:
            chunks.append(SourceChunk("s1", "https://example.com/", title=draw(st.none() | _text)))
        elif kind == 12:
            chunks.append(FileChunk("aGk=", "text/plain"))
        elif kind == 13:
            chunks.append(AnnotationsChunk(draw(st.lists(_json, max_size=2))))
        elif kind == 14:
            chunks.append(UpdateStateChunk([SetOperation(path=("a",), value=draw(_json))]))
        elif kind == 15:
            chunks.append(StepStartChunk("m1"))
        elif kind == 17:
            metadata = draw(st.dictionaries(st.text(max_size=4), _json, max_size=3))
            chunks.append(MessageMetadataChunk(metadata))
        elif kind == 18:
            chunks.append(AbortChunk(draw(st.none() | _text)))
        elif kind == 19:
            filename = draw(st.none() | _text)
            chunks.append(SourceDocumentChunk("d1", "text/plain", draw(_text), filename))
        elif kind == 20 and calls:
            chunks.append(PreliminaryToolResultChunk(draw(st.sampled_from(calls)), draw(_json)))
        elif kind == 16:
            chunks.append(draw(st.sampled_from(_FINISHES)))
    return chunks


def split_feed(decoder: Decoder, data: bytes, cuts: list[int]) -> list[Chunk]:
    """Feed ``data`` cut at the given positions, then finish."""
    out: list[Chunk] = []
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        out += decoder.feed(data[start:cut])
        start = cut
    out += decoder.feed(data[start:])
    return out + decoder.finish()


# --- helpers ------------------------------------------------------------------


def deltas(data: bytes) -> list[Any]:
    """The ``delta`` of every choice frame, in order."""
    payloads = sse_payloads(data)
    return [f["choices"][0]["delta"] for f in payloads if isinstance(f, dict) and f.get("choices")]


def encode(chunks: list[Chunk], **options: Any) -> bytes:
    encoder = OpenAIChatEncoder(completion_id="chatcmpl-1", created=1700000000, **options)
    return encoder.encode_many(chunks) + encoder.finish()


ROLE = {"role": "assistant", "content": ""}


# --- golden frames --------------------------------------------------------------


def test_full_frame_shape() -> None:
    body = encode([TextDeltaChunk("Hé")], model="m", system_fingerprint="fp_1")
    common = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "m",
        "system_fingerprint": "fp_1",
    }
    choice = {"index": 0, "logprobs": None, "finish_reason": None}
    assert sse_payloads(body) == [
        {**common, "choices": [{**choice, "delta": ROLE}]},
        {**common, "choices": [{**choice, "delta": {"content": "Hé"}}]},
        {**common, "choices": [{**choice, "delta": {}, "finish_reason": "stop"}]},
        "[DONE]",
    ]
    assert "Hé".encode() in body  # raw UTF-8, not \u escapes


GOLDEN: list[tuple[str, list[Chunk], dict[str, Any], list[Any]]] = [
    (
        "text",
        [TextDeltaChunk("a"), TextDeltaChunk(""), TextDeltaChunk("b")],
        {},
        [ROLE, {"content": "a"}, {"content": "b"}],
    ),
    ("reasoning_content", [ReasoningDeltaChunk("r")], {}, [ROLE, {"reasoning_content": "r"}]),
    (
        "reasoning field",
        [ReasoningDeltaChunk("r")],
        {"reasoning_field": "reasoning"},
        [ROLE, {"reasoning": "r"}],
    ),
    (
        "two tool calls",
        [
            ToolCallBeginChunk("c1", "get"),
            ToolCallDeltaChunk("c1", '{"a":'),
            ToolCallBeginChunk("c2", "put"),
            ToolCallDeltaChunk("c1", "1}"),
            ToolCallArgsTextFinishChunk("c2"),
        ],
        {},
        [
            ROLE,
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get", "arguments": ""},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]},
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "put", "arguments": ""},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]},
            {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        ],
    ),
    (
        "dropped kinds",
        [
            StepStartChunk("m"),
            ReasoningPartStartChunk("sum"),
            DataChunk(1),
            SourceChunk("s", "u"),
            FileChunk("x", "a/b"),
            AnnotationsChunk([]),
            UpdateStateChunk([]),
        ],
        {},
        [ROLE],
    ),
    (
        "tool result dropped",
        [ToolCallBeginChunk("c1", "f"), ToolResultChunk("c1", {"ok": True})],
        {},
        [
            ROLE,
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
        ],
    ),
    (
        "tool result surfaced",
        [
            ToolCallBeginChunk("c1", "f"),
            ToolCallDeltaChunk("c1", "{}"),
            ToolResultChunk("c1", "bad", artifact=[1], is_error=True),
        ],
        {"tool_results": "delta"},
        [
            ROLE,
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            },
            {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
            {
                "tool_results": [
                    {"tool_call_id": "c1", "result": "bad", "is_error": True, "artifact": [1]}
                ]
            },
        ],
    ),
]


@pytest.mark.parametrize(
    ("chunks", "options", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN]
)
def test_golden_deltas(chunks: list[Chunk], options: dict[str, Any], expected: list[Any]) -> None:
    assert deltas(encode(chunks, **options))[:-1] == expected


@pytest.mark.parametrize(
    ("chunks", "reason"),
    [
        ([], "stop"),
        ([StepFinishChunk("length")], "length"),
        ([StepFinishChunk("stop"), MessageFinishChunk("content-filter")], "content_filter"),
        ([MessageFinishChunk("unknown")], "stop"),
        ([ToolCallBeginChunk("c", "f")], "tool_calls"),
        ([ToolCallBeginChunk("c", "f"), StepFinishChunk("stop")], "tool_calls"),
        ([ToolCallBeginChunk("c", "f"), StepFinishChunk("length")], "length"),
        ([ToolCallBeginChunk("c", "f"), ToolResultChunk("c", 1)], "stop"),
        ([MessageFinishChunk("tool-calls")], "tool_calls"),
    ],
)
def test_finish_reason(chunks: list[Chunk], reason: str) -> None:
    last = sse_payloads(encode(chunks))[-2]
    assert last["choices"] == [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}]


def test_usage_chunk() -> None:
    body = encode(
        [TextDeltaChunk("a"), StepFinishChunk("stop", 2, 3), StepFinishChunk("stop", 1, 1)],
        include_usage=True,
    )
    parsed = sse_payloads(body)
    assert all(f["usage"] is None for f in parsed[:-2])
    assert parsed[-2]["choices"] == []
    assert parsed[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    # A message finish carries the totals and wins over the step sum.
    body = encode(
        [StepFinishChunk("stop", 2, 3), MessageFinishChunk("stop", 10, 20)], include_usage=True
    )
    assert sse_payloads(body)[-2]["usage"]["total_tokens"] == 30
    assert all("usage" not in f for f in sse_payloads(encode([StepFinishChunk("stop", 2, 3)]))[:-1])


def test_error_frame_and_clean_close() -> None:
    parsed = sse_payloads(encode([TextDeltaChunk("partial"), ErrorChunk("boom")]))
    assert parsed[2] == {"error": {"message": "boom", "type": "server_error", "code": None}}
    assert parsed[3]["choices"][0]["finish_reason"] == "stop"
    assert parsed[-1] == "[DONE]"


def test_ids_are_stable_and_generated() -> None:
    encoder = OpenAIChatEncoder()
    body = encoder.encode(TextDeltaChunk("a")) + encoder.finish()
    ids = {(f["id"], f["created"], f["model"]) for f in sse_payloads(body)[:-1]}
    assert len(ids) == 1
    ((completion_id, created, model),) = ids
    assert completion_id.startswith("chatcmpl-")
    assert len(completion_id) == 33
    assert isinstance(created, int)
    assert model == "assistant-stream"
    assert OpenAIChatEncoder().completion_id != completion_id


def test_protocol_attributes() -> None:
    encoder = OpenAIChatEncoder()
    assert isinstance(encoder, Encoder)
    assert isinstance(OpenAIChatDecoder(), Decoder)
    assert encoder.media_type == "text/event-stream"
    assert encoder.headers["Content-Type"] == "text/event-stream"
    assert encoder.headers["Cache-Control"] == "no-cache, no-transform"
    assert encoder.headers["X-Accel-Buffering"] == "no"
    assert "Connection" not in encoder.headers
    assert encoder.keepalive is not None
    assert encoder.keepalive.startswith(b":")


def test_dropped_kinds_noted_once_per_stream_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="assistant_stream_core.protocols.openai_chat"):
        encode([DataChunk(1), DataChunk(2), UpdateStateChunk([]), DataChunk(3)])
    assert {r.levelno for r in caplog.records} == {logging.DEBUG}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "'data'" in messages[0]
    assert "'update-state'" in messages[1]


def test_invalid_json_args_pass_through() -> None:
    body = encode([ToolCallBeginChunk("c", "f"), ToolCallDeltaChunk("c", "{not json")])
    assert deltas(body)[2] == {"tool_calls": [{"index": 0, "function": {"arguments": "{not json"}}]}


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
        with pytest.raises(ChunkEncodeError, match="unknown tool_call_id 'nope'") as info:
            OpenAIChatEncoder().encode_many([TextDeltaChunk("a"), chunk])
        assert sse_payloads(info.value.partial)[-1]["choices"][0]["delta"] == {"content": "a"}

    def test_duplicate_begin(self) -> None:
        encoder = OpenAIChatEncoder()
        encoder.encode(ToolCallBeginChunk("c", "f"))
        with pytest.raises(ChunkEncodeError, match="'c' was already used"):
            encoder.encode(ToolCallBeginChunk("c", "f"))

    def test_unencodable_result_leaves_state(self) -> None:
        encoder = OpenAIChatEncoder(tool_results="delta")
        encoder.encode(ToolCallBeginChunk("c", "f"))
        with pytest.raises(ChunkEncodeError, match="result"):
            encoder.encode(ToolResultChunk("c", object()))
        assert encoder.finish_reason == "tool_calls"

    def test_closed(self) -> None:
        encoder = OpenAIChatEncoder()
        encoder.finish()
        with pytest.raises(ChunkEncodeError, match="after finish"):
            encoder.encode(TextDeltaChunk("a"))

    def test_bad_options(self) -> None:
        with pytest.raises(ValueError, match="reasoning_field"):
            OpenAIChatEncoder(reasoning_field="thinking")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="tool_results"):
            OpenAIChatEncoder(tool_results="text")  # type: ignore[arg-type]

    def test_non_finite_floats_become_null(self) -> None:
        body = encode(
            [ToolCallBeginChunk("c", "f"), ToolResultChunk("c", float("nan"))], tool_results="delta"
        )
        assert deltas(body)[-2]["tool_results"][0]["result"] is None


# --- decoder --------------------------------------------------------------------


class TestDecoder:
    def test_reads_metadata_and_foreign_shapes(self) -> None:
        body = (
            b'data: {"id":"x","object":"chat.completion.chunk","created":7,"model":"gpt","choices":'
            b'[{"index":0,"delta":{"role":"assistant","content":null,"reasoning":"think"}}]}\r\n\r\n'
            b": keepalive\n\n"
            b'data: {"id":"x","choices":[{"index":1,"delta":{"content":"other choice"}}]}\n\n'
            b'data: {"id":"x","choices":[{"index":0,"delta":{"tool_calls":[{"index":3,"id":"c",'
            b'"type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"function_call"}]}\n\n'
            b"data: [DONE]\n\n"
        )
        decoder = OpenAIChatDecoder()
        assert split_feed(decoder, body, []) == [
            ReasoningDeltaChunk("think"),
            ToolCallBeginChunk("c", "f"),
            ToolCallDeltaChunk("c", "{}"),
            ToolCallArgsTextFinishChunk("c"),
            MessageFinishChunk("tool-calls"),
        ]
        assert (decoder.completion_id, decoder.created, decoder.model) == ("x", 7, "gpt")

    def test_byte_by_byte_utf8(self) -> None:
        body = encode([TextDeltaChunk("héllo 🌍")])
        assert split_feed(OpenAIChatDecoder(), body, list(range(len(body)))) == [
            TextDeltaChunk("héllo 🌍"),
            MessageFinishChunk("stop"),
        ]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"data: {not json\n\n", "not valid JSON"),
            (b"data: [1, 2]\n\n", "not a JSON object"),
            (b'data: {"choices": 3}\n\n', "malformed chat.completion.chunk"),
            (b'data: {"id": "x"}\n\n', "malformed chat.completion.chunk"),
            (b'event: delta\ndata: {"choices": []}\n\n', "unknown SSE event type 'delta'"),
            (
                b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,'
                b'"function":{"arguments":"x"}}]}}]}\n\n',
                "has no id",
            ),
            (
                b'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c"}]}}]}\n\n',
                "no function name",
            ),
            (b"data: [DONE]\n\ndata: {}\n\n", "data after \\[DONE\\]"),
        ],
    )
    def test_malformed_input(self, body: bytes, message: str) -> None:
        decoder = OpenAIChatDecoder()
        with pytest.raises(ProtocolError, match=message) as info:
            decoder.feed(b": hi\n\n" + body)
        assert info.value.offset == (20 if b"[DONE]" in body else 6)
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.feed(b"")

    def test_error_frame(self) -> None:
        decoder = OpenAIChatDecoder()
        body = (
            b'data: {"error": {"message": "boom", "type": "x", "code": null}}\n\ndata: [DONE]\n\n'
        )
        assert decoder.feed(body) + decoder.finish() == [ErrorChunk("boom")]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"", "without data: \\[DONE\\]"),
            (b'data: {"choices": []}\n\n', "without data: \\[DONE\\]"),
            (b"data: [DONE]", "unterminated event"),
        ],
    )
    def test_bad_end(self, body: bytes, message: str) -> None:
        decoder = OpenAIChatDecoder()
        decoder.feed(body)
        with pytest.raises(ProtocolError, match=message):
            decoder.finish()

    def test_line_limit(self) -> None:
        decoder = OpenAIChatDecoder(max_line_bytes=64)
        with pytest.raises(ProtocolError, match="longer than the limit of 64 bytes"):
            decoder.feed(b"data: " + b"x" * 100)


# --- round trips ------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    chunks=chunk_sequences(),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
    include_usage=st.booleans(),
    tool_results=st.sampled_from(["drop", "delta"]),
)
def test_round_trip(
    chunks: list[Chunk], cuts: list[int], include_usage: bool, tool_results: Any
) -> None:
    # Dropped kinds log a warning; logging (unlike warnings) does not fail tests.
    encoder = OpenAIChatEncoder(include_usage=include_usage, tool_results=tool_results)
    body = encoder.encode_many(chunks) + encoder.finish()
    sse_payloads(body)  # well-formed frames only
    decoded = split_feed(OpenAIChatDecoder(), body, cuts)
    assert decoded == normalize(chunks, include_usage=include_usage, tool_results=tool_results)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_decoder_raises_only_protocol_error(data: bytes) -> None:
    decoder = OpenAIChatDecoder(max_line_bytes=128)
    try:
        decoder.feed(b"data: " + data + b"\n\n")
        decoder.finish()
    except ProtocolError:
        pass
