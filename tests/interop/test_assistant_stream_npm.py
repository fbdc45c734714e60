"""Interop with the real npm ``assistant-stream`` client, both directions.

Our encoders -> npm decoders: every run below is encoded with our Data Stream
and Assistant Transport encoders, decoded by the npm package's strict decoder
and ``AssistantMessageAccumulator`` (``decode.mjs --batch``, whole and cut
into random pieces), and the message Node builds is compared with
``accumulate(run).to_client_json()``.

npm encoders -> our decoders: scripts replayed against the npm package's own
``createAssistantStream`` controller are encoded by its encoders
(``encode.mjs --batch``); our decoders decode the bytes (in random pieces) and
our accumulated message is compared with the one Node builds from the same
bytes.

Fields that legitimately differ are normalised, each for a stated reason (see
:func:`comparable`).
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    AppendTextOperation,
    Chunk,
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
from assistant_stream_core.message import accumulate
from tests.interop.conftest import NodeScripts
from tests.properties.protocols import PROTOCOLS, ProtocolEntry

pytestmark = pytest.mark.interop

#: Our protocol names -> the names the Node scripts use.
NODE_NAMES = {"data_stream": "data-stream", "assistant_transport": "assistant-transport"}
OURS = [entry for entry in PROTOCOLS if entry.name in NODE_NAMES]
#: Random splits per case (plus the whole body); pieces of 1..SPLIT_MAX bytes.
SPLIT_SEEDS = (1, 2)
SPLIT_MAX = 9

T = TextDeltaChunk
R = ReasoningDeltaChunk

RUNS: dict[str, list[Chunk]] = {
    "text": [T("Hello, "), T("wörld 😀"), T("\nline two\u2028\r\n"), T(' "quoted" \\ ')],
    "reasoning_with_summary": [
        ReasoningPartStartChunk("Planning"),
        R("First I think"),
        R(", then I answer."),
        ReasoningPartStartChunk(),  # no summary: no new part
        R(" Still thinking."),
        ReasoningPartStartChunk("Second thought"),
        R("More."),
        T("The answer."),
    ],
    "tool_call_streamed_args_result_artifact": [
        T("Checking the weather"),
        ToolCallBeginChunk("call_1", "get_weather"),
        ToolCallDeltaChunk("call_1", '{"city": '),
        ToolCallDeltaChunk("call_1", '"Paris", "units": ["c"'),
        ToolCallDeltaChunk("call_1", "]}"),
        ToolResultChunk("call_1", {"temp_c": 21}, artifact={"raw": [1, 2]}),
        ToolCallArgsTextFinishChunk("call_1"),  # upstream set_response order
        T("It is 21 °C."),
    ],
    "tool_call_error_and_no_args": [
        ToolCallBeginChunk("t_err", "fails"),
        ToolCallArgsTextFinishChunk("t_err", '{"x": 1}'),
        ToolResultChunk("t_err", "boom", is_error=True),
        ToolCallBeginChunk("t_none", "no_args"),
        ToolResultChunk("t_none", None),
    ],
    "parallel_tool_calls": [
        ToolCallBeginChunk("a", "search"),
        ToolCallBeginChunk("b", "lookup"),
        ToolCallDeltaChunk("b", '{"id":'),
        ToolCallDeltaChunk("a", '{"q":"cats"'),
        ToolCallDeltaChunk("b", "7}"),
        T("interleaved text"),
        ToolCallDeltaChunk("a", "}"),
        ToolResultChunk("b", ["r1"]),
        ToolResultChunk("a", {"hits": 3}),
    ],
    "unanswered_tool_call_requires_action": [
        T("Let me ask."),
        ToolCallBeginChunk("ask", "ask_user"),
        ToolCallDeltaChunk("ask", '{"question": "ok?"}'),
    ],
    "state_set_and_append_text": [
        UpdateStateChunk([SetOperation(path=(), value={"log": "Checking", "items": []})]),
        T("x"),
        UpdateStateChunk(
            [
                AppendTextOperation(path=("log",), value=" Paris"),
                SetOperation(path=("status",), value="done"),
                SetOperation(path=("items", "0"), value={"n": 1}),
                SetOperation(path=("nested", "deep", "k"), value=[1, None, True, 2.5]),
            ]
        ),
        UpdateStateChunk([SetOperation(path=("items", "1"), value="two")]),
    ],
    "data_and_annotations": [
        DataChunk({"key": "value"}),
        T("text"),
        DataChunk([1, 2, 3]),
        DataChunk(None),
        AnnotationsChunk([{"type": "citation", "id": "a1"}, "plain"]),
        AnnotationsChunk([]),
    ],
    "error_after_text": [T("partial"), ErrorChunk("upstream model failed")],
    "errors_and_finish": [
        ErrorChunk("first"),
        T("more"),
        ErrorChunk("second"),
        MessageFinishChunk("stop"),  # does not override the error status
    ],
    "sources_and_files": [
        T("See "),
        SourceChunk(id="s1", url="https://example.com/a", title="Example A"),
        SourceChunk(id="s2", url="https://example.com/b", parent_id="grp"),
        T("and this file:"),
        FileChunk(data=base64.b64encode(b"\x89PNG...").decode(), mime_type="image/png"),
        FileChunk(data="aGVsbG8=", mime_type="text/plain", parent_id="grp"),
    ],
    "steps": [
        StepStartChunk("msg_1"),
        T("step one"),
        StepFinishChunk("tool-calls", input_tokens=12, output_tokens=34, is_continued=True),
        StepStartChunk("msg_2"),
        T("step two"),
        StepFinishChunk("stop", input_tokens=5, output_tokens=6),
        StepFinishChunk("stop"),  # without a start: TS invents a messageId
    ],
    "parent_ids": [
        T("top"),
        T("child a", parent_id="p1"),
        T(" more a", parent_id="p1"),
        R("child reasoning", parent_id="p1"),
        T("child b", parent_id="p2"),
        T("empty parent is none", parent_id=""),
        T(" same part"),
        ReasoningPartStartChunk("sum", parent_id="p2"),
        R("r", parent_id="p2"),
        ToolCallBeginChunk("tp", "tool", parent_id="p1"),
        ToolCallDeltaChunk("tp", "{}"),
        ToolResultChunk("tp", 1),
    ],
    "message_finish_length": [T("cut"), MessageFinishChunk("length", 3, 4)],
    "message_finish_tool_calls": [
        ToolCallBeginChunk("t", "f"),
        ToolCallArgsTextFinishChunk("t"),
        MessageFinishChunk("tool-calls"),
    ],
    "two_phase_result_after_args_finish": [
        ToolCallBeginChunk("hitl", "confirm"),
        ToolCallDeltaChunk("hitl", '{"action": "delete"}'),
        ToolCallArgsTextFinishChunk("hitl"),
        T("Waiting for approval"),
        ToolResultChunk("hitl", {"approved": True}),
    ],
    "empty_run": [],
}


def encode(protocol: ProtocolEntry, run: list[Chunk]) -> bytes:
    encoder = protocol.encoder()
    return encoder.encode_many(run) + encoder.finish()


def comparable(message: dict[str, Any], protocol: str, ours: dict[str, Any]) -> dict[str, Any]:
    """``message`` without the fields that legitimately differ from ``ours``.

    * ``timing`` (message and tool calls): wall clock, measured by Node.
    * a finished step's ``messageId`` where ``ours`` has none: TS makes up a
      random id for a step that finishes without a start.
    * numbers compare as floats: JavaScript has only doubles and prints an
      integral one as an integer (``4.1e16`` comes back as ``41000000000000000``).
    * Data Stream only: the reason in a tool call's status. A result that comes
      after the call's args finished leaves the part ``complete``/``stop`` on
      the transport and here, but the ``a:`` line also closes the part in the
      Data Stream decoder (``complete``/``unknown``); the format cannot say which.
    """
    out: dict[str, Any] = json.loads(json.dumps(message), parse_int=float)
    out["metadata"].pop("timing", None)
    for key in ("parts", "content"):
        for part in out[key]:
            part.pop("timing", None)
            if protocol == "data-stream" and part["type"] == "tool-call":
                part["status"].pop("reason", None)
    for step, our_step in zip(out["metadata"]["steps"], ours["metadata"]["steps"], strict=False):
        if "messageId" not in our_step:
            step.pop("messageId", None)
    return out


def _split(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, at = [], 0
    while at < len(data):
        size = rng.randint(1, SPLIT_MAX)
        pieces.append(data[at : at + size])
        at += size
    return pieces


# --- our encoders -> npm decoder ---------------------------------------------


def _case_id(run: str, protocol: ProtocolEntry, seed: int | None) -> str:
    return f"{run}/{protocol.name}/{'whole' if seed is None else seed}"


@pytest.fixture(scope="module")
def node_decoded(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    """Node's decode of every run, every protocol, whole and split: one batch."""
    cases = []
    for run_name, run in RUNS.items():
        for protocol in OURS:
            data = base64.b64encode(encode(protocol, run)).decode()
            for seed in (None, *SPLIT_SEEDS):
                split = None if seed is None else {"seed": seed, "max": SPLIT_MAX}
                cases.append(
                    {
                        "id": _case_id(run_name, protocol, seed),
                        "protocol": NODE_NAMES[protocol.name],
                        "data": data,
                        "split": split,
                        "strict": True,
                    }
                )
    return node_scripts.run_batch("decode.mjs", cases)


@pytest.mark.parametrize("protocol", OURS, ids=str)
@pytest.mark.parametrize("run_name", list(RUNS))
def test_npm_client_builds_our_message(
    node_decoded: dict[str, dict[str, Any]], run_name: str, protocol: ProtocolEntry
) -> None:
    expected = accumulate(RUNS[run_name], strict=True).to_client_json()
    node_name = NODE_NAMES[protocol.name]
    for seed in (None, *SPLIT_SEEDS):
        result = node_decoded[_case_id(run_name, protocol, seed)]
        assert result["ok"], result.get("error")
        # The package reports dropped frames only as console warnings.
        assert result["warnings"] == []
        node_message = comparable(result["message"], node_name, expected)
        assert node_message == comparable(expected, node_name, expected)


# --- npm encoders -> our decoders ----------------------------------------------

# Up to assistant-stream 0.3.44 the npm controller merged each part's stream
# asynchronously: without a ``tick`` after a part's last op, its deltas could
# reach the wire after the next part's start (0.3.57 writes each part whole, in
# order). Our flat chunk model cannot say "append to an earlier part", so these
# scripts tick between parts; INTERLEAVED_TRANSPORT below pins the limitation.
TICK = {"op": "tick"}

SCRIPTS: dict[str, dict[str, Any]] = {
    "text_and_reasoning": {
        "ops": [
            {"op": "appendReasoning", "text": "thinking", "summary": "Plan"},
            {"op": "appendReasoning", "text": " more"},
            TICK,
            {"op": "appendText", "text": "Hello 😀"},
            {"op": "appendText", "text": "\u2028 world\n"},
            TICK,
            {"op": "appendReasoning", "text": "again"},
            TICK,
        ]
    },
    "tool_calls": {
        "ops": [
            {"op": "appendText", "text": "Let me check."},
            TICK,
            {"op": "addToolCall", "as": "w", "toolName": "weather", "toolCallId": "call_w"},
            {"op": "argsText", "tool": "w", "text": '{"city": '},
            {"op": "argsText", "tool": "w", "text": '"Paris"}'},
            TICK,
            {"op": "setResponse", "tool": "w", "result": {"temp": 21}, "artifact": {"a": 1}},
            TICK,
            {"op": "addToolCall", "as": "e", "toolName": "broken", "toolCallId": "call_e"},
            TICK,
            {"op": "setResponse", "tool": "e", "result": "failed", "isError": True},
            TICK,
            {"op": "addToolCall", "as": "o", "toolName": "open", "toolCallId": "call_o"},
            {"op": "argsText", "tool": "o", "text": '{"q": 1}'},
            {"op": "closeArgs", "tool": "o"},
            TICK,
            # Every tool call must close, or the npm stream never ends.
            {"op": "closeTool", "tool": "o"},
            TICK,
            {"op": "appendText", "text": "Done."},
        ]
    },
    "parents_sources_files": {
        "ops": [
            {"op": "appendText", "text": "top"},
            TICK,
            {"op": "appendText", "text": "child", "parentId": "p1"},
            TICK,
            {"op": "source", "id": "s1", "url": "https://example.com", "title": "Ex"},
            {"op": "source", "id": "s2", "url": "https://example.org", "parentId": "p1"},
            {"op": "file", "data": "aGVsbG8=", "mimeType": "text/plain"},
            {"op": "file", "data": "aGk=", "mimeType": "text/plain", "parentId": "p2"},
            TICK,
            {"op": "appendReasoning", "text": "why", "parentId": "p2"},
        ]
    },
    # No ticks: 0.3.44 interleaved the parts' deltas on the wire (see TICK).
    "interleaved_parts": {
        "ops": [
            {"op": "appendReasoning", "text": "thinking", "summary": "Plan"},
            {"op": "appendReasoning", "text": " more"},
            {"op": "appendText", "text": "Hello"},
            {"op": "appendText", "text": " world"},
        ]
    },
    "message_level_chunks": {
        "chunks": [
            {"type": "step-start", "messageId": "m1"},
            {"type": "part-start", "part": {"type": "text"}},
            {"type": "text-delta", "textDelta": "hi", "path": [0]},
            {"type": "part-finish", "path": [0]},
            {"type": "data", "data": [{"k": 1}, 2]},
            {"type": "annotations", "annotations": [{"a": 1}]},
            {
                "type": "update-state",
                "operations": [
                    {"type": "set", "path": ["log"], "value": "a"},
                    {"type": "append-text", "path": ["log"], "value": "b"},
                    {"type": "set", "path": ["items"], "value": []},
                    {"type": "set", "path": ["items", "0"], "value": {"n": 1}},
                ],
            },
            {
                "type": "step-finish",
                "finishReason": "stop",
                "usage": {"inputTokens": 1, "outputTokens": 2},
                "isContinued": False,
            },
            {"type": "error", "error": "it broke"},
        ]
    },
    "message_finish": {
        "chunks": [
            {"type": "part-start", "part": {"type": "text"}},
            {"type": "text-delta", "textDelta": "cut", "path": [0]},
            {"type": "part-finish", "path": [0]},
            {
                "type": "message-finish",
                "finishReason": "length",
                "usage": {"inputTokens": 1, "outputTokens": 2},
            },
        ]
    },
}


@pytest.fixture(scope="module")
def npm_encoded(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    """Bodies produced by the npm encoders, and Node's own message for each."""
    cases = [
        {"id": f"{name}/{protocol}", "protocol": protocol, **script}
        for name, script in SCRIPTS.items()
        for protocol in NODE_NAMES.values()
    ]
    encoded = node_scripts.run_batch("encode.mjs", cases)
    for result in encoded.values():
        assert result["ok"], result.get("error")
    decoded = node_scripts.run_batch(
        "decode.mjs",
        [
            {"id": case_id, "protocol": case_id.split("/")[1], "data": result["data"]}
            for case_id, result in encoded.items()
        ],
    )
    for case_id, result in decoded.items():
        assert result["ok"], f"{case_id}: {result.get('error')}"
        result["data"] = encoded[case_id]["data"]
    return decoded


@pytest.mark.parametrize(
    ("script", "protocol"),
    [pytest.param(script, entry, id=f"{script}-{entry}") for script in SCRIPTS for entry in OURS],
)
def test_we_decode_npm_streams(
    npm_encoded: dict[str, dict[str, Any]], script: str, protocol: ProtocolEntry
) -> None:
    decode_like_node(npm_encoded[f"{script}/{NODE_NAMES[protocol.name]}"], protocol)


def decode_like_node(node: dict[str, Any], protocol: ProtocolEntry) -> None:
    """Our decoder, whole and in pieces, builds the message Node built from ``node``."""
    node_name = NODE_NAMES[protocol.name]
    body = base64.b64decode(node["data"])
    for seed in (None, *SPLIT_SEEDS):
        decoder = protocol.decoder()
        chunks: list[Chunk] = []
        for piece in [body] if seed is None else _split(body, seed):
            chunks.extend(decoder.feed(piece))
        chunks.extend(decoder.finish())
        ours = accumulate(chunks, strict=True).to_client_json()
        assert comparable(node["message"], node_name, ours) == comparable(ours, node_name, ours)


#: What assistant-stream 0.3.44's encoder wrote for ``interleaved_parts``: two
#: open parts whose deltas alternate, each addressed by its path.
INTERLEAVED_TRANSPORT = (
    b"".join(
        b"data: " + json.dumps(frame).encode() + b"\n\n"
        for frame in [
            {
                "type": "part-start",
                "part": {"type": "reasoning", "unstable_summary": "Plan"},
                "path": [],
            },
            {"type": "part-start", "part": {"type": "text"}, "path": []},
            {"type": "text-delta", "path": [0], "textDelta": "thinking"},
            {"type": "text-delta", "path": [1], "textDelta": "Hello"},
            {"type": "text-delta", "path": [0], "textDelta": " more"},
            {"type": "text-delta", "path": [1], "textDelta": " world"},
            {"type": "part-finish", "path": [0]},
            {"type": "part-finish", "path": [1]},
        ]
    )
    + b"data: [DONE]\n\n"
)


# Transport frames address parts by path, so Node appends the late deltas to
# the earlier parts; our flat chunks (a delta extends the *open* part) cannot,
# and open new parts instead. The npm encoder stopped writing such streams in
# 0.3.57, but another sender still may.
@pytest.mark.xfail(strict=True, reason="flat chunks cannot address an earlier part")
def test_interleaved_transport_parts(node_scripts: NodeScripts) -> None:
    data = base64.b64encode(INTERLEAVED_TRANSPORT).decode()
    case = {"id": "interleaved", "protocol": "assistant-transport", "data": data}
    node = node_scripts.run_batch("decode.mjs", [case])["interleaved"]
    assert node["ok"], node.get("error")
    texts = [part.get("text") for part in node["message"]["parts"]]
    assert texts == ["thinking more", "Hello world"]
    node["data"] = data
    (entry,) = (entry for entry in OURS if entry.name == "assistant_transport")
    decode_like_node(node, entry)
