"""AG-UI requests: the ``RunAgentInput`` an ``HttpAgent`` posts.

Read: ``threadId`` and ``runId`` are the thread and run ids; ``state``, ``tools``
(name, description, JSON Schema ``parameters``) and ``context`` map to the
conversation's; ``developer`` and ``system`` messages become ``system``
messages; a user's ``image``/``audio``/``video``/``document`` parts become
:class:`~.model.FilePart` (inline ``data`` sources as base64 data, ``url`` and
provider ``file`` sources as the URL); an assistant's ``toolCalls`` become tool
calls, each ``tool`` message the result of the call it answers (its
``error``, when present, sets ``is_error``); a ``reasoning`` message becomes
an assistant message with one reasoning part. ``activity`` messages (UI
progress, not conversation) are skipped. ``forwardedProps``, ``parentRunId``,
``resume`` and other top-level fields are kept in
:attr:`~.model.Conversation.extras`. A ``resume`` entry that answers the
interrupt of an approval request (its ``interruptId`` is a call's id, or
``approval-`` and the call's id, as the run names approvals by default) also
sets that call's :class:`~.model.ToolApproval`: ``status: "resolved"`` with
``payload: {"approved": …, "reason": …}`` (or ``payload: true``/``false``),
and ``status: "cancelled"``, which denies.

Written back: a message's text parts are joined into one ``content`` string;
an assistant message's reasoning goes into a ``reasoning`` message before it;
sources and data parts are left out; a result that is not a string is written
as JSON text.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ._read import (
    DEFAULT_MAX_REQUEST_BYTES,
    Body,
    args_text,
    file_from_url,
    json_text,
    parse_args,
    read_request,
)
from ._results import fold_results
from .model import (
    ContextItem,
    Conversation,
    FilePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    Tool,
    ToolApproval,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

__all__ = ["decode_request", "encode_request", "render_history"]


class _Camel(msgspec.Struct, rename="camel"):
    pass


class _Source(_Camel):
    type: Literal["data", "url", "file"]
    value: str
    mime_type: str | None = None


class _TextIn(_Camel, tag="text", tag_field="type"):
    text: str


class _ImageIn(_Camel, tag="image", tag_field="type"):
    source: _Source


class _AudioIn(_Camel, tag="audio", tag_field="type"):
    source: _Source


class _VideoIn(_Camel, tag="video", tag_field="type"):
    source: _Source


class _DocumentIn(_Camel, tag="document", tag_field="type"):
    source: _Source


_ContentPart = _TextIn | _ImageIn | _AudioIn | _VideoIn | _DocumentIn
_Content = str | list[_ContentPart]


class _Function(_Camel):
    name: str
    arguments: str = ""


class _ToolCall(_Camel):
    id: str
    function: _Function


class _System(_Camel, tag="system", tag_field="role"):
    id: str
    content: str


class _Developer(_Camel, tag="developer", tag_field="role"):
    id: str
    content: str


class _User(_Camel, tag="user", tag_field="role"):
    id: str
    content: _Content


class _Assistant(_Camel, tag="assistant", tag_field="role"):
    id: str
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _ToolMsg(_Camel, tag="tool", tag_field="role"):
    id: str
    tool_call_id: str
    content: _Content = ""
    error: str | None = None


class _Reasoning(_Camel, tag="reasoning", tag_field="role"):
    id: str
    content: str


class _Activity(_Camel, tag="activity", tag_field="role"):
    id: str


_Msg = _System | _Developer | _User | _Assistant | _ToolMsg | _Reasoning | _Activity


class _ToolDef(_Camel):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Context(_Camel):
    description: str
    value: str


class _Resume(_Camel):
    interrupt_id: str
    status: Literal["resolved", "cancelled"]
    payload: Any = None


class _Input(_Camel):
    messages: list[_Msg]
    thread_id: str | None = None
    run_id: str | None = None
    state: Any = None
    tools: list[_ToolDef] = msgspec.field(default_factory=list)
    context: list[_Context] = msgspec.field(default_factory=list)
    resume: list[_Resume] | None = None


_KNOWN = frozenset({"messages", "threadId", "runId", "state", "tools", "context"})
_MEDIA_KINDS = ("image", "audio", "video")


def _file(source: _Source, field: str) -> FilePart:
    if source.type == "data":
        return FilePart(
            media_type=source.mime_type or "application/octet-stream", data=source.value
        )
    return file_from_url(source.value, source.mime_type, None, f"{field}.source.value")


def _parts(content: _Content, message: int) -> tuple[Part, ...]:
    if isinstance(content, str):
        return (TextPart(text=content),) if content else ()
    out: list[Part] = []
    for index, item in enumerate(content):
        if isinstance(item, _TextIn):
            out.append(TextPart(text=item.text))
        else:  # the path is built only here, where it may name a field in error
            out.append(_file(item.source, f"messages[{message}].content[{index}]"))
    return tuple(out)


def _text(content: _Content) -> str:
    if isinstance(content, str):
        return content
    return "".join(item.text for item in content if isinstance(item, _TextIn))


def _message(msg: _Msg, index: int) -> Message | None:
    match msg:
        case _System() | _Developer():
            return Message(role="system", parts=_parts(msg.content, index), id=msg.id)
        case _User():
            return Message(role="user", parts=_parts(msg.content, index), id=msg.id)
        case _Assistant():
            parts: list[Part] = [TextPart(text=msg.content)] if msg.content else []
            for call in msg.tool_calls or ():
                args, raw = parse_args(call.function.arguments)
                parts.append(
                    ToolCallPart(
                        tool_call_id=call.id, tool_name=call.function.name, args=args, args_text=raw
                    )
                )
            return Message(role="assistant", parts=tuple(parts), id=msg.id)
        case _ToolMsg():
            result = ToolResult(value=_text(msg.content), is_error=msg.error is not None)
            part = ToolResultPart(tool_call_id=msg.tool_call_id, result=result)
            return Message(role="tool", parts=(part,), id=msg.id)
        case _Reasoning():
            return Message(role="assistant", parts=(ReasoningPart(text=msg.content),), id=msg.id)
    return None  # activity


def _decision(entry: _Resume) -> ToolApproval:
    if entry.status == "cancelled":
        return ToolApproval(id=entry.interrupt_id, approved=False, reason="cancelled")
    payload = entry.payload
    if isinstance(payload, bool):
        return ToolApproval(id=entry.interrupt_id, approved=payload)
    approved = payload.get("approved") if isinstance(payload, dict) else None
    reason = payload.get("reason") if isinstance(payload, dict) else None
    return ToolApproval(
        id=entry.interrupt_id,
        # A resolved answer without a decision approves: the person answered.
        approved=approved if isinstance(approved, bool) else True,
        reason=reason if isinstance(reason, str) else None,
    )


def _apply_resume(messages: list[Message], resume: list[_Resume]) -> list[Message]:
    """Put each approval interrupt's answer on the tool call it names."""
    answers = {entry.interrupt_id: entry for entry in resume}
    out = []
    for message in messages:
        parts = list(message.parts)
        for index, part in enumerate(parts):
            if not isinstance(part, ToolCallPart) or part.result is not None:
                continue
            call_id = part.tool_call_id
            entry = answers.get(f"approval-{call_id}") or answers.get(call_id)
            if entry is not None:
                parts[index] = msgspec.structs.replace(part, approval=_decision(entry))
        out.append(msgspec.structs.replace(message, parts=tuple(parts)))
    return out


def decode_request(body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Conversation:
    """Read a ``RunAgentInput`` body into a :class:`~.model.Conversation`.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (400) or larger than ``max_bytes`` (413).
    """
    request, extras = read_request(body, _Input, _KNOWN, max_bytes=max_bytes)
    messages = (_message(m, i) for i, m in enumerate(request.messages))
    folded = fold_results(m for m in messages if m is not None)
    if request.resume:
        folded = _apply_resume(folded, request.resume)
    return Conversation(
        messages=tuple(folded),
        tools=tuple(
            Tool(name=t.name, description=t.description, parameters=t.parameters)
            for t in request.tools
        ),
        state=request.state,
        thread_id=request.thread_id,
        run_id=request.run_id,
        context=tuple(
            ContextItem(description=c.description, value=c.value) for c in request.context
        ),
        extras=extras,
    )


def _content_part(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case FilePart():
            kind = part.media_type.split("/", 1)[0]
            if kind not in _MEDIA_KINDS:
                kind = "document"
            source: dict[str, str | None]
            if part.data is not None:
                source = {"type": "data", "value": part.data, "mimeType": part.media_type}
            else:
                source = {"type": "url", "value": part.url, "mimeType": part.media_type}
            return {"type": kind, "source": source}
    return None


def _result_text(result: ToolResult) -> str:
    return result.value if isinstance(result.value, str) else json_text(result.value)


def _tool_message(call_id: str, result: ToolResult, message_id: str) -> dict[str, Any]:
    out = {"id": message_id, "role": "tool", "toolCallId": call_id, "content": _result_text(result)}
    if result.is_error:
        out["error"] = out["content"]
    return out


def render_history(messages: tuple[Message, ...] | list[Message]) -> list[dict[str, Any]]:
    """The messages as AG-UI ``Message`` objects (``RunAgentInput``, ``MESSAGES_SNAPSHOT``)."""
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        mid = message.id if message.id is not None else f"msg-{index}"
        match message.role:
            case "system":
                out.append({"id": mid, "role": "system", "content": message.text})
            case "user":
                parts = [p for p in map(_content_part, message.parts) if p is not None]
                content: Any = parts
                if len(parts) == 1 and parts[0]["type"] == "text":
                    content = parts[0]["text"]
                out.append({"id": mid, "role": "user", "content": content})
            case "assistant":
                reasoning = "".join(p.text for p in message.parts if isinstance(p, ReasoningPart))
                calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
                text = message.text
                if reasoning:
                    rid = mid if not (text or calls) else f"{mid}-reasoning"
                    out.append({"id": rid, "role": "reasoning", "content": reasoning})
                    if not (text or calls):
                        continue
                entry: dict[str, Any] = {"id": mid, "role": "assistant"}
                if text:
                    entry["content"] = text
                if calls:
                    entry["toolCalls"] = [
                        {
                            "id": c.tool_call_id,
                            "type": "function",
                            "function": {
                                "name": c.tool_name,
                                "arguments": args_text(c.args, c.args_text),
                            },
                        }
                        for c in calls
                    ]
                out.append(entry)
                out.extend(
                    _tool_message(c.tool_call_id, c.result, f"{c.tool_call_id}-result")
                    for c in calls
                    if c.result is not None
                )
            case "tool":
                out.extend(
                    _tool_message(p.tool_call_id, p.result, mid if n == 0 else f"{mid}-{n}")
                    for n, p in enumerate(message.parts)
                    if isinstance(p, ToolResultPart)
                )
    return out


def encode_request(conversation: Conversation) -> dict[str, Any]:
    """A ``RunAgentInput`` body that reads back as ``conversation``."""
    messages = list(conversation.messages)
    if conversation.system:
        messages.insert(0, Message(role="system", parts=(TextPart(text=conversation.system),)))
    body: dict[str, Any] = {
        **conversation.extras,
        "threadId": conversation.thread_id if conversation.thread_id is not None else "thread",
        "runId": conversation.run_id if conversation.run_id is not None else "run",
        "messages": render_history(messages),
        "tools": [_tool(t) for t in conversation.tools],
        "context": [{"description": c.description, "value": c.value} for c in conversation.context],
    }
    if conversation.state is not None:
        body["state"] = conversation.state
    return body


def _tool(tool: Tool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name, "description": tool.description or ""}
    if tool.parameters is not None:
        out["parameters"] = tool.parameters
    return out
