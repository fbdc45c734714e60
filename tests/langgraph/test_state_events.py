"""append_langgraph_event on our run layer: upstream's cases, and the same operations as upstream.

The first half ports upstream's tests/test_langgraph.py (its intent, on our
run and our ``StateProxy``). The second half feeds the same LangGraph events
to upstream's helper on upstream's ``StateManager`` (the installed
``assistant-stream`` 0.0.36) and to ours, and requires the same state
operations (in the same order on each path) and the same final state.
"""

from __future__ import annotations

from typing import Any

import pytest
from assistant_stream_ce import append_langgraph_event as top_level_append
from assistant_stream_ce.modules.langgraph import append_langgraph_event
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)

from assistant_stream_core.run import RunController

from ._runs import MARK, collect, operations

pytestmark = pytest.mark.anyio


async def _run_events(
    initial: Any, before: list[tuple[str, Any]], after: list[tuple[str, Any]]
) -> tuple[list[dict[str, Any]], Any]:
    """Feed ``before``, mark, feed ``after``; return the ops after the mark and the end state."""
    holder: dict[str, Any] = {}

    def callback(controller: RunController) -> None:
        for mode, payload in before:
            append_langgraph_event(controller.state, (), mode, payload)
        controller.add_data(MARK)
        for mode, payload in after:
            append_langgraph_event(controller.state, (), mode, payload)
        holder["state"] = controller.state.to_value()

    chunks = await collect(callback, state=initial)
    return operations(chunks, after_mark=True), holder["state"]


def _msg(message: BaseMessage) -> tuple[str, Any]:
    return ("messages", (message, {}))


def test_top_level_export_is_the_module_function() -> None:
    assert top_level_append is append_langgraph_event


async def test_appends_single_message_to_empty_state() -> None:
    ops, state = await _run_events({}, [], [_msg(HumanMessage(content="Hello", id="m1"))])
    assert [m["content"] for m in state["messages"]] == ["Hello"]
    assert state["messages"][0]["id"] == "m1"
    assert state["messages"][0]["type"] == "human"
    # The list is created, then the message set at index 0.
    assert [(op["type"], op["path"]) for op in ops] == [
        ("set", ["messages"]),
        ("set", ["messages", "0"]),
    ]


async def test_appends_messages_in_order() -> None:
    _, state = await _run_events(
        {"messages": []},
        [],
        [_msg(HumanMessage(content="A", id="a")), _msg(AIMessage(content="B", id="b"))],
    )
    assert [m["content"] for m in state["messages"]] == ["A", "B"]
    assert [m["type"] for m in state["messages"]] == ["human", "ai"]


async def test_merges_ai_message_chunks_by_id() -> None:
    _, state = await _run_events(
        {"messages": []},
        [],
        [
            _msg(AIMessageChunk(content="Hello", id="m1")),
            _msg(AIMessageChunk(content=" world", id="m1")),
        ],
    )
    assert len(state["messages"]) == 1
    assert state["messages"][0]["content"] == "Hello world"
    assert state["messages"][0]["type"] == "ai"


async def test_a_token_is_one_append_text_on_the_content() -> None:
    ops, state = await _run_events(
        {"messages": []},
        [_msg(AIMessageChunk(content="Hello", id="m1"))],
        [_msg(AIMessageChunk(content=" world", id="m1"))],
    )
    assert state["messages"][0]["content"] == "Hello world"
    assert ops == [{"type": "append-text", "path": ["messages", "0", "content"], "value": " world"}]


async def test_many_tokens_stay_small() -> None:
    tokens = [f" t{i}" for i in range(50)]
    ops, state = await _run_events(
        {"messages": [{"type": "human", "id": "h", "content": "q"}]},
        [_msg(AIMessageChunk(content="start", id="m1"))],
        [_msg(AIMessageChunk(content=token, id="m1")) for token in tokens],
    )
    assert state["messages"][1]["content"] == "start" + "".join(tokens)
    assert ops == [
        {"type": "append-text", "path": ["messages", "1", "content"], "value": token}
        for token in tokens
    ]


async def test_tool_call_args_stream_as_append_text() -> None:
    first = AIMessageChunk(
        content="",
        id="m1",
        tool_call_chunks=[{"name": "search", "args": '{"query"', "id": "call_1", "index": 0}],
    )
    second = AIMessageChunk(
        content="",
        id="m1",
        tool_call_chunks=[{"name": None, "args": ':"docs"}', "id": None, "index": 0}],
    )
    ops, state = await _run_events({"messages": []}, [_msg(first)], [_msg(second)])
    message = state["messages"][0]
    assert message["tool_call_chunks"][0]["args"] == '{"query":"docs"}'
    assert {
        "type": "append-text",
        "path": ["messages", "0", "tool_call_chunks", "0", "args"],
        "value": ':"docs"}',
    } in ops
    assert not any(op["path"] in (["messages"], ["messages", "0"]) for op in ops)
    # The parsed call appears once the args are JSON: set, not a whole-message write.
    assert message["tool_calls"][0]["args"] == {"query": "docs"}


async def test_plain_dict_state_is_changed_in_place() -> None:
    state: dict[str, Any] = {"messages": []}
    append_langgraph_event(state, (), "messages", (AIMessageChunk(content="Hello", id="m1"), {}))
    append_langgraph_event(state, (), "messages", (AIMessageChunk(content=" world", id="m1"), {}))
    assert state["messages"][0]["content"] == "Hello world"


async def test_replaces_existing_message_with_same_id() -> None:
    ops, state = await _run_events(
        {"messages": [{"type": "human", "id": "m1", "content": "old"}]},
        [],
        [_msg(HumanMessage(content="new", id="m1"))],
    )
    assert [m["content"] for m in state["messages"]] == ["new"]
    assert [op["path"] for op in ops] == [["messages", "0"]]


async def test_tool_message_matches_by_tool_call_id() -> None:
    stored = ToolMessage(content="partial", tool_call_id="call_1").model_dump()
    _, state = await _run_events(
        {"messages": [stored]},
        [],
        [_msg(ToolMessage(content="done", tool_call_id="call_1", id="t9"))],
    )
    assert len(state["messages"]) == 1
    assert state["messages"][0]["content"] == "done"


async def test_a_change_ops_cannot_express_replaces_the_message() -> None:
    # The stored message has a key the merged one lacks: no op deletes a key.
    stored = {**AIMessageChunk(content="a", id="m1").model_dump(), "type": "ai", "extra": 1}
    ops, state = await _run_events(
        {"messages": [stored]}, [], [_msg(AIMessageChunk(content="b", id="m1"))]
    )
    assert state["messages"][0]["content"] == "ab"
    assert "extra" not in state["messages"][0]
    assert [(op["type"], op["path"]) for op in ops] == [("set", ["messages", "0"])]


async def test_updates_event_writes_channels_onto_state() -> None:
    _, state = await _run_events(
        {}, [], [("updates", {"agent": {"answer": "42", "messages": "ignored"}})]
    )
    assert state == {"answer": "42"}


async def test_updates_event_skips_non_dict_nodes() -> None:
    _, state = await _run_events(
        {}, [], [("updates", {"bad": "not-a-dict", "agent": {"answer": "42"}})]
    )
    assert state == {"answer": "42"}


async def test_unknown_event_type_is_ignored() -> None:
    ops, state = await _run_events({"existing": "value"}, [], [("custom", "anything")])
    assert state == {"existing": "value"}
    assert ops == []


# -- the same operations as upstream ------------------------------------------------

TOOL_FIRST = AIMessageChunk(
    content="",
    id="m2",
    tool_call_chunks=[{"name": "search", "args": '{"q": "pa', "id": "call_1", "index": 0}],
)
TOOL_SECOND = AIMessageChunk(
    content="",
    id="m2",
    tool_call_chunks=[{"name": None, "args": 'ris"}', "id": None, "index": 0}],
)

SCENARIOS: dict[str, list[tuple[str, Any]]] = {
    "tokens": [
        _msg(HumanMessage(content="hi", id="h1")),
        _msg(AIMessageChunk(content="Hel", id="m1")),
        _msg(AIMessageChunk(content="lo", id="m1")),
        _msg(AIMessageChunk(content=" there", id="m1")),
    ],
    "tool_call": [
        _msg(AIMessageChunk(content="Let me look", id="m2")),
        _msg(TOOL_FIRST),
        _msg(TOOL_SECOND),
        _msg(ToolMessage(content="found", tool_call_id="call_1", id="t1")),
        ("updates", {"tools": {"messages": [], "status": "done", "count": 2}}),
    ],
    "usage_on_last_chunk": [
        _msg(AIMessageChunk(content="x", id="m3")),
        _msg(
            AIMessageChunk(
                content="",
                id="m3",
                usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
                response_metadata={"finish_reason": "stop"},
            )
        ),
    ],
    "replace_and_updates": [
        _msg(HumanMessage(content="old", id="h1")),
        _msg(HumanMessage(content="new", id="h1")),
        ("updates", {"agent": {"answer": {"value": 42}}, "skip": None}),
    ],
}


def by_path(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ops`` in path order, keeping the order of operations on the same path."""
    return sorted(ops, key=lambda op: op["path"])


async def _upstream_ops(events: list[tuple[str, Any]]) -> tuple[list[dict[str, Any]], Any]:
    from assistant_stream.modules.langgraph import append_langgraph_event as upstream_append
    from assistant_stream.state_manager import StateManager

    ops: list[dict[str, Any]] = []
    manager = StateManager(lambda chunk: ops.extend(chunk.operations), {})
    for mode, payload in events:
        upstream_append(manager.state, (), mode, payload)
        manager.flush()
    return ops, manager.state_data


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
async def test_same_operations_as_upstream(scenario: str) -> None:
    events = SCENARIOS[scenario]
    upstream_ops, upstream_state = await _upstream_ops(events)
    ours, state = await _run_events({}, [], events)
    # Upstream writes new sibling keys in set order (hash-seeded); ours in the
    # message's key order. Operations on one path keep their order (stable sort).
    assert by_path(ours) == by_path(upstream_ops)
    assert state == upstream_state
