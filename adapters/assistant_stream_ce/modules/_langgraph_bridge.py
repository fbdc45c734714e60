"""Stream a LangGraph graph (or any LangChain runnable) into a run as chat content.

Public name: :func:`assistant_stream_ce.modules.langgraph.stream_langgraph`.
The graph's ``messages`` and ``updates`` events become the run's chunks, so
one agent feeds every protocol (Data Stream, Assistant Transport, OpenAI chat,
UI Message Stream, AG-UI). Mapping, per message the graph streams:

* :class:`~langchain_core.messages.AIMessageChunk`: one *model call* per
  message id — ``step-start`` (``message_id`` = the message's id) when its
  first chunk with content arrives; text; reasoning; tool calls with their
  arguments streamed from ``tool_call_chunks``; ``step-finish`` with the
  call's finish reason and summed ``usage_metadata`` when the call ends (its
  last chunk, another message, a node update in its namespace, or the end of
  the stream). Its tool calls' arguments are finished with the step.
* a whole :class:`~langchain_core.messages.AIMessage` not streamed before
  (a node that returns one, or a subgraph with ``subgraphs=False``): the same
  content in one step, tool-call arguments as JSON.
* :class:`~langchain_core.messages.ToolMessage`: the result of its tool call
  (``content``; ``artifact`` when it is JSON; ``is_error`` when
  ``status == "error"``). A result for a call the stream never showed begins
  that call first.
* other messages (human, system) are not assistant output and are skipped.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import msgspec
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage

from assistant_stream_core.run import RunController, ToolCallController

from ._langgraph_state import append_langgraph_event

__all__ = ["stream_langgraph"]

#: Provider finish reasons, mapped to the protocols' step finish reasons.
_FINISH_REASONS = {
    # OpenAI and compatible APIs
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "content_filter": "content-filter",
    # Anthropic
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
    # Google
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content-filter",
    "RECITATION": "content-filter",
}

#: Content block types that carry reasoning, and the key of their text.
_REASONING_BLOCKS = {"reasoning": "reasoning", "thinking": "thinking"}

_JSON_ENCODER = msgspec.json.Encoder()


def _json_or_none(value: Any) -> Any:
    """``value`` if the wire can carry it (JSON, finite numbers), else ``None``."""
    try:
        _JSON_ENCODER.encode(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if _has_non_finite(value):
        return None
    return value


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Mapping):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_non_finite(item) for item in value)
    return False


def _content_parts(message: BaseMessage) -> list[tuple[str, str]]:
    """The message's ``("text" | "reasoning", delta)`` pieces, in order."""
    parts: list[tuple[str, str]] = []
    extra = message.additional_kwargs
    # DeepSeek, Qwen and other OpenAI-compatible servers send reasoning here.
    for key in ("reasoning_content", "reasoning"):
        value = extra.get(key)
        if isinstance(value, str) and value:
            parts.append(("reasoning", value))
    content = message.content
    if isinstance(content, str):
        if content:
            parts.append(("text", content))
        return parts
    for block in content:
        if isinstance(block, str):
            if block:
                parts.append(("text", block))
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(("text", block["text"]))
        elif kind in _REASONING_BLOCKS:
            text = block.get(_REASONING_BLOCKS[kind])
            if isinstance(text, str):
                parts.append(("reasoning", text))
            # OpenAI's Responses API: {"type": "reasoning", "summary": [{"text": ...}]}
            for item in block.get("summary") or ():
                if isinstance(item, Mapping) and isinstance(item.get("text"), str):
                    parts.append(("reasoning", item["text"]))
    return [(kind, text) for kind, text in parts if text]


class _ModelCall:
    """One model call being streamed: a step, its tool calls, its usage."""

    __slots__ = (
        "by_key",
        "finish_reason",
        "input_tokens",
        "message_id",
        "namespace",
        "output_tokens",
        "tools",
    )

    def __init__(self, message_id: str, namespace: tuple[str, ...]) -> None:
        self.message_id = message_id
        self.namespace = namespace
        # The tool calls this call began, in order; and the one each chunk
        # index (or id, for chunks without one) streams into.
        self.tools: list[ToolCallController] = []
        self.by_key: dict[int | str, ToolCallController] = {}
        self.input_tokens = 0
        self.output_tokens = 0
        self.finish_reason: str | None = None

    def add_usage(self, message: AIMessage) -> None:
        usage = message.usage_metadata
        if usage:
            # Chunk usage adds up, as LangChain's chunk addition does.
            self.input_tokens += int(usage.get("input_tokens") or 0)
            self.output_tokens += int(usage.get("output_tokens") or 0)
        reason = message.response_metadata.get("finish_reason") or message.response_metadata.get(
            "stop_reason"
        )
        if isinstance(reason, str) and reason:
            self.finish_reason = _FINISH_REASONS.get(reason, "other")


class _ChatMapper:
    """Turns LangChain messages into controller calls (one per run)."""

    def __init__(self, controller: RunController) -> None:
        self._controller = controller
        self._call: _ModelCall | None = None
        self._call_count = 0
        # Every tool call begun in this run, open or finished, by id.
        self._tools: dict[str, ToolCallController] = {}
        self._finished_messages: set[str] = set()
        self.input_tokens = 0
        self.output_tokens = 0
        self.finish_reason: str | None = None

    # -- model calls -----------------------------------------------------------

    def _start_call(self, message_id: str | None, namespace: tuple[str, ...]) -> _ModelCall:
        self.finish_call()
        self._call_count += 1
        call = _ModelCall(message_id or f"{self._controller.run_id}-{self._call_count}", namespace)
        self._controller.add_step_start(call.message_id)
        self._call = call
        return call

    def finish_call(self) -> None:
        """End the open model call: finish its tool calls' arguments, then its step."""
        call = self._call
        if call is None:
            return
        self._call = None
        for tool in call.tools:
            tool.close()
        reason = call.finish_reason or ("tool-calls" if call.tools else "stop")
        self._controller.add_step_finish(reason, call.input_tokens, call.output_tokens)
        self._finished_messages.add(call.message_id)
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        self.finish_reason = reason

    def finish_namespace(self, namespace: tuple[str, ...]) -> None:
        """A node in ``namespace`` finished: a model call it ran is over."""
        if self._call is not None and self._call.namespace == namespace:
            self.finish_call()

    # -- content ---------------------------------------------------------------

    def _emit_content(self, message: BaseMessage) -> None:
        controller = self._controller
        for kind, text in _content_parts(message):
            if kind == "text":
                controller.append_text(text)
            else:
                controller.append_reasoning(text)

    async def _begin_tool(
        self, call: _ModelCall, key: int | str, tool_call_id: str, name: str
    ) -> ToolCallController | None:
        existing = self._tools.get(tool_call_id)
        if existing is not None:
            # The same call streamed again (a replayed message): continue it if open.
            if existing.closed:
                return None
            call.by_key[key] = existing
            return existing
        tool = await self._controller.add_tool_call(name, tool_call_id)
        self._tools[tool_call_id] = tool
        call.tools.append(tool)
        call.by_key[key] = tool
        return tool

    async def on_ai_chunk(self, chunk: AIMessageChunk, namespace: tuple[str, ...]) -> None:
        parts = _content_parts(chunk)
        tool_chunks = chunk.tool_call_chunks
        has_content = bool(parts or tool_chunks)
        call = self._call
        if has_content and (call is None or (chunk.id is not None and chunk.id != call.message_id)):
            call = self._start_call(chunk.id, namespace)
        elif call is None:
            if not (chunk.usage_metadata or chunk.response_metadata.get("finish_reason")):
                return  # an empty chunk between calls (LangChain's closing chunk)
            call = self._start_call(chunk.id, namespace)
        # An empty chunk (usage, finish reason, LangChain's closing chunk, whose id
        # may differ) belongs to the open call.
        self._emit_content(chunk)
        for tool_chunk in tool_chunks:
            index = tool_chunk.get("index")
            tool_call_id = tool_chunk.get("id")
            key: int | str | None = index if index is not None else tool_call_id
            tool = call.by_key.get(key) if key is not None else None
            if tool is not None and tool_call_id is not None and tool_call_id != tool.tool_call_id:
                tool = None  # a new call reusing the index (some providers do)
            if tool is None:
                if tool_call_id is None:
                    tool_call_id = f"{call.message_id}-tool-{len(call.tools)}"
                tool = await self._begin_tool(
                    call,
                    key if key is not None else tool_call_id,
                    tool_call_id,
                    tool_chunk.get("name") or "",
                )
            args = tool_chunk.get("args")
            if tool is not None and args and not tool.closed:
                tool.append_args_text(args)
        call.add_usage(chunk)
        if chunk.chunk_position == "last":
            self.finish_call()

    async def on_ai_message(self, message: AIMessage, namespace: tuple[str, ...]) -> None:
        if message.id is not None:
            if self._call is not None and self._call.message_id == message.id:
                self.finish_call()  # the whole message after its chunks: it is done
            if message.id in self._finished_messages:
                return  # already streamed chunk by chunk
        call = self._start_call(message.id, namespace)
        self._emit_content(message)
        for index, tool_call in enumerate(message.tool_calls):
            tool_call_id = tool_call.get("id") or f"{call.message_id}-tool-{index}"
            tool = await self._begin_tool(call, index, tool_call_id, tool_call["name"])
            if tool is not None:
                tool.append_args_text(_JSON_ENCODER.encode(tool_call["args"]).decode())
        call.add_usage(message)
        self.finish_call()

    async def on_tool_message(self, message: ToolMessage) -> None:
        # The model call that asked for the tool is over once the tool has run.
        self.finish_call()
        result = _json_or_none(message.content)
        artifact = _json_or_none(message.artifact)
        is_error = message.status == "error"
        tool = self._tools.get(message.tool_call_id)
        if tool is None:
            tool = await self._controller.add_tool_call(message.name or "", message.tool_call_id)
            self._tools[message.tool_call_id] = tool
        if tool.closed:
            self._controller.add_tool_result(
                message.tool_call_id, result, artifact=artifact, is_error=is_error
            )
        else:
            tool.set_response(result, artifact=artifact, is_error=is_error)

    async def on_message(self, message: Any, namespace: tuple[str, ...]) -> None:
        if isinstance(message, AIMessageChunk):
            await self.on_ai_chunk(message, namespace)
        elif isinstance(message, AIMessage):
            await self.on_ai_message(message, namespace)
        elif isinstance(message, ToolMessage):
            await self.on_tool_message(message)
        elif isinstance(message, str):
            # A runnable that streams text (a chain ending in a string parser).
            if message:
                if self._call is None:
                    self._start_call(None, namespace)
                self._controller.append_text(message)
        elif not isinstance(message, BaseMessage):
            raise TypeError(
                "stream_langgraph: the runnable streamed a "
                f"{type(message).__name__}; expected LangChain messages or str"
            )


def _is_graph(graph: Any) -> bool:
    try:
        from langgraph.pregel.protocol import PregelProtocol
    except ImportError:  # langchain-core alone: only plain runnables
        return False
    return isinstance(graph, PregelProtocol)


async def _aclose(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def stream_langgraph(
    controller: RunController,
    graph: Any,
    input: Any,
    *,
    config: Any = None,
    subgraphs: bool = True,
    update_state: bool = False,
    finish_message: bool = False,
    close_timeout: float = 5.0,
    **astream_kwargs: Any,
) -> None:
    """Stream ``graph`` into the run as chat content: text, reasoning, tool calls, steps.

    Call it inside a run callback::

        async def run(controller):
            await stream_langgraph(controller, graph, {"messages": messages})

    A compiled LangGraph graph is read with ``graph.astream(input, config,
    stream_mode=["messages", "updates"], subgraphs=subgraphs)``, so tokens
    stream from the model calls of every node and (with ``subgraphs``) of
    every subgraph; any other LangChain runnable is read with
    ``runnable.astream(input, config)`` and may stream messages or strings.
    The mapping is described in the module documentation above: one step per
    model call, tool calls with streamed arguments, tool results from
    ``ToolMessage``\\ s, usage on ``step-finish``.

    Flow control and cancellation: after each event the call waits on
    :meth:`~assistant_stream_core.run.RunController.drain`, so a slow client
    holds the graph back. When the run is cancelled (the client left) the
    graph's stream is cancelled and closed at once (``aclose()``, given
    ``close_timeout`` seconds), and the call returns. LangGraph runs on
    asyncio only.

    :param controller: the run's controller.
    :param graph: a compiled graph (any LangGraph ``PregelProtocol``) or a runnable.
    :param input: the graph's input, e.g. ``{"messages": [...]}``.
    :param config: the ``RunnableConfig`` (thread id, callbacks, …).
    :param subgraphs: stream subgraphs' model calls token by token (else a
        subgraph's messages arrive whole when it finishes).
    :param update_state: also fold every event into ``controller.state`` with
        :func:`append_langgraph_event` (the state is set to ``{}`` first when
        it is ``None``) — what an Assistant Transport front end reads.
    :param finish_message: end with ``message-finish``: the last step's finish
        reason and the summed usage of every step.
    :param close_timeout: seconds allowed for closing the graph's stream.
    :param astream_kwargs: passed on to ``astream`` (``context=``, ``interrupt_before=`` …).
    :raises TypeError: a runnable streamed something other than messages or strings.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError("stream_langgraph runs on asyncio only, as LangGraph does") from None
    is_graph = _is_graph(graph)
    if is_graph:
        stream = graph.astream(
            input,
            config,
            stream_mode=["messages", "updates"],
            subgraphs=subgraphs,
            **astream_kwargs,
        )
    else:
        stream = graph.astream(input, config, **astream_kwargs)
    if update_state and controller.state is None:
        controller.state = {}
    mapper = _ChatMapper(controller)

    async def consume() -> None:
        iterator: AsyncIterator[Any] = aiter(stream)
        try:
            async for item in iterator:
                if controller.is_cancelled:
                    break
                await _handle(controller, mapper, item, is_graph, subgraphs, update_state)
                await controller.drain()
        finally:
            await _aclose(iterator)

    # The graph is read by a plain asyncio task, cancelled with task.cancel()
    # when the client leaves. Not an anyio cancel scope: its cancellation is
    # level-triggered, so it would also cancel the awaits in LangGraph's own
    # cleanup, which then leaves the graph's node tasks running.
    consumer = asyncio.ensure_future(consume())
    # Marks its exception as seen even when this call is cancelled before reading it.
    consumer.add_done_callback(lambda task: task.cancelled() or task.exception())
    watcher = asyncio.ensure_future(controller.cancelled_event.wait())
    try:
        await asyncio.wait({consumer, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not consumer.done():
            consumer.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(close_timeout):
                await asyncio.wait({consumer})
    if consumer.done() and not consumer.cancelled():
        error = consumer.exception()
        if error is not None:
            raise error
    if controller.is_cancelled:
        return
    mapper.finish_call()
    if finish_message:
        controller.add_message_finish(
            mapper.finish_reason or "stop", mapper.input_tokens, mapper.output_tokens
        )


async def _handle(
    controller: RunController,
    mapper: _ChatMapper,
    item: Any,
    is_graph: bool,
    subgraphs: bool,
    update_state: bool,
) -> None:
    if not is_graph:
        await mapper.on_message(item, ())
        return
    if subgraphs:
        namespace, mode, payload = item
    else:
        mode, payload = item
        namespace = ()
    namespace = tuple(namespace)
    if update_state:
        append_langgraph_event(controller.state, namespace, mode, payload)
    if mode == "messages":
        await mapper.on_message(payload[0], namespace)
    elif mode == "updates":
        mapper.finish_namespace(namespace)
