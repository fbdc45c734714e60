"""stream_langgraph: a real LangGraph agent (tool node, subgraph) streamed into a run.

The model is scripted (``_agent.ScriptedChatModel``); the graphs, the tool
node, LangChain's callbacks and LangGraph's stream are the real ones. The
run's chunks are assembled by our ``MessageAccumulator``; test_bridge_interop
decodes the same runs with the real clients.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from assistant_stream_ce.modules.langgraph import stream_langgraph
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableGenerator
from langgraph.graph import START, MessagesState, StateGraph

from assistant_stream_core.chunks import (
    Chunk,
    ErrorChunk,
    MessageFinishChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.message import MessageAccumulator, accumulate
from assistant_stream_core.run import RunController, create_run

from ._agent import ScriptedChatModel, ai, outer_graph, weather_model
from ._runs import collect

pytestmark = pytest.mark.anyio

QUESTION = {"messages": [HumanMessage(content="Weather in Paris?", id="h1")]}

#: What the weather scenario means, as the client's message parts.
EXPECTED_PARTS = [
    {"type": "reasoning", "text": "The user wants Paris."},
    {"type": "text", "text": "Checking the weather."},
    {
        "type": "tool-call",
        "toolCallId": "call_1",
        "toolName": "get_weather",
        "args": {"city": "Paris"},
        "result": "Paris: 21°C",
    },
    # Steps do not end a text part: the reply and the summary share one.
    {"type": "text", "text": "It is 21°C in Paris. Summary: sunny."},
]

EXPECTED_STEPS = [
    ("msg_1", "tool-calls", 10, 5),
    ("msg_2", "stop", 20, 7),
    ("msg_3", "stop", 30, 3),
]


def essential(part: dict[str, Any]) -> dict[str, Any]:
    """The fields of a message part that say what it means (no status, no argsText)."""
    keep = ("type", "text", "toolCallId", "toolName", "args", "result")
    return {key: part[key] for key in keep if key in part}


async def weather_run(**kwargs: Any) -> list[Chunk]:
    graph = outer_graph(weather_model())

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, graph, QUESTION, **kwargs)

    return await collect(run)


async def test_agent_with_tool_and_subgraph_streams_chat_content() -> None:
    chunks = await weather_run()
    message = accumulate(chunks).to_client_json()
    assert [essential(part) for part in message["parts"]] == EXPECTED_PARTS
    assert [
        (step["messageId"], step["finishReason"], *step["usage"].values())
        for step in message["metadata"]["steps"]
    ] == [(m, r, i, o) for m, r, i, o in EXPECTED_STEPS]
    assert message["status"]["type"] == "complete"


async def test_chunk_order_steps_wrap_each_model_call() -> None:
    kinds = [type(chunk).__name__ for chunk in await weather_run()]
    # Deltas may coalesce; the order of boundaries may not change.
    boundaries = [
        kind
        for kind in kinds
        if kind
        in {
            "StepStartChunk",
            "StepFinishChunk",
            "ToolCallBeginChunk",
            "ToolCallArgsTextFinishChunk",
            "ToolResultChunk",
        }
    ]
    assert boundaries == [
        "StepStartChunk",
        "ToolCallBeginChunk",
        "ToolCallArgsTextFinishChunk",  # the model finished the args ...
        "StepFinishChunk",
        "ToolResultChunk",  # ... before the tool ran
        "StepStartChunk",
        "StepFinishChunk",
        "StepStartChunk",
        "StepFinishChunk",
    ]


async def test_tokens_stream_one_by_one_from_the_subgraph() -> None:
    """With a reader that keeps up, each model token is its own delta."""
    graph = outer_graph(weather_model(delay=0.01))
    texts: list[str] = []

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, graph, QUESTION)

    async with create_run(run) as chunks:
        async for chunk in chunks:
            if isinstance(chunk, TextDeltaChunk):
                texts.append(chunk.text_delta)
            await anyio.lowlevel.checkpoint()
    assert "".join(texts) == "Checking the weather.It is 21°C in Paris. Summary: sunny."
    assert len(texts) > 10


async def test_without_subgraphs_the_subgraph_answers_arrive_whole() -> None:
    chunks = await weather_run(subgraphs=False)
    message = accumulate(chunks).to_client_json()
    assert [essential(part) for part in message["parts"]] == EXPECTED_PARTS
    steps = message["metadata"]["steps"]
    assert [(s["messageId"], s["finishReason"]) for s in steps] == [
        (m, r) for m, r, _, _ in EXPECTED_STEPS
    ]


async def test_finish_message_sums_usage() -> None:
    chunks = await weather_run(finish_message=True)
    assert chunks[-1] == MessageFinishChunk(finish_reason="stop", input_tokens=60, output_tokens=15)


async def test_update_state_folds_events_into_state() -> None:
    graph = outer_graph(weather_model())
    holder: dict[str, Any] = {}

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, graph, QUESTION, update_state=True)
        holder["state"] = controller.state.to_value()

    chunks = await collect(run)
    messages = holder["state"]["messages"]
    assert [(m["type"], m["content"]) for m in messages] == [
        ("ai", "Checking the weather."),
        ("tool", "Paris: 21°C"),
        ("ai", "It is 21°C in Paris."),
        ("ai", " Summary: sunny."),
    ]
    ops = [op for chunk in chunks if isinstance(chunk, UpdateStateChunk) for op in chunk.operations]
    appended = [op.value for op in ops if op.type == "append-text" and op.path[-1] == "content"]
    # Every token after the first of each message is an append-text operation.
    expected = [" ", "the", " ", "weather.", " ", "is", " ", "21°C", " ", "in", " ", "Paris."]
    assert appended == [*expected, "Summary:", " ", "sunny."]
    # And the chat content is the same as without state.
    assert [essential(p) for p in accumulate(chunks).to_client_json()["parts"]] == EXPECTED_PARTS


async def test_a_plain_chat_model_is_a_runnable_too() -> None:
    model = ScriptedChatModel(messages=iter([ai("Hello there, friend.", "m1", usage=(4, 3))]))

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, model, "hi")

    chunks = await collect(run)
    message = accumulate(chunks).to_client_json()
    assert [essential(p) for p in message["parts"]] == [
        {"type": "text", "text": "Hello there, friend."}
    ]
    assert [(s["messageId"], s["usage"]) for s in message["metadata"]["steps"]] == [
        ("m1", {"inputTokens": 4, "outputTokens": 3})
    ]


def generator_runnable(items: list[Any]) -> RunnableGenerator:
    async def generate(_input: AsyncIterator[Any]) -> AsyncIterator[Any]:
        for item in items:
            yield item

    return RunnableGenerator(generate)


async def stream_items(items: list[Any]) -> list[Chunk]:
    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, generator_runnable(items), None)

    return await collect(run)


async def test_content_blocks_reasoning_and_thinking() -> None:
    chunks = await stream_items(
        [
            AIMessageChunk(content=[{"type": "thinking", "thinking": "Hmm, "}], id="a"),
            AIMessageChunk(content=[{"type": "reasoning", "reasoning": "right."}], id="a"),
            AIMessageChunk(
                content=[{"type": "reasoning", "summary": [{"type": "summary_text", "text": "!"}]}],
                id="a",
            ),
            AIMessageChunk(content=[{"type": "text", "text": "Yes"}, "."], id="a"),
            AIMessageChunk(content="", id="a", response_metadata={"stop_reason": "end_turn"}),
        ]
    )
    message = accumulate(chunks).to_client_json()
    assert [essential(p) for p in message["parts"]] == [
        {"type": "reasoning", "text": "Hmm, right.!"},
        {"type": "text", "text": "Yes."},
    ]
    assert message["metadata"]["steps"][0]["finishReason"] == "stop"


async def test_tool_call_chunks_without_ids_and_reused_indices() -> None:
    chunks = await stream_items(
        [
            # No id: one is made up from the message id.
            AIMessageChunk(
                content="",
                id="a",
                tool_call_chunks=[{"name": "f", "args": '{"x":', "id": None, "index": 0}],
            ),
            AIMessageChunk(
                content="",
                id="a",
                tool_call_chunks=[{"name": None, "args": " 1}", "id": None, "index": 0}],
            ),
            # Index 0 again with a new id: a second call.
            AIMessageChunk(
                content="",
                id="a",
                tool_call_chunks=[{"name": "g", "args": "{}", "id": "call_g", "index": 0}],
            ),
            AIMessageChunk(
                content="",
                id="a",
                response_metadata={"finish_reason": "length"},
                chunk_position="last",
            ),
        ]
    )
    message = accumulate(chunks).to_client_json()
    calls = [essential(p) for p in message["parts"]]
    assert calls == [
        {"type": "tool-call", "toolCallId": "a-tool-0", "toolName": "f", "args": {"x": 1}},
        {"type": "tool-call", "toolCallId": "call_g", "toolName": "g", "args": {}},
    ]
    assert message["metadata"]["steps"][0]["finishReason"] == "length"


async def test_tool_messages_errors_artifacts_and_unknown_calls() -> None:
    chunks = await stream_items(
        [
            AIMessage(
                content="",
                id="a",
                tool_calls=[{"name": "f", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}],
            ),
            ToolMessage(content="boom", tool_call_id="c1", status="error", artifact={"trace": 1}),
            # A result for a call the stream never showed begins that call.
            ToolMessage(content=[{"type": "text", "text": "ok"}], tool_call_id="c2", name="g"),
            # An artifact the wire cannot carry is dropped, not fatal.
            ToolMessage(content="late", tool_call_id="c3", name="h", artifact=object()),
            HumanMessage(content="not assistant output"),
        ]
    )
    results = {c.tool_call_id: c for c in chunks if isinstance(c, ToolResultChunk)}
    assert results["c1"] == ToolResultChunk("c1", "boom", artifact={"trace": 1}, is_error=True)
    assert results["c2"].result == [{"type": "text", "text": "ok"}]
    assert results["c3"] == ToolResultChunk("c3", "late")
    begins = [(c.tool_call_id, c.tool_name) for c in chunks if isinstance(c, ToolCallBeginChunk)]
    assert begins == [("c1", "f"), ("c2", "g"), ("c3", "h")]
    accumulator = MessageAccumulator(strict=True)  # raises on what the client rejects
    accumulator.add_many(chunks)
    assert accumulator.finish().to_client_json()["parts"][0]["args"] == {"q": "x"}


async def test_strings_from_a_chain_are_text() -> None:
    chunks = await stream_items(["Hel", "lo"])
    assert "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk)) == "Hello"
    assert isinstance(chunks[0], StepStartChunk)
    assert isinstance(chunks[-1], StepFinishChunk)


async def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="streamed a dict"):
        await stream_items([{"not": "a message"}])


async def test_a_failing_node_ends_the_run_with_its_error() -> None:
    async def broken(state: MessagesState) -> dict[str, Any]:
        raise LookupError("no such city")

    builder = StateGraph(MessagesState)
    builder.add_node("broken", broken)
    builder.add_edge(START, "broken")
    graph = builder.compile()

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, graph, QUESTION)

    seen: list[Chunk] = []

    async def consume() -> None:
        async for chunk in create_run(run):
            seen.append(chunk)

    # The node's own exception, not an ExceptionGroup from the bridge's tasks.
    with pytest.raises(LookupError, match="no such city"):
        await consume()
    assert seen == [ErrorChunk(error="no such city")]


async def test_client_leaving_closes_the_graph_stream_promptly() -> None:
    """The node is asleep when the client leaves: the graph is cancelled at once.

    The run's grace period is long, so only the bridge's own watcher can be
    what stops the graph this fast.
    """
    events: list[str] = []
    slow_started = anyio.Event()
    model = weather_model()

    async def slow(state: MessagesState) -> dict[str, Any]:
        events.append("slow started")
        slow_started.set()
        try:
            await anyio.sleep(30)
        except BaseException:
            events.append("slow cancelled")
            raise
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    builder.add_node("slow", slow)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "slow")
    graph = builder.compile()

    async def run(controller: RunController) -> None:
        try:
            await stream_langgraph(controller, graph, QUESTION)
        finally:
            events.append(f"bridge returned, cancelled={controller.is_cancelled}")

    started = time.monotonic()
    async with create_run(run, grace_period=20) as chunks:
        async for chunk in chunks:
            if isinstance(chunk, ToolCallArgsTextFinishChunk):
                break
        await slow_started.wait()
    elapsed = time.monotonic() - started
    assert events == ["slow started", "slow cancelled", "bridge returned, cancelled=True"]
    assert elapsed < 5


async def test_client_leaving_mid_stream_stops_the_model() -> None:
    model = ScriptedChatModel(
        messages=iter([ai(" ".join(f"w{i}" for i in range(400)), "m1")]), delay=0.01
    )
    received: list[str] = []

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, model, "go")

    async with create_run(run, grace_period=20) as chunks:
        async for chunk in chunks:
            if isinstance(chunk, TextDeltaChunk):
                received.append(chunk.text_delta)
                if len("".join(received)) > 20:
                    break
    # Well short of the 800 tokens (each 10 ms) the model had left.
    assert len("".join(received)) < 200


async def test_a_whole_message_after_its_chunks_is_not_sent_twice() -> None:
    chunks = await stream_items(
        [
            AIMessageChunk(content="Hi", id="a"),
            AIMessageChunk(content=" there", id="a"),
            AIMessage(content="Hi there", id="a", usage_metadata=None),
            AIMessage(content="Next", id="b"),
        ]
    )
    texts = "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
    assert texts == "Hi thereNext"
    assert [c.message_id for c in chunks if isinstance(c, StepStartChunk)] == ["a", "b"]
    assert sum(isinstance(c, StepFinishChunk) for c in chunks) == 2


async def test_parallel_tool_calls_get_their_own_results() -> None:
    from ._agent import agent_graph

    model = ScriptedChatModel(
        messages=iter(
            [
                ai(
                    "",
                    "m1",
                    tool_calls=[
                        {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_p"},
                        {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_o"},
                    ],
                    finish_reason="tool_calls",
                ),
                ai("Both done.", "m2"),
            ]
        )
    )

    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, agent_graph(model), QUESTION)

    message = accumulate(await collect(run)).to_client_json()
    assert [essential(p) for p in message["parts"]] == [
        {
            "type": "tool-call",
            "toolCallId": "call_p",
            "toolName": "get_weather",
            "args": {"city": "Paris"},
            "result": "Paris: 21°C",
        },
        {
            "type": "tool-call",
            "toolCallId": "call_o",
            "toolName": "get_weather",
            "args": {"city": "Oslo"},
            "result": "Oslo: 21°C",
        },
        {"type": "text", "text": "Both done."},
    ]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_on_trio_it_says_it_needs_asyncio() -> None:
    async def run(controller: RunController) -> None:
        await stream_langgraph(controller, generator_runnable(["x"]), None)

    with pytest.raises(RuntimeError, match="asyncio only"):
        await collect(run)
