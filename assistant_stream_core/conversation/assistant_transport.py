"""assistant-ui ``useAssistantTransportRuntime`` requests: ``{commands, state, system, tools, …}``.

The runtime sends the commands queued since the last run, not the thread:
the thread lives in the server's state, which the client sends back as
``state``. Read: each ``add-message`` command becomes a message (its ``text``
parts, and ``image`` parts as files; its ``id`` when sent); each
``add-tool-result`` command a ``tool`` message holding one
:class:`~.model.ToolResultPart` (``result``, ``isError``, ``artifact``,
``toolName``). Commands of other types (``Assistant.Commands`` augmentations)
are kept, in order, in ``extras["commands"]``. ``tools`` maps each tool's name
to ``{description, parameters}``; ``system``, ``state``, ``threadId`` and
``runId`` map to the conversation's; every other top-level field
(``callSettings``, ``config``, ``parentId``, …) is kept in
:attr:`~.model.Conversation.extras`.

Written back: messages as ``add-message`` commands (``text`` and ``image``
parts only; a non-image file is left out), results as ``add-tool-result``
commands. :func:`render_history` gives the assistant-ui message shape
(``ThreadMessageLike``) to keep in ``state`` for a converter, and
:func:`read_thread` reads a thread kept that way back into messages, so the
model can be sent the whole thread, not only the new commands.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from ..errors import RequestError
from ._read import (
    DEFAULT_MAX_REQUEST_BYTES,
    Body,
    args_text,
    convert,
    data_url,
    file_from_url,
    parse_args,
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
    Tool,
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

__all__ = ["decode_request", "encode_request", "read_thread", "render_history"]


class _Camel(msgspec.Struct, rename="camel"):
    pass


class _ImageIn(_Camel, tag="image", tag_field="type"):
    image: str


class _MessageIn(_Camel):
    role: Literal["user", "assistant"]
    parts: list[TextPart | _ImageIn]  # text parts have the model's shape: read as they are
    id: str | None = None


class _AddMessage(_Camel):
    message: _MessageIn


class _AddToolResult(_Camel):
    tool_call_id: str
    result: Any = None
    tool_name: str | None = None
    is_error: bool = False
    artifact: Any = None


class _ToolDef(_Camel):
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Request(_Camel):
    commands: list[dict[str, Any]]
    state: Any = None
    system: str | None = None
    tools: dict[str, _ToolDef] | None = None
    thread_id: str | None = None
    run_id: str | None = None


_KNOWN = frozenset({"commands", "state", "system", "tools", "threadId", "runId"})


def _message(raw: dict[str, Any], field: str) -> Message:
    msg = convert(raw, _AddMessage, field).message
    parts: list[Part] = []
    for index, part in enumerate(msg.parts):
        if isinstance(part, TextPart):
            parts.append(part)
        else:
            parts.append(
                file_from_url(part.image, None, None, f"{field}.message.parts[{index}].image")
            )
    return Message(role=msg.role, parts=tuple(parts), id=msg.id)


def _tool_result(raw: dict[str, Any], field: str) -> Message:
    cmd = convert(raw, _AddToolResult, field)
    result = ToolResult(value=cmd.result, is_error=cmd.is_error, artifact=cmd.artifact)
    part = ToolResultPart(tool_call_id=cmd.tool_call_id, tool_name=cmd.tool_name, result=result)
    return Message(role="tool", parts=(part,))


def decode_request(body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Conversation:
    """Read an Assistant Transport request body into a :class:`~.model.Conversation`.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (400) or larger than ``max_bytes`` (413).
    """
    request, extras = read_request(body, _Request, _KNOWN, max_bytes=max_bytes)
    messages: list[Message] = []
    custom: list[dict[str, Any]] = []
    for index, command in enumerate(request.commands):
        field = f"commands[{index}]"
        kind = command.get("type")
        if type(kind) is not str:  # only then is convert needed, to name the field
            kind = convert(kind, str, f"{field}.type")
        if kind == "add-message":
            messages.append(_message(command, field))
        elif kind == "add-tool-result":
            messages.append(_tool_result(command, field))
        else:
            custom.append(command)
    if custom:
        extras["commands"] = custom
    return Conversation(
        messages=tuple(messages),
        tools=tuple(
            Tool(name=name, description=t.description, parameters=t.parameters)
            for name, t in (request.tools or {}).items()
        ),
        system=request.system,
        state=request.state,
        thread_id=request.thread_id,
        run_id=request.run_id,
        extras=extras,
    )


def _result_command(part: ToolResultPart) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "add-tool-result",
        "toolCallId": part.tool_call_id,
        "result": part.result.value,
        "isError": part.result.is_error,
    }
    if part.tool_name is not None:
        out["toolName"] = part.tool_name
    if part.result.artifact is not None:
        out["artifact"] = part.result.artifact
    return out


def _commands(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role in ("user", "assistant"):
            parts: list[dict[str, Any]] = []
            for part in message.parts:
                if isinstance(part, TextPart):
                    parts.append({"type": "text", "text": part.text})
                elif isinstance(part, FilePart) and part.media_type.startswith("image/"):
                    parts.append({"type": "image", "image": data_url(part)})
            entry: dict[str, Any] = {"role": message.role, "parts": parts}
            if message.id is not None:
                entry["id"] = message.id
            out.append(
                {"type": "add-message", "message": entry, "parentId": None, "sourceId": None}
            )
        elif message.role == "tool":
            out.extend(_result_command(p) for p in message.parts if isinstance(p, ToolResultPart))
    return out


def encode_request(conversation: Conversation) -> dict[str, Any]:
    """An Assistant Transport request body that reads back as ``conversation``."""
    extras = dict(conversation.extras)
    custom = extras.pop("commands", [])
    body: dict[str, Any] = {
        **extras,
        "commands": [*_commands(conversation.messages), *custom],
        "tools": {
            t.name: {
                k: v
                for k, v in (("description", t.description), ("parameters", t.parameters))
                if v is not None
            }
            for t in conversation.tools
        },
    }
    for key, value in (
        ("state", conversation.state),
        ("system", conversation.system),
        ("threadId", conversation.thread_id),
        ("runId", conversation.run_id),
    ):
        if value is not None:
            body[key] = value
    return body


def _thread_part(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case ReasoningPart(text=text):
            return {"type": "reasoning", "text": text}
        case FilePart():
            if part.media_type.startswith("image/"):
                return {"type": "image", "image": data_url(part)}
            out: dict[str, Any] = {
                "type": "file",
                "data": data_url(part),
                "mimeType": part.media_type,
            }
            if part.filename is not None:
                out["filename"] = part.filename
            return out
        case SourcePart(url=str(url)):
            out = {"type": "source", "sourceType": "url", "id": part.id, "url": url}
            if part.title is not None:
                out["title"] = part.title
            return out
        case DataPart():
            return {"type": "data", "name": part.name, "data": part.data}
        case ToolCallPart():
            out = {
                "type": "tool-call",
                "toolCallId": part.tool_call_id,
                "toolName": part.tool_name,
                "args": part.args if part.args is not None else {},
                "argsText": args_text(part.args, part.args_text),
            }
            if part.result is not None:
                out["result"] = part.result.value
                if part.result.is_error:
                    out["isError"] = True
                if part.result.artifact is not None:
                    out["artifact"] = part.result.artifact
            return out
    return None


def render_history(messages: tuple[Message, ...] | list[Message]) -> list[dict[str, Any]]:
    """The messages in assistant-ui's ``ThreadMessageLike`` shape (``role``, ``content`` parts).

    ``tool`` messages (results without their call) are left out.
    """
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "tool":
            continue
        entry: dict[str, Any] = {
            "id": message.id if message.id is not None else f"msg-{index}",
            "role": message.role,
            "content": [d for d in map(_thread_part, message.parts) if d is not None],
        }
        if message.metadata is not None:
            entry["metadata"] = {"custom": message.metadata}
        out.append(entry)
    return out


class _ThreadMessage(_Camel):
    role: Literal["system", "user", "assistant"]
    content: str | list[dict[str, Any]] = ""
    id: str | None = None
    metadata: Any = None


class _ThreadText(_Camel):
    text: str


class _ThreadImage(_Camel):
    image: str


class _ThreadFile(_Camel):
    data: str
    mime_type: str
    filename: str | None = None


class _ThreadSource(_Camel):
    id: str
    url: str
    title: str | None = None


class _ThreadData(_Camel):
    name: str
    data: Any = None


class _ThreadToolCall(_Camel):
    tool_call_id: str
    tool_name: str
    args: Any = None
    args_text: str | None = None
    is_error: bool = False
    artifact: Any = None


def _read_thread_part(raw: dict[str, Any], field: str) -> Part | None:
    kind = raw.get("type")
    if kind == "text":
        return TextPart(text=convert(raw, _ThreadText, field).text)
    if kind == "reasoning":
        return ReasoningPart(text=convert(raw, _ThreadText, field).text)
    if kind == "image":
        image = convert(raw, _ThreadImage, field).image
        return file_from_url(image, None, None, f"{field}.image")
    if kind == "file":
        f = convert(raw, _ThreadFile, field)
        return file_from_url(f.data, f.mime_type, f.filename, f"{field}.data")
    if kind == "source":
        source = convert(raw, _ThreadSource, field)
        return SourcePart(id=source.id, url=source.url, title=source.title)
    if kind == "data":
        data = convert(raw, _ThreadData, field)
        return DataPart(name=data.name, data=data.data)
    if kind == "tool-call":
        call = convert(raw, _ThreadToolCall, field)
        args, raw_text = call.args, None
        if args is None and call.args_text is not None:
            args, raw_text = parse_args(call.args_text)
        result = None
        if "result" in raw:
            result = ToolResult(value=raw["result"], is_error=call.is_error, artifact=call.artifact)
        return ToolCallPart(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args={} if args is None and raw_text is None else args,
            args_text=raw_text,
            result=result,
        )
    return None  # part types added later


def read_thread(messages: Any, *, field: str = "state.messages") -> list[Message]:
    """Read a thread kept in ``ThreadMessageLike`` shape (as :func:`render_history` writes it).

    ``content`` may be a string or a list of parts: ``text``, ``reasoning``,
    ``image``, ``file``, ``source``, ``data`` and ``tool-call`` (with
    ``args``/``argsText``, and ``result``, ``isError``, ``artifact`` once it
    has a result); ``metadata.custom`` is the message's metadata. Part types
    this function does not know are skipped.

    :raises ~assistant_stream_core.errors.RequestError: a message or part is
        malformed; ``field`` prefixes the path it names.
    """
    if not isinstance(messages, list):
        raise RequestError("the thread must be a list of messages", field=field)
    out: list[Message] = []
    for index, raw in enumerate(messages):
        at = f"{field}[{index}]"
        message = convert(raw, _ThreadMessage, at)
        if isinstance(message.content, str):
            parts: tuple[Part, ...] = (TextPart(text=message.content),) if message.content else ()
        else:
            read = (
                _read_thread_part(p, f"{at}.content[{i}]") if isinstance(p, dict) else None
                for i, p in enumerate(message.content)
            )
            parts = tuple(p for p in read if p is not None)
        metadata = message.metadata
        if isinstance(metadata, dict):
            metadata = metadata.get("custom")
        out.append(Message(role=message.role, parts=parts, id=message.id, metadata=metadata))
    return out
