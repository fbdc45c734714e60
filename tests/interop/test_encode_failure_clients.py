"""A chunk that cannot be encoded mid-run: the stream the serving loop then
writes (the frames before it, an error, the closing frames) must still be one
the real clients accept.

Each run goes through :func:`stream_encoded`, the loop every adapter uses; the
bad chunk holds a value that is not JSON. The bodies go to ``@ag-ui/client``'s
``verifyEvents`` and ``HttpAgent`` (AG-UI) and to ``ai``'s
``readUIMessageStream`` and assistant-ui's decoder (UI Message Stream).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import (
    Chunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder
from assistant_stream_core.run.serve import StreamEnd, stream_encoded
from tests.conftest import require_tool
from tests.interop.conftest import INTEROP_DIR, NodeScripts

BAD: Any = object()  # not JSON

#: A tool call with a text message open beside it, then a result the wire
#: cannot carry: the encoder must not record the text's end or the call's end
#: as sent when the result's frame never went out.
AG_UI_RUN: list[Chunk] = [
    ToolCallBeginChunk("c1", "lookup"),
    ToolCallDeltaChunk("c1", '{"q": 1}'),
    TextDeltaChunk("Looking it up"),
    ToolResultChunk("c1", BAD),
]

#: A text part closed by a tool call, then a text delta the wire cannot carry:
#: its part must not be recorded as open, or the closing frames end a part
#: whose start never went out.
UI_RUN: list[Chunk] = [
    TextDeltaChunk("Hi"),
    ToolCallBeginChunk("c1", "lookup"),
    TextDeltaChunk(BAD),
]


class _OneBatch:
    """A run source that hands over ``chunks`` as one batch, as a run's buffer does."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    async def batches(self) -> AsyncIterator[list[Chunk]]:
        yield self.chunks

    async def aclose(self) -> None:
        pass


def serve(chunks: list[Chunk], encoder: Encoder) -> bytes:
    """The body :func:`stream_encoded` writes for ``chunks`` (one batch)."""
    body = bytearray()

    async def send(data: bytes) -> None:
        body.extend(data)

    async def main() -> None:
        result = await stream_encoded(_OneBatch(chunks), encoder, send, keepalive_interval=None)
        assert result.end is StreamEnd.ENCODE_ERROR

    anyio.run(main)
    return bytes(body)


def ag_ui_events(body: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:]) for line in body.decode().split("\n\n") if line.startswith("data: ")
    ]


def test_ag_ui_failed_result_leaves_the_call_open_until_the_error() -> None:
    body = serve(AG_UI_RUN, AGUIEncoder(thread_id="t", run_id="r", message_id="m"))
    types = [event["type"] for event in ag_ui_events(body)]
    assert types == [
        "RUN_STARTED",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        # The error tail: everything still open is closed before RUN_ERROR.
        "TEXT_MESSAGE_END",
        "TOOL_CALL_END",
        "RUN_ERROR",
    ]


def test_ui_message_failed_delta_opens_no_part() -> None:
    body = serve(UI_RUN, UIMessageStreamEncoder(message_id="msg-1"))
    frames = [f[6:] for f in body.decode().split("\n\n") if f.startswith("data: ")]
    types = [json.loads(f)["type"] for f in frames if f != "[DONE]"]
    assert types == [
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "tool-input-start",
        "error",
        "tool-input-available",
        "finish",
    ] or types == [
        "start",
        "text-start",
        "text-delta",
        "text-end",
        "tool-input-start",
        "tool-input-available",
        "error",
        "finish",
    ]
    assert types.count("text-start") == types.count("text-end") == 1


@pytest.fixture(scope="module")
def clients(node_scripts: NodeScripts) -> NodeScripts:
    for package in ("@ag-ui/client", "ai", "ai5", "assistant-stream"):
        manifest = INTEROP_DIR / "node_modules" / package / "package.json"
        require_tool(manifest.is_file(), f"the npm package {package}")
    return node_scripts


def test_ag_ui_client_accepts_the_error_tail(clients: NodeScripts) -> None:
    body = serve(AG_UI_RUN, AGUIEncoder(thread_id="t", run_id="r", message_id="m"))
    data = base64.b64encode(body).decode()
    result = clients.run_batch("ag_ui.mjs", [{"id": "tail", "data": data}])["tail"]
    assert result["schemaErrors"] == []
    assert result["verifyError"] is None
    assert len(result["runErrorEvents"]) == 1
    assert "could not be encoded" in result["runErrorEvents"][0]
    assert result["runError"] is None
    calls = [c for m in result["messages"] for c in m.get("toolCalls") or []]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [("c1", '{"q": 1}')]


def test_ai_clients_accept_the_error_tail(clients: NodeScripts) -> None:
    body = serve(UI_RUN, UIMessageStreamEncoder(message_id="msg-1"))
    data = base64.b64encode(body).decode()
    result = clients.run_batch("ui_message.mjs", [{"id": "tail", "data": data}])["tail"]
    assert result["ok"], result.get("error")
    for package in ("ai5", "ai"):
        got = result[package]
        assert got["invalid"] == []
        # The error frame is reported; nothing else (no crash on a stray text-end).
        assert len(got["errors"]) == 1, got["errors"]
        assert "could not be encoded" in json.dumps(got["errors"])
        parts = got["message"]["parts"]
        assert [p["text"] for p in parts if p["type"] == "text"] == ["Hi"]
    assert "error" not in result["assistantStream"], result["assistantStream"].get("error")
