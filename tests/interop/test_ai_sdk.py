"""The Vercel AI SDK clients and assistant-ui read what UIMessageStreamEncoder writes.

Every body goes, in one Node batch (``ui_message.mjs``), through three real
clients: ``readUIMessageStream`` of npm ``ai`` 5.x (the oldest major that
speaks UI Message Stream v1) and of the current ``ai``, each after
``parseJsonEventStream`` with that package's ``uiMessageChunkSchema`` (what
``useChat``'s transport does); and assistant-ui's ``UIMessageStreamDecoder``
with ``AssistantMessageAccumulator``. Each body is read whole and cut into
random small pieces. The final messages must say what the chunks meant.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

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
from assistant_stream_core.protocols.ui_message_stream import (
    UIMessageStreamDecoder,
    UIMessageStreamEncoder,
)
from assistant_stream_core.state import SetOperation
from tests.conftest import require_tool

from .conftest import INTEROP_DIR, PINNED_PACKAGES, NodeScripts

pytestmark = pytest.mark.interop

#: The ``ai`` releases this module tests, as tests/interop/package.json pins them.
AI_PACKAGES = {name: PINNED_PACKAGES[name] for name in ("ai5", "ai")}

BAD_ARGS_ERROR = (
    "tool call arguments are not valid JSON: JSON is malformed: "
    "object keys must be strings (byte 1)"
)

SCRIPTS: dict[str, list[Chunk]] = {
    "everything": [
        StepStartChunk("m"),
        ReasoningPartStartChunk("plan"),
        ReasoningDeltaChunk("Think "),
        ReasoningDeltaChunk("first."),
        TextDeltaChunk("Héllo "),
        TextDeltaChunk("wörld 🌍"),
        ToolCallBeginChunk("call_1", "get_weather"),
        ToolCallDeltaChunk("call_1", '{"city": '),
        ToolCallDeltaChunk("call_1", '"Paris"}'),
        ToolResultChunk("call_1", {"temp_c": 21}),
        ToolCallBeginChunk("call_2", "broken"),
        ToolCallDeltaChunk("call_2", "{oops"),
        ToolCallArgsTextFinishChunk("call_2"),
        ToolCallBeginChunk("call_3", "fails"),
        ToolResultChunk("call_3", "no such city", is_error=True),
        SourceChunk("src_1", "https://example.com/a", title="Example"),
        FileChunk("aGVsbG8=", "text/plain"),
        DataChunk({"progress": 1}),
        AnnotationsChunk([{"note": "n"}]),
        UpdateStateChunk([SetOperation(path=("status",), value="done")]),
        TextDeltaChunk("Done."),
        StepFinishChunk("stop", 10, 20),
    ],
    "two steps": [
        StepStartChunk("m"),
        TextDeltaChunk("Let me look."),
        ToolCallBeginChunk("call_a", "search"),
        ToolCallDeltaChunk("call_a", '{"q": "x"}'),
        StepFinishChunk("tool-calls"),
        ToolResultChunk("call_a", [1, 2]),
        StepStartChunk("m"),
        TextDeltaChunk("Found 2."),
        StepFinishChunk("stop"),
        MessageFinishChunk("stop"),
    ],
    "pending tool": [TextDeltaChunk("Need input."), ToolCallBeginChunk("call_h", "ask_user")],
    "error": [TextDeltaChunk("partial"), ErrorChunk("the model exploded")],
}

#: ``ai``'s UIMessage parts for each script (ai 5.x field names).
AI_PARTS: dict[str, list[dict[str, Any]]] = {
    "everything": [
        {"type": "step-start"},
        {"type": "reasoning", "id": "reasoning-1", "text": "Think first.", "state": "done"},
        {"type": "text", "text": "Héllo wörld 🌍", "state": "done"},
        {
            "type": "tool-get_weather",
            "toolCallId": "call_1",
            "state": "output-available",
            "input": {"city": "Paris"},
            "output": {"temp_c": 21},
        },
        {
            "type": "tool-broken",
            "toolCallId": "call_2",
            "state": "output-error",
            "rawInput": "{oops",
            "errorText": BAD_ARGS_ERROR,
        },
        {
            "type": "tool-fails",
            "toolCallId": "call_3",
            "state": "output-error",
            "input": {},
            "errorText": "no such city",
        },
        {
            "type": "source-url",
            "sourceId": "src_1",
            "url": "https://example.com/a",
            "title": "Example",
        },
        {"type": "file", "mediaType": "text/plain", "url": "data:text/plain;base64,aGVsbG8="},
        {"type": "data-data", "data": {"progress": 1}},
        {"type": "data-annotations", "data": [{"note": "n"}]},
        {"type": "text", "text": "Done.", "state": "done"},
    ],
    "two steps": [
        {"type": "step-start"},
        {"type": "text", "text": "Let me look.", "state": "done"},
        {
            "type": "tool-search",
            "toolCallId": "call_a",
            "state": "output-available",
            "input": {"q": "x"},
            "output": [1, 2],
        },
        {"type": "step-start"},
        {"type": "text", "text": "Found 2.", "state": "done"},
    ],
    "pending tool": [
        {"type": "text", "text": "Need input.", "state": "done"},
        {"type": "tool-ask_user", "toolCallId": "call_h", "state": "input-available", "input": {}},
    ],
    "error": [{"type": "text", "text": "partial", "state": "done"}],
}
AI_ERRORS = {"error": ["the model exploded"]}


def ai7_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ai 7 keeps the unparsed input of a failed call in ``input``, not ``rawInput``."""
    out = []
    for part in parts:
        if "rawInput" in part:
            part = {k: v for k, v in part.items() if k != "rawInput"} | {"input": part["rawInput"]}
        out.append(part)
    return out


def assistant_ui_parts(message: dict[str, Any]) -> list[Any]:
    """The content of assistant-ui's message, without timing and statuses."""
    out: list[Any] = []
    for part in message["parts"]:
        kind = part["type"]
        if kind in ("text", "reasoning"):
            out.append((kind, part["text"]))
        elif kind == "tool-call":
            out.append(
                (
                    kind,
                    part["toolCallId"],
                    part["toolName"],
                    part["argsText"],
                    part.get("result"),
                    part.get("isError"),
                )
            )
        elif kind == "source":
            out.append((kind, part["id"], part["url"], part.get("title")))
        elif kind == "file":
            out.append((kind, part["mimeType"], part["data"]))
        else:
            out.append((kind,))
    return out


ASSISTANT_UI: dict[str, dict[str, Any]] = {
    "everything": {
        # assistant-ui ignores part ids and appends text to the open text part,
        # and shows a tool call once its input is available.
        "parts": [
            ("reasoning", "Think first."),
            ("text", "Héllo wörld 🌍"),
            ("tool-call", "call_1", "get_weather", '{"city":"Paris"}', {"temp_c": 21}, False),
            ("tool-call", "call_2", "broken", "{oops", BAD_ARGS_ERROR, True),
            ("tool-call", "call_3", "fails", "{}", "no such city", True),
            ("source", "src_1", "https://example.com/a", "Example"),
            ("file", "text/plain", "data:text/plain;base64,aGVsbG8="),
            ("text", "Done."),
        ],
        # Transient state is not stored in the message.
        "data": [
            {"name": "data", "data": {"progress": 1}},
            {"name": "annotations", "data": [{"note": "n"}]},
        ],
        "status": "complete",
    },
    "two steps": {
        "parts": [
            ("text", "Let me look."),
            ("tool-call", "call_a", "search", '{"q":"x"}', [1, 2], False),
            ("text", "Found 2."),
        ],
        "data": [],
        "status": "complete",
    },
    "pending tool": {
        "parts": [("text", "Need input."), ("tool-call", "call_h", "ask_user", "{}", None, None)],
        "data": [],
        "status": "requires-action",
    },
    "error": {"parts": [("text", "partial")], "data": [], "status": "incomplete"},
}


#: UI message chunks as a streamText-backed server writes them, with fields and
#: types our encoder never sends; ``ai``'s own server helpers encode them.
AI_WRITTEN: list[dict[str, Any]] = [
    {"type": "start", "messageMetadata": {"model": "m"}},
    {"type": "start-step"},
    {"type": "reasoning-start", "id": "r0", "providerMetadata": {"openai": {"itemId": "x"}}},
    {"type": "reasoning-delta", "id": "r0", "delta": "hmm"},
    {"type": "reasoning-end", "id": "r0"},
    {"type": "text-start", "id": "t0"},
    {"type": "text-delta", "id": "t0", "delta": "Hi "},
    {"type": "text-delta", "id": "t0", "delta": "there"},
    {"type": "text-end", "id": "t0"},
    {"type": "tool-input-available", "toolCallId": "c1", "toolName": "calc", "input": {"x": 1}},
    {"type": "tool-output-available", "toolCallId": "c1", "output": 2, "preliminary": True},
    {"type": "tool-output-available", "toolCallId": "c1", "output": 3},
    {"type": "source-document", "sourceId": "d", "mediaType": "text/plain", "title": "Doc"},
    {"type": "data-weather", "id": "w1", "data": {"temp": 20}},
    {"type": "data-status", "data": "busy", "transient": True},
    {"type": "message-metadata", "messageMetadata": {"tokens": 5}},
    {"type": "abort"},
    {"type": "finish-step"},
    {"type": "finish", "finishReason": "stop", "messageMetadata": {"done": True}},
]


def random_script(seed: int) -> list[Chunk]:
    """A reproducible random run: every chunk kind, tool chunks only for begun calls."""
    rng = random.Random(seed)
    chunks: list[Chunk] = []
    calls: list[str] = []
    words = ["", "a", "b c", "é", "🌍", '"q"', "\n", "{"]
    for _ in range(rng.randint(1, 25)):
        kind = rng.randint(0, 14)
        if kind <= 2:
            chunks.append(TextDeltaChunk(rng.choice(words), rng.choice([None, "p"])))
        elif kind == 3:
            chunks.append(ReasoningDeltaChunk(rng.choice(words)))
        elif kind == 4:
            chunks.append(ReasoningPartStartChunk())
        elif kind == 5:
            calls.append(f"call_{len(calls)}")
            chunks.append(ToolCallBeginChunk(calls[-1], rng.choice(["f", "g"])))
        elif kind == 6 and calls:
            chunks.append(ToolCallDeltaChunk(rng.choice(calls), rng.choice(['{"x": 1}', "{", "}"])))
        elif kind == 7 and calls:
            chunks.append(ToolCallArgsTextFinishChunk(rng.choice(calls)))
        elif kind == 8 and calls:
            result = rng.choice([1, "r", None, {"k": [1]}])
            chunks.append(ToolResultChunk(rng.choice(calls), result, is_error=rng.random() < 0.3))
        elif kind == 9:
            chunks.append(rng.choice([DataChunk([1]), AnnotationsChunk([2])]))
        elif kind == 10:
            chunks.append(ErrorChunk(rng.choice(["e1", "e2"])))
        elif kind == 11:
            chunks.append(rng.choice([SourceChunk("s", "https://s/"), FileChunk("aGk=", "a/b")]))
        elif kind == 12:
            chunks.append(StepStartChunk("m"))
        elif kind == 13:
            chunks.append(StepFinishChunk(rng.choice(["stop", "tool-calls"])))
        else:
            chunks.append(UpdateStateChunk([SetOperation(path=("k",), value=seed)]))
    return chunks


RANDOM_SEEDS = range(100)


def encode(script: str) -> bytes:
    encoder = UIMessageStreamEncoder(message_id="msg-1")
    return encoder.encode_many(SCRIPTS[script]) + encoder.finish()


@pytest.fixture(scope="module")
def results(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    """Every script through every client, whole and cut into pieces: one Node run."""
    for package, pinned in AI_PACKAGES.items():
        manifest = INTEROP_DIR / "node_modules" / package / "package.json"
        require_tool(
            manifest.is_file(), f"the npm package {package} (run scripts/install-node-deps.sh)"
        )
        assert json.loads(manifest.read_text(encoding="utf-8"))["version"] == pinned
    cases: list[dict[str, Any]] = []
    for script in SCRIPTS:
        data = base64.b64encode(encode(script)).decode()
        cases.append({"id": f"{script}/whole", "data": data})
        for seed in (1, 2):
            cases.append(
                {"id": f"{script}/split{seed}", "data": data, "split": {"seed": seed, "max": 7}}
            )
    cases.append({"id": "ai-encoded", "encode": AI_WRITTEN})
    for seed in RANDOM_SEEDS:
        encoder = UIMessageStreamEncoder()
        body = encoder.encode_many(random_script(seed)) + encoder.finish()
        cases.append({"id": f"random/{seed}", "data": base64.b64encode(body).decode()})
    return node_scripts.run_batch("ui_message.mjs", cases)


CASES = [f"{script}/{how}" for script in SCRIPTS for how in ("whole", "split1", "split2")]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("package", ["ai5", "ai"])
def test_ai_read_ui_message_stream(
    results: dict[str, dict[str, Any]], case: str, package: str
) -> None:
    result = results[case]
    assert result["ok"], result.get("error")
    got = result[package]
    script = case.split("/")[0]
    assert got["invalid"] == []  # every frame passes that release's schema
    assert got["errors"] == AI_ERRORS.get(script, [])
    message = got["message"]
    assert message["id"] == "msg-1"
    assert message["role"] == "assistant"
    expected = AI_PARTS[script] if package == "ai5" else ai7_parts(AI_PARTS[script])
    assert message["parts"] == expected
    # The state operations arrive as a transient data part (useChat's onData).
    state = [c for c in got["chunks"] if c["type"] == "data-state"]
    if script == "everything":
        assert state == [
            {
                "type": "data-state",
                "data": [{"type": "set", "path": ["status"], "value": "done"}],
                "transient": True,
            }
        ]


@pytest.mark.parametrize("case", CASES)
def test_assistant_stream_ui_message_decoder(results: dict[str, dict[str, Any]], case: str) -> None:
    result = results[case]
    assert result["ok"], result.get("error")
    got = result["assistantStream"]
    assert "error" not in got, got.get("error")
    expected = ASSISTANT_UI[case.split("/")[0]]
    message = got["message"]
    assert assistant_ui_parts(message) == expected["parts"]
    assert message["metadata"]["unstable_data"] == expected["data"]
    assert message["status"]["type"] == expected["status"]
    if expected["status"] == "incomplete":
        assert message["status"]["error"]["message"] == "the model exploded"


@pytest.mark.parametrize("package", ["ai5", "ai"])
def test_decoder_reads_ai_server_output(results: dict[str, dict[str, Any]], package: str) -> None:
    result = results["ai-encoded"]
    assert result["ok"], result.get("error")
    written = result[package]
    # ai's own response headers: ours match them, minus Connection (not allowed in HTTP/2).
    ours = {k.lower(): v for k, v in UIMessageStreamEncoder.headers.items()}
    assert (
        ours["x-vercel-ai-ui-message-stream"] == written["headers"]["x-vercel-ai-ui-message-stream"]
    )
    assert ours["content-type"] == written["headers"]["content-type"]
    assert ours["x-accel-buffering"] == written["headers"]["x-accel-buffering"]
    decoder = UIMessageStreamDecoder()
    chunks = decoder.feed(base64.b64decode(written["data"])) + decoder.finish()
    assert decoder.message_id  # ai generates one when the server gives none
    assert chunks == [
        MessageMetadataChunk({"model": "m"}),
        StepStartChunk(decoder.message_id),
        ReasoningPartStartChunk(),
        ReasoningDeltaChunk("hmm"),
        TextDeltaChunk("Hi "),
        TextDeltaChunk("there"),
        ToolCallBeginChunk("c1", "calc"),
        ToolCallDeltaChunk("c1", '{"x":1}'),
        ToolCallArgsTextFinishChunk("c1"),
        PreliminaryToolResultChunk("c1", 2),
        ToolResultChunk("c1", 3),
        SourceDocumentChunk("d", "text/plain", "Doc"),
        DataChunk({"name": "weather", "data": {"temp": 20}}),
        DataChunk({"name": "status", "data": "busy"}),
        MessageMetadataChunk({"tokens": 5}),
        AbortChunk(),
        StepFinishChunk("unknown"),
        MessageMetadataChunk({"done": True}),
        MessageFinishChunk("stop"),
    ]


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_runs_never_break_a_client(results: dict[str, dict[str, Any]], seed: int) -> None:
    """Whatever the run does, every client reads the stream and keeps its content."""
    chunks = random_script(seed)
    result = results[f"random/{seed}"]
    assert result["ok"], result.get("error")
    text = "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
    reasoning = "".join(c.reasoning_delta for c in chunks if isinstance(c, ReasoningDeltaChunk))
    calls = [c.tool_call_id for c in chunks if isinstance(c, ToolCallBeginChunk)]
    for package in ("ai5", "ai"):
        got = result[package]
        assert got["invalid"] == []
        assert got["errors"] == [c.error for c in chunks if isinstance(c, ErrorChunk)]
        parts = got["message"]["parts"]
        assert "".join(p["text"] for p in parts if p["type"] == "text") == text
        assert "".join(p["text"] for p in parts if p["type"] == "reasoning") == reasoning
        assert [p["toolCallId"] for p in parts if p["type"].startswith("tool-")] == calls
        assert all(p["state"] == "done" for p in parts if p["type"] in ("text", "reasoning"))
    got = result["assistantStream"]
    assert "error" not in got, got.get("error")
    parts = got["message"]["parts"]
    assert "".join(p["text"] for p in parts if p["type"] == "text") == text
    assert "".join(p["text"] for p in parts if p["type"] == "reasoning") == reasoning
    assert sorted(p["toolCallId"] for p in parts if p["type"] == "tool-call") == sorted(calls)
