"""OpenAI chat completions requests (``POST /v1/chat/completions``).

Read: ``system`` and ``developer`` messages become ``system`` messages; a
user's ``image_url``, ``input_audio`` and ``file`` parts become
:class:`~.model.FilePart` (``data:`` URLs read into base64 data; a ``file_id``
becomes the URL ``openai-file:<id>``); an assistant's ``reasoning_content`` or
``reasoning`` (vLLM, DeepSeek, OpenRouter, Ollama) becomes a reasoning part;
``tool_calls`` become tool-call parts, and each ``tool`` message's content
(text) becomes the result of the call it answers. Every other top-level field
(``model``, ``stream``, ``stream_options``, ``temperature``, …) is kept in
:attr:`~.model.Conversation.extras`.

Written back: text parts of a message are joined into one ``content`` string
(user messages with files use content parts); reasoning, sources and data parts
are left out (OpenAI's API has no place for them, and DeepSeek rejects
``reasoning_content`` in a request); a result that is not a string is written
as JSON text; ``is_error`` and artifacts are not carried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from ..errors import RequestError
from ._read import (
    DEFAULT_MAX_REQUEST_BYTES,
    Body,
    args_text,
    data_url,
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
    ToolCallPart,
    ToolResult,
    ToolResultPart,
)

__all__ = ["DENIED", "chat_request", "decode_request", "encode_request", "render_history"]

_FILE_ID = "openai-file:"
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}


class _TextIn(msgspec.Struct, tag="text", tag_field="type"):
    text: str


class _RefusalIn(msgspec.Struct, tag="refusal", tag_field="type"):
    refusal: str


class _ImageUrl(msgspec.Struct):
    url: str
    detail: str | None = None


class _ImageIn(msgspec.Struct, tag="image_url", tag_field="type"):
    image_url: _ImageUrl


class _Audio(msgspec.Struct):
    data: str
    format: str


class _AudioIn(msgspec.Struct, tag="input_audio", tag_field="type"):
    input_audio: _Audio


class _FileRef(msgspec.Struct):
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class _FileIn(msgspec.Struct, tag="file", tag_field="type"):
    file: _FileRef


_ContentPart = _TextIn | _RefusalIn | _ImageIn | _AudioIn | _FileIn


class _Function(msgspec.Struct):
    name: str
    arguments: str = ""


class _Call(msgspec.Struct):
    id: str
    function: _Function
    type: str = "function"


class _Msg(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[_ContentPart] | None = None
    tool_calls: list[_Call] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    name: str | None = None


class _ToolFunction(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _ToolDef(msgspec.Struct):
    function: _ToolFunction
    type: str = "function"


class _Request(msgspec.Struct):
    messages: list[_Msg]
    tools: list[_ToolDef] | None = None


_KNOWN = frozenset({"messages", "tools"})


def _text_of(content: str | list[_ContentPart] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(
        p.text if isinstance(p, _TextIn) else p.refusal if isinstance(p, _RefusalIn) else ""
        for p in content
    )


def _user_parts(content: str | list[_ContentPart] | None, message: int) -> tuple[Part, ...]:
    if content is None or isinstance(content, str):
        return (TextPart(text=content),) if content else ()
    parts: list[Part] = []
    for index, item in enumerate(content):
        match item:
            case _TextIn(text=text):
                parts.append(TextPart(text=text))
            case _RefusalIn(refusal=text):
                parts.append(TextPart(text=text))
            case _ImageIn(image_url=image):
                parts.append(
                    file_from_url(
                        image.url, None, None, f"messages[{message}].content[{index}].image_url.url"
                    )
                )
            case _AudioIn(input_audio=audio):
                parts.append(FilePart(media_type=f"audio/{audio.format}", data=audio.data))
            case _FileIn(file=ref):
                if ref.file_data is not None:
                    if ref.file_data.startswith("data:"):
                        part = file_from_url(
                            ref.file_data,
                            None,
                            ref.filename,
                            f"messages[{message}].content[{index}].file",
                        )
                    else:
                        part = FilePart(
                            media_type="application/octet-stream",
                            data=ref.file_data,
                            filename=ref.filename,
                        )
                    parts.append(part)
                elif ref.file_id is not None:
                    parts.append(
                        FilePart(
                            media_type="application/octet-stream",
                            url=_FILE_ID + ref.file_id,
                            filename=ref.filename,
                        )
                    )
    return tuple(parts)


def _message(msg: _Msg, index: int) -> Message:
    match msg.role:
        case "system" | "developer":
            return Message(role="system", parts=_user_parts(_text_of(msg.content), index))
        case "user":
            return Message(role="user", parts=_user_parts(msg.content, index))
        case "assistant":
            parts: list[Part] = []
            reasoning = msg.reasoning_content or msg.reasoning
            if reasoning:
                parts.append(ReasoningPart(text=reasoning))
            text = _text_of(msg.content)
            if text:
                parts.append(TextPart(text=text))
            for call in msg.tool_calls or ():
                args, raw = parse_args(call.function.arguments)
                parts.append(
                    ToolCallPart(
                        tool_call_id=call.id,
                        tool_name=call.function.name,
                        args=args,
                        args_text=raw,
                    )
                )
            return Message(role="assistant", parts=tuple(parts))
        case _:  # tool
            if not msg.tool_call_id:
                raise RequestError(
                    "a tool message needs a tool_call_id", field=f"messages[{index}].tool_call_id"
                )
            result = ToolResult(value=_text_of(msg.content))
            return Message(
                role="tool",
                parts=(ToolResultPart(tool_call_id=msg.tool_call_id, result=result),),
            )


def decode_request(body: Body, *, max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> Conversation:
    """Read a chat completions request body into a :class:`~.model.Conversation`.

    :raises ~assistant_stream_core.errors.RequestError: the body is malformed
        (400) or larger than ``max_bytes`` (413).
    """
    request, extras = read_request(body, _Request, _KNOWN, max_bytes=max_bytes)
    messages = [_message(m, i) for i, m in enumerate(request.messages)]
    tools = tuple(
        Tool(
            name=t.function.name,
            description=t.function.description,
            parameters=t.function.parameters,
        )
        for t in request.tools or ()
    )
    return Conversation(
        messages=tuple(fold_results(messages)),
        tools=tools,
        extras=extras,
    )


def _content_part(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text):
            return {"type": "text", "text": text}
        case FilePart():
            if part.url is not None and part.url.startswith(_FILE_ID):
                ref: dict[str, Any] = {"file_id": part.url[len(_FILE_ID) :]}
                if part.filename is not None:
                    ref["filename"] = part.filename
                return {"type": "file", "file": ref}
            if part.media_type.startswith("image/"):
                return {"type": "image_url", "image_url": {"url": data_url(part)}}
            audio = _AUDIO_FORMATS.get(part.media_type)
            if audio is not None and part.data is not None:
                return {"type": "input_audio", "input_audio": {"data": part.data, "format": audio}}
            ref = {"file_data": data_url(part)}
            if part.filename is not None:
                ref["filename"] = part.filename
            return {"type": "file", "file": ref}
    return None


def _result_text(result: ToolResult) -> str:
    return result.value if isinstance(result.value, str) else json_text(result.value)


def render_history(messages: tuple[Message, ...] | list[Message]) -> list[dict[str, Any]]:
    """The messages as a chat completions ``messages`` array."""
    out: list[dict[str, Any]] = []
    for message in messages:
        match message.role:
            case "system":
                out.append({"role": "system", "content": message.text})
            case "user":
                parts = [p for p in map(_content_part, message.parts) if p is not None]
                if len(parts) == 1 and parts[0]["type"] == "text":
                    out.append({"role": "user", "content": parts[0]["text"]})
                else:
                    out.append({"role": "user", "content": parts})
            case "assistant":
                calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
                entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
                if calls:
                    entry["tool_calls"] = [
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
                    {
                        "role": "tool",
                        "tool_call_id": c.tool_call_id,
                        "content": _result_text(c.result),
                    }
                    for c in calls
                    if c.result is not None
                )
            case "tool":
                out.extend(
                    {
                        "role": "tool",
                        "tool_call_id": p.tool_call_id,
                        "content": _result_text(p.result),
                    }
                    for p in message.parts
                    if isinstance(p, ToolResultPart)
                )
    return out


def encode_request(conversation: Conversation) -> dict[str, Any]:
    """A chat completions request body that reads back as ``conversation``."""
    messages = list(conversation.messages)
    if conversation.system:
        messages.insert(0, Message(role="system", parts=(TextPart(text=conversation.system),)))
    body: dict[str, Any] = {**conversation.extras, "messages": render_history(messages)}
    if conversation.tools:
        body["tools"] = [{"type": "function", "function": _tool(t)} for t in conversation.tools]
    return body


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    return function


#: What the model reads as the result of a tool call the user denied (with
#: ``: <reason>`` appended when the user gave one).
DENIED = "The user denied this tool call"


def _answer(call: ToolCallPart) -> str | None:
    """What the model reads as the call's result; ``None`` when it has none yet."""
    if call.result is not None:
        return _result_text(call.result)
    if call.approval is not None and call.approval.approved is False:
        reason = call.approval.reason
        return f"{DENIED}: {reason}" if reason else DENIED
    return None


def _model_turns(message: Message) -> list[dict[str, Any]]:
    """An assistant message as the model wrote it: a step per model call.

    A UI message holds a whole agent loop (text, tool calls, their results,
    more text), but a model reads one assistant message per call, each
    followed by the results of its calls; the text after a call's result
    starts a new assistant message.
    """
    out: list[dict[str, Any]] = []
    text: list[str] = []
    calls: list[tuple[ToolCallPart, str]] = []

    def flush() -> None:
        said = "".join(text)
        text.clear()
        if not said and not calls:
            return  # servers refuse an assistant message with neither
        entry: dict[str, Any] = {"role": "assistant", "content": said or None}
        if calls:
            entry["tool_calls"] = [
                {
                    "id": c.tool_call_id,
                    "type": "function",
                    "function": {"name": c.tool_name, "arguments": args_text(c.args, c.args_text)},
                }
                for c, _ in calls
            ]
        out.append(entry)
        out.extend({"role": "tool", "tool_call_id": c.tool_call_id, "content": a} for c, a in calls)
        calls.clear()

    for part in message.parts:
        if isinstance(part, TextPart):
            if calls:
                flush()
            text.append(part.text)
        elif isinstance(part, ToolCallPart):
            answer = _answer(part)
            # A call without an answer (its approval pending, or run by a client
            # that has not answered) is left out: chat completions servers
            # refuse a call that no tool message answers.
            if answer is not None:
                calls.append((part, answer))
    flush()
    return out


def _context_text(items: Iterable[ContextItem]) -> str:
    return "\n".join(f"{item.description}: {item.value}" for item in items)


def _function(tool: Tool | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(tool, Tool):
        return {"type": "function", "function": _tool(tool)}
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):
        return dict(tool)
    return {"type": "function", "function": dict(tool)}


def chat_request(
    conversation: Conversation,
    *,
    system: str | None = None,
    tools: Iterable[Tool | Mapping[str, Any]] = (),
    context: bool = True,
) -> dict[str, Any]:
    """The ``messages`` and ``tools`` to send a model for ``conversation``.

    Whatever protocol the conversation was read from, the result is a valid
    chat completions request: spread it into
    ``client.chat.completions.create(model=…, stream=True, **chat_request(c))``
    and pass the stream to :func:`~assistant_stream_core.run.stream_chat_completion`.

    - System text first: ``system`` (the server's prompt), the client's
      :attr:`~.model.Conversation.system`, then, with ``context=True``, the
      AG-UI :attr:`~.model.Conversation.context` items as
      ``description: value`` lines.
    - Each assistant message is split into the model calls it records: text
      and tool calls, the ``tool`` messages with their results, then the text
      written after them as the next assistant message.
    - A call the user denied (its approval answered ``approved=False``) is
      answered with :data:`DENIED` and the reason; a call with no result yet
      (an approval still pending, a browser tool not answered) is left out,
      as is a tool result whose call is not in the conversation (a model
      server refuses both).
    - Reasoning, sources and data parts are left out, as is any file in an
      assistant message; a user's files become image, audio or file parts.
    - ``tools``: the client's tools as functions, then the server's own
      (:class:`~.model.Tool` objects, or dicts as the ``openai`` SDK takes
      them); a server tool replaces a client tool of the same name. ``tools``
      is left out when there are none (some servers reject an empty list).
    """
    messages: list[dict[str, Any]] = []
    preamble = [system, conversation.system]
    if context and conversation.context:
        preamble.append(_context_text(conversation.context))
    messages.extend({"role": "system", "content": text} for text in preamble if text)
    for message in fold_results(conversation.messages):
        if message.role == "assistant":
            messages.extend(_model_turns(message))
        elif message.role == "tool":
            continue  # what fold_results left in a tool message has no call
        elif any(isinstance(p, (TextPart, FilePart)) for p in message.parts):
            # A message with nothing a model reads (only data parts) is left out.
            messages.extend(render_history([message]))
    functions = {t.name: _function(t) for t in conversation.tools}
    for tool in tools:
        entry = _function(tool)
        functions[entry["function"]["name"]] = entry
    request: dict[str, Any] = {"messages": messages}
    if functions:
        request["tools"] = list(functions.values())
    return request
