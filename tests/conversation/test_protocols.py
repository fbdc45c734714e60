"""Each protocol's request body read field by field, as its client sends it."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from assistant_stream_core.conversation import (
    Conversation,
    FilePart,
    Message,
    ReasoningPart,
    SourcePart,
    TextPart,
    Tool,
    ToolApproval,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
    decode_request,
    render_history,
    response_encoder,
)
from assistant_stream_core.conversation.openai_chat import chat_request
from assistant_stream_core.errors import RequestError
from assistant_stream_core.protocols.ag_ui import AGUIEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder

PNG = "iVBORw0KGgo="


def test_ui_message_stream_reads_every_part_kind_and_tool_state() -> None:
    body = {
        "id": "chat-1",
        "trigger": "submit-message",
        "messageId": "m2",
        "messages": [
            {
                "id": "m1",
                "role": "user",
                "metadata": {"at": 1},
                "parts": [
                    {"type": "text", "text": "Look", "state": "done"},
                    {
                        "type": "file",
                        "mediaType": "image/png",
                        "url": f"data:image/png;base64,{PNG}",
                    },
                ],
            },
            {
                "id": "m2",
                "role": "assistant",
                "parts": [
                    {"type": "step-start"},
                    {"type": "reasoning", "text": "Hmm", "providerMetadata": {}},
                    {
                        "type": "tool-search",
                        "toolCallId": "a",
                        "state": "output-available",
                        "input": {"q": 1},
                        "output": [1],
                    },
                    {
                        "type": "dynamic-tool",
                        "toolName": "calc",
                        "toolCallId": "b",
                        "state": "output-error",
                        "input": {},
                        "errorText": "boom",
                    },
                    {
                        "type": "tool-delete",
                        "toolCallId": "c",
                        "state": "approval-requested",
                        "input": {},
                        "approval": {"id": "ap1"},
                    },
                    {
                        "type": "tool-delete",
                        "toolCallId": "d",
                        "state": "output-denied",
                        "input": {},
                        "approval": {"id": "ap2", "approved": False, "reason": "no"},
                    },
                    {"type": "source-url", "sourceId": "s", "url": "https://x.org"},
                    {"type": "data-weather", "data": {"t": 21}},
                    {"type": "some-future-part", "x": 1},
                ],
            },
        ],
    }
    conversation = decode_request("ui_message_stream", msgspec.json.encode(body))
    user, assistant = conversation.messages
    assert conversation.thread_id == "chat-1"
    assert conversation.extras == {"trigger": "submit-message", "messageId": "m2"}
    assert user.metadata == {"at": 1}
    assert user.parts == (TextPart(text="Look"), FilePart(media_type="image/png", data=PNG))
    parts = assistant.parts
    assert parts[0] == ReasoningPart(text="Hmm")
    assert parts[1] == ToolCallPart(
        tool_call_id="a", tool_name="search", args={"q": 1}, result=ToolResult(value=[1])
    )
    assert parts[2] == ToolCallPart(
        tool_call_id="b", tool_name="calc", args={}, result=ToolResult(value="boom", is_error=True)
    )
    assert parts[3].approval == ToolApproval(id="ap1")  # type: ignore[union-attr]
    assert parts[4].approval == ToolApproval(id="ap2", approved=False, reason="no")  # type: ignore[union-attr]
    assert parts[5] == SourcePart(id="s", url="https://x.org")
    assert len(parts) == 7  # step-start and the unknown part are skipped


def test_data_stream_reads_v1_and_v2_message_fields() -> None:
    body = {
        "system": "Be brief.",
        "tools": {"get_weather": {"description": "Weather", "parameters": {"type": "object"}}},
        "runConfig": {"custom": 1},
        "state": {"n": 1},
        "threadId": "t",
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "image": "https://x.org/a.png"}],
                "unstable_id": "u1",
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool-call",
                        "toolCallId": "c1",
                        "toolName": "get_weather",
                        "args": {"city": "Paris"},
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
                        "result": "sunny",
                        "isError": False,
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool-call",
                        "toolCallId": "c2",
                        "toolName": "get_weather",
                        "input": {},
                    }
                ],
            },
            {
                "role": "tool",
                "content": [
                    {
                        "type": "tool-result",
                        "toolCallId": "c2",
                        "toolName": "get_weather",
                        "output": {"type": "error-text", "value": "down"},
                    }
                ],
            },
        ],
    }
    conversation = decode_request("data_stream", body)
    assert conversation.system == "Be brief."
    assert conversation.tools == (
        Tool(name="get_weather", description="Weather", parameters={"type": "object"}),
    )
    assert (conversation.state, conversation.thread_id) == ({"n": 1}, "t")
    assert conversation.extras == {"runConfig": {"custom": 1}}
    user, first, second = conversation.messages
    assert user == Message(
        role="user",
        id="u1",
        parts=(FilePart(media_type="application/octet-stream", url="https://x.org/a.png"),),
    )
    assert first.parts[0].result == ToolResult(value="sunny")  # type: ignore[union-attr]
    assert second.parts[0].result == ToolResult(value="down", is_error=True)  # type: ignore[union-attr]


def test_ag_ui_reads_run_agent_input() -> None:
    body = {
        "threadId": "t",
        "runId": "r",
        "parentRunId": "r0",
        "state": {"todo": []},
        "forwardedProps": {"x": 1},
        "context": [{"description": "user's city", "value": "Paris"}],
        "tools": [
            {"name": "confirm", "description": "Ask the user", "parameters": {"type": "object"}}
        ],
        "messages": [
            {"id": "d", "role": "developer", "content": "Rules"},
            {
                "id": "u",
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {
                        "type": "image",
                        "source": {"type": "data", "value": PNG, "mimeType": "image/png"},
                    },
                ],
            },
            {"id": "rs", "role": "reasoning", "content": "Thinking"},
            {
                "id": "a",
                "role": "assistant",
                "toolCalls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "confirm", "arguments": '{"q": "ok?"}'},
                    }
                ],
            },
            {"id": "tm", "role": "tool", "toolCallId": "c", "content": "yes"},
            {"id": "act", "role": "activity", "activityType": "progress", "content": {"p": 1}},
        ],
    }
    conversation = decode_request("ag_ui", body)
    assert (conversation.thread_id, conversation.run_id) == ("t", "r")
    assert conversation.extras == {"parentRunId": "r0", "forwardedProps": {"x": 1}}
    assert conversation.context[0].value == "Paris"
    system, user, reasoning, assistant = conversation.messages
    assert system == Message(role="system", id="d", parts=(TextPart(text="Rules"),))
    assert user.parts[1] == FilePart(media_type="image/png", data=PNG)
    assert reasoning.parts == (ReasoningPart(text="Thinking"),)
    assert assistant.parts == (
        ToolCallPart(
            tool_call_id="c", tool_name="confirm", args={"q": "ok?"}, result=ToolResult(value="yes")
        ),
    )


def test_openai_chat_reads_developer_files_and_tool_results_without_their_call() -> None:
    body = {
        "model": "gpt",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Rules"}]},
            {
                "role": "user",
                "content": [
                    {"type": "file", "file": {"file_id": "file-1"}},
                    {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "Hmm",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{bad"}}
                ],
            },
            {"role": "tool", "tool_call_id": "elsewhere", "content": "42"},
        ],
    }
    conversation = decode_request("openai_chat", body)
    system, user, assistant, tool = conversation.messages
    assert system.parts == (TextPart(text="Rules"),)
    assert user.parts == (
        FilePart(media_type="application/octet-stream", url="openai-file:file-1"),
        FilePart(media_type="audio/wav", data=PNG),
    )
    assert assistant.parts == (
        ReasoningPart(text="Hmm"),
        ToolCallPart(tool_call_id="c", tool_name="f", args=None, args_text="{bad"),
    )
    assert tool.parts == (ToolResultPart(tool_call_id="elsewhere", result=ToolResult(value="42")),)


def test_assistant_transport_reads_commands() -> None:
    body = {
        "commands": [
            {
                "type": "add-message",
                "message": {"role": "user", "parts": [{"type": "text", "text": "Hi"}]},
                "parentId": None,
                "sourceId": None,
            },
            {
                "type": "add-tool-result",
                "toolCallId": "c",
                "toolName": "f",
                "result": {"ok": True},
                "isError": False,
                "artifact": [1],
            },
            {"type": "my-command", "value": 3},
        ],
        "state": {"messages": []},
        "system": "Be brief.",
        "tools": {"f": {"parameters": {}}},
        "callSettings": {"temperature": 0},
        "threadId": "t",
    }
    conversation = decode_request("assistant_transport", body)
    user, tool = conversation.messages
    assert user.text == "Hi"
    assert tool.parts == (
        ToolResultPart(
            tool_call_id="c", tool_name="f", result=ToolResult(value={"ok": True}, artifact=[1])
        ),
    )
    assert conversation.extras == {
        "callSettings": {"temperature": 0},
        "commands": [{"type": "my-command", "value": 3}],
    }
    history = render_history("assistant_transport", conversation.messages)
    assert history == [{"id": "msg-0", "role": "user", "content": [{"type": "text", "text": "Hi"}]}]


@pytest.mark.parametrize(
    ("protocol", "body", "field"),
    [
        (
            "ui_message_stream",
            {"messages": [{"role": "user", "parts": [{"type": "file", "url": "x"}]}]},
            "messages[0].parts[0].mediaType",
        ),
        (
            "ui_message_stream",
            {
                "messages": [
                    {"role": "user", "parts": [{"type": "dynamic-tool", "toolCallId": "c"}]}
                ]
            },
            "messages[0].parts[0].toolName",
        ),
        (
            "ag_ui",
            {"messages": [{"id": "1", "role": "tool", "content": "x"}]},
            "messages[0].toolCallId",
        ),
        (
            "data_stream",
            {"messages": [{"role": "user", "content": [{"type": "tool-call"}]}]},
            "messages[0].content[0].type",
        ),
        (
            "assistant_transport",
            {"commands": [{"type": "add-tool-result"}]},
            "commands[0].toolCallId",
        ),
        ("assistant_transport", {"commands": [{"no": "type"}]}, "commands[0].type"),
        (
            "openai_chat",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}
                        ],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        (
            "openai_chat",
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "a"},
                            {"type": "file", "file": {"file_data": "data:;base64,!!"}},
                        ],
                    },
                ]
            },
            "messages[1].content[1].file",
        ),
        (
            "data_stream",
            {
                "messages": [
                    {"role": "user", "content": "Hi"},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "a"},
                            {"type": "file", "data": "data:;base64,!!", "mediaType": "a/b"},
                        ],
                    },
                ]
            },
            "messages[1].content[1].data",
        ),
        (
            "ag_ui",
            {
                "messages": [
                    {"id": "0", "role": "user", "content": "Hi"},
                    {
                        "id": "1",
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "a"},
                            {
                                "type": "image",
                                "source": {"type": "url", "value": "data:;base64,!!"},
                            },
                        ],
                    },
                ]
            },
            "messages[1].content[1].source.value",
        ),
        (
            "assistant_transport",
            {
                "commands": [
                    {
                        "type": "add-message",
                        "message": {
                            "role": "user",
                            "parts": [
                                {"type": "text", "text": "a"},
                                {"type": "image", "image": "data:;base64,!!"},
                            ],
                        },
                    }
                ]
            },
            "commands[0].message.parts[1].image",
        ),
        (
            "ui_message_stream",
            {
                "messages": [
                    {"role": "user", "parts": [{"type": "text", "text": "a"}]},
                    {"role": "user", "parts": [{"type": "text", "text": 3}]},
                ]
            },
            "messages[1].parts[0].text",
        ),
    ],
)
@pytest.mark.parametrize("as_json", [False, True], ids=["parsed", "json"])
def test_errors_name_the_field(
    protocol: str, body: dict[str, Any], field: str, as_json: bool
) -> None:
    # Parsed bodies are converted from dicts; JSON is parsed straight into
    # typed structs: the field is named the same either way.
    with pytest.raises(RequestError) as info:
        decode_request(protocol, msgspec.json.encode(body) if as_json else body)
    assert info.value.field == field
    assert info.value.status == 400


def test_chat_request_and_response_encoder() -> None:
    conversation = Conversation(
        system="Be brief.",
        messages=(Message(role="user", parts=(TextPart(text="Hi"),)),),
        tools=(Tool(name="f"),),
        extras={"model": "m", "stream_options": {"include_usage": True}},
    )
    assert chat_request(conversation) == {
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    assert "tools" not in chat_request(Conversation())
    encoder = response_encoder("openai_chat", conversation)
    assert isinstance(encoder, OpenAIChatEncoder)
    assert (encoder.model, encoder.include_usage) == ("m", True)
    agui = response_encoder("ag_ui", Conversation(thread_id="t", run_id="r"))
    assert isinstance(agui, AGUIEncoder)
    assert (agui.thread_id, agui.run_id) == ("t", "r")
    assert response_encoder("data_stream", conversation) == "data_stream"


def test_ag_ui_resume_is_read_from_json_as_from_a_parsed_body() -> None:
    # ``resume`` is read, and kept in extras too: every field of the request
    # must reach the typed read, not only those kept out of extras.
    body = {
        "threadId": "t",
        "messages": [
            {
                "id": "a",
                "role": "assistant",
                "toolCalls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            }
        ],
        "resume": [{"interruptId": "approval-c1", "status": "resolved", "payload": False}],
        "forwardedProps": {"x": [1, {"y": None}]},
    }
    parsed = decode_request("ag_ui", body)
    read = decode_request("ag_ui", msgspec.json.encode(body))
    assert read == parsed
    (call,) = read.messages[0].parts
    assert isinstance(call, ToolCallPart)
    assert call.approval is not None
    assert call.approval.approved is False
    assert read.extras == {"resume": body["resume"], "forwardedProps": {"x": [1, {"y": None}]}}
