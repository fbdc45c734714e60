"""Decoding metadata, aborts, document sources and preliminary results from other producers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant_stream_core.chunks import (
    AbortChunk,
    AnnotationsChunk,
    MessageFinishChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    SourceDocumentChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
)
from assistant_stream_core.errors import ProtocolError
from assistant_stream_core.protocols.ag_ui import AGUIDecoder
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatDecoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamDecoder


def sse(*events: Any) -> bytes:
    return b"".join(
        b"data: " + (e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n\n"
        for e in events
    )


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            [{"type": "message-metadata", "messageMetadata": {"a": 1}}],
            MessageMetadataChunk({"a": 1}),
        ),
        ([{"type": "abort"}], AbortChunk()),
        (
            [{"type": "source-document", "sourceId": "d", "mediaType": "m", "title": "t"}],
            SourceDocumentChunk("d", "m", "t"),
        ),
        (
            [
                {
                    "type": "tool-output-available",
                    "toolCallId": "c",
                    "output": None,
                    "preliminary": True,
                }
            ],
            PreliminaryToolResultChunk("c", None),
        ),
        # Near misses stay annotations: two items, an extra key, a wrong type, not preliminary.
        ([{"type": "abort"}, {"type": "abort"}], None),
        ([{"type": "abort", "by": "me"}], None),
        ([{"type": "message-metadata", "messageMetadata": [1]}], None),
        ([{"type": "tool-output-available", "toolCallId": "c", "output": 1}], None),
        ([{"type": "citation"}], None),
        ([{"type": ["abort"]}], None),  # a type no dict key can be
    ],
)
def test_assistant_ui_annotations(items: list[Any], expected: Any) -> None:
    want = expected if expected is not None else AnnotationsChunk(items)
    data_stream = DataStreamDecoder()
    assert data_stream.feed(b"8:" + json.dumps(items).encode() + b"\n") == [want]
    transport = AssistantTransportDecoder()
    assert transport.feed(sse({"type": "annotations", "annotations": items})) == [want]


def test_ui_message_stream_metadata_must_be_an_object() -> None:
    decoder = UIMessageStreamDecoder()
    with pytest.raises(ProtocolError, match="messageMetadata must be a JSON object"):
        decoder.feed(sse({"type": "message-metadata", "messageMetadata": "fast"}))


def test_ag_ui_cancelled_run_of_another_producer_is_an_abort() -> None:
    started = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
    finished = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}
    decoder = AGUIDecoder()
    chunks = decoder.feed(sse(started, {**finished, "outcome": {"type": "cancelled"}}))
    assert chunks == [AbortChunk()]
    # Our own streams say it with a CUSTOM event first: one abort, not two.
    decoder = AGUIDecoder()
    abort = {"type": "CUSTOM", "name": "assistant-stream/abort", "value": {"reason": "r"}}
    cancelled = {**finished, "outcome": {"type": "cancelled"}}
    assert decoder.feed(sse(started, abort, cancelled)) == [AbortChunk("r")]


def test_ag_ui_bad_custom_values_are_protocol_errors() -> None:
    started = {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
    bad = {"type": "CUSTOM", "name": "assistant-stream/source-document", "value": {"id": "d"}}
    with pytest.raises(ProtocolError, match="source-document"):
        AGUIDecoder().feed(sse(started, bad))


def test_openai_preliminary_tool_results() -> None:
    frame = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 0, "id": "t1", "function": {"name": "f", "arguments": "{}"}}
                    ],
                    "tool_results": [{"tool_call_id": "t1", "result": 1, "preliminary": True}],
                },
                "finish_reason": None,
            }
        ],
    }
    decoder = OpenAIChatDecoder()
    chunks = decoder.feed(sse(frame, b"[DONE]")) + decoder.finish()
    assert chunks[:3] == [
        ToolCallBeginChunk("t1", "f"),
        ToolCallDeltaChunk("t1", "{}"),
        PreliminaryToolResultChunk("t1", 1),
    ]
    assert not any(isinstance(c, MessageFinishChunk) for c in chunks[:3])
