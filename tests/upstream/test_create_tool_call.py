"""create_tool_call: a tool call streamed on its own, outside a run."""

from __future__ import annotations

import json

import anyio
import anyio.to_thread
import pytest
from assistant_stream_ce.modules.tool_call import create_tool_call
from assistant_stream_ce.serialization.data_stream import DataStreamEncoder

from assistant_stream_core.chunks import (
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_core.run import RunClosedError


def payloads(lines: list[str]) -> list[tuple[str, object]]:
    return [(line[:2], json.loads(line[2:])) for line in lines]


@pytest.mark.anyio
async def test_close_finishes_the_args_and_ends_the_stream() -> None:
    stream, controller = await create_tool_call("search", "t1")
    controller.append_args_text('{"q": 1}')
    controller.close()
    controller.close()  # idempotent
    lines = [line async for line in DataStreamEncoder().encode_stream(stream)]
    assert payloads(lines) == [
        ("b:", {"toolCallId": "t1", "toolName": "search"}),
        ("c:", {"toolCallId": "t1", "argsTextDelta": '{"q": 1}'}),
        ("c:", {"toolCallId": "t1", "argsTextDelta": "", "isFinal": True}),
    ]


@pytest.mark.anyio
async def test_no_args_default_to_an_empty_object() -> None:
    stream, controller = await create_tool_call("now", "t1")
    controller.close()
    lines = [line async for line in DataStreamEncoder().encode_stream(stream)]
    assert payloads(lines) == [
        ("b:", {"toolCallId": "t1", "toolName": "now"}),
        ("c:", {"toolCallId": "t1", "argsTextDelta": "{}", "isFinal": True}),
    ]


@pytest.mark.anyio
async def test_reader_waits_for_chunks_from_a_worker_thread() -> None:
    stream, controller = await create_tool_call("search", "t1", parent_id="p1")
    received = []

    async def read() -> None:
        async for chunk in stream:
            received.append(chunk)

    def work() -> None:
        controller.append_args_text("{}")
        controller.set_response({"hits": 2})

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.sleep(0.01)  # the reader is now waiting
        await anyio.to_thread.run_sync(work)
    assert received == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="search", parent_id="p1"),
        ToolCallDeltaChunk(tool_call_id="t1", args_text_delta="{}"),
        ToolResultChunk(tool_call_id="t1", result={"hits": 2}),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


@pytest.mark.anyio
async def test_calls_after_close_and_bad_values_raise() -> None:
    stream, controller = await create_tool_call("search", "t1")
    with pytest.raises(TypeError, match="args_text_delta"):
        controller.append_args_text(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="result"):
        controller.set_response(object())
    controller.close()
    with pytest.raises(RunClosedError):
        controller.append_args_text("x")
    with pytest.raises(RunClosedError):
        controller.set_response(1)
    assert [type(c) for c in [c async for c in stream]] == [
        ToolCallBeginChunk,
        ToolCallArgsTextFinishChunk,
    ]
