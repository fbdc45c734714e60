"""Vercel AI SDK ``useChat`` requests: ``{id, messages: UIMessage[], trigger, messageId}``.

Read: ``id`` is the thread id; each ``UIMessage`` keeps its ``id``, ``role``
and ``metadata``; parts map one to one — ``text``, ``reasoning``,
``file`` (a ``data:`` URL read into base64 data), ``source-url`` and
``source-document`` (a :class:`~.model.SourcePart` without URL),
``data-<name>``, and ``tool-<name>`` / ``dynamic-tool`` in every state: the
input becomes the call's ``args``; ``output-available`` and ``output-error``
its result (the error text, ``is_error``); ``approval-requested``,
``approval-responded`` and ``output-denied`` its
:class:`~.model.ToolApproval`. ``step-start`` parts and part types this
module does not know are skipped. ``trigger``, ``messageId`` and every other
top-level field are kept in :attr:`~.model.Conversation.extras`.

Written back: tool calls as ``tool-<name>`` parts; ``tool`` messages (results
without their call) are left out, as a ``UIMessage`` has no place for them,
and so are messages with no parts, which ``validateUIMessages`` refuses; a
message without an id gets ``msg-<index>``.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ..errors import RequestError
from ._read import (
    DEFAULT_MAX_REQUEST_BYTES,
    Body,
    convert,
    data_url,
    file_from_url,
    json_text,
    read_request,
)
from .model import (
    Conversation,
    DataPart,
    FilePart,
    Message,
    Part,
    ReasoningPart,
    SourcePart,
    TextPart,
    ToolApproval,
    ToolCallPart,
    ToolResult,
)

__all__ = ["decode_request", "encode_request", "render_history"]


class _Camel(msgspec.Struct, rename="camel"):
    pass


class _UIMessage(_Camel):
    role: Literal["system", "user", "assistant"]
    parts: list[dict[str, Any]]
    id: str | None = None
    metadata: Any = None


class _Request(_Camel):
    messages: list[_UIMessage]
    id: str | None = None


class _Text(_Camel):
    text: str


class _File(_Camel):
    media_type: str
    url: str
    filename: str | None = None


class _SourceUrl(_Camel):
    source_id: str
    url: str
    title: str | None = None


class _SourceDocument(_Camel):
    source_id: str
    media_type: str
    title: str | None = None
    filename: str | None = None


class _Data(_Camel):
    data: Any = None
    id: str | None = None


class _Approval(_Camel):
    id: str
    approved: bool | None = None
    reason: str | None = None


class _Tool(_Camel):
    tool_call_id: str
    state: str = "input-available"
    input: Any = None
    output: Any = None
    error_text: str | None = None
    approval: _Approval | None = None
    tool_name: str | None = None


_KNOWN = frozenset({"id", "messages"})


def _tool_part(name: str, tool: _Tool) -> ToolCallPart:
    result = None
    if tool.state == "output-available":
        result = ToolResult(value=tool.output)
    elif tool.state == "output-error":
        result = ToolResult(value=tool.error_text or "", is_error=True)
    approval = None
    if tool.approval is not None:
        approved = tool.approval.approved
        if tool.state == "output-denied":
            approved = False
        approval = ToolApproval(id=tool.approval.id, approved=approved, reason=tool.approval.reason)
    return ToolCallPart(
        tool_call_id=tool.tool_call_id,
        tool_name=name,
        args={} if tool.input is None else tool.input,
        result=result,
        approval=approval,
    )


def _part(raw: dict[str, Any], message: int, index: int) -> Part | None:
    # Text is most of a conversation: read it without building a field path,
    # which only an error needs.
    kind, text = raw.get("type"), raw.get("text")
    if type(text) is str:
        if kind == "text":
            return TextPart(text=text)
        if kind == "reasoning":
            return ReasoningPart(text=text)
    return _other_part(raw, kind, f"messages[{message}].parts[{index}]")


def _other_part(raw: dict[str, Any], kind: Any, field: str) -> Part | None:
    if not isinstance(kind, str):
        convert(kind, str, f"{field}.type")
        return None  # pragma: no cover - convert raised
    if kind == "text":
        return TextPart(text=convert(raw, _Text, field).text)
    if kind == "reasoning":
        return ReasoningPart(text=convert(raw, _Text, field).text)
    if kind == "file":
        f = convert(raw, _File, field)
        return file_from_url(f.url, f.media_type, f.filename, f"{field}.url")
    if kind == "source-url":
        s = convert(raw, _SourceUrl, field)
        return SourcePart(id=s.source_id, url=s.url, title=s.title)
    if kind == "source-document":
        d = convert(raw, _SourceDocument, field)
        return SourcePart(
            id=d.source_id, title=d.title, media_type=d.media_type, filename=d.filename
        )
    if kind.startswith("data-"):
        data = convert(raw, _Data, field)
        return DataPart(name=kind[5:], data=data.data, id=data.id)
    if kind.startswith("tool-") or kind == "dynamic-tool":
        tool = convert(raw, _Tool, field)
        name = kind[5:] if kind != "dynamic-tool" else tool.tool_name
        if not name:
            raise RequestError("a dynamic-tool part needs a toolName", field=f"{field}.toolName")
        return _tool_part(name, tool)
    return None  # step-start, and part types added after this module


def decode_request(body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Conversation:
    """Read a ``useChat`` request body into a :class:`~.model.Conversation`.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (400) or larger than ``max_bytes`` (413).
    """
    request, extras = read_request(body, _Request, _KNOWN, max_bytes=max_bytes)
    messages = []
    for i, m in enumerate(request.messages):
        parts = [_part(raw, i, j) for j, raw in enumerate(m.parts)]
        messages.append(
            Message(
                role=m.role,
                parts=tuple([p for p in parts if p is not None]),
                id=m.id,
                metadata=m.metadata,
            )
        )
    return Conversation(
        messages=tuple(messages),
        thread_id=request.id,
        extras=extras,
    )


def _tool_dict(part: ToolCallPart) -> dict[str, Any]:
    out: dict[str, Any] = {"type": f"tool-{part.tool_name}", "toolCallId": part.tool_call_id}
    approval = part.approval
    result = part.result
    if result is not None and result.is_error:
        value = result.value
        out.update(
            state="output-error",
            input=part.args,
            errorText=value if isinstance(value, str) else json_text(value),
        )
    elif result is not None:
        out.update(state="output-available", input=part.args, output=result.value)
    elif approval is None:
        out.update(state="input-available", input=part.args)
    elif approval.approved is None:
        out.update(state="approval-requested", input=part.args)
    elif approval.approved:
        out.update(state="approval-responded", input=part.args)
    else:
        out.update(state="output-denied", input=part.args)
    if approval is not None:
        answer: dict[str, Any] = {"id": approval.id}
        if approval.approved is not None:
            answer["approved"] = approval.approved
        if approval.reason is not None:
            answer["reason"] = approval.reason
        out["approval"] = answer
    return out


def _part_dict(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ReasoningPart(text=text):
            return {"type": "reasoning", "text": text}
        case FilePart():
            out: dict[str, Any] = {"type": "file", "mediaType": part.media_type}
            out["url"] = data_url(part)
            if part.filename is not None:
                out["filename"] = part.filename
            return out
        case SourcePart():
            if part.url is not None:
                out = {"type": "source-url", "sourceId": part.id, "url": part.url}
                if part.title is not None:
                    out["title"] = part.title
                return out
            out = {
                "type": "source-document",
                "sourceId": part.id,
                "mediaType": part.media_type or "application/octet-stream",
                "title": part.title or "",
            }
            if part.filename is not None:
                out["filename"] = part.filename
            return out
        case DataPart():
            out = {"type": f"data-{part.name}", "data": part.data}
            if part.id is not None:
                out["id"] = part.id
            return out
        case ToolCallPart():
            return _tool_dict(part)
    return None


def render_history(messages: tuple[Message, ...] | list[Message]) -> list[dict[str, Any]]:
    """The messages as ``UIMessage`` objects (what ``useChat`` takes as ``messages``)."""
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        parts = [d for d in map(_part_dict, message.parts) if d is not None]
        if message.role == "tool" or not parts:
            continue
        entry: dict[str, Any] = {
            "id": message.id if message.id is not None else f"msg-{index}",
            "role": message.role,
            "parts": parts,
        }
        if message.metadata is not None:
            entry["metadata"] = message.metadata
        out.append(entry)
    return out


def encode_request(conversation: Conversation) -> dict[str, Any]:
    """A ``useChat`` request body that reads back as ``conversation``."""
    messages = list(conversation.messages)
    if conversation.system:
        messages.insert(0, Message(role="system", parts=(TextPart(text=conversation.system),)))
    body: dict[str, Any] = {**conversation.extras, "messages": render_history(messages)}
    if conversation.thread_id is not None:
        body["id"] = conversation.thread_id
    return body
