"""Fold LangGraph stream events into a run's state (needs ``langchain-core``).

Public names live in :mod:`assistant_stream_ce.modules.langgraph`; this module
holds the implementation. The state is either the run's
:class:`~assistant_stream_core.run.StateProxy` (writes become state operations)
or a plain ``dict`` (writes change it in place).

A merged :class:`~langchain_core.messages.AIMessageChunk` is written back as a
*patch*: the new message is compared with the stored one and only what grew is
written — a key the message did not have is set, a list item past the end is
appended, a string that extends the stored one is assigned, which the proxy
turns into an ``append-text`` operation. So a token costs one small operation,
not the whole message list. A change the operations cannot express (a key
removed, a list shortened) replaces the message instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage

from assistant_stream_core.run import RunController, StateProxy

__all__ = ["append_langgraph_event", "get_tool_call_subgraph_state"]

#: A path inside one message: dict keys and list indices.
_Path = tuple[str | int, ...]


def _plain(value: Any) -> Any:
    # A proxy is read as a plain copy; comparing proxies would reread the state per key.
    return value.to_value() if isinstance(value, StateProxy) else value


def _diff(current: Any, new: Any, path: _Path, writes: list[tuple[_Path, Any]]) -> bool:
    """Collect the writes that turn ``current`` into ``new``; False if only a replace can."""
    if current == new:
        return True
    if isinstance(current, dict) and isinstance(new, dict):
        if not current.keys() <= new.keys():
            return False  # no operation deletes a key
        for key, value in new.items():
            if key in current:
                if not _diff(current[key], value, (*path, key), writes):
                    return False
            else:
                writes.append(((*path, key), value))
        return True
    if isinstance(current, list) and isinstance(new, list):
        if len(new) < len(current):
            return False  # no operation shortens a list
        for index, value in enumerate(new):
            if index < len(current):
                if not _diff(current[index], value, (*path, index), writes):
                    return False
            else:
                writes.append(((*path, index), value))
        return True
    # A scalar, or a change of type: assign. A string that extends the stored
    # one becomes append-text in the proxy.
    writes.append((path, new))
    return True


def _write(container: Any, path: _Path, value: Any) -> None:
    """Assign ``value`` at ``path`` under ``container`` (a proxy or plain containers)."""
    parent = container
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if isinstance(key, int) and key == len(parent):
        parent.append(value)
    else:
        parent[key] = value


def _patch_message(messages: Any, index: int, new_message: dict[str, Any]) -> None:
    current = _plain(messages[index])
    writes: list[tuple[_Path, Any]] = []
    if not isinstance(current, dict) or not _diff(current, new_message, (), writes):
        messages[index] = new_message
        return
    # Every write is checked before the first is made, so a patch never half-applies.
    target = messages[index]
    for path, value in writes:
        _write(target, path, value)


def _find_message(messages: Any, message: dict[str, Any]) -> int | None:
    """The index of the stored message with the same ``id`` (or ``tool_call_id``)."""
    message_id = message.get("id")
    tool_call_id = message.get("tool_call_id")
    # Iterating a proxy yields plain values without copying the list.
    for index, stored in enumerate(messages):
        if not isinstance(stored, dict):
            continue
        if message_id is not None and stored.get("id") == message_id:
            return index
        if tool_call_id is not None and stored.get("tool_call_id") == tool_call_id:
            return index
    return None


def _merge_chunk(stored: dict[str, Any], chunk: dict[str, Any]) -> dict[str, Any]:
    """``stored + chunk`` as LangChain merges AI message chunks, as a state dict."""
    merged = AIMessageChunk.model_validate(
        {**stored, "type": "AIMessageChunk"}
    ) + AIMessageChunk.model_validate({**chunk, "type": "AIMessageChunk"})
    result = merged.model_dump()
    result["type"] = "ai"
    return result


def _append_message(state: Any, message: BaseMessage) -> None:
    if "messages" not in state:
        state["messages"] = []
    messages = state["messages"]
    message_dict = message.model_dump()
    is_chunk = message_dict.get("type") == "AIMessageChunk"
    if is_chunk:
        # Stored as a finished AI message would be, so clients read one shape.
        message_dict["type"] = "ai"
    index = _find_message(messages, message_dict)
    if index is None:
        messages.append(message_dict)
    elif is_chunk:
        _patch_message(messages, index, _merge_chunk(_plain(messages[index]), message_dict))
    else:
        messages[index] = message_dict


def append_langgraph_event(state: Any, namespace: Any, type: str, payload: Any) -> None:
    """Fold one LangGraph stream event into ``state``, as upstream does.

    Feed it what ``graph.astream(..., stream_mode=["messages", "updates"])``
    yields::

        async for namespace, mode, payload in graph.astream(
            input, stream_mode=["messages", "updates"], subgraphs=True
        ):
            append_langgraph_event(controller.state, namespace, mode, payload)

    * ``"messages"`` (payload ``(message, metadata)``): the message is stored
      in ``state["messages"]`` (created if missing) as its ``model_dump()``. A
      message whose ``id`` (or ``tool_call_id``) is already stored replaces it;
      an :class:`~langchain_core.messages.AIMessageChunk` is merged into it
      instead (LangChain's chunk addition), writing only what changed: a token
      is one ``append-text`` operation on the message's ``content``, and
      streamed tool-call arguments append to ``tool_call_chunks[i].args``.
      Chunks are stored with ``type`` ``"ai"``.
    * ``"updates"`` (payload ``{node: {channel: value}}``): every channel but
      ``messages`` is set on ``state``; nodes whose update is not a dict are
      skipped.
    * any other event type is ignored.

    :param state: ``controller.state`` (a :class:`~assistant_stream_core.run.StateProxy`)
        or a plain ``dict``, changed in place.
    :param namespace: the event's namespace (unused, as upstream).
    :param type: the stream mode: ``"messages"`` or ``"updates"``.
    :param payload: the event's payload.
    """
    del namespace  # upstream ignores it too; kept for the call shape
    if type == "messages":
        _append_message(state, payload[0])
    elif type == "updates":
        for channels in payload.values():
            if not isinstance(channels, Mapping):
                continue
            for channel, value in channels.items():
                if channel != "messages":
                    state[channel] = value


SubgraphNode = str | list[str] | Callable[[list[str]], bool]
"""A node name, a list of names, or a predicate called with ``[node_name]``."""


def _is_subgraph_node(subgraph_node: SubgraphNode, node_name: str) -> bool:
    if isinstance(subgraph_node, str):
        return node_name == subgraph_node
    if isinstance(subgraph_node, list):
        return node_name in subgraph_node
    return bool(subgraph_node([node_name]))


def _is_subgraph_tool(tool_name: str | list[str] | None, name: Any) -> bool:
    if isinstance(tool_name, str):
        return bool(name == tool_name)
    if isinstance(tool_name, list):
        return name in tool_name
    return True


def get_tool_call_subgraph_state(
    controller: RunController,
    namespace: Sequence[str],
    subgraph_node: SubgraphNode,
    default_state: dict[str, Any],
    *,
    artifact_field_name: str | None = None,
    tool_name: str | list[str] | None = None,
) -> Any:
    """The state a subgraph run by a tool call should write to: its ToolMessage's artifact.

    Walks ``namespace`` (LangGraph's ``("node:task_id", ...)``) from
    ``controller.state`` (set to ``default_state`` first when it is ``None``).
    At the first part whose node is ``subgraph_node``, looks at the last
    message of the state's ``messages``:

    * an AI message whose last tool call is one of ``tool_name`` (any tool when
      ``None``): a streaming :class:`~langchain_core.messages.ToolMessage` for
      that call is appended (``additional_kwargs={"streaming": True}``), with
      ``artifact`` ``default_state`` (or ``{}`` with ``artifact_field_name``);
    * a ToolMessage (appended just now, or before): its ``artifact`` is
      returned — or, with ``artifact_field_name``, ``artifact[artifact_field_name]``,
      set to ``default_state`` when missing.

    Otherwise (no messages, a last message that is neither, no tool calls,
    another tool) the current state is returned. What is returned is live: a
    :class:`~assistant_stream_core.run.StateProxy` whose writes become state
    operations — fold the subgraph's events into it with
    :func:`append_langgraph_event`.

    Differences from upstream: the artifact returned right after the
    ToolMessage is created is the live proxy (upstream returns a plain dict
    that is no longer the state's); a ToolMessage whose ``artifact`` is ``None``
    gets one as if it were missing (upstream raises ``TypeError``).

    :param controller: the run's controller.
    :param namespace: the event's namespace.
    :param subgraph_node: the node (or nodes, or a predicate called with ``[name]``)
        that runs the subgraph.
    :param default_state: the subgraph's initial state.
    :param artifact_field_name: keep the subgraph's state under this artifact key.
    :param tool_name: only tool calls of this tool (or these tools) get a state.
    """
    if controller.state is None:
        controller.state = default_state
    current = controller.state
    for part in namespace:
        if not _is_subgraph_node(subgraph_node, part.split(":")[0]):
            continue
        messages = current.get("messages") if "messages" in current else None
        if not messages:
            return current
        last = messages[-1]
        if last["type"] == "ai":
            tool_calls = last.get("tool_calls") or []
            if not tool_calls:
                return current
            tool_call = tool_calls[-1]
            if not _is_subgraph_tool(tool_name, tool_call["name"]):
                return current
            messages.append(
                ToolMessage(
                    tool_call_id=tool_call["id"],
                    name=tool_call["name"],
                    artifact={} if artifact_field_name else default_state,
                    content="",
                    additional_kwargs={"streaming": True},
                ).model_dump()
            )
            # Re-read: the appended dict was copied into the state.
            last = messages[-1]
        if last["type"] == "tool":
            if last.get("artifact") is None:
                last["artifact"] = {} if artifact_field_name else default_state
            artifact = last["artifact"]
            if not artifact_field_name:
                return artifact
            if artifact_field_name not in artifact:
                artifact[artifact_field_name] = default_state
            return artifact[artifact_field_name]
    return current
