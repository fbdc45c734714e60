"""What the client answered about the tool calls a run left waiting.

A run that stops for a person or for the browser ends its turn with tool calls
that have no result. The client's next request carries the answers, and
:func:`tool_answers` finds them in the decoded conversation, whatever the
protocol:

* an **approval decision** on a call (the AI SDK's ``approval-responded`` and
  ``output-denied`` parts, AG-UI's ``resume`` entries, read into
  :class:`~.model.ToolApproval`), for a call that has no result yet: the run
  runs the tool or reports the denial;
* for protocols with no approval form (assistant-ui's Data Stream and
  Assistant Transport, OpenAI), the front end answers an approval the
  way it answers any tool call it handles, with a result; a result of the form
  ``{"approved": true|false, "reason": "…"}`` on a call of one of
  ``approval_tools`` is read as the decision;
* a **result** the client gave (a frontend tool the browser ran): the model
  reads it when the conversation is sent back (it is already on the call).

Only calls after the last user message count: a new user message starts a new
turn, and earlier answers were acted on. :func:`pending_approvals` lists the
calls still waiting for a decision. :func:`with_tool_results` puts the results
the run produced on their calls, for the next model request.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import msgspec

from .model import Conversation, ToolCallPart, ToolResult, ToolResultPart

__all__ = ["ToolAnswer", "pending_approvals", "tool_answers", "with_tool_results"]


class ToolAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The client's answer to one tool call the run left waiting.

    ``approved`` is the person's decision (``None`` when the answer is a
    frontend tool's result, in :attr:`result`); ``reason`` is what they gave.
    """

    call: ToolCallPart
    approved: bool | None = None
    reason: str | None = None
    result: ToolResult | None = None

    @property
    def tool_call_id(self) -> str:
        """The answered call's id."""
        return self.call.tool_call_id

    @property
    def tool_name(self) -> str:
        """The answered call's tool name."""
        return self.call.tool_name

    @property
    def args(self) -> Any:
        """The answered call's parsed arguments."""
        return self.call.args


def _current_calls(conversation: Conversation) -> list[ToolCallPart]:
    """The tool calls after the last user message.

    A result whose call is not in the request (an Assistant Transport
    ``add-tool-result`` command) stands for its call, without arguments.
    """
    calls: list[ToolCallPart] = []
    for message in reversed(conversation.messages):
        if message.role == "user":
            break
        found: list[ToolCallPart] = []
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                found.append(part)
            elif isinstance(part, ToolResultPart):
                found.append(
                    ToolCallPart(
                        tool_call_id=part.tool_call_id,
                        tool_name=part.tool_name or "",
                        result=part.result,
                    )
                )
        calls[:0] = found
    return calls


def _decision(value: Any) -> tuple[bool, str | None] | None:
    if isinstance(value, str):
        # AG-UI and OpenAI carry a tool message's content as text.
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return None
    if not isinstance(value, dict) or not isinstance(value.get("approved"), bool):
        return None
    reason = value.get("reason")
    return value["approved"], reason if isinstance(reason, str) else None


def tool_answers(
    conversation: Conversation, *, approval_tools: Collection[str] = ()
) -> list[ToolAnswer]:
    """The client's answers to the calls of the current turn, in call order.

    :param approval_tools: the names of the tools the run asks approval for;
        in protocols without an approval form, a result
        ``{"approved": …, "reason": …}`` on one of their calls is the
        decision. Calls of other tools are answered by their result.

    A call that has both a decision and a result (the run already acted on
    the decision) is answered by its result.
    """
    answers: list[ToolAnswer] = []
    for call in _current_calls(conversation):
        approval = call.approval
        if call.result is None:
            if approval is not None and approval.approved is not None:
                answers.append(
                    ToolAnswer(call=call, approved=approval.approved, reason=approval.reason)
                )
            continue
        decision = (
            _decision(call.result.value)
            if call.tool_name in approval_tools and approval is None and not call.result.is_error
            else None
        )
        if decision is None:
            answers.append(ToolAnswer(call=call, result=call.result))
        else:
            answers.append(ToolAnswer(call=call, approved=decision[0], reason=decision[1]))
    return answers


def pending_approvals(conversation: Conversation) -> list[ToolCallPart]:
    """The calls of the current turn that wait for an approval decision (AI SDK)."""
    return [
        call
        for call in _current_calls(conversation)
        if call.result is None and call.approval is not None and call.approval.approved is None
    ]


def with_tool_results(conversation: Conversation, results: Mapping[str, Any]) -> Conversation:
    """``conversation`` with ``results`` (call id → value or :class:`ToolResult`) on their calls.

    Use it before the next model request: the model then reads what an
    approved tool returned, or why a call did not run, instead of the
    client's decision.
    """
    if not results:
        return conversation
    messages = []
    for message in conversation.messages:
        if not any(
            isinstance(p, ToolCallPart) and p.tool_call_id in results for p in message.parts
        ):
            messages.append(message)
            continue
        parts = tuple(
            msgspec.structs.replace(p, result=_as_result(results[p.tool_call_id]))
            if isinstance(p, ToolCallPart) and p.tool_call_id in results
            else p
            for p in message.parts
        )
        messages.append(msgspec.structs.replace(message, parts=parts))
    return msgspec.structs.replace(conversation, messages=tuple(messages))


def _as_result(value: Any) -> ToolResult:
    return value if isinstance(value, ToolResult) else ToolResult(value=value)
