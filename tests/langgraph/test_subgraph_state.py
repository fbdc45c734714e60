"""get_tool_call_subgraph_state: upstream's behaviour, run against upstream's own helper.

Each case runs the helper twice — upstream's (installed ``assistant-stream``
0.0.36, on its ``StateManager``) and ours (on our run) — then writes
``{"progress": 1}`` into what came back, and compares the state operations
and the final state. Where we differ on purpose (the returned artifact stays
live after the ToolMessage is created), the case says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from assistant_stream_ce import get_tool_call_subgraph_state
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from assistant_stream_core.run import RunController, StateProxy

from ._runs import collect, operations

pytestmark = pytest.mark.anyio

NAMESPACE = ("tools:7f0c", "research:a1b2")
DEFAULT = {"notes": [], "status": "started"}


def ai_with_call(name: str = "research", call_id: str = "call_1") -> dict[str, Any]:
    message = AIMessage(content="", id="m1", tool_calls=[{"name": name, "args": {}, "id": call_id}])
    return message.model_dump()


def tool_message(artifact: Any) -> dict[str, Any]:
    return ToolMessage(content="", tool_call_id="call_1", artifact=artifact).model_dump()


class Case:
    def __init__(
        self,
        initial: Any,
        *,
        namespace: tuple[str, ...] = NAMESPACE,
        subgraph_node: Any = "tools",
        artifact_field_name: str | None = None,
        tool_name: Any = None,
        returns: Callable[[Any], Any] | None = None,
    ) -> None:
        self.initial = initial
        self.namespace = namespace
        self.subgraph_node = subgraph_node
        self.kwargs = {"artifact_field_name": artifact_field_name, "tool_name": tool_name}
        self.returns = returns


CASES: dict[str, Case] = {
    "no_state_uses_default": Case(None, namespace=("agent:1",)),
    "node_not_in_namespace": Case({"messages": [ai_with_call()]}, namespace=("agent:1",)),
    "no_messages_key": Case({"other": 1}),
    "empty_messages": Case({"messages": []}),
    "last_is_human": Case({"messages": [HumanMessage(content="hi", id="h").model_dump()]}),
    "ai_without_tool_calls": Case({"messages": [AIMessage(content="x", id="m").model_dump()]}),
    "other_tool": Case({"messages": [ai_with_call("search")]}, tool_name="research"),
    "existing_tool_message": Case({"messages": [ai_with_call(), tool_message({"notes": []})]}),
    "existing_tool_message_field": Case(
        {"messages": [ai_with_call(), tool_message({"kept": True})]},
        artifact_field_name="sub",
    ),
    "existing_tool_message_field_present": Case(
        {"messages": [ai_with_call(), tool_message({"sub": {"notes": ["a"]}})]},
        artifact_field_name="sub",
    ),
    "node_list": Case(
        {"messages": [ai_with_call(), tool_message({})]}, subgraph_node=["x", "tools"]
    ),
    "node_predicate": Case(
        {"messages": [ai_with_call(), tool_message({})]},
        subgraph_node=lambda names: names == ["tools"],
    ),
    "tool_name_list": Case(
        {"messages": [ai_with_call(), tool_message({})]}, tool_name=["search", "research"]
    ),
}


def write_progress(target: Any) -> None:
    target["progress"] = 1


async def upstream_run(case: Case) -> tuple[list[dict[str, Any]], Any]:
    from assistant_stream.modules.langgraph import (
        get_tool_call_subgraph_state as upstream_helper,
    )
    from assistant_stream.state_manager import StateManager

    ops: list[dict[str, Any]] = []
    manager = StateManager(lambda chunk: ops.extend(chunk.operations), case.initial)

    class Controller:
        @property
        def state(self) -> Any:
            return manager.state

        @state.setter
        def state(self, value: Any) -> None:
            manager.add_operations([{"type": "set", "path": [], "value": value}])

    result = upstream_helper(
        Controller(),  # type: ignore[arg-type]
        case.namespace,
        case.subgraph_node,
        DEFAULT,
        **case.kwargs,
    )
    write_progress(result)
    manager.flush()
    return ops, manager.state_data


async def our_run(case: Case) -> tuple[list[dict[str, Any]], Any, Any]:
    holder: dict[str, Any] = {}

    def callback(controller: RunController) -> None:
        result = get_tool_call_subgraph_state(
            controller, case.namespace, case.subgraph_node, DEFAULT, **case.kwargs
        )
        holder["returned"] = result
        write_progress(result)
        holder["state"] = controller.state.to_value()

    chunks = await collect(callback, state=case.initial)
    return operations(chunks), holder["state"], holder["returned"]


@pytest.mark.parametrize("name", sorted(CASES))
async def test_same_as_upstream(name: str) -> None:
    case = CASES[name]
    upstream_ops, upstream_state = await upstream_run(case)
    ours, state, returned = await our_run(case)
    assert ours == upstream_ops
    assert state == upstream_state
    assert isinstance(returned, StateProxy)  # live: writes above became operations


def _last(state: Any) -> Any:
    return state["messages"][-1]


@pytest.mark.parametrize("field", [None, "sub"])
async def test_new_tool_message_returns_live_artifact(field: str | None) -> None:
    """A streaming ToolMessage is appended; what comes back writes into its artifact.

    Upstream returns a plain dict here, so its writes never reach the client.
    """
    case = Case({"messages": [ai_with_call()]}, artifact_field_name=field)
    ops, state, _ = await our_run(case)
    message = _last(state)
    assert message["type"] == "tool"
    assert message["tool_call_id"] == "call_1"
    assert message["name"] == "research"
    assert message["additional_kwargs"] == {"streaming": True}
    expected = {**DEFAULT, "progress": 1}
    if field is None:
        assert message["artifact"] == expected
        assert ops[-1]["path"] == ["messages", "1", "artifact", "progress"]
    else:
        assert message["artifact"] == {field: expected}
        assert ops[-1]["path"] == ["messages", "1", "artifact", field, "progress"]
    # Upstream sends the message, but the write never becomes an operation.
    upstream_ops, upstream_state = await upstream_run(case)
    assert _last(upstream_state)["type"] == "tool"
    assert [op["path"][-1] for op in upstream_ops] == ["1"]


async def test_tool_message_with_none_artifact_gets_one() -> None:
    case = Case({"messages": [ai_with_call(), tool_message(None)]}, artifact_field_name="sub")
    _, state, _ = await our_run(case)
    assert _last(state)["artifact"] == {"sub": {**DEFAULT, "progress": 1}}


async def test_subgraph_events_fold_into_the_artifact() -> None:
    """The intended use: fold a subgraph's events into the tool call's artifact."""
    from assistant_stream_ce.modules.langgraph import append_langgraph_event
    from langchain_core.messages import AIMessageChunk

    holder: dict[str, Any] = {}

    def callback(controller: RunController) -> None:
        sub = get_tool_call_subgraph_state(controller, NAMESPACE, "tools", {"messages": []})
        for token in ("Read", "ing", " docs"):
            append_langgraph_event(
                sub, NAMESPACE, "messages", (AIMessageChunk(content=token, id="s1"), {})
            )
        holder["state"] = controller.state.to_value()

    chunks = await collect(callback, state={"messages": [ai_with_call()]})
    artifact = _last(holder["state"])["artifact"]
    assert artifact["messages"][0]["content"] == "Reading docs"
    ops = operations(chunks)
    assert ops[-2:] == [
        {
            "type": "append-text",
            "path": ["messages", "1", "artifact", "messages", "0", "content"],
            "value": value,
        }
        for value in ("ing", " docs")
    ]
