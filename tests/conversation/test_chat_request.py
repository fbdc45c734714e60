"""chat_request: any protocol's conversation as a chat completions request a server accepts."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from assistant_stream_core.conversation import (
    REQUEST_PROTOCOLS,
    ContextItem,
    Conversation,
    DataPart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolApproval,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
    chat_request,
    decode_request,
)
from assistant_stream_core.conversation.openai_chat import DENIED

from .strategies import CONVERSATIONS

WEATHER = Tool(name="get_weather", parameters={"type": "object"})


def user(text: str) -> Message:
    return Message(role="user", parts=(TextPart(text=text),))


def call(call_id: str, result: Any = None, **fields: Any) -> ToolCallPart:
    return ToolCallPart(
        tool_call_id=call_id,
        tool_name="get_weather",
        args={"city": call_id},
        result=None if result is None else ToolResult(value=result),
        **fields,
    )


def check_valid(messages: list[dict[str, Any]]) -> None:
    """What chat completions servers check: each call answered at once, no stray answers."""
    waiting: list[str] = []
    for message in messages:
        if message["role"] == "tool":
            assert waiting, f"a tool message answers no call: {message}"
            assert message["tool_call_id"] == waiting.pop(0)
            assert isinstance(message["content"], str)
            continue
        assert not waiting, f"calls {waiting} are not answered before {message}"
        if message["role"] == "assistant":
            calls = message.get("tool_calls", [])
            assert message["content"] is not None or calls, message
            waiting = [c["id"] for c in calls]
        elif message["role"] == "user":
            assert message["content"] != [], message  # servers refuse an empty list
    assert not waiting


@pytest.mark.parametrize("protocol", sorted(REQUEST_PROTOCOLS))
def test_every_protocols_conversation_becomes_a_valid_request(protocol: str) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(CONVERSATIONS[protocol]())
    def check(conversation: Conversation) -> None:
        request = chat_request(conversation)
        check_valid(request["messages"])
        # What the model reads of the assistant: all of its text, in order.
        said = "".join(m["content"] or "" for m in request["messages"] if m["role"] == "assistant")
        assert said == "".join(m.text for m in conversation.messages if m.role == "assistant")
        assert [t["function"]["name"] for t in request.get("tools", [])] == [
            t.name for t in conversation.tools
        ]
        msgspec.json.encode(request)  # JSON-ready

    check()


def test_an_agent_loop_in_one_ui_message_becomes_one_model_call_per_step() -> None:
    answer = Message(
        role="assistant",
        parts=(
            ReasoningPart(text="Two cities."),
            TextPart(text="Let me look."),
            call("paris", {"temp_c": 21}),
            call("rome", "25 C"),
            TextPart(text="Paris is cooler. "),
            call("oslo", 3),
            TextPart(text="Oslo is the coldest."),
        ),
    )
    request = chat_request(Conversation(messages=(user("Weather?"), answer), tools=(WEATHER,)))

    def calls(*ids: str) -> list[dict[str, Any]]:
        return [
            {
                "id": i,
                "type": "function",
                "function": {"name": "get_weather", "arguments": f'{{"city":"{i}"}}'},
            }
            for i in ids
        ]

    assert request["messages"] == [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": calls("paris", "rome")},
        {"role": "tool", "tool_call_id": "paris", "content": '{"temp_c":21}'},
        {"role": "tool", "tool_call_id": "rome", "content": "25 C"},
        {"role": "assistant", "content": "Paris is cooler. ", "tool_calls": calls("oslo")},
        {"role": "tool", "tool_call_id": "oslo", "content": "3"},
        {"role": "assistant", "content": "Oslo is the coldest."},
    ]
    assert request["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]


def test_a_denied_call_is_answered_and_an_unanswered_call_left_out() -> None:
    answer = Message(
        role="assistant",
        parts=(
            call("denied", approval=ToolApproval(id="a1", approved=False, reason="too far")),
            call("denied_quietly", approval=ToolApproval(id="a2", approved=False)),
            call("pending", approval=ToolApproval(id="a3")),
            call("approved_not_run", approval=ToolApproval(id="a4", approved=True)),
            call("browser_tool_not_answered"),
        ),
    )
    messages = chat_request(Conversation(messages=(user("Go"), answer)))["messages"]
    check_valid(messages)
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["denied", "denied_quietly"]
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": "denied", "content": f"{DENIED}: too far"},
        {"role": "tool", "tool_call_id": "denied_quietly", "content": DENIED},
    ]
    only_pending = Message(role="assistant", parts=(call("pending"),))
    assert chat_request(Conversation(messages=(user("Go"), only_pending)))["messages"] == [
        {"role": "user", "content": "Go"}
    ]


def test_a_result_sent_apart_from_its_call_finds_it() -> None:
    """An Assistant Transport add-tool-result: the call is in the stored thread."""
    thread = (user("Weather?"), Message(role="assistant", parts=(call("c1"),)))
    result = Message(
        role="tool", parts=(ToolResultPart(tool_call_id="c1", result=ToolResult(value="sunny")),)
    )
    stray = Message(
        role="tool", parts=(ToolResultPart(tool_call_id="nobody", result=ToolResult(value=1)),)
    )
    messages = chat_request(Conversation(messages=(*thread, result, stray)))["messages"]
    check_valid(messages)
    assert messages[-1] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}


def test_system_text_context_and_the_servers_tools() -> None:
    conversation = Conversation(
        system="Answer in French.",
        context=(ContextItem(description="The user's city", value="Lyon"),),
        messages=(
            Message(role="user", parts=(DataPart(name="only-data", data=1),)),
            user("Météo ?"),
        ),
        tools=(Tool(name="get_weather", description="from the client"), Tool(name="open_map")),
    )
    server_tool = {"name": "get_weather", "description": "from the server"}
    request = chat_request(
        conversation,
        system="You are a weather bot.",
        tools=[server_tool, Tool(name="get_time"), {"type": "function", "function": {"name": "x"}}],
    )
    assert request["messages"] == [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "system", "content": "Answer in French."},
        {"role": "system", "content": "The user's city: Lyon"},
        {"role": "user", "content": "Météo ?"},
    ]
    assert request["tools"] == [
        {"type": "function", "function": server_tool},  # the server's replaces the client's
        {"type": "function", "function": {"name": "open_map"}},
        {"type": "function", "function": {"name": "get_time"}},
        {"type": "function", "function": {"name": "x"}},
    ]
    assert len(chat_request(conversation, context=False)["messages"]) == 2


def test_a_data_stream_request_with_files_and_tool_results() -> None:
    body = {
        "system": "Be brief.",
        "tools": {"get_weather": {"description": "d", "parameters": {"type": "object"}}},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And this picture?"},
                    {"type": "file", "mediaType": "image/png", "data": "aGk="},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool-call",
                        "toolCallId": "c1",
                        "toolName": "get_weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "tool",
                "content": [
                    {
                        "type": "tool-result",
                        "toolCallId": "c1",
                        "toolName": "get_weather",
                        "output": {"type": "json", "value": {"temp_c": 21}},
                    }
                ],
            },
        ],
    }
    messages = chat_request(decode_request("data_stream", body))["messages"]
    check_valid(messages)
    assert messages[1]["content"] == [
        {"type": "text", "text": "And this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}},
    ]
    assert messages[-1]["role"] == "tool"
