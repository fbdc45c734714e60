"""The chunks each RunController / ToolCallController method produces.

Compared with upstream ``assistant_stream.create_run`` (the protocol pages in docs/protocols),
with two deliberate differences: adjacent deltas of one part coalesce while the
consumer is behind, and chunks keep the order in which they were produced.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
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
from assistant_stream_core.run import (
    RunClosedError,
    RunController,
    create_run,
    generate_openai_style_tool_call_id,
)
from assistant_stream_core.state import SetOperation

from ._util import coalesce, collect, collect_with_error

pytestmark = pytest.mark.anyio


async def test_each_simple_method_emits_one_chunk() -> None:
    async def run(c: RunController) -> None:
        c.append_text("hi")
        c.add_reasoning_part("summary")
        c.append_reasoning("think")
        c.add_data({"k": [1, 2]})
        c.add_error("bad")
        c.add_source("s1", "https://example.com", title="Example")
        c.add_file("aGk=", "text/plain")
        c.add_annotations([{"a": 1}])
        c.add_step_start("m1")
        c.add_step_finish("stop", input_tokens=3, output_tokens=4, is_continued=True)
        c.add_message_finish("stop", input_tokens=5, output_tokens=6)

    assert await collect(run) == [
        TextDeltaChunk(text_delta="hi"),
        ReasoningPartStartChunk(unstable_summary="summary"),
        ReasoningDeltaChunk(reasoning_delta="think"),
        DataChunk(data={"k": [1, 2]}),
        ErrorChunk(error="bad"),
        SourceChunk(id="s1", url="https://example.com", title="Example", source_type="url"),
        FileChunk(data="aGk=", mime_type="text/plain"),
        AnnotationsChunk(annotations=[{"a": 1}]),
        StepStartChunk(message_id="m1"),
        StepFinishChunk(finish_reason="stop", input_tokens=3, output_tokens=4, is_continued=True),
        MessageFinishChunk(finish_reason="stop", input_tokens=5, output_tokens=6),
    ]


async def test_interleaved_text_and_reasoning_stay_separate() -> None:
    # Upstream's test_mixed_text_and_reasoning: four chunks, in order.
    async def run(c: RunController) -> None:
        c.append_text("This is text")
        c.append_reasoning("This is reasoning")
        c.append_text("More text")
        c.append_reasoning("More reasoning")

    assert await collect(run) == [
        TextDeltaChunk(text_delta="This is text"),
        ReasoningDeltaChunk(reasoning_delta="This is reasoning"),
        TextDeltaChunk(text_delta="More text"),
        ReasoningDeltaChunk(reasoning_delta="More reasoning"),
    ]


async def test_adjacent_deltas_coalesce_while_the_consumer_is_behind() -> None:
    # Upstream yields two reasoning chunks here; the joined text is the same.
    async def run(c: RunController) -> None:
        c.append_reasoning("This is ")
        c.append_reasoning("reasoning content")
        c.append_text("a")
        c.append_text("")
        c.append_text("b")

    assert await collect(run) == [
        ReasoningDeltaChunk(reasoning_delta="This is reasoning content"),
        TextDeltaChunk(text_delta="ab"),
    ]


async def test_tool_call_chunks_match_upstream_order() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("get_weather", "t1")
        assert (tool.tool_name, tool.tool_call_id) == ("get_weather", "t1")
        tool.append_args_text('{"city": ')
        tool.append_args_text('"Paris"}')
        tool.set_response({"temp_c": 21}, artifact={"raw": 1}, is_error=False)
        tool.close()  # idempotent: no second finish chunk

    assert await collect(run) == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="get_weather"),
        ToolCallDeltaChunk(tool_call_id="t1", args_text_delta='{"city": "Paris"}'),
        # As upstream: the result first, then the args finish.
        ToolResultChunk(tool_call_id="t1", result={"temp_c": 21}, artifact={"raw": 1}),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


async def test_generated_tool_call_ids_are_openai_style_and_unique() -> None:
    ids = {generate_openai_style_tool_call_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"call_[A-Za-z0-9]{24}", i) for i in ids)

    async def run(c: RunController) -> None:
        await c.add_tool_call("a")

    begin, finish = await collect(run)
    assert isinstance(begin, ToolCallBeginChunk)
    assert re.fullmatch(r"call_[A-Za-z0-9]{24}", begin.tool_call_id)
    assert finish == ToolCallArgsTextFinishChunk(tool_call_id=begin.tool_call_id)


async def test_open_tool_calls_close_at_run_end_and_order_is_kept() -> None:
    # Decision 4: no relay task, so text after add_tool_call comes after its begin.
    async def run(c: RunController) -> None:
        c.append_text("before")
        one = await c.add_tool_call("one", "t1")
        c.append_text("between")
        one.append_args_text("{}")
        await c.add_tool_call("two", "t2")

    assert await collect(run) == [
        TextDeltaChunk(text_delta="before"),
        ToolCallBeginChunk(tool_call_id="t1", tool_name="one"),
        TextDeltaChunk(text_delta="between"),
        ToolCallDeltaChunk(tool_call_id="t1", args_text_delta="{}"),
        ToolCallBeginChunk(tool_call_id="t2", tool_name="two"),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
        ToolCallArgsTextFinishChunk(tool_call_id="t2"),
    ]


async def test_set_result_is_a_deprecated_alias() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("t", "t1")
        with pytest.warns(DeprecationWarning, match="set_response"):
            tool.set_result(42)

    assert await collect(run) == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t"),
        ToolResultChunk(tool_call_id="t1", result=42),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


async def test_add_tool_result_emits_only_the_result() -> None:
    async def run(c: RunController) -> None:
        tool = await c.add_tool_call("t", "t1")
        tool.close()
        c.add_tool_result("t1", [1, "x"], is_error=True)

    assert await collect(run) == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t"),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
        ToolResultChunk(tool_call_id="t1", result=[1, "x"], is_error=True),
    ]


async def test_with_parent_id_marks_part_chunks_only() -> None:
    async def run(c: RunController) -> None:
        p = c.with_parent_id("p1")
        p.append_text("a")
        c.append_text("b")  # a different parent: no coalescing across parents
        p.append_reasoning("r")
        p.add_reasoning_part("s")
        await p.add_tool_call("t", "t1")
        p.add_source("s1", "https://x.test")
        p.add_file("AA==", "image/png")
        p.add_data(1)
        p.add_error("e")
        p.add_annotations([])
        p.add_step_start("m")
        p.add_step_finish("stop")
        p.state["k"] = 1
        assert p.state == {"k": 1}
        assert c.state["k"] == 1  # one state, shared by every view

    chunks = await collect(run, state={})
    assert chunks == [
        TextDeltaChunk(text_delta="a", parent_id="p1"),
        TextDeltaChunk(text_delta="b"),
        ReasoningDeltaChunk(reasoning_delta="r", parent_id="p1"),
        ReasoningPartStartChunk(unstable_summary="s", parent_id="p1"),
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t", parent_id="p1"),
        SourceChunk(id="s1", url="https://x.test", parent_id="p1"),
        FileChunk(data="AA==", mime_type="image/png", parent_id="p1"),
        DataChunk(data=1),
        ErrorChunk(error="e"),
        AnnotationsChunk(annotations=[]),
        StepStartChunk(message_id="m"),
        StepFinishChunk(finish_reason="stop"),
        UpdateStateChunk(operations=[SetOperation(path=("k",), value=1)]),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


class _Probe:
    """Calls a controller method inside the run and records what it raised."""

    def __init__(self) -> None:
        self.raised: dict[str, BaseException] = {}

    def call(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            self.raised[name] = exc


async def test_bad_arguments_raise_at_the_call_site_naming_the_argument() -> None:
    probe = _Probe()

    async def run(c: RunController) -> None:
        probe.call("text", c.append_text, 123)
        probe.call("reasoning", c.append_reasoning, b"x")
        probe.call("data", c.add_data, {"x": object()})
        probe.call("nan", c.add_data, {"x": [1.0, math.nan]})
        probe.call("inf", c.add_data, math.inf)
        probe.call("annotations", c.add_annotations, "nope")
        probe.call("source", c.add_source, "s", None)
        probe.call("tokens", c.add_step_finish, "stop", "3")
        tool = await c.add_tool_call("t", "t1")
        probe.call("args", tool.append_args_text, 1)
        probe.call("result", tool.set_response, 1j)
        probe.call("artifact", tool.set_response, 1, artifact=-math.inf)
        try:
            await c.add_tool_call("again", "t1")
        except ValueError as exc:
            probe.raised["duplicate"] = exc
        probe.call("unknown", c.add_tool_result, "nope", 1)
        tool.close()
        probe.call("closed_args", tool.append_args_text, "x")
        probe.call("closed_response", tool.set_response, 1)

    chunks = await collect(run)
    r = probe.raised
    assert isinstance(r["text"], TypeError)
    assert "text_delta" in str(r["text"])
    assert isinstance(r["reasoning"], TypeError)
    assert "reasoning_delta" in str(r["reasoning"])
    assert isinstance(r["data"], TypeError)
    assert "data" in str(r["data"])
    assert "object" in str(r["data"])
    assert isinstance(r["nan"], ValueError)
    assert "nan" in str(r["nan"])
    assert isinstance(r["inf"], ValueError)
    assert isinstance(r["annotations"], TypeError)
    assert isinstance(r["source"], TypeError)
    assert "url" in str(r["source"])
    assert isinstance(r["tokens"], TypeError)
    assert "input_tokens" in str(r["tokens"])
    assert isinstance(r["args"], TypeError)
    assert "args_text_delta" in str(r["args"])
    assert isinstance(r["result"], TypeError)
    assert "result" in str(r["result"])
    assert isinstance(r["artifact"], ValueError)
    assert "artifact" in str(r["artifact"])
    assert isinstance(r["duplicate"], ValueError)
    assert "t1" in str(r["duplicate"])
    assert isinstance(r["unknown"], ValueError)
    assert "nope" in str(r["unknown"])
    for name in ("closed_args", "closed_response"):
        assert isinstance(r[name], RunClosedError)
        assert isinstance(r[name], RuntimeError)
    # Nothing from the failed calls reached the stream.
    assert chunks == [
        ToolCallBeginChunk(tool_call_id="t1", tool_name="t"),
        ToolCallArgsTextFinishChunk(tool_call_id="t1"),
    ]


async def test_controller_after_the_run_ended_raises() -> None:
    kept: list[RunController] = []

    async def run(c: RunController) -> None:
        kept.append(c)
        c.append_text("x")

    await collect(run)
    c = kept[0]
    with pytest.raises(RunClosedError):
        c.append_text("late")
    with pytest.raises(RunClosedError):
        c.add_data(1)
    with pytest.raises(RunClosedError):
        await c.add_tool_call("t")
    with pytest.raises(RunClosedError):
        c.with_parent_id("p").append_reasoning("late")


async def _chunks(*chunks: Chunk) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


async def test_add_stream_merges_an_async_iterable_and_waits_for_it() -> None:
    async def run(c: RunController) -> None:
        c.append_text("a")
        c.add_stream(
            _chunks(
                TextDeltaChunk(text_delta="b"),
                ToolCallBeginChunk(tool_call_id="s1", tool_name="sub"),
                ToolCallArgsTextFinishChunk(tool_call_id="s1"),
            )
        )

    # The reader task may run after the consumer took "a": compare joined text.
    assert coalesce(await collect(run)) == [
        TextDeltaChunk(text_delta="ab"),
        ToolCallBeginChunk(tool_call_id="s1", tool_name="sub"),
        ToolCallArgsTextFinishChunk(tool_call_id="s1"),
    ]


async def test_add_stream_merges_another_run_and_checks_tool_ids() -> None:
    async def inner(c: RunController) -> None:
        c.append_reasoning("inner")
        await c.add_tool_call("t", "dup")

    async def outer(c: RunController) -> None:
        await c.add_tool_call("t", "dup")
        c.add_stream(create_run(inner))

    chunks, exc = await collect_with_error(create_run(outer))
    assert isinstance(exc, ValueError)
    assert "dup" in str(exc)
    assert chunks[-1] == ErrorChunk(error=str(exc))


async def test_a_failing_merged_run_reports_its_error_once() -> None:
    async def inner(c: RunController) -> None:
        c.append_text("inner")
        raise KeyError("deep")

    async def outer(c: RunController) -> None:
        c.add_stream(create_run(inner))

    chunks, exc = await collect_with_error(create_run(outer))
    assert isinstance(exc, KeyError)
    assert chunks == [TextDeltaChunk(text_delta="inner"), ErrorChunk(error="'deep'")]


async def test_closing_the_outer_run_stops_a_merged_run() -> None:
    seen: list[str] = []

    async def inner(c: RunController) -> None:
        c.append_text("inner")
        try:
            await anyio.sleep(30)
        finally:
            seen.append(f"inner finally, cancelled={c.is_cancelled}")

    async def outer(c: RunController) -> None:
        c.add_stream(create_run(inner, grace_period=0))
        await c.cancelled_event.wait()

    run_ = create_run(outer, grace_period=0)
    assert await run_.__anext__() == TextDeltaChunk(text_delta="inner")
    await run_.aclose()
    assert seen == ["inner finally, cancelled=True"]


async def test_add_stream_from_a_worker_thread_and_bad_streams() -> None:
    errors: list[Exception] = []

    def work(c: RunController) -> None:
        c.add_stream(_chunks(DataChunk(data="from thread")))
        try:
            c.add_stream([TextDeltaChunk(text_delta="x")])  # type: ignore[arg-type]
        except TypeError as exc:
            errors.append(exc)

    async def run(c: RunController) -> None:
        await anyio.to_thread.run_sync(work, c)

    assert await collect(run) == [DataChunk(data="from thread")]
    assert len(errors) == 1
    assert "async iterable" in str(errors[0])
