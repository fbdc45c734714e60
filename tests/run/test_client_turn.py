"""The controller's calls for tools that wait for a person: approval, resume, denial."""

from __future__ import annotations

import pytest

from assistant_stream_core.chunks import (
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
)
from assistant_stream_core.run import RunClosedError, RunController, create_run

from ._util import collect, collect_with_error

pytestmark = pytest.mark.anyio


async def test_request_approval_finishes_the_args_then_asks() -> None:
    ids: list[str] = []

    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("delete_file", "t1")
        tool.append_args_text('{"path": "a"}')
        ids.append(tool.request_approval("cannot be undone"))

    assert await collect(run) == [
        ToolCallBeginChunk("t1", "delete_file"),
        ToolCallDeltaChunk("t1", '{"path": "a"}'),
        ToolCallArgsTextFinishChunk("t1"),
        ToolApprovalRequestChunk("t1", "approval-t1", "cannot be undone"),
    ]
    assert ids == ["approval-t1"]


async def test_request_approval_by_id_for_a_closed_call() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("delete_file", "t1")
        tool.close()
        assert c.request_approval("t1", approval_id="a-1") == "a-1"

    chunks = await collect(run)
    assert chunks[-2:] == [ToolCallArgsTextFinishChunk("t1"), ToolApprovalRequestChunk("t1", "a-1")]


async def test_a_call_with_a_result_cannot_wait_for_approval() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("t", "t1")
        tool.set_response(1)
        tool.request_approval()

    _, error = await collect_with_error(create_run(run))
    assert isinstance(error, RunClosedError)
    assert "already has a result" in str(error)


async def test_an_unknown_call_cannot_wait_or_be_denied() -> None:
    async def ask(c: RunController) -> None:
        c.request_approval("nope")

    async def deny(c: RunController) -> None:
        c.deny_tool_call("nope")

    for run in (ask, deny):
        _, error = await collect_with_error(create_run(run))
        assert isinstance(error, ValueError)
        assert "'nope'" in str(error)


async def test_a_resumed_call_takes_a_result_or_a_denial() -> None:
    async def run(c: RunController) -> None:
        c.resume_tool_call("t1")
        c.add_tool_result("t1", {"ok": True})
        c.resume_tool_call("t2")
        c.deny_tool_call("t2")
        c.append_text("done")

    assert await collect(run) == [
        ToolCallResumeChunk("t1"),
        ToolResultChunk("t1", {"ok": True}),
        ToolCallResumeChunk("t2"),
        ToolOutputDeniedChunk("t2"),
        TextDeltaChunk("done"),
    ]


async def test_a_call_resumes_once_per_run() -> None:
    async def run(c: RunController) -> None:
        c.resume_tool_call("t1")
        c.resume_tool_call("t1")

    _, error = await collect_with_error(create_run(run))
    assert isinstance(error, ValueError)
    assert "already used" in str(error)


async def test_wrong_types_name_the_argument() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("t", "t1")
        tool.request_approval(reason=3)  # type: ignore[arg-type]

    _, error = await collect_with_error(create_run(run))
    assert isinstance(error, TypeError)
    assert "reason must be a str or None" in str(error)
