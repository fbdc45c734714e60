"""A model's chat completions stream read into chunks: SSE bytes, chunk dicts or SDK objects.

All three inputs meet in :meth:`ModelStreamReader.read_chunk`, which reads a
parsed chunk by attribute: a msgspec Struct decoded from the bytes or
converted from a dict, or the ``openai`` SDK's ``ChatCompletionChunk`` as it
is (its fields have the same names; what the SDK does not model, such as
``reasoning_content``, is an attribute of its extras). Nothing is serialised
again on the way, so a chunk costs a few attribute reads.

Unlike :class:`~assistant_stream_core.protocols.openai_chat.OpenAIChatDecoder`,
which checks our own protocol strictly, the reader takes a model server as it
is: reasoning in any of its spellings, a tool call without an id gets one.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..chunks import (
    Chunk,
    ErrorChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
)
from ..errors import ProtocolError
from ..limits import TOO_DEEP, check_frame_depth
from ..protocols._sse import SSEParser
from ..protocols.base import DEFAULT_MAX_LINE_BYTES
from ..protocols.openai_chat import _FROM_OPENAI_FINISH
from .controller import generate_openai_style_tool_call_id

__all__ = ["ModelStreamReader"]


class _Function(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ToolCall(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _Function | None = None


class _Detail(msgspec.Struct):
    text: str | None = None
    summary: str | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    thinking: str | None = None
    reasoning_details: list[_Detail] | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    index: int = 0
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _ErrorBody(msgspec.Struct):
    message: str = ""


class _Frame(msgspec.Struct):
    """What one SSE event of a model stream holds: a chunk, or an error."""

    choices: list[_Choice] = []
    usage: _Usage | None = None
    error: _ErrorBody | None = None


_frame_decoder = msgspec.json.Decoder(_Frame)
_error_decoder = msgspec.json.Decoder(_ErrorBody)
_EVENTS = frozenset({"message", "error"})


def _detail_text(detail: Any) -> str:
    # OpenRouter's reasoning_details: Structs from bytes, dicts from the SDK's extras.
    if isinstance(detail, dict):
        text = detail.get("text") or detail.get("summary")
    else:
        text = getattr(detail, "text", None) or getattr(detail, "summary", None)
    return text if isinstance(text, str) else ""


_REASONING_FIELDS = ("reasoning_content", "reasoning", "thinking")
_ALL_REASONING_FIELDS = (*_REASONING_FIELDS, "reasoning_details")
#: Which reasoning fields a parsed-object class models as attributes.
_modelled: dict[type, tuple[str, ...]] = {}


def _sdk_fields(delta: Any) -> dict[str, Any]:
    """The reasoning fields of a delta of the openai SDK (or another pydantic model).

    The SDK keeps the fields it does not model in its extras; reading a missing
    one as an attribute would cost an exception per chunk.
    """
    cls = type(delta)
    modelled = _modelled.get(cls)
    if modelled is None:
        fields = getattr(cls, "model_fields", {})
        modelled = _modelled[cls] = tuple(n for n in _ALL_REASONING_FIELDS if n in fields)
    extra = getattr(delta, "__pydantic_extra__", None) or {}
    found = {name: extra[name] for name in _ALL_REASONING_FIELDS if name in extra} if extra else {}
    for name in modelled:
        found.setdefault(name, getattr(delta, name, None))
    return found


def _reasoning(delta: Any) -> str:
    """The delta's reasoning, whichever field the server writes it in."""
    if type(delta) is _Delta:
        text = delta.reasoning_content or delta.reasoning or delta.thinking
        details: Any = delta.reasoning_details
    else:
        fields = _sdk_fields(delta)
        if not fields:
            return ""
        text = next(
            (v for n in _REASONING_FIELDS if isinstance(v := fields.get(n), str) and v), None
        )
        details = fields.get("reasoning_details")
    if text:
        return text
    if isinstance(details, list):
        return "".join(map(_detail_text, details))
    return ""


class ModelStreamReader:
    """Turns a model stream's chunks into library chunks, with the tool-call bookkeeping."""

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._sse = SSEParser(max_event_bytes)
        self.done = False  #: ``data: [DONE]`` was read
        self._ids: dict[int, str] = {}  # tool-call index -> id
        self._open: list[str] = []
        self._finish_reason: str | None = None
        self._usage: Any = None

    # -- parsed chunks ----------------------------------------------------------

    def read_chunk(self, chunk: Any, out: list[Chunk]) -> None:
        """Read one parsed chunk (``choices`` and ``usage`` as attributes) into ``out``."""
        usage = chunk.usage
        if usage is not None:
            self._usage = usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                reasoning = _reasoning(delta)
                if reasoning:
                    out.append(ReasoningDeltaChunk(reasoning))
                if delta.content:
                    out.append(TextDeltaChunk(delta.content))
                if delta.tool_calls:
                    self._tool_calls(delta.tool_calls, out)
            if choice.finish_reason is not None:
                self._finish_reason = choice.finish_reason

    def read_dict(self, chunk: dict[str, Any], out: list[Chunk]) -> None:
        """Read one chunk given as a dict (an error frame becomes an error chunk)."""
        try:
            frame = msgspec.convert(chunk, _Frame)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"malformed chat.completion.chunk: {exc}") from None
        self._read_frame(frame, out)

    def _tool_calls(self, calls: Any, out: list[Chunk]) -> None:
        for call in calls:
            function = call.function
            call_id = self._ids.get(call.index)
            if call_id is None:
                # A server that leaves the id out (some local ones) gets one made up.
                call_id = call.id or generate_openai_style_tool_call_id()
                name = function.name if function is not None else None
                if not name:
                    raise ProtocolError(
                        f"tool call {call_id!r} has no function name in its first delta"
                    )
                self._ids[call.index] = call_id
                self._open.append(call_id)
                out.append(ToolCallBeginChunk(call_id, name))
            if function is not None and function.arguments:
                out.append(ToolCallDeltaChunk(call_id, function.arguments))

    def end(self, out: list[Chunk]) -> None:
        """The end of the answer: close the open calls; the finish reason and usage."""
        out.extend(ToolCallArgsTextFinishChunk(call_id) for call_id in self._open)
        self._open = []
        if self._finish_reason is not None or self._usage is not None:
            reason = self._finish_reason
            usage = self._usage
            out.append(
                MessageFinishChunk(
                    _FROM_OPENAI_FINISH.get(reason, "other") if reason else "unknown",
                    input_tokens=(usage.prompt_tokens or 0) if usage is not None else 0,
                    output_tokens=(usage.completion_tokens or 0) if usage is not None else 0,
                )
            )

    # -- SSE bytes --------------------------------------------------------------

    def feed(self, data: bytes, out: list[Chunk]) -> None:
        """Read the next bytes of a raw SSE stream (split anywhere) into ``out``."""
        for event in self._sse.feed(data):
            if self.done:
                raise ProtocolError("data after [DONE]", offset=event.offset)
            if event.event not in _EVENTS:
                raise ProtocolError(
                    f"unexpected SSE event type {event.event!r}", offset=event.offset
                )
            if event.data == "[DONE]":
                self.done = True
                self.end(out)
                continue
            # Counted, not left to the parser's guard (the interpreter's
            # recursion limit, which differs by Python version).
            check_frame_depth(event.data, event.offset)
            try:
                if event.event == "error":  # the body of the error, without a wrapper
                    error = _error_decoder.decode(event.data)
                    out.append(ErrorChunk(error.message))
                    continue
                frame = _frame_decoder.decode(event.data)
            except msgspec.ValidationError as exc:
                message = f"malformed chat.completion.chunk: {exc}"
                raise ProtocolError(message, offset=event.offset) from None
            except msgspec.DecodeError as exc:
                message = f"event data is not valid JSON ({exc})"
                raise ProtocolError(message, offset=event.offset) from None
            except RecursionError:  # only on a caller's own deep stack
                raise ProtocolError(TOO_DEEP, offset=event.offset) from None
            self._read_frame(frame, out)

    def finish(self) -> None:
        """The end of a raw stream: it must have ended with ``data: [DONE]``."""
        if self._sse.finish():
            raise ProtocolError("stream ended inside an unterminated event")
        if not self.done:
            raise ProtocolError("stream ended without data: [DONE]")

    def _read_frame(self, frame: _Frame, out: list[Chunk]) -> None:
        if frame.error is not None:
            out.append(ErrorChunk(frame.error.message))
        else:
            self.read_chunk(frame, out)
