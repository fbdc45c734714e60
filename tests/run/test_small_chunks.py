"""The controller methods for message metadata, aborts, document sources and preliminary results."""

from __future__ import annotations

import math

import anyio.to_thread
import pytest

from assistant_stream_core.chunks import (
    AbortChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    SourceDocumentChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolResultChunk,
)
from assistant_stream_core.message import accumulate
from assistant_stream_core.run import RunClosedError, RunController

from ._util import collect

pytestmark = pytest.mark.anyio


async def test_each_method_emits_its_chunk_in_order() -> None:
    async def run(c: RunController) -> None:
        c.add_message_metadata({"model": "m", "usage": {"input": 1}})
        tool = await c.add_tool_call("count", "t1")
        tool.append_args_text('{"to": 2}')
        tool.set_preliminary_response({"at": 1})
        tool.set_preliminary_response({"at": 2})
        tool.set_response({"at": 2, "done": True})
        c.with_parent_id("p").add_source_document("d1", "application/pdf", "Doc", "d.pdf")
        c.add_source_document("d2", "text/plain", "Notes")
        c.add_message_metadata({"usage": {"output": 2}})
        c.append_text("stopping")
        c.add_abort("user")
        c.add_abort()

    chunks = await collect(run)
    assert chunks[:2] == [
        MessageMetadataChunk({"model": "m", "usage": {"input": 1}}),
        ToolCallBeginChunk("t1", "count"),
    ]
    assert chunks[3:] == [
        PreliminaryToolResultChunk("t1", {"at": 1}),
        PreliminaryToolResultChunk("t1", {"at": 2}),
        ToolResultChunk("t1", {"at": 2, "done": True}),
        ToolCallArgsTextFinishChunk("t1"),
        SourceDocumentChunk("d1", "application/pdf", "Doc", "d.pdf", parent_id="p"),
        SourceDocumentChunk("d2", "text/plain", "Notes"),
        MessageMetadataChunk({"usage": {"output": 2}}),
        TextDeltaChunk("stopping"),
        AbortChunk("user"),
        AbortChunk(),
    ]
    message = accumulate(chunks)
    assert message.metadata.message_metadata == {"model": "m", "usage": {"input": 1, "output": 2}}


async def test_preliminary_results_for_a_closed_call_go_through_the_run_controller() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("search", "t1")
        tool.close()
        with pytest.raises(RunClosedError, match="set_preliminary_response"):
            tool.set_preliminary_response(1)
        c.add_preliminary_tool_result("t1", [1])
        c.add_tool_result("t1", [1, 2])

    assert await collect(run) == [
        ToolCallBeginChunk("t1", "search"),
        ToolCallArgsTextFinishChunk("t1"),
        PreliminaryToolResultChunk("t1", [1]),
        ToolResultChunk("t1", [1, 2]),
    ]


async def test_from_a_worker_thread() -> None:
    async def run(c: RunController) -> None:
        await anyio.to_thread.run_sync(c.add_message_metadata, {"k": 1})
        await anyio.to_thread.run_sync(c.add_abort, "late")

    assert await collect(run) == [MessageMetadataChunk({"k": 1}), AbortChunk("late")]


async def test_bad_arguments_raise_at_the_call_site() -> None:
    raised: dict[str, Exception] = {}

    async def run(c: RunController) -> None:
        calls = {
            "metadata list": lambda: c.add_message_metadata([1]),  # type: ignore[arg-type]
            "metadata key": lambda: c.add_message_metadata({1: "x"}),  # type: ignore[dict-item]
            "metadata value": lambda: c.add_message_metadata({"x": object()}),
            "metadata nan": lambda: c.add_message_metadata({"x": math.nan}),
            "abort reason": lambda: c.add_abort(3),  # type: ignore[arg-type]
            "document title": lambda: c.add_source_document("d", "text/plain", None),  # type: ignore[arg-type]
            "document filename": lambda: c.add_source_document("d", "t/p", "T", "\udc00"),
            "preliminary unknown": lambda: c.add_preliminary_tool_result("nope", 1),
        }
        tool = await c.add_tool_call("t", "t1")
        calls["preliminary value"] = lambda: tool.set_preliminary_response({"x": math.inf})
        for name, call in calls.items():
            try:
                call()
            except Exception as exc:
                raised[name] = exc

    chunks = await collect(run)
    assert {name: type(exc) for name, exc in raised.items()} == {
        "metadata list": TypeError,
        "metadata key": TypeError,
        "metadata value": TypeError,
        "metadata nan": ValueError,
        "abort reason": TypeError,
        "document title": TypeError,
        "document filename": ValueError,
        "preliminary unknown": ValueError,
        "preliminary value": ValueError,
    }
    assert "metadata" in str(raised["metadata list"])
    assert "reason" in str(raised["abort reason"])
    assert "title" in str(raised["document title"])
    assert "filename" in str(raised["document filename"])
    assert "nope" in str(raised["preliminary unknown"])
    # Nothing from the failed calls reached the stream.
    assert chunks == [ToolCallBeginChunk("t1", "t"), ToolCallArgsTextFinishChunk("t1")]
