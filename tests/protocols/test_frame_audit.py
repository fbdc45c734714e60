"""The audit: every frame kind an encoder can write, and its decoder reading each one back.

:data:`WRITTEN` lists, per protocol, every kind of frame its encoder writes
(line codes, event types, ``CUSTOM`` names, OpenAI delta fields). The tests
prove the list is exact (every chunk kind's example run together writes all
of them, and generated runs write nothing else), that no decoder ignores a
kind its encoder writes, and that every chunk kind comes back from every
protocol as itself, except where a protocol documents the drop
(:data:`DROPPED`). A new chunk kind fails here until it has an example, and a
new frame kind until it is listed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from assistant_stream_core.chunks import (
    CHUNK_TYPES,
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
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.protocols import ag_ui, data_stream, ui_message_stream
from assistant_stream_core.protocols.ag_ui import AGUIDecoder, AGUIEncoder
from assistant_stream_core.protocols.assistant_transport import (
    AssistantTransportDecoder,
    AssistantTransportEncoder,
)
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatDecoder, OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import (
    UIMessageStreamDecoder,
    UIMessageStreamEncoder,
)
from assistant_stream_core.state import SetOperation
from assistant_stream_core.testing import normalize
from assistant_stream_core.testing.strategies import chunk_sequences

_BEGIN = ToolCallBeginChunk("c1", "search", parent_id="p")

#: One small run per chunk kind, using the kind's optional fields.
EXAMPLES: dict[type[Chunk], list[Chunk]] = {
    TextDeltaChunk: [TextDeltaChunk("a"), TextDeltaChunk("b", parent_id="p")],
    ReasoningPartStartChunk: [ReasoningPartStartChunk("plan", parent_id="p")],
    ReasoningDeltaChunk: [ReasoningDeltaChunk("a"), ReasoningDeltaChunk("b", parent_id="p")],
    ToolCallBeginChunk: [_BEGIN],
    ToolCallDeltaChunk: [_BEGIN, ToolCallDeltaChunk("c1", '{"q":')],
    ToolCallArgsTextFinishChunk: [_BEGIN, ToolCallArgsTextFinishChunk("c1", '{"q":1}')],
    ToolResultChunk: [
        _BEGIN,
        ToolResultChunk("c1", {"hits": 1}, artifact={"raw": 1}),
        ToolCallBeginChunk("c2", "fails"),
        ToolResultChunk("c2", "bad input", is_error=True),
    ],
    DataChunk: [DataChunk({"k": [1, "v"]})],
    ErrorChunk: [TextDeltaChunk("partial"), ErrorChunk("failed")],
    UpdateStateChunk: [
        UpdateStateChunk([SetOperation((), {"status": "running"})]),
        UpdateStateChunk([SetOperation(("status",), "done")]),
    ],
    SourceChunk: [SourceChunk("s1", "https://example.com", title="Ex", parent_id="p")],
    FileChunk: [FileChunk("aGk=", "text/plain", parent_id="p")],
    AnnotationsChunk: [AnnotationsChunk([{"type": "citation"}, 2])],
    StepStartChunk: [StepStartChunk("step-1")],
    StepFinishChunk: [StepStartChunk("step-1"), StepFinishChunk("stop", 1, 2, is_continued=True)],
    MessageFinishChunk: [MessageFinishChunk("length", 3, 4)],
    MessageMetadataChunk: [MessageMetadataChunk({"model": "m", "n": [1]})],
    AbortChunk: [AbortChunk("stopped"), AbortChunk()],
    SourceDocumentChunk: [SourceDocumentChunk("d1", "application/pdf", "Doc", "d.pdf", "p")],
    PreliminaryToolResultChunk: [
        _BEGIN,
        ToolCallArgsTextFinishChunk("c1", "{}"),
        PreliminaryToolResultChunk("c1", {"progress": 0.5}),
        ToolResultChunk("c1", {"done": True}),
    ],
    ToolApprovalRequestChunk: [
        _BEGIN,
        ToolCallArgsTextFinishChunk("c1", "{}"),
        ToolApprovalRequestChunk("c1", "approval-c1", "it spends money"),
    ],
    ToolCallResumeChunk: [ToolCallResumeChunk("r1"), ToolResultChunk("r1", {"ok": True})],
    ToolOutputDeniedChunk: [_BEGIN, ToolOutputDeniedChunk("c1")],
}


@dataclass(frozen=True)
class Wire:
    """One protocol (and configuration) under audit."""

    name: str
    encoder: Callable[[], Encoder]
    decoder: Callable[[], Decoder]
    normalise: Callable[[Iterable[Chunk]], list[Chunk]]
    frame_kinds: Callable[[bytes], set[str]]

    def __str__(self) -> str:
        return self.name


_ANNOTATED_TAGS = {"message-metadata", "abort", "source-document", "tool-output-available"}


def _sse(body: bytes) -> list[Any]:
    events = []
    for frame in body.decode().split("\n\n"):
        for line in frame.split("\n"):
            if line.startswith("data: "):
                data = line[len("data: ") :]
                events.append(data if data == "[DONE]" else json.loads(data))
    return events


def _transport_kinds(body: bytes) -> set[str]:
    kinds = set()
    for event in _sse(body):
        if event == "[DONE]":
            kinds.add(event)
        elif event["type"] == "part-start":
            kinds.add(f"part-start:{event['part']['type']}")
        elif event["type"] == "annotations" and len(event["annotations"]) == 1:
            item = event["annotations"][0]
            tag = item.get("type") if isinstance(item, dict) else None
            kinds.add(f"annotations:{tag}" if tag in _ANNOTATED_TAGS else "annotations")
        else:
            kinds.add(event["type"])
    return kinds


def _data_stream_kinds(body: bytes) -> set[str]:
    kinds = set()
    for line in body.decode().split("\n"):
        code, _, payload = line.partition(":")
        if code == "8":
            items = json.loads(payload)
            tag = items[0].get("type") if len(items) == 1 and isinstance(items[0], dict) else None
            kinds.add(f"8:{tag}" if tag in _ANNOTATED_TAGS else "8")
        elif code:
            kinds.add(code)
    return kinds


def _ui_kinds(body: bytes) -> set[str]:
    kinds = set()
    for event in _sse(body):
        if event == "[DONE]":
            kinds.add(event)
        elif event["type"] == "tool-output-available" and event.get("preliminary"):
            kinds.add("tool-output-available:preliminary")
        else:
            kinds.add(event["type"])
    return kinds


def _ag_ui_kinds(body: bytes) -> set[str]:
    kinds = set()
    for event in _sse(body):
        if event["type"] == "CUSTOM":
            kinds.add(f"CUSTOM:{event['name']}")
        elif event["type"] == "RUN_FINISHED" and "outcome" in event:
            kinds.add(f"RUN_FINISHED:{event['outcome']['type']}")
        else:
            kinds.add(event["type"])
    return kinds


def _openai_kinds(body: bytes) -> set[str]:
    kinds = set()
    for event in _sse(body):
        if event == "[DONE]" or "error" in event:
            kinds.add("[DONE]" if event == "[DONE]" else "error")
            continue
        for choice in event["choices"]:
            kinds.update(f"delta.{key}" for key in choice["delta"])
            for result in choice["delta"].get("tool_results", ()):
                if result.get("preliminary"):
                    kinds.add("delta.tool_results:preliminary")
            if choice["finish_reason"] is not None:
                kinds.add("finish_reason")
        if event.get("usage"):
            kinds.add("usage")
    return kinds


def _openai_normalise(
    tool_results: Any, include_usage: bool = False
) -> Callable[[Iterable[Chunk]], list[Chunk]]:
    return lambda chunks: normalize.openai_chat(
        chunks, tool_results=tool_results, include_usage=include_usage
    )


WIRES = [
    Wire(
        "data_stream",
        DataStreamEncoder,
        DataStreamDecoder,
        normalize.data_stream,
        _data_stream_kinds,
    ),
    Wire(
        "assistant_transport",
        AssistantTransportEncoder,
        AssistantTransportDecoder,
        normalize.assistant_transport,
        _transport_kinds,
    ),
    Wire(
        "openai_chat",
        OpenAIChatEncoder,
        OpenAIChatDecoder,
        _openai_normalise("drop"),
        _openai_kinds,
    ),
    Wire(
        "openai_chat_tool_results",
        lambda: OpenAIChatEncoder(tool_results="delta", include_usage=True),
        OpenAIChatDecoder,
        _openai_normalise("delta", include_usage=True),
        _openai_kinds,
    ),
    Wire(
        "ui_message_stream",
        lambda: UIMessageStreamEncoder(message_id="msg-1"),
        UIMessageStreamDecoder,
        lambda chunks: normalize.ui_message_stream(chunks, message_id="msg-1"),
        _ui_kinds,
    ),
    Wire("ag_ui", AGUIEncoder, AGUIDecoder, normalize.ag_ui, _ag_ui_kinds),
]
EVERY_WIRE = pytest.mark.parametrize("wire", WIRES, ids=str)

_OPENAI_DROPS = {
    DataChunk,
    AnnotationsChunk,
    UpdateStateChunk,
    SourceChunk,
    FileChunk,
    MessageMetadataChunk,
    AbortChunk,
    SourceDocumentChunk,
    # Structure only: steps fold into the finish reason and usage.
    ReasoningPartStartChunk,
    StepStartChunk,
    StepFinishChunk,
}
# The client holds its own answer: these write nothing (protocols/_client_turn.py).
_CLIENT_TURN = {ToolApprovalRequestChunk, ToolCallResumeChunk, ToolOutputDeniedChunk}
#: Chunk kinds a protocol documents it cannot carry (they do not come back).
DROPPED: dict[str, set[type[Chunk]]] = {
    "data_stream": _CLIENT_TURN,
    "assistant_transport": _CLIENT_TURN,
    "openai_chat": _OPENAI_DROPS | _CLIENT_TURN | {ToolResultChunk, PreliminaryToolResultChunk},
    "openai_chat_tool_results": _OPENAI_DROPS | _CLIENT_TURN,
}

#: Every frame kind each encoder writes.
WRITTEN: dict[str, set[str]] = {
    "data_stream": {
        "0",
        "g",
        "aui-text-delta",
        "aui-reasoning-delta",
        "aui-reasoning-part-start",
        "b",
        "c",
        "a",
        "2",
        "3",
        "8",
        "8:message-metadata",
        "8:abort",
        "8:source-document",
        "8:tool-output-available",
        "aui-state",
        "h",
        "k",
        "f",
        "e",
        "d",
    },
    "assistant_transport": {
        "part-start:text",
        "part-start:reasoning",
        "part-start:tool-call",
        "part-start:source",
        "part-start:file",
        "text-delta",
        "part-finish",
        "tool-call-args-text-finish",
        "result",
        "data",
        "error",
        "update-state",
        "annotations",
        "annotations:message-metadata",
        "annotations:abort",
        "annotations:source-document",
        "annotations:tool-output-available",
        "step-start",
        "step-finish",
        "message-finish",
        "[DONE]",
    },
    "openai_chat": {
        "delta.role",
        "delta.content",
        "delta.reasoning_content",
        "delta.tool_calls",
        "error",
        "finish_reason",
        "[DONE]",
    },
    "ui_message_stream": {
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "tool-input-error",
        "tool-output-available",
        "tool-output-available:preliminary",
        "tool-output-error",
        "tool-approval-request",
        "tool-output-denied",
        "source-url",
        "source-document",
        "file",
        "data-data",
        "data-annotations",
        "data-state",
        "error",
        "start-step",
        "finish-step",
        "message-metadata",
        "abort",
        "finish",
        "[DONE]",
    },
    "ag_ui": {
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
        "REASONING_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
        "STATE_SNAPSHOT",
        "STATE_DELTA",
        "STEP_STARTED",
        "STEP_FINISHED",
        *(f"CUSTOM:{name}" for name in ag_ui.CUSTOM_EVENT_NAMES.values()),
        "RUN_ERROR",
        "RUN_FINISHED",
        "RUN_FINISHED:cancelled",
        "RUN_FINISHED:interrupt",
    },
}
WRITTEN["openai_chat_tool_results"] = WRITTEN["openai_chat"] | {
    "usage",
    "delta.tool_results",
    "delta.tool_results:preliminary",
}


def _encode(wire: Wire, run: list[Chunk]) -> bytes:
    encoder = wire.encoder()
    with warnings.catch_warnings():
        # AG-UI warns when it drops the chunks after an error (normalize drops them too).
        warnings.simplefilter("ignore", RuntimeWarning)
        return encoder.encode_many(run) + encoder.finish()


def _decode(wire: Wire, body: bytes) -> list[Chunk]:
    decoder = wire.decoder()
    return decoder.feed(body) + decoder.finish()


def test_every_chunk_kind_has_an_example() -> None:
    assert set(EXAMPLES) == set(CHUNK_TYPES.values())


@EVERY_WIRE
@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.type)
def test_every_chunk_kind_comes_back(wire: Wire, kind: type[Chunk]) -> None:
    run = EXAMPLES[kind]
    decoded = _decode(wire, _encode(wire, run))
    assert decoded == wire.normalise(run)
    if kind not in DROPPED.get(wire.name, set()):
        assert any(type(chunk) is kind for chunk in decoded), f"{wire} lost {kind.type}"


@EVERY_WIRE
def test_the_examples_write_every_listed_frame_kind(wire: Wire) -> None:
    written: set[str] = set()
    for run in EXAMPLES.values():
        written |= wire.frame_kinds(_encode(wire, run))
    assert written == WRITTEN[wire.name]


@EVERY_WIRE
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=chunk_sequences(max_size=20))
def test_generated_runs_write_only_listed_frame_kinds(wire: Wire, run: list[Chunk]) -> None:
    body = _encode(wire, run)
    assert wire.frame_kinds(body) <= WRITTEN[wire.name]
    if wire.name != "ag_ui":  # AG-UI gives back equivalent state operations (its own tests)
        assert _decode(wire, body) == wire.normalise(run)


def test_no_decoder_ignores_a_frame_kind_its_encoder_writes() -> None:
    assert not data_stream._IGNORED_CODES & WRITTEN["data_stream"]
    assert not ui_message_stream._IGNORED_TYPES & WRITTEN["ui_message_stream"]
    assert not set(ag_ui._IGNORED_TYPES) & WRITTEN["ag_ui"]
    # Every CUSTOM event the encoder names, the decoder turns back into a chunk.
    assert set(ag_ui._CUSTOM_KIND) == set(ag_ui.CUSTOM_EVENT_NAMES.values())
