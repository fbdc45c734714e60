"""Message metadata, aborts, document sources and preliminary results, read by the real clients.

One run with all four kinds is encoded in every protocol that can carry them
and read by the npm client of that protocol (whole and split into pieces):

* ``ai`` 5 and the current major (``readUIMessageStream`` after the schema
  check ``useChat`` does): the metadata deep-merged into ``message.metadata``,
  the ``source-document`` part, the tool part showing the final output once it
  comes (and a preliminary output, flagged, until then), the ``abort`` chunk;
* assistant-ui's strict decoders and accumulator: each of the four as one
  annotation in ``metadata.unstable_annotations``, and the same message as
  :func:`~assistant_stream_core.message.accumulate` builds;
* ``@ag-ui/client``: the ``CUSTOM`` events its subscribers receive, and the
  ``cancelled`` outcome of ``RUN_FINISHED``.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from assistant_stream_core.chunks import (
    AbortChunk,
    Chunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    SourceDocumentChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolResultChunk,
)
from assistant_stream_core.message import accumulate
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder
from tests.interop.conftest import NodeScripts
from tests.interop.test_assistant_stream_npm import comparable

pytestmark = pytest.mark.interop

SPLIT = {"seed": 11, "max": 7}

RUN: list[Chunk] = [
    MessageMetadataChunk({"model": "m-1", "usage": {"input": 3}}),
    TextDeltaChunk("Counting"),
    ToolCallBeginChunk("c1", "count"),
    ToolCallArgsTextFinishChunk("c1", '{"to": 3}'),
    PreliminaryToolResultChunk("c1", {"at": 1}),
    PreliminaryToolResultChunk("c1", {"at": 2}),
    ToolResultChunk("c1", {"at": 3, "done": True}),
    SourceDocumentChunk("d1", "application/pdf", "Report", "report.pdf"),
    MessageMetadataChunk({"usage": {"output": 7}, "tags": ["a"]}),
    AbortChunk("stopped by the user"),
]
#: ``RUN``'s metadata as the AI SDK merges it.
MERGED = {"model": "m-1", "usage": {"input": 3, "output": 7}, "tags": ["a"]}
#: The annotations assistant-ui shows for ``RUN`` (the AI SDK chunk of each).
ANNOTATIONS = [
    {"type": "message-metadata", "messageMetadata": {"model": "m-1", "usage": {"input": 3}}},
    {"type": "tool-output-available", "toolCallId": "c1", "output": {"at": 1}, "preliminary": True},
    {"type": "tool-output-available", "toolCallId": "c1", "output": {"at": 2}, "preliminary": True},
    {
        "type": "source-document",
        "sourceId": "d1",
        "mediaType": "application/pdf",
        "title": "Report",
        "filename": "report.pdf",
    },
    {"type": "message-metadata", "messageMetadata": {"usage": {"output": 7}, "tags": ["a"]}},
    {"type": "abort", "reason": "stopped by the user"},
]
#: A tool still reporting progress when the stream ends.
STILL_RUNNING: list[Chunk] = [
    ToolCallBeginChunk("c2", "count"),
    ToolCallArgsTextFinishChunk("c2", "{}"),
    PreliminaryToolResultChunk("c2", {"at": 1}),
    PreliminaryToolResultChunk("c2", {"at": 2}),
]


def body(encoder: Encoder, run: list[Chunk]) -> str:
    return base64.b64encode(encoder.encode_many(run) + encoder.finish()).decode()


# --- UI Message Stream: ai 5, ai (current), assistant-ui's decoder -----------


@pytest.fixture(scope="module")
def ui_results(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    cases = []
    for name, run in (("run", RUN), ("still-running", STILL_RUNNING)):
        data = body(UIMessageStreamEncoder(message_id="msg-1"), run)
        cases.append({"id": f"{name}/whole", "data": data})
        cases.append({"id": f"{name}/split", "data": data, "split": SPLIT})
    return node_scripts.run_batch("ui_message.mjs", cases)


def _tool_part(message: dict[str, Any], call_id: str) -> dict[str, Any]:
    (part,) = [p for p in message["parts"] if p.get("toolCallId") == call_id]
    return part


@pytest.mark.parametrize("split", ["whole", "split"])
@pytest.mark.parametrize("package", ["ai5", "ai"])
def test_ai_shows_metadata_document_source_and_final_output(
    ui_results: dict[str, dict[str, Any]], package: str, split: str
) -> None:
    result = ui_results[f"run/{split}"]
    assert result["ok"], result.get("error")
    read = result[package]
    assert read["invalid"] == []
    assert read["errors"] == []
    message = read["message"]
    assert message["id"] == "msg-1"
    assert message["metadata"] == MERGED
    sources = [p for p in message["parts"] if p["type"] == "source-document"]
    assert sources == [
        {
            "type": "source-document",
            "sourceId": "d1",
            "mediaType": "application/pdf",
            "title": "Report",
            "filename": "report.pdf",
        }
    ]
    tool = _tool_part(message, "c1")
    assert tool["type"] == "tool-count"
    assert tool["state"] == "output-available"
    assert tool["input"] == {"to": 3}
    assert tool["output"] == {"at": 3, "done": True}
    assert not tool.get("preliminary")  # the final output replaced the preliminary ones
    outputs = [c for c in read["chunks"] if c["type"] == "tool-output-available"]
    assert [c.get("preliminary", False) for c in outputs] == [True, True, False]
    assert {"type": "abort", "reason": "stopped by the user"} in read["chunks"]


@pytest.mark.parametrize("package", ["ai5", "ai"])
def test_ai_flags_a_preliminary_output_until_the_final_one(
    ui_results: dict[str, dict[str, Any]], package: str
) -> None:
    read = ui_results["still-running/whole"][package]
    assert read["invalid"] == []
    assert read["errors"] == []
    tool = _tool_part(read["message"], "c2")
    assert tool["state"] == "output-available"
    assert tool["output"] == {"at": 2}
    assert tool["preliminary"] is True


def test_assistant_ui_reads_the_ui_message_stream(ui_results: dict[str, dict[str, Any]]) -> None:
    # assistant-ui's UIMessageStreamDecoder skips what it has no chunk for
    # (metadata, abort, document sources, preliminary outputs) and keeps the rest.
    read = ui_results["run/split"]["assistantStream"]
    assert "error" not in read
    message = read["message"]
    (tool,) = [p for p in message["parts"] if p["type"] == "tool-call"]
    assert tool["result"] == {"at": 3, "done": True}
    assert [p["text"] for p in message["parts"] if p["type"] == "text"] == ["Counting"]


# --- Data Stream and Assistant Transport: assistant-ui's strict client -------


@pytest.fixture(scope="module")
def assistant_ui_results(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    cases = []
    for name, encoder in (
        ("data-stream", DataStreamEncoder),
        ("assistant-transport", AssistantTransportEncoder),
    ):
        data = body(encoder(), RUN)
        for split in (None, SPLIT):
            cases.append(
                {
                    "id": f"{name}/{'whole' if split is None else 'split'}",
                    "protocol": name,
                    "data": data,
                    "split": split,
                    "strict": True,
                }
            )
    return node_scripts.run_batch("decode.mjs", cases)


@pytest.mark.parametrize("split", ["whole", "split"])
@pytest.mark.parametrize("protocol", ["data-stream", "assistant-transport"])
def test_assistant_ui_shows_each_as_an_annotation(
    assistant_ui_results: dict[str, dict[str, Any]], protocol: str, split: str
) -> None:
    result = assistant_ui_results[f"{protocol}/{split}"]
    assert result["ok"], result.get("error")
    message = result["message"]
    assert message["metadata"]["unstable_annotations"] == ANNOTATIONS
    (tool,) = [p for p in message["parts"] if p["type"] == "tool-call"]
    assert tool["result"] == {"at": 3, "done": True}
    # The same message the Python accumulator builds, field for field.
    ours = accumulate(RUN, strict=True).to_client_json()
    assert comparable(message, protocol, ours) == comparable(ours, protocol, ours)


# --- AG-UI: @ag-ui/client ----------------------------------------------------


@pytest.fixture(scope="module")
def ag_ui_results(node_scripts: NodeScripts) -> dict[str, dict[str, Any]]:
    data = body(AGUIEncoder(thread_id="t", run_id="r", message_id="m"), RUN)
    cases = [
        {"id": "whole", "data": data},
        {"id": "split", "data": data, "split": SPLIT},
    ]
    return node_scripts.run_batch("ag_ui.mjs", cases)


@pytest.mark.parametrize("split", ["whole", "split"])
def test_ag_ui_client_gets_custom_events_and_a_cancelled_run(
    ag_ui_results: dict[str, dict[str, Any]], split: str
) -> None:
    result = ag_ui_results[split]
    assert result["ok"], result
    assert result["runError"] is None
    assert result["outcome"] == "cancelled"
    assert result["custom"] == [
        {
            "name": "assistant-stream/message-metadata",
            "value": {"model": "m-1", "usage": {"input": 3}},
        },
        {
            "name": "assistant-stream/preliminary-tool-result",
            "value": {"toolCallId": "c1", "result": {"at": 1}},
        },
        {
            "name": "assistant-stream/preliminary-tool-result",
            "value": {"toolCallId": "c1", "result": {"at": 2}},
        },
        {
            "name": "assistant-stream/source-document",
            "value": {
                "id": "d1",
                "mediaType": "application/pdf",
                "title": "Report",
                "filename": "report.pdf",
            },
        },
        {
            "name": "assistant-stream/message-metadata",
            "value": {"usage": {"output": 7}, "tags": ["a"]},
        },
        {"name": "assistant-stream/abort", "value": {"reason": "stopped by the user"}},
    ]
    (tool_message,) = [m for m in result["messages"] if m["role"] == "tool"]
    assert tool_message["toolCallId"] == "c1"
    assert tool_message["content"] == '{"at":3,"done":true}'  # the final result only
