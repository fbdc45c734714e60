"""Vercel AI SDK UI Message Stream, protocol v1 (``useChat``, ``readUIMessageStream``).

The frames each chunk becomes, the bookkeeping rules and the differences
from upstream are on its page, docs/protocols/ui-message-stream.rst.
"""

from __future__ import annotations

import logging
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
from ..limits import (
    MAX_JSON_DEPTH,
    check_json_value,
    check_optional_text,
    check_text,
    json_depth,
)
from ..tool_calls import ToolCall, ToolCallLedger
from ._encoder import EncoderBase, every_kind, json_encode, not_a_chunk
from ._frames import decode_object, decode_operations, wire_types
from ._sse import SSEDecoder, SSEEvent
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = [
    "ANNOTATIONS_PART",
    "HEADERS",
    "STATE_PART",
    "UIMessageStreamDecoder",
    "UIMessageStreamEncoder",
]

logger = logging.getLogger(__name__)

# The deepest tool input a tool-input-available frame carries: the frame's
# object wraps it, and the whole frame must stay within MAX_JSON_DEPTH.
_MAX_INPUT_DEPTH: Final = MAX_JSON_DEPTH - 1

MEDIA_TYPE: Final = "text/event-stream"
#: Every response header of this protocol.
HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": MEDIA_TYPE,
    **STREAMING_HEADERS,
    "x-vercel-ai-ui-message-stream": "v1",
}
#: The data part name that carries ``annotations`` chunks.
ANNOTATIONS_PART: Final = "annotations"
#: The data part name that carries ``update-state`` operations (transient).
STATE_PART: Final = "state"

_DONE = b"data: [DONE]\n\n"
_FINISH_REASONS = frozenset(
    {"stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"}
)
_IGNORED_TYPES = frozenset(
    {
        "tool-approval-response",
        "custom",
        "reasoning-file",
        "reset-step",
        "steering-message",
    }
)


# --- wire objects (shared by encoder and decoder) ---------------------------


class _Wire(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="type"):
    pass


def _wire(tag: str, *fields: tuple[str, Any] | tuple[str, Any, Any]) -> Any:
    """A ``_Wire`` Struct for the chunk type ``tag``, its fields as (name, type[, default])."""
    name = "_" + tag.title().replace("-", "")
    return msgspec.defstruct(name, fields, bases=(_Wire,), tag=tag, module=__name__)


_ID: Final = ("id", str)
_CALL: Final = ("tool_call_id", str)
_INPUT: Final = ("input", Any, UNSET)

# UNSET, not None, as the default of a field ai requires (input, output,
# messageMetadata): a null value must still be written.
_Start: Final = _wire(
    "start", ("message_id", str | UnsetType, UNSET), ("message_metadata", Any, UNSET)
)
_TextStart: Final = _wire("text-start", _ID)
_TextDelta: Final = _wire("text-delta", _ID, ("delta", str))
_TextEnd: Final = _wire("text-end", _ID)
_ReasoningStart: Final = _wire("reasoning-start", _ID)
_ReasoningDelta: Final = _wire("reasoning-delta", _ID, ("delta", str))
_ReasoningEnd: Final = _wire("reasoning-end", _ID)
_ToolInputStart: Final = _wire("tool-input-start", _CALL, ("tool_name", str))
_ToolInputDelta: Final = _wire("tool-input-delta", _CALL, ("input_text_delta", str))
_ToolInputAvailable: Final = _wire("tool-input-available", _CALL, ("tool_name", str), _INPUT)
_ToolInputError: Final = _wire(
    "tool-input-error", _CALL, ("tool_name", str), ("error_text", str), _INPUT
)
_ToolOutputAvailable: Final = _wire(
    "tool-output-available", _CALL, ("output", Any, UNSET), ("preliminary", bool, False)
)
_ToolOutputError: Final = _wire("tool-output-error", _CALL, ("error_text", str))
_ToolApprovalRequest: Final = _wire(
    "tool-approval-request", ("approval_id", str), _CALL, ("reason", str | None, None)
)
_ToolOutputDenied: Final = _wire("tool-output-denied", _CALL)
_SourceUrl: Final = _wire(
    "source-url", ("source_id", str), ("url", str), ("title", str | None, None)
)
_SourceDocument: Final = _wire(
    "source-document",
    ("source_id", str),
    ("media_type", str),
    ("title", str),
    ("filename", str | None, None),
)
_File: Final = _wire("file", ("url", str), ("media_type", str))
_StartStep: Final = _wire("start-step")
_FinishStep: Final = _wire("finish-step")
_Finish: Final = _wire(
    "finish", ("finish_reason", str | None, None), ("message_metadata", Any, UNSET)
)
_MessageMetadata: Final = _wire("message-metadata", ("message_metadata", Any, UNSET))
_Abort: Final = _wire("abort", ("reason", str | None, None))
_Error: Final = _wire("error", ("error_text", str))


class _DataPart(msgspec.Struct, omit_defaults=True):
    # Not a tagged Struct: the type ("data-<name>") is open-ended.
    type: str
    data: Any = UNSET
    transient: bool = False


_TYPED: Final = wire_types(_Wire)


def _finish_reason(reason: str | None, unanswered: bool) -> str:
    if reason is None:
        return "tool-calls" if unanswered else "stop"
    return reason if reason in _FINISH_REASONS else "other"


class UIMessageStreamEncoder(EncoderBase):
    """Encodes one stream of chunks as a UI Message Stream. One per response.

    :param message_id: the ``start`` frame's ``messageId``; default ``"msg-"``
        and 24 random letters and digits (see :attr:`message_id`).
    :param message_metadata: written as ``messageMetadata`` on ``start`` when
        given.
    :param data_part_name: ``data`` chunks become ``data-<data_part_name>``
        parts.
    :param state: ``"transient"`` (default) sends state operations as a
        transient ``data-state`` part; ``"drop"`` drops them.
    :param include_finish_reason: write ``finishReason`` on ``finish``; turn
        off for ``ai`` releases older than the field.
    :param start_step: write ``start-step`` right after ``start``: the
        response continues the message ``message_id`` names in a new step, as
        ``ai`` expects after the client answered tool calls (its
        ``lastAssistantMessageIsCompleteWithToolCalls`` looks at the last
        step only, and would send the message again and again).
    """

    media_type: str = MEDIA_TYPE
    headers: Mapping[str, str] = HEADERS
    #: SSE comment; both clients ignore comments.
    keepalive: bytes | None = b": keep-alive\n\n"

    def __init__(
        self,
        *,
        message_id: str | None = None,
        message_metadata: Any = None,
        data_part_name: str = "data",
        state: Literal["transient", "drop"] = "transient",
        include_finish_reason: bool = True,
        start_step: bool = False,
    ) -> None:
        if state not in ("transient", "drop"):
            raise ValueError(f"state must be 'transient' or 'drop', not {state!r}")
        if data_part_name in (ANNOTATIONS_PART, STATE_PART) or not data_part_name:
            raise ValueError(f"data_part_name {data_part_name!r} is reserved or empty")
        check_optional_text(message_id, "message_id")
        check_text(data_part_name, "data_part_name")
        check_json_value(message_metadata, "message_metadata")
        super().__init__()
        #: The message id this stream announces.
        self.message_id = message_id if message_id is not None else "msg-" + random_id(24)
        self._start = _Start(
            message_id=self.message_id,
            message_metadata=UNSET if message_metadata is None else message_metadata,
        )
        self._data_type = f"data-{data_part_name}"
        self._state = state
        self._include_finish_reason = include_finish_reason
        self._start_step = start_step
        self._started = False
        # The open text/reasoning part: (kind, wire id, parent id).
        self._open: tuple[str, str, str | None] | None = None
        self._part_count = 0
        self._tools = ToolCallLedger(keep_args=True)
        self._reason: str | None = None
        self._warned_state = False

    # --- frames ---

    def _close_part(self, out: bytearray) -> None:
        if self._open is not None:
            kind, part_id, _ = self._open
            self._sse(out, _TextEnd(part_id) if kind == "text" else _ReasoningEnd(part_id))
            self._open = None

    def _open_part(self, out: bytearray, kind: str, parent: str | None) -> str:
        self._close_part(out)
        self._part_count += 1
        part_id = f"{kind}-{self._part_count}"
        self._sse(out, _TextStart(part_id) if kind == "text" else _ReasoningStart(part_id))
        self._open = (kind, part_id, parent)
        return part_id

    def _part_for(self, out: bytearray, kind: str, parent: str | None, text: str) -> str:
        parent = parent or None
        if self._open is not None and self._open[0] == kind and self._open[2] == parent:
            return self._open[1]
        # Encode the delta first: a delta that cannot be must not leave its part
        # recorded as open, or the closing frames end a part never started.
        json_encode(text)
        return self._open_part(out, kind, parent)

    def _settle(self, out: bytearray, tool: ToolCall, trailing: str) -> None:
        if tool.settled:
            return
        call_id = tool.tool_call_id
        if trailing:
            self._sse(out, _ToolInputDelta(call_id, trailing))
            self._tools.record_args(tool, trailing)
        text = tool.args_text
        # Counted before parsing, as a decoder counts a frame: the parser's
        # own guard is the interpreter's recursion limit, which differs by
        # Python version, and deeper input would make a frame no decoder reads.
        depth = json_depth(text, _MAX_INPUT_DEPTH)
        problem = (
            f"tool call arguments nest {depth} levels deep, "
            f"deeper than the limit of {_MAX_INPUT_DEPTH}"
            if depth
            else None
        )
        if problem is None:
            try:
                value = msgspec.json.decode(text) if text else {}
            except msgspec.DecodeError as exc:
                problem = f"tool call arguments are not valid JSON: {exc}"
        if problem is None:
            self._sse(out, _ToolInputAvailable(call_id, tool.name, value))
        else:
            # Both clients show this as a failed call with the raw input.
            self._sse(out, _ToolInputError(call_id, tool.name, problem, text))
        self._tools.settle(tool)

    def _settle_all(self, out: bytearray) -> None:
        for tool in self._tools.unsettled():
            self._settle(out, tool, "")

    def _write(self, out: bytearray, chunk: Chunk) -> None:
        if type(chunk) not in _CHECKED_IN_PLACE:
            # Encode first, then commit: the branches below close parts and
            # settle calls before their own frame.
            json_encode(chunk)
        if not self._started:
            self._write_start(out)  # cut with the chunk's frames if the chunk fails
        self._write_chunk(out, chunk)
        self._started = True  # not reached if the chunk fails

    _writers = every_kind(_write)

    def _write_start(self, out: bytearray) -> None:
        self._sse(out, self._start)
        if self._start_step:
            self._sse(out, _StartStep())

    def _write_chunk(self, out: bytearray, chunk: Chunk) -> None:
        match chunk:
            case TextDeltaChunk(text_delta=text, parent_id=parent):
                if text:
                    self._sse(out, _TextDelta(self._part_for(out, "text", parent, text), text))
            case ReasoningDeltaChunk(reasoning_delta=text, parent_id=parent):
                if text:
                    part_id = self._part_for(out, "reasoning", parent, text)
                    self._sse(out, _ReasoningDelta(part_id, text))
            case ReasoningPartStartChunk(parent_id=parent):
                self._open_part(out, "reasoning", parent or None)
            case ToolCallBeginChunk(tool_call_id=call_id, tool_name=name):
                self._tools.check_new(call_id)
                self._close_part(out)
                self._sse(out, _ToolInputStart(call_id, name))
                self._tools.add(call_id, name)
            case ToolCallDeltaChunk(tool_call_id=call_id, args_text_delta=text):
                tool = self._tools.get(chunk.type, call_id)
                if text and not tool.settled:
                    self._sse(out, _ToolInputDelta(call_id, text))
                    self._tools.record_args(tool, text)
            case ToolCallArgsTextFinishChunk(tool_call_id=call_id, args_text_delta=text):
                self._settle(out, self._tools.get(chunk.type, call_id), text)
            case ToolResultChunk(tool_call_id=call_id, result=result):
                tool = self._tools.get(chunk.type, call_id)
                if chunk.is_error:
                    text = result if isinstance(result, str) else json_encode(result).decode()
                    wire: object = _ToolOutputError(call_id, text)
                else:
                    json_encode(result)  # fail before settling the call
                    wire = _ToolOutputAvailable(call_id, result)
                self._settle(out, tool, "")
                self._sse(out, wire)
                tool.answered = True
            case SourceChunk(id=source_id, url=url, title=title):
                self._close_part(out)
                self._sse(out, _SourceUrl(source_id, url, title))
            case FileChunk(data=data, mime_type=mime_type):
                self._close_part(out)
                self._sse(out, _File(f"data:{mime_type};base64,{data}", mime_type))
            case DataChunk(data=data):
                self._sse(out, _DataPart(self._data_type, data))
            case AnnotationsChunk(annotations=annotations):
                self._sse(out, _DataPart(f"data-{ANNOTATIONS_PART}", annotations))
            case UpdateStateChunk(operations=operations):
                if self._state == "transient":
                    self._sse(out, _DataPart(f"data-{STATE_PART}", operations, transient=True))
                elif not self._warned_state:
                    self._warned_state = True
                    # DEBUG: a server would otherwise log this for every request.
                    logger.debug("ui_message_stream: dropping state updates for this stream")
            case ErrorChunk(error=message):
                self._settle_all(out)
                self._sse(out, _Error(message))
            case StepStartChunk():
                self._close_part(out)
                # ai updates a call only within its step: settle calls before a new one.
                self._settle_all(out)
                self._sse(out, _StartStep())
            case StepFinishChunk(finish_reason=reason):
                # ai forgets open parts at finish-step; an end after it would crash.
                self._close_part(out)
                # ai looks tool calls up in the current step: settle them in it.
                self._settle_all(out)
                self._sse(out, _FinishStep())
                self._reason = reason
            case MessageFinishChunk(finish_reason=reason):
                self._settle_all(out)
                self._reason = reason
            case MessageMetadataChunk(metadata=metadata):
                self._sse(out, _MessageMetadata(metadata))
            case AbortChunk(reason=reason):
                self._sse(out, _Abort(reason))
            case SourceDocumentChunk():
                self._close_part(out)
                wire_doc = _SourceDocument(chunk.id, chunk.media_type, chunk.title, chunk.filename)
                self._sse(out, wire_doc)
            case PreliminaryToolResultChunk(tool_call_id=call_id, result=result):
                tool = self._tools.get(chunk.type, call_id)
                json_encode(result)  # fail before settling the call
                # ai needs the call's input before any output: settle it first.
                self._settle(out, tool, "")
                self._sse(out, _ToolOutputAvailable(call_id, result, preliminary=True))
            case ToolApprovalRequestChunk(tool_call_id=call_id):
                tool = self._tools.get(chunk.type, call_id)
                self._settle(out, tool, "")  # ai asks about a call whose input is known
                self._sse(out, _ToolApprovalRequest(chunk.approval_id, call_id, chunk.reason))
            case ToolCallResumeChunk(tool_call_id=call_id):
                self._tools.resume(call_id)
            case ToolOutputDeniedChunk(tool_call_id=call_id):
                tool = self._tools.get(chunk.type, call_id)
                self._settle(out, tool, "")
                self._sse(out, _ToolOutputDenied(call_id))
                tool.answered = True
            case _:
                raise not_a_chunk(chunk)

    def _close(self, out: bytearray) -> None:
        """The closing frames: open parts and tool calls, ``finish``, ``[DONE]``."""
        if not self._started:
            self._write_start(out)
        self._close_part(out)
        self._settle_all(out)
        reason = _finish_reason(self._reason, self._tools.any_unanswered)
        self._sse(out, _Finish(reason if self._include_finish_reason else None))
        out += _DONE


#: Chunk kinds whose branch in ``_write`` encodes its own values before it
#: changes state (deltas: the hot path), or that have a field the protocol
#: does not write (a tool result's ``artifact``).
_CHECKED_IN_PLACE: Final = frozenset(
    {
        TextDeltaChunk,
        ReasoningDeltaChunk,
        ToolCallDeltaChunk,
        ToolResultChunk,
        PreliminaryToolResultChunk,
        DataChunk,
        AnnotationsChunk,
        UpdateStateChunk,
    }
)


# --- decoding ---------------------------------------------------------------


class UIMessageStreamDecoder(SSEDecoder):
    """Decodes UI Message Stream bytes into chunks. One per response body.

    :param data_part_name: ``data-<data_part_name>`` parts decode to
        ``DataChunk(data)``; other names to ``DataChunk({"name", "data"})``.
    :param max_line_bytes: the largest SSE event buffered before
        :class:`~assistant_stream_core.errors.ProtocolError` is raised.
    """

    def __init__(
        self, *, data_part_name: str = "data", max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    ) -> None:
        super().__init__(max_line_bytes)
        self._data_name = data_part_name
        #: The ``messageId`` of the ``start`` frame, once seen.
        self.message_id: str | None = None
        self._text_ids: set[str] = set()
        self._reasoning_ids: set[str] = set()
        self._tools: dict[str, bool] = {}  # id -> args text received

    def _decode_event(self, event: SSEEvent, out: list[Chunk]) -> None:
        obj = decode_object(event.data, "event data")
        kind = obj.get("type")
        if not isinstance(kind, str):
            raise ProtocolError("UI message chunk without a string 'type'")
        if kind.startswith("data-"):
            self._decode_data(kind[5:], obj, out)
            return
        cls = _TYPED.get(kind)
        if cls is None:
            if kind in _IGNORED_TYPES:
                return
            raise ProtocolError(f"unknown UI message chunk type {kind[:60]!r}")
        try:
            wire = msgspec.convert(obj, cls)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"invalid {kind} chunk: {exc}") from None
        self._dispatch(wire, out)

    def _decode_data(self, name: str, obj: dict[str, Any], out: list[Chunk]) -> None:
        value = obj.get("data")
        if name == self._data_name:
            out.append(DataChunk(value))
        elif name == ANNOTATIONS_PART:
            if not isinstance(value, list):
                raise ProtocolError("data-annotations data must be a list")
            out.append(AnnotationsChunk(value))
        elif name == STATE_PART:
            if not isinstance(value, list):
                raise ProtocolError("data-state data must be a list of operations")
            out.append(UpdateStateChunk(decode_operations(value, "state")))
        else:
            out.append(DataChunk({"name": name, "data": value}))

    def _resume_unseen(self, call_id: str, out: list[Chunk]) -> None:
        # An answer to a call of an earlier response: ai updates that part of
        # the message it continues.
        if call_id not in self._tools:
            self._tools[call_id] = True
            out.append(ToolCallResumeChunk(call_id))

    def _need(self, ids: set[str] | dict[str, bool], key: str, what: str) -> None:
        if key not in ids:
            raise ProtocolError(f"{what} for {key!r}, which never started")

    def _dispatch(self, wire: Any, out: list[Chunk]) -> None:
        match wire:
            case _Start(message_id=message_id):
                if isinstance(message_id, str):
                    self.message_id = message_id
                self._metadata(wire.message_metadata, out)
            case _TextStart(id=part_id):
                self._text_ids.add(part_id)
            case _TextDelta(id=part_id, delta=delta):
                self._need(self._text_ids, part_id, "text-delta")
                if delta:
                    out.append(TextDeltaChunk(delta))
            case _TextEnd(id=part_id):
                self._need(self._text_ids, part_id, "text-end")
                self._text_ids.discard(part_id)
            case _ReasoningStart(id=part_id):
                self._reasoning_ids.add(part_id)
                out.append(ReasoningPartStartChunk())
            case _ReasoningDelta(id=part_id, delta=delta):
                self._need(self._reasoning_ids, part_id, "reasoning-delta")
                if delta:
                    out.append(ReasoningDeltaChunk(delta))
            case _ReasoningEnd(id=part_id):
                self._need(self._reasoning_ids, part_id, "reasoning-end")
                self._reasoning_ids.discard(part_id)
            case _ToolInputStart(tool_call_id=call_id, tool_name=name):
                if call_id in self._tools:
                    raise ProtocolError(f"tool-input-start for {call_id!r} twice")
                self._tools[call_id] = False
                out.append(ToolCallBeginChunk(call_id, name))
            case _ToolInputDelta(tool_call_id=call_id, input_text_delta=text):
                self._need(self._tools, call_id, "tool-input-delta")
                if text:
                    self._tools[call_id] = True
                    out.append(ToolCallDeltaChunk(call_id, text))
            case _ToolInputAvailable() | _ToolInputError():
                call_id = wire.tool_call_id
                if call_id not in self._tools:
                    self._tools[call_id] = False
                    out.append(ToolCallBeginChunk(call_id, wire.tool_name))
                if not self._tools[call_id]:
                    raw = None if wire.input is UNSET else wire.input
                    if not (isinstance(wire, _ToolInputError) and isinstance(raw, str)):
                        raw = msgspec.json.encode({} if raw is None else raw).decode()
                    if raw:
                        out.append(ToolCallDeltaChunk(call_id, raw))
                    self._tools[call_id] = True
                out.append(ToolCallArgsTextFinishChunk(call_id))
            case _ToolOutputAvailable(tool_call_id=call_id, output=output):
                self._resume_unseen(call_id, out)
                value = None if output is UNSET else output
                if wire.preliminary:
                    out.append(PreliminaryToolResultChunk(call_id, value))
                else:
                    out.append(ToolResultChunk(call_id, value))
            case _ToolOutputError(tool_call_id=call_id, error_text=text):
                self._resume_unseen(call_id, out)
                out.append(ToolResultChunk(call_id, text, is_error=True))
            case _ToolOutputDenied(tool_call_id=call_id):
                self._resume_unseen(call_id, out)
                out.append(ToolOutputDeniedChunk(call_id))
            case _ToolApprovalRequest(tool_call_id=call_id, approval_id=approval_id):
                self._need(self._tools, call_id, "tool-approval-request")
                out.append(ToolApprovalRequestChunk(call_id, approval_id, wire.reason))
            case _SourceUrl(source_id=source_id, url=url, title=title):
                out.append(SourceChunk(source_id, url, title=title))
            case _File(url=url, media_type=media_type):
                prefix = f"data:{media_type};base64,"
                data = url[len(prefix) :] if url.startswith(prefix) else url
                out.append(FileChunk(data, media_type))
            case _StartStep():
                out.append(StepStartChunk(self.message_id or ""))
            case _FinishStep():
                out.append(StepFinishChunk("unknown"))
            case _Finish(finish_reason=reason):
                self._metadata(wire.message_metadata, out)
                out.append(MessageFinishChunk(reason or "unknown"))
            case _Error(error_text=text):
                out.append(ErrorChunk(text))
            case _MessageMetadata(message_metadata=metadata):
                self._metadata(metadata, out)
            case _Abort(reason=reason):
                out.append(AbortChunk(reason))
            case _SourceDocument(source_id=source_id, media_type=media_type, title=title):
                out.append(SourceDocumentChunk(source_id, media_type, title, wire.filename))

    @staticmethod
    def _metadata(metadata: Any, out: list[Chunk]) -> None:
        # ai merges metadata and ignores a null (or absent) one.
        if metadata is UNSET or metadata is None:
            return
        if not isinstance(metadata, dict):
            raise ProtocolError("messageMetadata must be a JSON object")
        out.append(MessageMetadataChunk(metadata))
