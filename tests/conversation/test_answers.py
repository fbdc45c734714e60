"""tool_answers / pending_approvals / with_tool_results over requests as each client sends them."""

from __future__ import annotations

from typing import Any

from assistant_stream_core.conversation import (
    ToolResult,
    decode_request,
    encode_request,
    pending_approvals,
    tool_answers,
    with_tool_results,
)
from assistant_stream_core.conversation.openai_chat import chat_request

USER = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "delete a.txt"}]}


def _ui(state: str, approval: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    part: dict[str, Any] = {
        "type": "tool-delete_file",
        "toolCallId": "c1",
        "state": state,
        "input": {"path": "a.txt"},
        **extra,
    }
    if approval is not None:
        part["approval"] = approval
    assistant = {"id": "a1", "role": "assistant", "parts": [part]}
    return {"id": "t", "messages": [USER, assistant], "trigger": "submit-message"}


def test_ai_sdk_approval_states() -> None:
    waiting = decode_request("ui_message_stream", _ui("approval-requested", {"id": "ap1"}))
    assert tool_answers(waiting) == []
    assert [c.tool_call_id for c in pending_approvals(waiting)] == ["c1"]

    approved = decode_request(
        "ui_message_stream", _ui("approval-responded", {"id": "ap1", "approved": True})
    )
    (answer,) = tool_answers(approved)
    assert (answer.tool_call_id, answer.tool_name, answer.args) == (
        "c1",
        "delete_file",
        {"path": "a.txt"},
    )
    assert (answer.approved, answer.reason, answer.result) == (True, None, None)
    assert pending_approvals(approved) == []

    denied = decode_request(
        "ui_message_stream",
        _ui("approval-responded", {"id": "ap1", "approved": False, "reason": "no"}),
    )
    assert [(a.approved, a.reason) for a in tool_answers(denied)] == [(False, "no")]


def test_a_call_with_its_output_is_answered_by_the_output() -> None:
    done = decode_request(
        "ui_message_stream",
        _ui("output-available", {"id": "ap1", "approved": True}, output={"deleted": "a.txt"}),
    )
    (answer,) = tool_answers(done, approval_tools={"delete_file"})
    assert answer.approved is None
    assert answer.result == ToolResult(value={"deleted": "a.txt"})


def test_a_new_user_message_starts_a_new_turn() -> None:
    body = _ui("approval-responded", {"id": "ap1", "approved": True})
    body["messages"].append({**USER, "id": "u2"})
    assert tool_answers(decode_request("ui_message_stream", body)) == []


def _ag_ui(content: str) -> dict[str, Any]:
    return {
        "threadId": "t",
        "runId": "r2",
        "messages": [
            {"id": "u1", "role": "user", "content": "delete a.txt"},
            {
                "id": "a1",
                "role": "assistant",
                "toolCalls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "delete_file", "arguments": '{"path":"a.txt"}'},
                    }
                ],
            },
            {"id": "t1", "role": "tool", "toolCallId": "c1", "content": content},
        ],
        "tools": [],
        "context": [],
        "state": None,
        "forwardedProps": None,
    }


def test_protocols_without_an_approval_form_answer_with_a_result() -> None:
    body = _ag_ui('{"approved": false, "reason": "keep it"}')
    conversation = decode_request("ag_ui", body)
    # Without approval_tools, the result is a frontend tool's answer.
    assert tool_answers(conversation)[0].approved is None
    (answer,) = tool_answers(conversation, approval_tools={"delete_file"})
    assert (answer.approved, answer.reason, answer.args) == (False, "keep it", {"path": "a.txt"})
    # Text that is not a decision stays a result.
    other = decode_request("ag_ui", _ag_ui("yes please"))
    assert tool_answers(other, approval_tools={"delete_file"})[0].result == ToolResult(
        value="yes please"
    )


def test_the_same_decision_reads_the_same_from_every_protocol() -> None:
    conversation = decode_request("ag_ui", _ag_ui('{"approved": true}'))
    for protocol in ("data_stream", "openai_chat", "ag_ui"):
        again = decode_request(protocol, encode_request(protocol, conversation))
        (answer,) = tool_answers(again, approval_tools={"delete_file"})
        assert (answer.tool_call_id, answer.approved) == ("c1", True), protocol


def test_assistant_transport_add_tool_result_without_its_call() -> None:
    body = {
        "commands": [
            {
                "type": "add-tool-result",
                "toolCallId": "c1",
                "toolName": "delete_file",
                "result": {"approved": True},
            }
        ],
        "state": None,
    }
    (answer,) = tool_answers(
        decode_request("assistant_transport", body), approval_tools={"delete_file"}
    )
    assert (answer.tool_call_id, answer.approved, answer.args) == ("c1", True, None)


def test_with_tool_results_is_what_the_model_reads() -> None:
    conversation = decode_request("ag_ui", _ag_ui('{"approved": true}'))
    updated = with_tool_results(conversation, {"c1": {"deleted": "a.txt"}})
    messages = chat_request(updated)["messages"]
    assert messages[-1] == {"role": "tool", "tool_call_id": "c1", "content": '{"deleted":"a.txt"}'}
    assert with_tool_results(conversation, {}) is conversation
    error = with_tool_results(conversation, {"c1": ToolResult(value="boom", is_error=True)})
    assert tool_answers(error)[0].result == ToolResult(value="boom", is_error=True)
