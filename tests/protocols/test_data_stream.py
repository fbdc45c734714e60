"""Data Stream: golden lines per chunk kind, tool-call bookkeeping, bad input."""

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
from assistant_stream_core.protocols import data_stream as ds
from assistant_stream_core.protocols._encoder import EncoderBase, json_encode
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.data_stream import (
    DataStreamDecoder,
    DataStreamEncoder,
)
from assistant_stream_core.state import AppendTextOperation, SetOperation
from assistant_stream_core.testing.normalize import data_stream as normalize
from tests.protocols._util import decode_all


def lines(data: bytes) -> list[tuple[str, Any]]:
    """Split a body into ``(code, parsed JSON)`` pairs, checking the framing."""
    assert data.endswith(b"\n") or data == b""
    out = []
    for line in data.decode().split("\n")[:-1]:
        code, _, payload = line.partition(":")
        out.append((code, json.loads(payload)))
    return out


BEGUN = [ToolCallBeginChunk("t1", "search")]

GOLDEN: list[tuple[str, list[Chunk], list[tuple[str, Any]]]] = [
    ("text", [TextDeltaChunk("Hello")], [("0", "Hello")]),
    ("text, empty parent", [TextDeltaChunk("Hi", "")], [("0", "Hi")]),
    (
        "text with parent",
        [TextDeltaChunk("Hi", "p1")],
        [("aui-text-delta", {"textDelta": "Hi", "parentId": "p1"})],
    ),
    ("reasoning", [ReasoningDeltaChunk("hmm")], [("g", "hmm")]),
    (
        "reasoning with parent",
        [ReasoningDeltaChunk("hmm", "p1")],
        [("aui-reasoning-delta", {"reasoningDelta": "hmm", "parentId": "p1"})],
    ),
    ("reasoning start, no summary", [ReasoningPartStartChunk()], []),
    (
        "reasoning start, summary",
        [ReasoningPartStartChunk("Planning", "p1")],
        [("aui-reasoning-part-start", {"unstable_summary": "Planning", "parentId": "p1"})],
    ),
    (
        "reasoning start, empty summary",
        [ReasoningPartStartChunk("")],
        [("aui-reasoning-part-start", {"unstable_summary": ""})],
    ),
    ("tool begin", BEGUN, [("b", {"toolCallId": "t1", "toolName": "search"})]),
    (
        "tool begin with parent",
        [ToolCallBeginChunk("t1", "search", "p1")],
        [("b", {"toolCallId": "t1", "toolName": "search", "parentId": "p1"})],
    ),
    (
        "args delta",
        [*BEGUN, ToolCallDeltaChunk("t1", '{"q": 1}')],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("c", {"toolCallId": "t1", "argsTextDelta": '{"q": 1}'}),
        ],
    ),
    (
        "args finish with no args text sends {}",
        [*BEGUN, ToolCallArgsTextFinishChunk("t1")],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("c", {"toolCallId": "t1", "argsTextDelta": "{}", "isFinal": True}),
        ],
    ),
    (
        "args finish after args text",
        [*BEGUN, ToolCallDeltaChunk("t1", "{}"), ToolCallArgsTextFinishChunk("t1")],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("c", {"toolCallId": "t1", "argsTextDelta": "{}"}),
            ("c", {"toolCallId": "t1", "argsTextDelta": "", "isFinal": True}),
        ],
    ),
    (
        "result settles without isFinal; later finish and deltas write nothing",
        [
            *BEGUN,
            ToolResultChunk("t1", "pong"),
            ToolCallArgsTextFinishChunk("t1"),
            ToolCallDeltaChunk("t1", "late"),
        ],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("a", {"toolCallId": "t1", "result": "pong"}),
        ],
    ),
    (
        "result with artifact and error; None result is null",
        [*BEGUN, ToolResultChunk("t1", None, {"raw": 1}, True)],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("a", {"toolCallId": "t1", "result": None, "artifact": {"raw": 1}, "isError": True}),
        ],
    ),
    ("data is wrapped", [DataChunk({"key": "value"})], [("2", [{"key": "value"}])]),
    ("error", [ErrorChunk("failed")], [("3", "failed")]),
    (
        "error closes open args first",
        [*BEGUN, ErrorChunk("failed")],
        [
            ("b", {"toolCallId": "t1", "toolName": "search"}),
            ("c", {"toolCallId": "t1", "argsTextDelta": "{}", "isFinal": True}),
            ("3", "failed"),
        ],
    ),
    ("annotations", [AnnotationsChunk([{"id": "a1"}])], [("8", [{"id": "a1"}])]),
    (
        "source",
        [SourceChunk("s1", "https://x.test", title="X", parent_id="p1")],
        [
            (
                "h",
                {
                    "sourceType": "url",
                    "id": "s1",
                    "url": "https://x.test",
                    "title": "X",
                    "parentId": "p1",
                },
            )
        ],
    ),
    (
        "source, minimal",
        [SourceChunk("s1", "https://x.test")],
        [("h", {"sourceType": "url", "id": "s1", "url": "https://x.test"})],
    ),
    (
        "file keeps its parent",
        [FileChunk("aGk=", "image/png", "p1")],
        [("k", {"data": "aGk=", "mimeType": "image/png", "parentId": "p1"})],
    ),
    ("step start", [StepStartChunk("msg_1")], [("f", {"messageId": "msg_1"})]),
    (
        "step finish",
        [StepFinishChunk("stop", 12, 34)],
        [
            (
                "e",
                {
                    "finishReason": "stop",
                    "usage": {"inputTokens": 12, "outputTokens": 34},
                    "isContinued": False,
                },
            )
        ],
    ),
    (
        "message finish",
        [MessageFinishChunk("tool-calls")],
        [("d", {"finishReason": "tool-calls", "usage": {"inputTokens": 0, "outputTokens": 0}})],
    ),
    (
        "update state",
        [UpdateStateChunk([SetOperation(("a", "0"), 1), AppendTextOperation(("log",), "x")])],
        [
            (
                "aui-state",
                [
                    {"type": "set", "path": ["a", "0"], "value": 1},
                    {"type": "append-text", "path": ["log"], "value": "x"},
                ],
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("chunks", "expected"), [g[1:] for g in GOLDEN], ids=[g[0] for g in GOLDEN]
)
def test_golden_lines(chunks: list[Chunk], expected: list[tuple[str, Any]]) -> None:
    encoder = DataStreamEncoder()
    body = encoder.encode_many(chunks)
    assert lines(body) == expected
    # Per-chunk encoding writes the same bytes as one batch.
    single = DataStreamEncoder()
    assert b"".join(single.encode(c) for c in chunks) == body


def test_json_is_compact_utf8() -> None:
    assert DataStreamEncoder().encode(TextDeltaChunk('é "q"\n\u2028')) == (
        '0:"é \\"q\\"\\n\u2028"\n'.encode()
    )


def test_finish_closes_open_tool_calls_in_begin_order() -> None:
    encoder = DataStreamEncoder()
    encoder.encode_many([ToolCallBeginChunk("a", "x"), ToolCallBeginChunk("b", "y")])
    encoder.encode(ToolCallDeltaChunk("b", "{"))
    assert lines(encoder.finish()) == [
        ("c", {"toolCallId": "a", "argsTextDelta": "{}", "isFinal": True}),
        ("c", {"toolCallId": "b", "argsTextDelta": "", "isFinal": True}),
    ]
    with pytest.raises(ChunkEncodeError, match="after finish"):
        encoder.finish()


def test_headers_and_keepalive() -> None:
    encoder = DataStreamEncoder()
    assert isinstance(encoder, Encoder)
    assert isinstance(DataStreamDecoder(), Decoder)
    assert encoder.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert encoder.headers["x-vercel-ai-data-stream"] == "v1"
    assert encoder.headers["Cache-Control"] == "no-cache, no-transform"
    assert encoder.headers["X-Accel-Buffering"] == "no"
    assert encoder.keepalive == b"\n"


def test_non_finite_floats_become_null() -> None:
    assert lines(DataStreamEncoder().encode(DataChunk([float("nan"), float("inf")]))) == [
        ("2", [[None, None]])
    ]


class TestEncodeErrors:
    def test_unserialisable_value_names_chunk_and_field(self) -> None:
        encoder = DataStreamEncoder()
        with pytest.raises(ChunkEncodeError, match=r"data chunk: field 'data'") as info:
            encoder.encode_many([TextDeltaChunk("kept"), DataChunk({"x": object()})])
        assert isinstance(info.value, TypeError)
        assert info.value.chunk_type == "data"
        assert info.value.field == "data"
        assert info.value.partial == b'0:"kept"\n'  # whole frames only

    def test_bad_result_leaves_the_call_open(self) -> None:
        encoder = DataStreamEncoder()
        encoder.encode(ToolCallBeginChunk("t1", "x"))
        with pytest.raises(ChunkEncodeError, match="tool-result chunk: field 'result'"):
            encoder.encode(ToolResultChunk("t1", object()))
        assert lines(encoder.encode(ToolResultChunk("t1", [1, 2]))) == [
            ("a", {"toolCallId": "t1", "result": [1, 2]})
        ]

    @pytest.mark.parametrize(
        "chunk",
        [
            ToolCallDeltaChunk("nope", "{}"),
            ToolCallArgsTextFinishChunk("nope"),
            ToolResultChunk("nope", 1),
        ],
    )
    def test_unknown_tool_call_id(self, chunk: Chunk) -> None:
        with pytest.raises(ChunkEncodeError, match="unknown tool_call_id 'nope'"):
            DataStreamEncoder().encode(chunk)

    def test_duplicate_tool_call_id(self) -> None:
        encoder = DataStreamEncoder()
        encoder.encode(ToolCallBeginChunk("t1", "x"))
        with pytest.raises(ChunkEncodeError, match="'t1' was already used"):
            encoder.encode(ToolCallBeginChunk("t1", "x"))


def test_inline_lines_have_their_wire_structs_bytes() -> None:
    # The hot lines are written inline, a prefix and one encode per value:
    # byte for byte what the wire struct of each line encodes to.
    def line(code: bytes, wire: Any) -> bytes:
        return code + json_encode(wire) + b"\n"

    weather = {"temp_c": 21.5, "sky": "sunny ☀", "hourly": [19, 21]}
    cases: list[tuple[list[Chunk], bytes]] = [
        ([TextDeltaChunk('Hé "x"\n😀')], line(b"0:", 'Hé "x"\n😀')),
        ([ReasoningDeltaChunk("r\t")], line(b"g:", "r\t")),
        ([StepStartChunk("m\u2028")], line(b"f:", ds._StepStart("m\u2028"))),
        (
            [ToolCallBeginChunk('c"1', "f\\n")],
            line(b"b:", ds._ToolBegin('c"1', "f\\n")),
        ),
        (
            [ToolCallBeginChunk("c1", "f"), ToolCallDeltaChunk("c1", '{"a": "é')],
            line(b"b:", ds._ToolBegin("c1", "f")) + line(b"c:", ds._ToolDelta("c1", '{"a": "é')),
        ),
        (
            [ToolCallBeginChunk("c1", "f"), ToolResultChunk("c1", weather)],
            line(b"b:", ds._ToolBegin("c1", "f")) + line(b"a:", ds._ToolResult("c1", weather)),
        ),
        (
            [ToolCallBeginChunk("c1", "f"), ToolResultChunk("c1", None)],
            line(b"b:", ds._ToolBegin("c1", "f")) + line(b"a:", ds._ToolResult("c1", None)),
        ),
    ]
    for reason, tokens_in, tokens_out, continued in [
        ("stop", 420, 77, False),
        ("tool-calls", 0, 2**40, True),
        ("length", 1, 2, 1),  # not a bool: written as given, like the struct does
    ]:
        chunk = StepFinishChunk(reason, tokens_in, tokens_out, continued)  # type: ignore[arg-type]
        usage = ds._Usage(tokens_in, tokens_out)
        wire = ds._StepFinish(reason, usage, continued)  # type: ignore[arg-type]
        cases.append(([chunk], line(b"e:", wire)))
    for chunks, expected in cases:
        assert DataStreamEncoder().encode_many(chunks) == expected, chunks


def test_init_sets_the_base_state() -> None:
    # DataStreamEncoder sets EncoderBase's slots itself (no super().__init__()
    # call per response): a slot the base adds must be set here too.
    encoder = DataStreamEncoder()
    by_base = object.__new__(DataStreamEncoder)
    EncoderBase.__init__(by_base)
    for slot in EncoderBase.__slots__:
        assert getattr(encoder, slot) == getattr(by_base, slot), slot


def test_round_trip_byte_by_byte() -> None:
    chunks = [
        TextDeltaChunk('Hé "x"\n😀'),
        TextDeltaChunk("a", "p1"),
        ReasoningPartStartChunk("sum"),
        ReasoningPartStartChunk(),
        ReasoningDeltaChunk("r", ""),
        ToolCallBeginChunk("t1", "search"),
        ToolCallDeltaChunk("t1", '{"q":'),
        ToolResultChunk("t1", None, [1], True),
        ToolCallArgsTextFinishChunk("t1"),
        ToolCallBeginChunk("t2", "noargs", ""),
        DataChunk({"k": 1}),
        ErrorChunk("boom"),
        UpdateStateChunk([SetOperation(("a",), 1)]),
        SourceChunk("s1", "https://x.test", title="T"),
        FileChunk("aGk=", "image/png", ""),
        AnnotationsChunk([1]),
        StepStartChunk("m1"),
        StepFinishChunk("stop", 1, 2, True),
        MessageFinishChunk("stop", 3, 4),
        ToolCallBeginChunk("t3", "x"),
        ToolCallArgsTextFinishChunk("t3", '{"a":1}'),
        ToolCallBeginChunk("t4", "open at the end"),
    ]
    encoder = DataStreamEncoder()
    body = encoder.encode_many(chunks) + encoder.finish()
    expected = normalize(chunks)
    assert decode_all(DataStreamDecoder(), body, 1) == expected
    assert decode_all(DataStreamDecoder(), body, step=7) == expected
    assert ToolCallArgsTextFinishChunk("t2", "{}") in expected  # closed before the error
    assert ToolCallArgsTextFinishChunk("t4", "{}") == expected[-1]  # closed at the end


class TestDecoder:
    def test_accepts_the_npm_client_extras(self) -> None:
        body = (
            b"\n  \n"  # keepalives
            b'9:{"toolCallId":"t9","toolName":"calc","args":{"a":1}}\r\n'
            b'aui-data:{"name":"chart","data":[1]}\r'
            b'i:{"data":"x"}\n'
            b'a:{"toolCallId":"t9","result":2}\n'
        )
        assert decode_all(DataStreamDecoder(), body, 1) == [
            ToolCallBeginChunk("t9", "calc"),
            ToolCallDeltaChunk("t9", '{"a":1}'),
            ToolCallArgsTextFinishChunk("t9"),
            DataChunk({"name": "chart", "data": [1]}),
            ToolResultChunk("t9", 2),
        ]

    def test_split_inside_utf8_sequence(self) -> None:
        body = '0:"日本"\n'.encode()
        assert decode_all(DataStreamDecoder(), body, step=1) == [TextDeltaChunk("日本")]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"zz:1\n", "unknown line code 'zz'"),
            (b"0:{not json\n", "0: text is not valid JSON"),
            (b"0:1\n", "invalid 0: text: Expected `str`"),
            (b"2:{}\n", "invalid 2: data: Expected `array`"),
            (b'b:{"toolName":"x"}\n', "invalid b: frame: Object missing required field"),
            (b"just text\n", "line without a ':' separator"),
            (b'aui-state:[{"type":"nope","path":[]}]\n', "invalid aui-state operation"),
            (b'0:"a"\n0:"unterminated"', "stream ended with an incomplete line"),
            (b'0:"\xff"\n', "invalid UTF-8"),
        ],
    )
    def test_malformed_input(self, body: bytes, message: str) -> None:
        with pytest.raises(ProtocolError, match=message) as info:
            decode_all(DataStreamDecoder(), body, step=len(body))
        assert info.value.offset is not None

    def test_offset_points_at_the_bad_line(self) -> None:
        decoder = DataStreamDecoder()
        assert decoder.feed(b'0:"ok"\n') == [TextDeltaChunk("ok")]
        with pytest.raises(ProtocolError) as info:
            decoder.feed(b"?:1\n")
        assert info.value.offset == 7
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.feed(b'0:"more"\n')

    def test_line_limit(self) -> None:
        decoder = DataStreamDecoder(max_line_bytes=16)
        assert decoder.feed(b'0:"0123456789"\n') == [TextDeltaChunk("0123456789")]
        with pytest.raises(ProtocolError, match="longer than the limit of 16 bytes"):
            decoder.feed(b'0:"' + b"x" * 20)
