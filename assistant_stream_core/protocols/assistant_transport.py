"""assistant-ui Assistant Transport: SSE frames ``data: <json>\\n\\n``, then ``data: [DONE]``.

The frames each chunk becomes, the bookkeeping rules and the differences
from upstream are on its page, docs/protocols/assistant-transport.rst.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, NamedTuple

import msgspec

from ..chunks import (
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from ..errors import ProtocolError
from ..tool_calls import ToolCall, ToolCallLedger
from ._annotated import ANNOTATED, checked_annotation, from_annotations
from ._client_turn import CLIENT_TURN_CHUNKS, note_client_turn, resumed
from ._encoder import EncoderBase, Writers, encode_into, json_encode
from ._frames import decode_object, decode_operations, parent_or_none, union, wire_types
from ._sse import SSEDecoder, SSEEvent
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS
from .data_stream import (
    _File,
    _MessageFinish,
    _NamedData,
    _ReasoningStart,
    _Source,
    _StepFinish,
    _StepStart,
    _ToolBegin,
    _Usage,
)

__all__ = ["AssistantTransportDecoder", "AssistantTransportEncoder"]

MEDIA_TYPE: Final = "text/event-stream"
HEADERS: Final[Mapping[str, str]] = {"Content-Type": MEDIA_TYPE, **STREAMING_HEADERS}
DONE: Final = b"data: [DONE]\n\n"


# --- wire objects (field order is upstream's key order) ---------------------


class _Frame(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="type"):
    pass


class _PartBase(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="type"):
    pass


class _TextPart(_PartBase, tag="text"):
    parent_id: str | None = None


# The parts and frames the Data Stream also writes: its objects, with a tag.


class _ReasoningPart(_ReasoningStart, _PartBase, tag="reasoning"):
    pass


class _ToolCallPart(_ToolBegin, _PartBase, tag="tool-call"):
    pass


class _SourcePart(_Source, _PartBase, tag="source"):
    pass


class _FilePart(_File, _PartBase, tag="file"):
    pass


class _DataPart(_NamedData, _PartBase, tag="data"):
    pass


_Part = _TextPart | _ReasoningPart | _ToolCallPart | _SourcePart | _FilePart | _DataPart


class _PartStart(_Frame, tag="part-start", omit_defaults=False):
    part: _Part
    path: tuple[int, ...] = ()


class _TextDelta(_Frame, tag="text-delta"):
    text_delta: str
    path: tuple[int, ...]


class _Result(_Frame, tag="result"):
    # UNSET defaults: absent on decode is allowed, but None/False are still written.
    result: Any = msgspec.UNSET
    is_error: bool | msgspec.UnsetType = msgspec.UNSET
    artifact: Any = msgspec.UNSET
    path: tuple[int, ...] = ()


class _ArgsFinish(_Frame, tag="tool-call-args-text-finish"):
    path: tuple[int, ...]


class _PartFinish(_Frame, tag="part-finish"):
    path: tuple[int, ...]


class _Data(_Frame, tag="data"):
    data: list[Any]


class _Annotations(_Frame, tag="annotations"):
    annotations: list[Any]


class _StepStartFrame(_StepStart, _Frame, tag="step-start"):
    pass


class _StepFinishFrame(_StepFinish, _Frame, tag="step-finish", omit_defaults=False):
    pass


class _MessageFinishFrame(_MessageFinish, _Frame, tag="message-finish", omit_defaults=False):
    pass


class _Error(_Frame, tag="error"):
    error: Any = msgspec.UNSET


class _UpdateState(_Frame, tag="update-state"):
    operations: list[dict[str, Any]]


# --- frames written without a wire Struct -----------------------------------
#
# Every frame at a part's path ends with the same bytes, ',"path":[i]}\n\n'
# (see _delta_suffix). The heads below, followed by their value (if any) and
# that suffix, are exactly what encoding the frame's wire Struct writes; the
# tests compare the two.

_TEXT_DELTA_HEAD: Final = b'data: {"type":"text-delta","textDelta":'
_PART_FINISH_HEAD: Final = b'data: {"type":"part-finish"'
_ARGS_FINISH_HEAD: Final = b'data: {"type":"tool-call-args-text-finish"'
_RESULT_HEAD: Final = b'data: {"type":"result","result":'
_IS_ERROR: Final = (b',"isError":false', b',"isError":true')
_TEXT_START: Final = b'data: {"type":"part-start","part":{"type":"text"},"path":[]}\n\n'
_REASONING_START: Final = b'data: {"type":"part-start","part":{"type":"reasoning"},"path":[]}\n\n'
_TOOL_START: Final = (
    b'data: {"type":"part-start","part":{"type":"tool-call","toolCallId":%b,"toolName":%b},'
    b'"path":[]}\n\n'
)
_STEP_START_HEAD: Final = b'data: {"type":"step-start","messageId":'
_STATE_HEAD: Final = b'data: {"type":"update-state","operations":'
_FRAME_END: Final = b"}\n\n"


_SUFFIX: Final = b',"path":[%d]}\n\n'
# Prebuilt for the indices a message has: a new part then costs no formatting.
# Past them, the hot paths format inline (a call costs a third of the format).
_SUFFIXES: Final = tuple(_SUFFIX % index for index in range(256))


def _delta_suffix(index: int) -> bytes:
    """The bytes that end every frame at path ``[index]``: ``,"path":[index]}``, a blank line."""
    return _SUFFIXES[index] if index < 256 else _SUFFIX % index


_TEXT: Final = 0
_REASONING: Final = 1
# The parent key of a kind of part that is not open: equal to no parent_id.
_CLOSED: Final = object()


class AssistantTransportEncoder(EncoderBase):
    """Encodes chunks as Assistant Transport SSE frames. One per response.

    Writing a chunk is all or nothing: if it cannot be encoded, none of its
    frames is written and the encoder's state is as before it.

    >>> from assistant_stream_core.chunks import TextDeltaChunk
    >>> from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
    >>> encoder = AssistantTransportEncoder()
    >>> print(encoder.encode(TextDeltaChunk("Hi")).decode(), end="")
    data: {"type":"part-start","part":{"type":"text"},"path":[]}
    <BLANKLINE>
    data: {"type":"text-delta","textDelta":"Hi","path":[0]}
    <BLANKLINE>
    >>> print(encoder.finish().decode(), end="")
    data: {"type":"part-finish","path":[0]}
    <BLANKLINE>
    data: [DONE]
    <BLANKLINE>
    """

    media_type: str = MEDIA_TYPE
    headers: Mapping[str, str] = HEADERS
    #: An SSE comment: every SSE client ignores it.
    keepalive: bytes | None = b": heartbeat\n\n"

    __slots__ = ("_next_index", "_reasoning_key", "_suffix", "_text_key", "_tools")

    def __init__(self) -> None:
        super().__init__()
        self._next_index = 0
        # The open text or reasoning part, if any: its parent_id as the key of
        # its kind (the other kind's key is _CLOSED), and the end of the frames
        # at its path. No part is open when _suffix is b"".
        self._text_key: object = _CLOSED
        self._reasoning_key: object = _CLOSED
        self._suffix = b""
        # A call's index is its part's; its head, the end of its frames.
        self._tools = ToolCallLedger()

    def _close(self, out: bytearray) -> None:
        """Close the open part, settle every unsettled tool call, write ``[DONE]``."""
        if self._suffix:
            out += _PART_FINISH_HEAD
            out += self._suffix
        for tool in self._tools.unsettled():
            self._settle(out, tool, "")
        out += DONE

    def _set_open(self, kind: int | None, parent_id: str | None, suffix: bytes) -> None:
        """Make the part of ``kind`` (or none) with that parent and frame end the open one."""
        self._text_key = parent_id if kind == _TEXT else _CLOSED
        self._reasoning_key = parent_id if kind == _REASONING else _CLOSED
        self._suffix = suffix

    def _start_part(self, out: bytearray, part: _Part | bytes) -> int:
        """Write the open part's finish and ``part``'s start; return its index.

        Changes no state: the caller commits the index (``_next_index``) and
        the open part once the chunk's frames are all written.
        """
        if self._suffix:
            out += _PART_FINISH_HEAD
            out += self._suffix
        if isinstance(part, bytes):
            out += part
        else:
            self._sse(out, _PartStart(part))
        return self._next_index

    def _write_delta(self, out: bytearray, kind: int, text: str, parent_id: str | None) -> None:
        parent_id = parent_id or None
        if parent_id == (self._text_key if kind == _TEXT else self._reasoning_key):
            out += _TEXT_DELTA_HEAD
            encode_into(text, out, -1)
            out += self._suffix
            return
        if parent_id is None:
            start: _Part | bytes = _TEXT_START if kind == _TEXT else _REASONING_START
        else:
            start = _TextPart(parent_id) if kind == _TEXT else _ReasoningPart(None, parent_id)
        index = self._start_part(out, start)
        suffix = _delta_suffix(index)
        out += _TEXT_DELTA_HEAD
        encode_into(text, out, -1)
        out += suffix
        self._next_index = index + 1
        self._set_open(kind, parent_id, suffix)

    def _write_closed_part(self, out: bytearray, part: _Part) -> None:
        """A source or file: a part that starts and finishes at once."""
        index = self._start_part(out, part)
        out += _PART_FINISH_HEAD
        out += _delta_suffix(index)
        self._next_index = index + 1
        self._set_open(None, None, b"")

    def _settle(self, out: bytearray, tool: ToolCall, rest: str) -> None:
        rest = tool.final_args(rest)
        if rest:
            out += _TEXT_DELTA_HEAD
            encode_into(rest, out, -1)
            out += tool.head
        out += _ARGS_FINISH_HEAD
        out += tool.head
        out += _PART_FINISH_HEAD
        out += tool.head
        self._tools.settle(tool)

    # One writer per chunk kind (the table follows them). Each changes state
    # only after its frames are written (EncoderBase).

    def _text_delta(self, out: bytearray, chunk: TextDeltaChunk) -> None:
        self._write_delta(out, _TEXT, chunk.text_delta, chunk.parent_id)

    def _reasoning_delta(self, out: bytearray, chunk: ReasoningDeltaChunk) -> None:
        self._write_delta(out, _REASONING, chunk.reasoning_delta, chunk.parent_id)

    def _reasoning_part_start(self, out: bytearray, chunk: ReasoningPartStartChunk) -> None:
        if chunk.unstable_summary is None:
            return  # as upstream: the next reasoning delta opens the part
        parent_id = parent_or_none(chunk.parent_id)
        index = self._start_part(out, _ReasoningPart(chunk.unstable_summary, parent_id))
        self._next_index = index + 1
        self._set_open(_REASONING, parent_id, _delta_suffix(index))

    def _tool_call_begin(self, out: bytearray, chunk: ToolCallBeginChunk) -> None:
        self._tools.check_new(chunk.tool_call_id)
        start: _Part | bytes
        if chunk.parent_id:
            start = _ToolCallPart(chunk.tool_call_id, chunk.tool_name, chunk.parent_id)
        else:
            start = _TOOL_START % (json_encode(chunk.tool_call_id), json_encode(chunk.tool_name))
        index = self._start_part(out, start)
        self._tools.add(chunk.tool_call_id, chunk.tool_name, index, _delta_suffix(index))
        self._next_index = index + 1
        self._set_open(None, None, b"")

    def _tool_call_delta(self, out: bytearray, chunk: ToolCallDeltaChunk) -> None:
        tool = self._tools.get(chunk.type, chunk.tool_call_id)
        if not tool.settled:  # as upstream: args text after the call settled is dropped
            out += _TEXT_DELTA_HEAD
            encode_into(chunk.args_text_delta, out, -1)
            out += tool.head
            self._tools.record_args(tool, chunk.args_text_delta)

    def _tool_call_args_finish(self, out: bytearray, chunk: ToolCallArgsTextFinishChunk) -> None:
        tool = self._tools.get(chunk.type, chunk.tool_call_id)
        if not tool.settled:
            self._settle(out, tool, chunk.args_text_delta)

    def _tool_result(self, out: bytearray, chunk: ToolResultChunk) -> None:
        tool = self._tools.get(chunk.type, chunk.tool_call_id)
        if resumed(tool):
            return
        if chunk.artifact is None and (chunk.is_error is False or chunk.is_error is True):
            out += _RESULT_HEAD
            encode_into(chunk.result, out, -1)
            out += _IS_ERROR[chunk.is_error]
            out += tool.head
        else:
            artifact = msgspec.UNSET if chunk.artifact is None else chunk.artifact
            self._sse(out, _Result(chunk.result, chunk.is_error, artifact, (tool.index,)))
        if not tool.settled:
            self._settle(out, tool, "")

    def _update_state(self, out: bytearray, chunk: UpdateStateChunk) -> None:
        out += _STATE_HEAD
        encode_into(chunk.operations, out, -1)
        out += _FRAME_END

    def _step_start(self, out: bytearray, chunk: StepStartChunk) -> None:
        out += _STEP_START_HEAD
        encode_into(chunk.message_id, out, -1)
        out += _FRAME_END

    def _step_finish(self, out: bytearray, chunk: StepFinishChunk) -> None:
        usage = _Usage(chunk.input_tokens, chunk.output_tokens)
        self._sse(out, _StepFinishFrame(chunk.finish_reason, usage, chunk.is_continued))

    def _message_finish(self, out: bytearray, chunk: MessageFinishChunk) -> None:
        usage = _Usage(chunk.input_tokens, chunk.output_tokens)
        self._sse(out, _MessageFinishFrame(chunk.finish_reason, usage))

    def _error(self, out: bytearray, chunk: ErrorChunk) -> None:
        self._sse(out, _Error(chunk.error))

    def _data(self, out: bytearray, chunk: DataChunk) -> None:
        self._sse(out, _Data([chunk.data]))

    def _annotations(self, out: bytearray, chunk: AnnotationsChunk) -> None:
        self._sse(out, _Annotations(chunk.annotations))

    def _source(self, out: bytearray, chunk: SourceChunk) -> None:
        parent_id = parent_or_none(chunk.parent_id)
        part = _SourcePart(chunk.source_type, chunk.id, chunk.url, chunk.title, parent_id)
        self._write_closed_part(out, part)

    def _file(self, out: bytearray, chunk: FileChunk) -> None:
        part = _FilePart(chunk.data, chunk.mime_type, parent_or_none(chunk.parent_id))
        self._write_closed_part(out, part)

    def _client_turn(self, out: bytearray, chunk: Chunk) -> None:
        note_client_turn(self._tools, chunk)  # checked against the ledger; no frame

    def _annotated(self, out: bytearray, chunk: Any) -> None:
        # No frame of its own: one annotation holding the AI SDK chunk.
        self._sse(out, _Annotations([checked_annotation(chunk, self._tools)]))

    _writers: ClassVar[Writers] = {
        TextDeltaChunk: _text_delta,
        ReasoningDeltaChunk: _reasoning_delta,
        ReasoningPartStartChunk: _reasoning_part_start,
        ToolCallBeginChunk: _tool_call_begin,
        ToolCallDeltaChunk: _tool_call_delta,
        ToolCallArgsTextFinishChunk: _tool_call_args_finish,
        ToolResultChunk: _tool_result,
        UpdateStateChunk: _update_state,
        StepStartChunk: _step_start,
        StepFinishChunk: _step_finish,
        MessageFinishChunk: _message_finish,
        ErrorChunk: _error,
        DataChunk: _data,
        AnnotationsChunk: _annotations,
        SourceChunk: _source,
        FileChunk: _file,
        **dict.fromkeys(CLIENT_TURN_CHUNKS, _client_turn),
        **dict.fromkeys(ANNOTATED, _annotated),
    }


# --- decoding ---------------------------------------------------------------

_FRAMES: Final = wire_types(_Frame)
_FRAME_DECODER: Final[msgspec.json.Decoder[Any]] = msgspec.json.Decoder(union(_FRAMES.values()))


class _DecodedPart(NamedTuple):
    kind: type[_PartBase]
    parent_id: str | None
    tool_call_id: str | None


class AssistantTransportDecoder(SSEDecoder):
    """Decodes Assistant Transport SSE bytes into chunks.

    ``feed`` accepts bytes split anywhere; ``max_event_bytes`` bounds one
    event (16 MiB by default). Malformed input raises :class:`ProtocolError`
    naming the problem and its byte offset. :doc:`/protocols/assistant-transport`
    lists what is malformed and what comes back.
    """

    __slots__ = ("_parts",)

    _IGNORE_AFTER_DONE = True
    _UNTERMINATED = None  # what is left is after [DONE] (ignored) or means there was none
    _UNFINISHED = "stream ended without the data: [DONE] marker"

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_event_bytes)
        self._parts: list[_DecodedPart] = []

    def _decode_event(self, event: SSEEvent, out: list[Chunk]) -> None:
        text = event.data
        try:
            frame = _FRAME_DECODER.decode(text)
        except msgspec.DecodeError as exc:
            raise self._explain(text, exc) from None
        if type(frame) is _TextDelta:
            part = self._part(frame.path)
            if part.kind is _TextPart:
                out.append(TextDeltaChunk(frame.text_delta, part.parent_id))
            elif part.kind is _ReasoningPart:
                out.append(ReasoningDeltaChunk(frame.text_delta, part.parent_id))
            elif part.tool_call_id is not None:
                out.append(ToolCallDeltaChunk(part.tool_call_id, frame.text_delta))
            else:
                kind = part.kind.__struct_config__.tag
                raise ProtocolError(f"text-delta for a {kind} part")
        elif type(frame) is _PartStart:
            out.extend(self._start(frame.part))
        elif type(frame) is _PartFinish:
            self._part(frame.path)
        elif type(frame) is _ArgsFinish:
            part = self._part(frame.path)
            if part.tool_call_id is None:
                raise ProtocolError("tool-call-args-text-finish for a non-tool part")
            out.append(ToolCallArgsTextFinishChunk(part.tool_call_id))
        elif type(frame) is _Result:
            part = self._part(frame.path)
            if part.tool_call_id is None:
                raise ProtocolError("result for a non-tool part")
            result = None if frame.result is msgspec.UNSET else frame.result
            artifact = None if frame.artifact is msgspec.UNSET else frame.artifact
            is_error = frame.is_error is True
            out.append(ToolResultChunk(part.tool_call_id, result, artifact, is_error))
        elif type(frame) is _Data:
            out.extend(DataChunk(item) for item in frame.data)
        elif type(frame) is _Annotations:
            out.append(from_annotations(frame.annotations) or AnnotationsChunk(frame.annotations))
        elif type(frame) in (_StepStartFrame, _StepFinishFrame, _MessageFinishFrame):
            out.append(frame.chunk())
        elif type(frame) is _Error:
            # The TS client accepts any value here; keep strings, describe the rest.
            error = frame.error
            if error is msgspec.UNSET:
                error = ""
            out.append(
                ErrorChunk(error if isinstance(error, str) else msgspec.json.encode(error).decode())
            )
        else:
            assert type(frame) is _UpdateState
            out.append(UpdateStateChunk(decode_operations(frame.operations, "update-state")))

    def _explain(self, text: str, exc: msgspec.DecodeError) -> ProtocolError:
        """Name the problem: not JSON, not an object (both raised), unknown type, or bad fields."""
        kind = decode_object(text, "frame").get("type")
        if not isinstance(kind, str) or kind not in _FRAMES:
            return ProtocolError(f"unknown frame type {kind!r}")
        return ProtocolError(f"invalid {kind} frame: {exc}")

    def _part(self, path: tuple[int, ...]) -> _DecodedPart:
        if len(path) != 1 or not 0 <= path[0] < len(self._parts):
            raise ProtocolError(f"path {list(path)} names no part")
        return self._parts[path[0]]

    def _start(self, part: _Part) -> list[Chunk]:
        parent_id = parent_or_none(part.parent_id)
        call_id = part.tool_call_id if type(part) is _ToolCallPart else None
        self._parts.append(_DecodedPart(type(part), parent_id, call_id))
        if isinstance(part, _TextPart) or (
            isinstance(part, _ReasoningPart) and part.unstable_summary is None
        ):
            return []  # text, or reasoning without a summary: nothing until the first delta
        return [part.chunk()]
