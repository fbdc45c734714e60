"""A scripted chat model and the graphs the tests stream (no network).

:class:`ScriptedChatModel` is LangChain's ``GenericFakeChatModel`` taught to
stream what real providers stream: besides the content (split on whitespace,
as the parent does) it sends ``reasoning_content``, tool calls as
``tool_call_chunks`` with their JSON arguments cut in pieces, and usage and a
finish reason on the last chunk.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


def script_chunks(message: AIMessage) -> list[AIMessageChunk]:
    """The chunks a provider would stream for ``message``."""
    chunks: list[AIMessageChunk] = []
    reasoning = message.additional_kwargs.get("reasoning_content", "")
    for piece in re.split(r"(\s)", reasoning):
        if piece:
            chunks.append(
                AIMessageChunk(
                    content="", id=message.id, additional_kwargs={"reasoning_content": piece}
                )
            )
    assert isinstance(message.content, str)
    for piece in re.split(r"(\s)", message.content):
        if piece:
            chunks.append(AIMessageChunk(content=piece, id=message.id))
    for index, call in enumerate(message.tool_calls):
        args = json.dumps(call["args"])
        cut = len(args) // 2
        chunks.append(
            AIMessageChunk(
                content="",
                id=message.id,
                tool_call_chunks=[
                    {"name": call["name"], "args": args[:cut], "id": call["id"], "index": index}
                ],
            )
        )
        chunks.append(
            AIMessageChunk(
                content="",
                id=message.id,
                tool_call_chunks=[{"name": None, "args": args[cut:], "id": None, "index": index}],
            )
        )
    chunks.append(
        AIMessageChunk(
            content="",
            id=message.id,
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
    )
    return chunks


class ScriptedChatModel(GenericFakeChatModel):
    """``GenericFakeChatModel`` that streams reasoning, tool calls and usage too."""

    delay: float = 0.0
    """Seconds to sleep before each chunk (to test cancellation)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        """The script already says which tools it calls."""
        return self

    def _next_message(self) -> AIMessage:
        message = next(self.messages)
        return AIMessage(content=message) if isinstance(message, str) else message

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in script_chunks(self._next_message()):
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in script_chunks(self._next_message()):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield ChatGenerationChunk(message=chunk)


def ai(
    content: str,
    id: str,
    *,
    reasoning: str = "",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: tuple[int, int] = (0, 0),
    finish_reason: str = "stop",
) -> AIMessage:
    """A scripted model answer."""
    return AIMessage(
        content=content,
        id=id,
        additional_kwargs={"reasoning_content": reasoning} if reasoning else {},
        tool_calls=[{**call, "type": "tool_call"} for call in tool_calls or []],
        usage_metadata={
            "input_tokens": usage[0],
            "output_tokens": usage[1],
            "total_tokens": sum(usage),
        },
        response_metadata={"finish_reason": finish_reason},
    )


@tool
def get_weather(city: str) -> str:
    """The weather in ``city``."""
    return f"{city}: 21°C"


def agent_graph(model: Any) -> Any:
    """A tool-calling agent (model node + ToolNode) as a compiled graph."""

    async def agent(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        # The config passed on: before Python 3.11 a task cannot be started
        # in a given context, so LangGraph sees the model's tokens only
        # through it (without it, whole messages only, on 3.10).
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([get_weather]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile()


def outer_graph(model: Any) -> Any:
    """The agent as a subgraph (node ``assistant``), then a ``summarize`` model call."""

    async def summarize(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        # The config passed on: before Python 3.11 a task cannot be started
        # in a given context, so LangGraph sees the model's tokens only
        # through it (without it, whole messages only, on 3.10).
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("assistant", agent_graph(model))
    builder.add_node("summarize", summarize)
    builder.add_edge(START, "assistant")
    builder.add_edge("assistant", "summarize")
    builder.add_edge("summarize", END)
    return builder.compile()


def weather_model(**kwargs: Any) -> ScriptedChatModel:
    """The three answers of the weather scenario: a tool call, a reply, a summary."""
    return ScriptedChatModel(
        messages=iter(
            [
                ai(
                    "Checking the weather.",
                    "msg_1",
                    reasoning="The user wants Paris.",
                    tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
                    usage=(10, 5),
                    finish_reason="tool_calls",
                ),
                ai("It is 21°C in Paris.", "msg_2", usage=(20, 7)),
                ai(" Summary: sunny.", "msg_3", usage=(30, 3)),
            ]
        ),
        **kwargs,
    )
