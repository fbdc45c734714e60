"""assistant-ui Data Stream: ``text/plain`` lines of ``<code>:<json>\\n``.

The frames each chunk becomes, the bookkeeping rules and the differences
from upstream are on its page, docs/protocols/data-stream.rst.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

import msgspec
from msgspec.json import Decoder

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
from ..limits import MAX_JSON_DEPTH, TOO_DEEP, check_frame_depth
from ..tool_calls import ToolCallLedger
from ._annotated import ANNOTATED, checked_annotation, from_annotations
from ._client_turn import CLIENT_TURN_CHUNKS, note_client_turn, resumed
from ._encoder import EncoderBase, Writers, encode_into, json_encode
from ._frames import decode_frame, decode_operations, parent_or_none
from ._lines import LineSplitter
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = ["DataStreamDecoder", "DataStreamEncoder"]

MEDIA_TYPE: Final = "text/plain; charset=utf-8"
HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": MEDIA_TYPE,
    **STREAMING_HEADERS,
    "x-vercel-ai-data-stream": "v1",
}


# --- wire objects (Assistant Transport tags those with a chunk() method) -----


class _Wire(msgspec.Struct, omit_defaults=True, rename="camel"):
    pass


class _PartDelta(_Wire):
    text_delta: str
    parent_id: str | None = None


class _ReasoningDelta(_Wire):
    reasoning_delta: str
    parent_id: str | None = None


class _ReasoningStart(_Wire):
    unstable_summary: str | None = msgspec.field(default=None, name="unstable_summary")
    parent_id: str | None = None

    def chunk(self) -> ReasoningPartStartChunk:
        return ReasoningPartStartChunk(self.unstable_summary, parent_or_none(self.parent_id))


class _ToolBegin(_Wire):
    tool_call_id: str
    tool_name: str
    parent_id: str | None = None

    def chunk(self) -> ToolCallBeginChunk:
        return ToolCallBeginChunk(self.tool_call_id, self.tool_name, parent_or_none(self.parent_id))


class _ToolDelta(_Wire):
    tool_call_id: str
    args_text_delta: str
    is_final: bool = False


class _ToolCall(_Wire):
    tool_call_id: str
    tool_name: str
    args: Any


class _ToolResult(_Wire):
    tool_call_id: str
    # UNSET, not None, so that a None result is still written as null.
    result: Any = msgspec.UNSET
    artifact: Any = None
    is_error: bool = False


class _Source(_Wire):
    source_type: str
    id: str
    url: str
    title: str | None = None
    parent_id: str | None = None

    def chunk(self) -> SourceChunk:
        parent_id = parent_or_none(self.parent_id)
        return SourceChunk(self.id, self.url, self.source_type, self.title, parent_id)


class _File(_Wire):
    data: str
    mime_type: str
    parent_id: str | None = None

    def chunk(self) -> FileChunk:
        return FileChunk(self.data, self.mime_type, parent_or_none(self.parent_id))


class _Usage(msgspec.Struct, rename="camel"):
    input_tokens: int = 0
    output_tokens: int = 0


class _StepStart(_Wire):
    message_id: str

    def chunk(self) -> StepStartChunk:
        return StepStartChunk(self.message_id)


class _StepFinish(msgspec.Struct, rename="camel"):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)
    is_continued: bool = False

    def chunk(self) -> StepFinishChunk:
        usage, reason = self.usage, self.finish_reason
        return StepFinishChunk(reason, usage.input_tokens, usage.output_tokens, self.is_continued)


class _MessageFinish(msgspec.Struct, rename="camel"):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)

    def chunk(self) -> MessageFinishChunk:
        usage = self.usage
        return MessageFinishChunk(self.finish_reason, usage.input_tokens, usage.output_tokens)


class _NamedData(_Wire):
    name: str
    data: Any = None
    parent_id: str | None = None

    def chunk(self) -> DataChunk:
        return DataChunk({"name": self.name, "data": self.data})


# The head of a tool call's args lines, up to its delta: prebuilt per call, so
# that an args line costs one ``encode_into`` (each costs more than the bytes).
_DELTA_HEAD: Final = b'c:{"toolCallId":%b,"argsTextDelta":'


class DataStreamEncoder(EncoderBase):
    """Encodes chunks as assistant-ui Data Stream lines. One per response.

    >>> from assistant_stream_core.chunks import TextDeltaChunk
    >>> from assistant_stream_core.protocols.data_stream import DataStreamEncoder
    >>> encoder = DataStreamEncoder()
    >>> encoder.encode(TextDeltaChunk("Hello"))
    b'0:"Hello"\\n'
    >>> encoder.finish()
    b''
    """

    media_type: str = MEDIA_TYPE
    headers: Mapping[str, str] = HEADERS
    #: A blank line: the TS decoder skips it. Adapters send it only when asked.
    keepalive: bytes | None = b"\n"
    frame_end = b"\n"

    __slots__ = ("_tools",)

    def __init__(self) -> None:
        # EncoderBase.__init__'s one store written here: an encoder is made
        # per response, and on one agent turn the super() call shows.
        self._open_writers = self._writers
        self._tools = ToolCallLedger()

    def _close(self, out: bytearray) -> None:
        # No end marker (the stream ends at end of body): only the final args
        # line of every call still open.
        if self._tools.open:
            self._close_tools_before(out, None)

    # One writer per chunk kind (the table follows them). Frames are written
    # before state changes (see EncoderBase). The common lines are written
    # inline (prefix, one ``encode_into`` per value, suffix), with the same
    # bytes as their wire struct: no struct and no helper call per chunk (on
    # one agent turn per response, a Python call costs about as much as the
    # line it would write). A tool call is looked up with one ``dict.get`` on
    # the ledger's ``calls``; ``get`` is called only to raise for an unknown id.

    def _text_delta(self, out: bytearray, chunk: TextDeltaChunk) -> None:
        if chunk.parent_id:
            self._line(out, b"aui-text-delta:", _PartDelta(chunk.text_delta, chunk.parent_id))
        else:
            out += b"0:"
            encode_into(chunk.text_delta, out, -1)
            out += b"\n"

    def _reasoning_delta(self, out: bytearray, chunk: ReasoningDeltaChunk) -> None:
        if chunk.parent_id:
            wire = _ReasoningDelta(chunk.reasoning_delta, chunk.parent_id)
            self._line(out, b"aui-reasoning-delta:", wire)
        else:
            out += b"g:"
            encode_into(chunk.reasoning_delta, out, -1)
            out += b"\n"

    def _reasoning_part_start(self, out: bytearray, chunk: ReasoningPartStartChunk) -> None:
        if chunk.unstable_summary is not None:  # else the next delta opens the part
            wire = _ReasoningStart(chunk.unstable_summary, parent_or_none(chunk.parent_id))
            self._line(out, b"aui-reasoning-part-start:", wire)

    def _tool_call_begin(self, out: bytearray, chunk: ToolCallBeginChunk) -> None:
        id_json = json_encode(chunk.tool_call_id)
        if chunk.parent_id:
            wire = _ToolBegin(chunk.tool_call_id, chunk.tool_name, chunk.parent_id)
            self._line(out, b"b:", wire)
        else:
            out += b'b:{"toolCallId":%b,"toolName":' % id_json  # what _ToolBegin writes
            encode_into(chunk.tool_name, out, -1)
            out += b"}\n"
        # Raises for an id that already began, before recording it: the base
        # then drops the line above.
        self._tools.add(chunk.tool_call_id, chunk.tool_name, 0, _DELTA_HEAD % id_json)

    def _tool_call_delta(self, out: bytearray, chunk: ToolCallDeltaChunk) -> None:
        tools = self._tools
        tool = tools.calls.get(chunk.tool_call_id) or tools.get(chunk.type, chunk.tool_call_id)
        if not tool.settled:  # upstream drops args text after the call settled
            out += tool.head
            encode_into(chunk.args_text_delta, out, -1)
            out += b"}\n"
            if chunk.args_text_delta:  # what record_args records: this ledger keeps no text
                tool.has_args = True

    def _tool_call_args_finish(self, out: bytearray, chunk: ToolCallArgsTextFinishChunk) -> None:
        tool = self._tools.get(chunk.type, chunk.tool_call_id)
        if not tool.settled:
            rest = tool.final_args(chunk.args_text_delta)
            self._line(out, b"c:", _ToolDelta(chunk.tool_call_id, rest, True))
            self._tools.settle(tool)

    def _tool_result(self, out: bytearray, chunk: ToolResultChunk) -> None:
        tools = self._tools
        tool = tools.calls.get(chunk.tool_call_id) or tools.get(chunk.type, chunk.tool_call_id)
        if tool.resumed and resumed(tool):
            return
        if chunk.artifact is None and chunk.is_error is False:
            out += b'a:{"toolCallId":'  # what _ToolResult writes
            encode_into(chunk.tool_call_id, out, -1)
            out += b',"result":'
            encode_into(chunk.result, out, -1)
            out += b"}\n"
        else:
            wire = _ToolResult(chunk.tool_call_id, chunk.result, chunk.artifact, chunk.is_error)
            self._line(out, b"a:", wire)
        if not tool.settled:
            tools.settle(tool)  # a result settles the call without an isFinal line

    def _update_state(self, out: bytearray, chunk: UpdateStateChunk) -> None:
        out += b"aui-state:"
        encode_into(chunk.operations, out, -1)
        out += b"\n"

    def _step_start(self, out: bytearray, chunk: StepStartChunk) -> None:
        out += b'f:{"messageId":'  # what _StepStart writes
        encode_into(chunk.message_id, out, -1)
        out += b"}\n"

    def _step_finish(self, out: bytearray, chunk: StepFinishChunk) -> None:
        if self._tools.open:
            usage = _Usage(chunk.input_tokens, chunk.output_tokens)
            wire = _StepFinish(chunk.finish_reason, usage, chunk.is_continued)
            self._close_tools_before(out, b"e:", wire)
            return
        out += b'e:{"finishReason":'  # what _StepFinish writes
        encode_into(chunk.finish_reason, out, -1)
        out += b',"usage":{"inputTokens":'
        encode_into(chunk.input_tokens, out, -1)
        out += b',"outputTokens":'
        encode_into(chunk.output_tokens, out, -1)
        if chunk.is_continued is False:
            out += b'},"isContinued":false}\n'
        else:
            out += b'},"isContinued":'
            encode_into(chunk.is_continued, out, -1)
            out += b"}\n"

    def _message_finish(self, out: bytearray, chunk: MessageFinishChunk) -> None:
        usage = _Usage(chunk.input_tokens, chunk.output_tokens)
        self._close_tools_before(out, b"d:", _MessageFinish(chunk.finish_reason, usage))

    def _error(self, out: bytearray, chunk: ErrorChunk) -> None:
        self._close_tools_before(out, b"3:", chunk.error)

    def _data(self, out: bytearray, chunk: DataChunk) -> None:
        self._line(out, b"2:", (chunk.data,))

    def _annotations(self, out: bytearray, chunk: AnnotationsChunk) -> None:
        self._line(out, b"8:", chunk.annotations)

    def _source(self, out: bytearray, chunk: SourceChunk) -> None:
        parent_id = parent_or_none(chunk.parent_id)
        wire = _Source(chunk.source_type, chunk.id, chunk.url, chunk.title, parent_id)
        self._line(out, b"h:", wire)

    def _file(self, out: bytearray, chunk: FileChunk) -> None:
        self._line(out, b"k:", _File(chunk.data, chunk.mime_type, parent_or_none(chunk.parent_id)))

    def _client_turn(self, out: bytearray, chunk: Chunk) -> None:
        note_client_turn(self._tools, chunk)  # checked against the ledger; no frame

    def _annotated(self, out: bytearray, chunk: Any) -> None:
        # No frame of its own: one annotation holding the AI SDK chunk.
        self._line(out, b"8:", (checked_annotation(chunk, self._tools),))

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

    def _close_tools_before(self, out: bytearray, code: bytes | None, payload: Any = None) -> None:
        """Write the final args line of every open call, then ``payload``'s line (if ``code``)."""
        unsettled = self._tools.unsettled()
        for tool in unsettled:
            self._line(out, b"c:", _ToolDelta(tool.tool_call_id, tool.final_args(""), True))
        if code is not None:
            self._line(out, code, payload)
        for tool in unsettled:
            self._tools.settle(tool)


# --- decoding ---------------------------------------------------------------

_STRING = Decoder(str)
_LIST = Decoder(list[Any])
_OPERATIONS = Decoder(list[dict[str, Any]])
_DECODERS: Final[dict[str, Decoder[Any]]] = {
    "aui-text-delta": Decoder(_PartDelta),
    "aui-reasoning-delta": Decoder(_ReasoningDelta),
    "aui-reasoning-part-start": Decoder(_ReasoningStart),
    "b": Decoder(_ToolBegin),
    "c": Decoder(_ToolDelta),
    "9": Decoder(_ToolCall),
    "a": Decoder(_ToolResult),
    "h": Decoder(_Source),
    "k": Decoder(_File),
    "f": Decoder(_StepStart),
    "e": Decoder(_StepFinish),
    "d": Decoder(_MessageFinish),
    "aui-data": Decoder(_NamedData),
}
_IGNORED_CODES: Final = frozenset({"i", "j"})  # redacted reasoning, signatures: no chunk


class DataStreamDecoder:
    """Decodes assistant-ui Data Stream bytes into chunks.

    ``feed`` accepts bytes split anywhere; ``max_line_bytes`` bounds the
    memory one line may take (16 MiB by default). Malformed input raises
    :class:`ProtocolError` naming the problem and its byte offset; the decoder
    is then unusable. Blank lines (keepalives) are skipped; codes ``i`` and
    ``j`` are ignored, as the TS client does. :doc:`/protocols/data-stream`
    says what comes back.
    """

    __slots__ = ("_lines",)

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._lines = LineSplitter(max_line_bytes)

    def feed(self, data: bytes) -> list[Chunk]:
        """Accept the next bytes; return the chunks of every line they complete."""
        chunks: list[Chunk] = []
        for offset, line in self._lines.feed(data):
            self._decode_line(offset, line, chunks)
        return chunks

    def finish(self) -> list[Chunk]:
        """End of input. Raises :class:`ProtocolError` on an unterminated last line."""
        rest = self._lines.finish()
        if rest is not None and rest[1].strip():
            self._lines.failed = True
            preview = rest[1][:40]
            raise ProtocolError(
                f"stream ended with an incomplete line: {preview!r}", offset=rest[0]
            )
        return []

    def _decode_line(self, offset: int, line: str, out: list[Chunk]) -> None:
        try:
            if line.count("[") + line.count("{") > MAX_JSON_DEPTH:  # else it cannot be too deep
                check_frame_depth(line, offset)
            self._decode_line_unchecked(offset, line, out)
        except ProtocolError:
            self._lines.failed = True
            raise
        except RecursionError:  # a deep stack of the caller's own
            self._lines.failed = True
            raise ProtocolError(TOO_DEEP, offset=offset) from None

    def _decode_line_unchecked(self, offset: int, line: str, out: list[Chunk]) -> None:
        code, sep, payload = line.partition(":")
        if not sep:
            if line.strip():
                raise ProtocolError(f"line without a ':' separator: {line[:40]!r}", offset=offset)
            return  # a blank line: keepalive
        at = offset + len(code.encode()) + 1
        if code == "0":
            out.append(TextDeltaChunk(decode_frame(_STRING, payload, "0: text", at)))
        elif code == "g":
            out.append(ReasoningDeltaChunk(decode_frame(_STRING, payload, "g: reasoning", at)))
        elif code == "3":
            out.append(ErrorChunk(decode_frame(_STRING, payload, "3: error", at)))
        elif code == "2":
            out.extend(DataChunk(item) for item in decode_frame(_LIST, payload, "2: data", at))
        elif code == "8":
            annotations = decode_frame(_LIST, payload, "8: annotations", at)
            out.append(from_annotations(annotations) or AnnotationsChunk(annotations))
        elif code == "aui-state":
            raw = decode_frame(_OPERATIONS, payload, "aui-state", at)
            out.append(UpdateStateChunk(decode_operations(raw, "aui-state", at)))
        elif code in _DECODERS:
            wire = decode_frame(_DECODERS[code], payload, f"{code}: frame", at)
            out.extend(_from_wire(wire))
        elif code not in _IGNORED_CODES:
            raise ProtocolError(f"unknown line code {code[:40]!r}", offset=offset)


def _from_wire(wire: Any) -> list[Chunk]:
    if type(wire) is _PartDelta:
        return [TextDeltaChunk(wire.text_delta, parent_or_none(wire.parent_id))]
    if type(wire) is _ReasoningDelta:
        return [ReasoningDeltaChunk(wire.reasoning_delta, parent_or_none(wire.parent_id))]
    if type(wire) is _ToolDelta:
        if wire.is_final:
            return [ToolCallArgsTextFinishChunk(wire.tool_call_id, wire.args_text_delta)]
        return [ToolCallDeltaChunk(wire.tool_call_id, wire.args_text_delta)]
    if type(wire) is _ToolCall:
        args = msgspec.json.encode(wire.args).decode()
        return [
            ToolCallBeginChunk(wire.tool_call_id, wire.tool_name),
            ToolCallDeltaChunk(wire.tool_call_id, args),
            ToolCallArgsTextFinishChunk(wire.tool_call_id),
        ]
    if type(wire) is _ToolResult:
        result = None if wire.result is msgspec.UNSET else wire.result
        return [ToolResultChunk(wire.tool_call_id, result, wire.artifact, wire.is_error)]
    return [wire.chunk()]  # the objects Assistant Transport shares
