"""assistant-ui ``useDataStreamRuntime`` requests.

The runtime posts ``{system, messages, tools, runConfig, state, threadId,
parentId, unstable_assistantMessageId, …}`` where ``messages`` are AI SDK
language-model messages (``LanguageModelV2``; the older ``V1`` field names —
``args``, ``result``/``isError``, ``mimeType``, ``image`` parts — are read too)
and ``tools`` maps each tool's name to ``{description, parameters}``.

Read: ``system``, ``state`` and ``threadId`` map to the conversation's; a
``system`` message's string content becomes a text part; user ``text``,
``file`` and ``image`` parts (``data`` as base64, or a URL; a ``data:`` URL is
read into base64); assistant ``text``, ``reasoning``, ``tool-call`` and
``file`` parts; each ``tool`` message's ``tool-result`` parts become the
result of the call they answer (``error-json``/``error-text`` outputs set
``is_error``). ``unstable_id`` (sent with ``sendExtraMessageFields``) is the
message id. Every other top-level field is kept in
:attr:`~.model.Conversation.extras`.

Written back (``V2`` names): results as ``json``/``error-json`` outputs in a
``tool`` message after the assistant message; sources, data parts, approvals
and artifacts are left out.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from ._read import (
    DEFAULT_MAX_REQUEST_BYTES,
    Body,
    file_from_url,
    read_request,
)
from ._results import fold_results
from .model import (
    Conversation,
    FilePart,
    Message,
    Part,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

__all__ = ["decode_request", "encode_request", "render_history"]

_URL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


class _Camel(msgspec.Struct, rename="camel"):
    pass


class _FileIn(_Camel, tag="file", tag_field="type"):
    data: str
    media_type: str | None = None
    mime_type: str | None = None
    filename: str | None = None


class _ImageIn(_Camel, tag="image", tag_field="type"):
    image: str
    mime_type: str | None = None


class _CallIn(_Camel, tag="tool-call", tag_field="type"):
    tool_call_id: str
    tool_name: str
    input: Any = None
    args: Any = None


class _Output(_Camel):
    type: Literal["json", "text", "error-json", "error-text", "content"]
    value: Any = None


class _ResultIn(_Camel, tag="tool-result", tag_field="type"):
    tool_call_id: str
    tool_name: str | None = None
    output: _Output | None = None
    result: Any = None
    is_error: bool = False


# Text and reasoning parts have the model's shape on the wire: read as they are.
_UserPart = TextPart | _FileIn | _ImageIn
_AssistantPart = TextPart | ReasoningPart | _FileIn | _CallIn


class _System(_Camel, tag="system", tag_field="role"):
    content: str
    unstable_id: str | None = msgspec.field(default=None, name="unstable_id")


class _User(_Camel, tag="user", tag_field="role"):
    content: str | list[_UserPart]
    unstable_id: str | None = msgspec.field(default=None, name="unstable_id")


class _Assistant(_Camel, tag="assistant", tag_field="role"):
    content: str | list[_AssistantPart]
    unstable_id: str | None = msgspec.field(default=None, name="unstable_id")


class _ToolMsg(_Camel, tag="tool", tag_field="role"):
    content: list[_ResultIn]
    unstable_id: str | None = msgspec.field(default=None, name="unstable_id")


_Msg = _System | _User | _Assistant | _ToolMsg


class _ToolDef(_Camel):
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Request(_Camel):
    messages: list[_Msg]
    system: str | None = None
    tools: dict[str, _ToolDef] | None = None
    state: Any = None
    thread_id: str | None = None


_ROLES: dict[type, Literal["system", "user", "assistant"]] = {
    _System: "system",
    _User: "user",
    _Assistant: "assistant",
}
_KNOWN = frozenset({"messages", "system", "tools", "state", "threadId"})


def _file(part: _FileIn | _ImageIn, field: str) -> FilePart:
    if isinstance(part, _ImageIn):
        data, media_type, filename = part.image, part.mime_type, None
    else:
        data, media_type, filename = part.data, part.media_type or part.mime_type, part.filename
    if _URL.match(data):
        return file_from_url(data, media_type, filename, f"{field}.data")
    return FilePart(
        media_type=media_type or "application/octet-stream", data=data, filename=filename
    )


def _call(part: _CallIn) -> ToolCallPart:
    args = part.input if part.input is not None else part.args
    return ToolCallPart(
        tool_call_id=part.tool_call_id, tool_name=part.tool_name, args={} if args is None else args
    )


def _parts(content: list[_UserPart] | list[_AssistantPart], field: str) -> tuple[Part, ...]:
    parts: list[Part] = []
    for index, part in enumerate(content):
        if type(part) is TextPart or type(part) is ReasoningPart:
            parts.append(part)
        elif type(part) is _CallIn:
            parts.append(_call(part))
        else:  # the path is built only here, where it may name a field in error
            assert isinstance(part, (_FileIn, _ImageIn))
            parts.append(_file(part, f"{field}.content[{index}]"))
    return tuple(parts)


def _result(part: _ResultIn) -> ToolResultPart:
    if part.output is not None:
        is_error = part.output.type.startswith("error-")
        result = ToolResult(value=part.output.value, is_error=is_error)
    else:
        result = ToolResult(value=part.result, is_error=part.is_error)
    return ToolResultPart(tool_call_id=part.tool_call_id, tool_name=part.tool_name, result=result)


def _message(msg: _Msg, index: int) -> Message:
    if isinstance(msg, _ToolMsg):
        return Message(role="tool", parts=tuple(map(_result, msg.content)), id=msg.unstable_id)
    content = msg.content
    if isinstance(content, str):
        parts: tuple[Part, ...] = (TextPart(text=content),) if content else ()
    else:
        parts = _parts(content, f"messages[{index}]") if content else ()
    return Message(role=_ROLES[type(msg)], parts=parts, id=msg.unstable_id)


def decode_request(body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Conversation:
    """Read a ``useDataStreamRuntime`` request body into a :class:`~.model.Conversation`.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (400) or larger than ``max_bytes`` (413).
    """
    request, extras = read_request(body, _Request, _KNOWN, max_bytes=max_bytes)
    messages = [_message(m, i) for i, m in enumerate(request.messages)]
    return Conversation(
        messages=tuple(fold_results(messages)),
        tools=tuple(
            Tool(name=name, description=t.description, parameters=t.parameters)
            for name, t in (request.tools or {}).items()
        ),
        system=request.system,
        state=request.state,
        thread_id=request.thread_id,
        extras=extras,
    )


def _part_dict(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ReasoningPart(text=text):
            return {"type": "reasoning", "text": text}
        case FilePart():
            out: dict[str, Any] = {
                "type": "file",
                "data": part.data if part.data is not None else part.url,
                "mediaType": part.media_type,
            }
            if part.filename is not None:
                out["filename"] = part.filename
            return out
        case ToolCallPart():
            return {
                "type": "tool-call",
                "toolCallId": part.tool_call_id,
                "toolName": part.tool_name,
                "input": part.args if part.args is not None else {},
            }
    return None


def _result_dict(call_id: str, name: str | None, result: ToolResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "tool-result",
        "toolCallId": call_id,
        "output": {"type": "error-json" if result.is_error else "json", "value": result.value},
    }
    if name is not None:
        out["toolName"] = name
    return out


def _with_id(entry: dict[str, Any], message: Message) -> dict[str, Any]:
    if message.id is not None:
        entry["unstable_id"] = message.id
    return entry


def render_history(messages: tuple[Message, ...] | list[Message]) -> list[dict[str, Any]]:
    """The messages as language-model messages (what the runtime posts as ``messages``)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        match message.role:
            case "system":
                out.append(_with_id({"role": "system", "content": message.text}, message))
            case "user" | "assistant":
                parts = [d for d in map(_part_dict, message.parts) if d is not None]
                out.append(_with_id({"role": message.role, "content": parts}, message))
                results = [
                    _result_dict(p.tool_call_id, p.tool_name, p.result)
                    for p in message.parts
                    if isinstance(p, ToolCallPart) and p.result is not None
                ]
                if results:
                    out.append({"role": "tool", "content": results})
            case "tool":
                results = [
                    _result_dict(p.tool_call_id, p.tool_name, p.result)
                    for p in message.parts
                    if isinstance(p, ToolResultPart)
                ]
                out.append(_with_id({"role": "tool", "content": results}, message))
    return out


def encode_request(conversation: Conversation) -> dict[str, Any]:
    """A ``useDataStreamRuntime`` request body that reads back as ``conversation``."""
    body: dict[str, Any] = {
        **conversation.extras,
        "messages": render_history(conversation.messages),
        "tools": {
            t.name: {
                k: v
                for k, v in (("description", t.description), ("parameters", t.parameters))
                if v is not None
            }
            for t in conversation.tools
        },
    }
    if conversation.system is not None:
        body["system"] = conversation.system
    if conversation.state is not None:
        body["state"] = conversation.state
    if conversation.thread_id is not None:
        body["threadId"] = conversation.thread_id
    return body
