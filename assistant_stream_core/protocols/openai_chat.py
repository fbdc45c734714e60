"""OpenAI ``chat.completion.chunk`` Server-Sent Events, as OpenAI-compatible clients read them.

The frames each chunk becomes, the bookkeeping rules and the differences
from upstream are on its page, docs/protocols/openai-chat.rst.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Final, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..chunks import (
    AbortChunk,
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    SourceDocumentChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from ..errors import ProtocolError
from ..ids import random_id
from ..limits import check_optional_text, check_text
from ..tool_calls import ToolCall, ToolCallLedger
from ._client_turn import note_client_turn, resumed
from ._encoder import EncoderBase, every_kind, json_encode, not_a_chunk
from ._frames import decode_object
from ._sse import SSEDecoder, SSEEvent
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = ["HEADERS", "OpenAIChatDecoder", "OpenAIChatEncoder"]

logger = logging.getLogger(__name__)

MEDIA_TYPE: Final = "text/event-stream"
#: Every response header of this protocol.
HEADERS: Final[Mapping[str, str]] = {"Content-Type": MEDIA_TYPE, **STREAMING_HEADERS}

_DONE = b"data: [DONE]\n\n"

#: OpenAI's finish reasons → ours (``function_call`` is OpenAI's deprecated name).
_FROM_OPENAI_FINISH = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
}
#: Our finish reasons (assistant-ui's vocabulary) → OpenAI's.
_TO_OPENAI_FINISH = {
    ours: theirs for theirs, ours in _FROM_OPENAI_FINISH.items() if theirs != "function_call"
}


# Wire shapes, written and read. UNSET fields are left out of the JSON, so one
# Struct serves the first and every later delta of a tool call; a field read as
# null (some servers write them) is absent too.
class _Function(msgspec.Struct, omit_defaults=True):
    name: str | UnsetType | None = UNSET
    arguments: str | UnsetType | None = UNSET


class _ToolCallDelta(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | UnsetType | None = UNSET
    type: str | UnsetType | None = UNSET
    function: _Function | UnsetType | None = UNSET


class _ToolResultDelta(msgspec.Struct, omit_defaults=True):
    tool_call_id: str
    result: Any = UNSET  # always written; read as None when absent
    is_error: bool = False
    artifact: Any = None
    preliminary: bool = False


class _Delta(msgspec.Struct, omit_defaults=True):
    role: str | UnsetType | None = UNSET
    content: str | UnsetType | None = UNSET
    tool_calls: list[_ToolCallDelta] | UnsetType | None = UNSET
    tool_results: list[_ToolResultDelta] | UnsetType | None = UNSET


class _InDelta(_Delta):
    """A delta as read: reasoning text under either field name."""

    reasoning_content: str | UnsetType | None = UNSET
    reasoning: str | UnsetType | None = UNSET


class _Usage(msgspec.Struct):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class _ErrorBody(msgspec.Struct):
    message: str
    type: str
    code: None = None


class _ErrorFrame(msgspec.Struct):
    error: _ErrorBody


class OpenAIChatEncoder(EncoderBase):
    """Encodes one stream of chunks as ``chat.completion.chunk`` SSE frames.

    :param model: the ``model`` field of every chunk.
    :param completion_id: the ``id`` of every chunk; default ``"chatcmpl-"`` and
        24 random letters and digits.
    :param created: the ``created`` Unix time of every chunk; default the time
        the encoder was made, in whole seconds.
    :param reasoning_field: the delta field that carries reasoning text,
        ``"reasoning_content"`` (DeepSeek, SGLang, Qwen) or ``"reasoning"``
        (OpenRouter, vLLM, Ollama).
    :param include_usage: write a usage chunk (``"choices": []``) before
        ``[DONE]`` and ``"usage": null`` on every other chunk, as OpenAI does
        for ``stream_options: {"include_usage": true}``.
    :param tool_results: ``"drop"`` (default) or ``"delta"``; see the module
        documentation.
    :param system_fingerprint: written on every chunk when given.

    One encoder serves one response. See :doc:`/protocols/openai-chat` for the
    mapping.
    """

    #: The response's media type.
    media_type: str = MEDIA_TYPE
    #: Every response header, ``Content-Type`` included.
    headers: Mapping[str, str] = HEADERS
    #: SSE comment sent on an idle connection; safe because no frame has an ``id:``.
    keepalive: bytes | None = b": heartbeat\n\n"

    def __init__(
        self,
        *,
        model: str = "assistant-stream",
        completion_id: str | None = None,
        created: int | None = None,
        reasoning_field: Literal["reasoning_content", "reasoning"] = "reasoning_content",
        include_usage: bool = False,
        tool_results: Literal["drop", "delta"] = "drop",
        system_fingerprint: str | None = None,
    ) -> None:
        if reasoning_field not in ("reasoning_content", "reasoning"):
            raise ValueError(
                f"reasoning_field must be 'reasoning_content' or 'reasoning', "
                f"not {reasoning_field!r}"
            )
        if tool_results not in ("drop", "delta"):
            raise ValueError(f"tool_results must be 'drop' or 'delta', not {tool_results!r}")
        check_text(model, "model")
        check_optional_text(completion_id, "completion_id")
        check_optional_text(system_fingerprint, "system_fingerprint")
        self.model = model
        if completion_id is None:
            completion_id = "chatcmpl-" + random_id(24)
        self.completion_id = completion_id
        self.created = created if created is not None else int(time.time())
        self.reasoning_field = reasoning_field
        self.include_usage = include_usage
        self.tool_results = tool_results
        self.system_fingerprint = system_fingerprint
        super().__init__()
        # The constant parts of every frame are encoded once; a frame is
        # head + delta JSON + tail.
        common_json = json_encode(
            {
                "id": self.completion_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": model,
                **({"system_fingerprint": system_fingerprint} if system_fingerprint else {}),
            }
        )
        self._head = b"data: " + common_json[:-1] + b',"choices":[{"index":0,"delta":'
        usage_null = b',"usage":null' if include_usage else b""
        self._tail = b',"logprobs":null,"finish_reason":null}]' + usage_null + b"}\n\n"
        # OpenAI's first chunk announces the role, with empty content.
        self._first = self._head + b'{"role":"assistant","content":""}' + self._tail
        self._finish_head = self._head + b'{},"logprobs":null,"finish_reason":'
        self._finish_tail = b"}]" + usage_null + b"}\n\n"
        self._usage_head = b"data: " + common_json[:-1] + b',"choices":[],"usage":'
        self._started = False
        self._tool_calls = ToolCallLedger()  # a call's index is its OpenAI index
        self._step_reason: str | None = None
        self._message_reason: str | None = None
        self._step_tokens = [0, 0]
        self._message_tokens: tuple[int, int] | None = None
        self._warned: set[str] = set()

    # -- frames -----------------------------------------------------------------

    def _frame(self, delta: object) -> bytes:
        body = json_encode(delta)  # raises before any state changes
        prefix = b""
        if not self._started:
            self._started = True
            prefix = self._first
        return prefix + self._head + body + self._tail

    def _tool_frame(self, delta: _ToolCallDelta) -> bytes:
        return self._frame(_Delta(tool_calls=[delta]))

    def _drop(self, kind: str) -> bytes:
        if kind not in self._warned:
            self._warned.add(kind)
            # DEBUG: a server would otherwise log this for every request.
            logger.debug(
                "openai_chat has no representation for %r chunks; dropping them for this stream",
                kind,
            )
        return b""

    def _args(self, call: ToolCall, text: str) -> bytes:
        if not text:
            return b""
        frame = self._tool_frame(
            _ToolCallDelta(index=call.index, function=_Function(arguments=text))
        )
        self._tool_calls.record_args(call, text)
        return frame

    def _close_call(self, call: ToolCall, trailing: str = "") -> bytes:
        if call.settled:
            return b""
        # final_args: a call without arguments would leave clients json.loads("").
        out = self._args(call, call.final_args(trailing))
        self._tool_calls.settle(call)
        return out

    def _result(self, call: ToolCall, wire: _ToolResultDelta) -> bytes:
        """Settle ``call`` (as the TS client does), then its ``tool_results`` delta, if sent."""
        # Encoded first: an unencodable result must not settle the call.
        body = json_encode(_Delta(tool_results=[wire])) if self.tool_results == "delta" else b""
        out = self._close_call(call)
        return out + self._frame(msgspec.Raw(body)) if body else out

    def _write(self, out: bytearray, chunk: Chunk) -> None:
        out += self._encode_one(chunk)

    _writers = every_kind(_write)

    def _encode_one(self, chunk: Chunk) -> bytes:
        match chunk:
            case TextDeltaChunk(text_delta=text):
                return self._frame(_Delta(content=text)) if text else b""
            case ReasoningDeltaChunk(reasoning_delta=text):
                return self._frame({self.reasoning_field: text}) if text else b""
            case ToolCallBeginChunk(tool_call_id=call_id, tool_name=name):
                self._tool_calls.check_new(call_id)
                index = len(self._tool_calls)
                frame = self._tool_frame(
                    _ToolCallDelta(
                        index=index,
                        id=call_id,
                        type="function",
                        function=_Function(name=name, arguments=""),
                    ),
                )
                self._tool_calls.add(call_id, name, index)
                return frame
            case ToolCallDeltaChunk(args_text_delta=text):
                call = self._tool_calls.get(chunk.type, chunk.tool_call_id)
                # Args text after the call settled is dropped, as upstream does.
                return b"" if call.settled else self._args(call, text)
            case ToolCallArgsTextFinishChunk(args_text_delta=text):
                return self._close_call(self._tool_calls.get(chunk.type, chunk.tool_call_id), text)
            case ToolResultChunk(tool_call_id=call_id, result=result):
                call = self._tool_calls.get(chunk.type, call_id)
                if resumed(call):
                    return b""
                wire = _ToolResultDelta(call_id, result, chunk.is_error, chunk.artifact)
                out = self._result(call, wire)
                call.answered = True
                return out
            case ErrorChunk(error=message):
                body = json_encode(
                    _ErrorFrame(error=_ErrorBody(message=message, type="server_error"))
                )
                return b"data: " + body + b"\n\n"
            case StepFinishChunk():
                self._step_reason = chunk.finish_reason
                self._step_tokens[0] += chunk.input_tokens
                self._step_tokens[1] += chunk.output_tokens
                return b""
            case MessageFinishChunk():
                self._message_reason = chunk.finish_reason
                self._message_tokens = (chunk.input_tokens, chunk.output_tokens)
                return b""
            case StepStartChunk() | ReasoningPartStartChunk():
                return b""
            case PreliminaryToolResultChunk(tool_call_id=call_id, result=result):
                call = self._tool_calls.get(chunk.type, call_id)
                if self.tool_results != "delta":
                    return self._drop(chunk.type)
                return self._result(call, _ToolResultDelta(call_id, result, preliminary=True))
            case (
                DataChunk()
                | AnnotationsChunk()
                | UpdateStateChunk()
                | SourceChunk()
                | FileChunk()
                | MessageMetadataChunk()
                | AbortChunk()
                | SourceDocumentChunk()
            ):
                return self._drop(chunk.type)
            case ToolApprovalRequestChunk() | ToolCallResumeChunk() | ToolOutputDeniedChunk():
                # finish_reason "tool_calls" already says the client acts next.
                note_client_turn(self._tool_calls, chunk)
                return b""
        raise not_a_chunk(chunk)

    @property
    def finish_reason(self) -> str:
        """The ``finish_reason`` :meth:`finish` writes, given the chunks so far."""
        reason = self._message_reason if self._message_reason is not None else self._step_reason
        mapped = _TO_OPENAI_FINISH.get(reason or "", "stop")
        if mapped == "stop" and self._tool_calls.any_unanswered:
            # The client must run these calls; "stop" would tell it the turn is over.
            return "tool_calls"
        return mapped

    def _close(self, buffer: bytearray) -> None:
        """The closing frames: open tool calls' arguments, the finish chunk, the
        usage chunk (with ``include_usage``) and ``data: [DONE]``."""
        out = [self._close_call(call) for call in self._tool_calls.unsettled()]
        if not self._started:
            out.append(self._first)
        out.append(self._finish_head + json_encode(self.finish_reason) + self._finish_tail)
        if self.include_usage:
            prompt, completion = (
                self._message_tokens
                if self._message_tokens is not None
                else (self._step_tokens[0], self._step_tokens[1])
            )
            usage = _Usage(prompt, completion, prompt + completion)
            out.append(self._usage_head + json_encode(usage) + b"}\n\n")
        out.append(_DONE)
        buffer += b"".join(out)


# -- decoder ----------------------------------------------------------------------


class _InChoice(msgspec.Struct):
    index: int = 0
    delta: _InDelta | None = None
    finish_reason: str | None = None


class _InUsage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _InChunk(msgspec.Struct):
    choices: list[_InChoice]
    id: str | None = None
    created: int | None = None
    model: str | None = None
    usage: _InUsage | None = None


class _InErrorBody(msgspec.Struct):
    message: str = ""
    type: str | None = None


class OpenAIChatDecoder(SSEDecoder):
    """Decodes ``chat.completion.chunk`` SSE back into chunks.

    :param max_line_bytes: the largest SSE event buffered before
        :class:`~assistant_stream_core.errors.ProtocolError` is raised.

    After decoding, :attr:`completion_id`, :attr:`model` and :attr:`created`
    hold the values of the last chunk seen. See :doc:`/protocols/openai-chat`
    for the normalisation.
    """

    _EVENT_NAMES = frozenset({"message", "error"})

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)
        #: The ``id`` of the chunks (``None`` until one was decoded).
        self.completion_id: str | None = None
        #: The ``model`` of the chunks.
        self.model: str | None = None
        #: The ``created`` time of the chunks.
        self.created: int | None = None
        self._calls: dict[int, str] = {}  # tool-call index -> id
        self._open_calls: list[str] = []
        self._finish_reason: str | None = None
        self._usage: _InUsage | None = None

    def _decode_event(self, event: SSEEvent, out: list[Chunk]) -> None:
        obj = decode_object(event.data, "event data")
        if obj.get("error") or event.event == "error":
            error = obj.get("error", obj)
            try:
                body = msgspec.convert(error, _InErrorBody)
            except msgspec.ValidationError as exc:
                raise ProtocolError(f"malformed error frame: {exc}") from None
            out.append(ErrorChunk(body.message))
            return
        try:
            chunk = msgspec.convert(obj, _InChunk)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"malformed chat.completion.chunk: {exc}") from None
        if chunk.id is not None:
            self.completion_id = chunk.id
        if chunk.model is not None:
            self.model = chunk.model
        if chunk.created is not None:
            self.created = chunk.created
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            if choice.delta is not None:
                out.extend(self._decode_delta(choice.delta))
            if choice.finish_reason is not None:
                self._finish_reason = choice.finish_reason

    def _decode_delta(self, delta: _InDelta) -> list[Chunk]:
        out: list[Chunk] = []
        reasoning = delta.reasoning_content or delta.reasoning
        if reasoning:
            out.append(ReasoningDeltaChunk(reasoning))
        if delta.content:
            out.append(TextDeltaChunk(delta.content))
        for call in delta.tool_calls or ():
            call_id = self._calls.get(call.index)
            if call_id is None:
                if not call.id:
                    raise ProtocolError(
                        f"tool call index {call.index} has no id in its first delta"
                    )
                name = call.function.name if call.function else None
                if not name:
                    raise ProtocolError(
                        f"tool call {call.id!r} has no function name in its first delta"
                    )
                if call.id in self._open_calls:
                    raise ProtocolError(f"tool call id {call.id!r} used twice")
                call_id = self._calls[call.index] = call.id
                self._open_calls.append(call_id)
                out.append(ToolCallBeginChunk(call_id, name))
            elif call.id and call.id != call_id:
                raise ProtocolError(f"tool call index {call.index} changed its id to {call.id!r}")
            if call.function and call.function.arguments:
                out.append(ToolCallDeltaChunk(call_id, call.function.arguments))
        for result in delta.tool_results or ():
            value = None if result.result is UNSET else result.result
            if result.preliminary:
                out.append(PreliminaryToolResultChunk(result.tool_call_id, value))
            else:
                out.append(
                    ToolResultChunk(result.tool_call_id, value, result.artifact, result.is_error)
                )
        return out

    def _at_done(self, out: list[Chunk]) -> None:
        out.extend(ToolCallArgsTextFinishChunk(call_id) for call_id in self._open_calls)
        self._open_calls = []
        if self._finish_reason is not None or self._usage is not None:
            usage = self._usage or _InUsage()
            reason = self._finish_reason
            out.append(
                MessageFinishChunk(
                    _FROM_OPENAI_FINISH.get(reason, "other") if reason else "unknown",
                    input_tokens=usage.prompt_tokens,
                    output_tokens=usage.completion_tokens,
                )
            )
