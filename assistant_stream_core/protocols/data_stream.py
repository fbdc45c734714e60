"""assistant-ui Data Stream: ``text/plain`` lines of ``<code>:<json>\\n``.

The format descends from the Vercel AI SDK 4 data stream; assistant-ui adds
usage fields and the ``aui-*`` codes. Frames, per chunk:

=============================== ===============================================
Chunk                           Line
=============================== ===============================================
text delta                      ``0:"text"``, or ``aui-text-delta:{textDelta,
                                parentId}`` with a parent
reasoning delta                 ``g:"text"``, or ``aui-reasoning-delta:
                                {reasoningDelta, parentId}`` with a parent
reasoning part start            ``aui-reasoning-part-start:{unstable_summary,
                                parentId?}``, only when a summary is set
tool call begin                 ``b:{toolCallId, toolName, parentId?}``
tool call args delta            ``c:{toolCallId, argsTextDelta}``
tool call args finish           ``c:{toolCallId, argsTextDelta, isFinal: true}``
tool result                     ``a:{toolCallId, result, artifact?, isError?}``
data                            ``2:[value]``
error                           ``3:"message"``
annotations                     ``8:[...]``
source                          ``h:{sourceType, id, url, title?, parentId?}``
file                            ``k:{data, mimeType, parentId?}``
step start / step finish        ``f:{messageId}`` / ``e:{finishReason, usage,
                                isContinued}``
message finish                  ``d:{finishReason, usage}``
update state                    ``aui-state:[operations]``
=============================== ===============================================

Tool-call bookkeeping follows upstream ``assistant-stream``: a call is *open*
from its begin until its args finish or its result. The args-finish frame
carries the finish chunk's trailing text, or ``"{}"`` if the call never got
any args text, so the client always parses an object. A result settles the
call without an ``isFinal`` frame (both clients accept that). Before a step
finish, a message finish, an error and at the end of the stream every call
still open gets its final frame.

Where this encoder differs from upstream's (each listed in the migration
notes): JSON is compact UTF-8 (msgspec), not ``json.dumps`` spacing; the
``x-vercel-ai-data-stream: v1`` header is sent; files keep their
``parentId``; an empty ``parent_id`` means no parent; a tool call id that was
never begun, or begun twice, raises :class:`ChunkEncodeError` instead of
writing a frame the strict client rejects; non-finite floats are written as
``null``.

The stream has no end marker: it ends at end of body. :meth:`DataStreamDecoder.finish`
only rejects an unterminated last line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

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
from ..errors import ChunkEncodeError, ProtocolError
from ..limits import MAX_JSON_DEPTH, TOO_DEEP, check_frame_depth
from ._frames import (
    decode_frame,
    decode_operations,
    encode_alone,
    encode_error,
    json_encoder,
    parent_or_none,
    split_frames,
    typed_decoder,
)
from ._lines import LineSplitter
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = ["DataStreamDecoder", "DataStreamEncoder", "normalize"]

MEDIA_TYPE: Final = "text/plain; charset=utf-8"
HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": MEDIA_TYPE,
    **STREAMING_HEADERS,
    "x-vercel-ai-data-stream": "v1",
}


# --- wire objects -----------------------------------------------------------


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


class _ToolBegin(_Wire):
    tool_call_id: str
    tool_name: str
    parent_id: str | None = None


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


class _File(_Wire):
    data: str
    mime_type: str
    parent_id: str | None = None


class _Usage(msgspec.Struct, rename="camel"):
    input_tokens: int = 0
    output_tokens: int = 0


class _StepStart(_Wire):
    message_id: str


class _StepFinish(msgspec.Struct, rename="camel"):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)
    is_continued: bool = False


class _MessageFinish(msgspec.Struct, rename="camel"):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)


class _NamedData(_Wire):
    name: str
    data: Any = None
    parent_id: str | None = None


# Tool call states in the encoder.
_OPEN_EMPTY: Final = 0  # begun, no args text yet
_OPEN: Final = 1  # begun, some args text sent
_SETTLED: Final = 2  # args finished or result sent

# The end of encode_many's input: a sentinel, since any other value (even
# None) is an item that must fail as "not a chunk".
_END: Final[Any] = object()

# The head of a tool call's args lines, up to its delta: see _Tool.
_DELTA_HEAD: Final = b'c:{"toolCallId":%b,"argsTextDelta":'
# A tool call begin line without a parent, around its id.
_BEGIN_HEAD: Final = b'b:{"toolCallId":'
_BEGIN_NAME: Final = b',"toolName":'
# A result line without artifact or error flag, as _ToolResult writes it.
_RESULT_HEAD: Final = b'a:{"toolCallId":%b,"result":'
_RESULT_LINE: Final = _RESULT_HEAD + b"%b}\n"


class _Tool(msgspec.Struct, gc=False):
    """One tool call of the stream: its state and the prebuilt head of its args lines.

    A Struct, not a class with ``__init__``: built in C, once per call.
    """

    # b'c:{"toolCallId":<id>,"argsTextDelta":', the bytes _ToolDelta would
    # start with: a delta line then costs one encode of its text.
    delta_head: bytes
    # The call's id as JSON, for the head of its result line.
    id_json: bytes
    state: int = _OPEN_EMPTY


class DataStreamEncoder:
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

    __slots__ = ("_dumps", "_json", "_open_tools", "_tools")

    def __init__(self) -> None:
        self._json = json_encoder()
        self._dumps = self._json.encode
        self._tools: dict[str, _Tool] = {}
        # The ids still open, in begin order: closing them must not scan every call.
        self._open_tools: dict[str, None] = {}

    def encode(self, chunk: Chunk) -> bytes:
        """Return the lines for one chunk (``b""`` for a chunk with no line)."""
        # Hot path for callers that encode chunk by chunk: one formatting call
        # instead of a batch buffer.
        try:
            if type(chunk) is TextDeltaChunk and not chunk.parent_id:
                return b"0:%b\n" % self._dumps(chunk.text_delta)
            if type(chunk) is ReasoningDeltaChunk and not chunk.parent_id:
                return b"g:%b\n" % self._dumps(chunk.reasoning_delta)
        except (TypeError, ValueError, OverflowError):
            pass  # encode_alone raises the error that names the chunk and field
        frames = self.encode_frames(chunk)
        return frames if isinstance(frames, bytes) else b"".join(frames)

    def encode_frames(self, chunk: Chunk) -> bytes | list[bytes]:
        """Return the lines for one chunk, one item per line.

        A single line is returned as ``bytes`` itself, without a list around
        it: APIs that hand out one line at a time (upstream's
        ``encode_stream``) then pay nothing for the common case. Zero lines or
        several come back as a list.
        """
        # The kinds a run writes most, each formatted as its one line without
        # a batch buffer. Any failure falls through to the general path, which
        # raises the error that names the chunk and field: so nothing here
        # changes the encoder's state before its line is complete.
        dumps = self._dumps
        try:
            if type(chunk) is TextDeltaChunk:
                if not chunk.parent_id:
                    return b"0:%b\n" % dumps(chunk.text_delta)
            elif type(chunk) is ToolCallDeltaChunk:
                tool = self._tools.get(chunk.tool_call_id)
                if tool is not None and tool.state != _SETTLED:
                    line = b"%b%b}\n" % (tool.delta_head, dumps(chunk.args_text_delta))
                    if chunk.args_text_delta:
                        tool.state = _OPEN
                    return line
            elif type(chunk) is ReasoningDeltaChunk:
                if not chunk.parent_id:
                    return b"g:%b\n" % dumps(chunk.reasoning_delta)
            elif type(chunk) is ToolCallBeginChunk:
                tool_call_id = chunk.tool_call_id
                if not chunk.parent_id and tool_call_id not in self._tools:
                    # What _ToolBegin encodes to, with the id encoded once for
                    # both this line and the call's args head.
                    id_json = dumps(tool_call_id)
                    line = b'b:{"toolCallId":%b,"toolName":%b}\n' % (
                        id_json,
                        dumps(chunk.tool_name),
                    )
                    self._tools[tool_call_id] = _Tool(_DELTA_HEAD % id_json, id_json)
                    self._open_tools[tool_call_id] = None
                    return line
            elif type(chunk) is ToolResultChunk:
                tool = self._tools.get(chunk.tool_call_id)
                if tool is not None:
                    if chunk.artifact is None and chunk.is_error is False:
                        line = _RESULT_LINE % (tool.id_json, dumps(chunk.result))
                    else:
                        wire = _ToolResult(
                            chunk.tool_call_id, chunk.result, chunk.artifact, chunk.is_error
                        )
                        line = b"a:%b\n" % dumps(wire)
                    tool.state = _SETTLED
                    self._open_tools.pop(chunk.tool_call_id, None)
                    return line
            elif type(chunk) is UpdateStateChunk:
                return b"aui-state:%b\n" % dumps(chunk.operations)
            elif type(chunk) is StepStartChunk:
                return b"f:%b\n" % dumps(_StepStart(chunk.message_id))
            elif type(chunk) is StepFinishChunk and not self._open_tools:
                usage = _Usage(chunk.input_tokens, chunk.output_tokens)
                wire_finish = _StepFinish(chunk.finish_reason, usage, chunk.is_continued)
                return b"e:%b\n" % dumps(wire_finish)
        except (TypeError, ValueError, OverflowError):
            pass  # encode_alone raises the error that names the chunk and field
        # Only closing open tool calls (before an error or a finish) puts a
        # second line in front of a chunk's own: no need to split otherwise.
        closes_tools = bool(self._open_tools)
        data = encode_alone(self._write, chunk)
        if data and not closes_tools:
            return data
        return split_frames(data, b"\n")

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        """Return the lines for several chunks as one buffer.

        Raises :class:`ChunkEncodeError` for a chunk that cannot be encoded;
        its ``partial`` holds the lines of the chunks before it.
        """
        buffer = bytearray()
        encode_into = self._json.encode_into
        write = self._write
        dumps = self._dumps
        tools = self._tools
        tools_get = tools.get
        open_tools = self._open_tools
        it = iter(chunks)
        chunk: Chunk = next(it, _END)
        try:
            while chunk is not _END:
                # Hot paths, inlined: runs of text or reasoning deltas without a
                # parent. Each line's newline goes out with the next line's
                # code, one append fewer per line; and no frame start is
                # recorded (a failure finds it from the last newline instead).
                if type(chunk) is TextDeltaChunk and not chunk.parent_id:
                    buffer += b"0:"
                    encode_into(chunk.text_delta, buffer, -1)
                    for chunk in it:
                        if type(chunk) is not TextDeltaChunk or chunk.parent_id:
                            break
                        buffer += b"\n0:"
                        encode_into(chunk.text_delta, buffer, -1)
                    else:
                        chunk = _END
                    buffer += b"\n"
                elif type(chunk) is ReasoningDeltaChunk and not chunk.parent_id:
                    buffer += b"g:"
                    encode_into(chunk.reasoning_delta, buffer, -1)
                    for chunk in it:
                        if type(chunk) is not ReasoningDeltaChunk or chunk.parent_id:
                            break
                        buffer += b"\ng:"
                        encode_into(chunk.reasoning_delta, buffer, -1)
                    else:
                        chunk = _END
                    buffer += b"\n"
                else:
                    if type(chunk) is ToolCallDeltaChunk:
                        # A run of args text of one open call, inlined: the
                        # next most frequent lines of a run. As above, each
                        # line's end goes out with the next line's head.
                        tool = tools_get(chunk.tool_call_id)
                        if tool is not None and tool.state != _SETTLED:
                            tool_call_id = chunk.tool_call_id
                            head = tool.delta_head
                            buffer += head
                            encode_into(chunk.args_text_delta, buffer, -1)
                            if chunk.args_text_delta:
                                tool.state = _OPEN
                            empty = tool.state == _OPEN_EMPTY
                            end_and_head = b"}\n" + head
                            for chunk in it:
                                if (
                                    type(chunk) is not ToolCallDeltaChunk
                                    or chunk.tool_call_id != tool_call_id
                                ):
                                    break
                                buffer += end_and_head
                                encode_into(chunk.args_text_delta, buffer, -1)
                                if empty and chunk.args_text_delta:
                                    tool.state = _OPEN
                                    empty = False
                            else:
                                chunk = _END
                            buffer += b"}\n"
                            continue
                    elif type(chunk) is StepStartChunk:
                        buffer += b'f:{"messageId":'
                        encode_into(chunk.message_id, buffer, -1)
                        buffer += b"}\n"
                        chunk = next(it, _END)
                        continue
                    elif type(chunk) is UpdateStateChunk:
                        buffer += b"aui-state:"
                        encode_into(chunk.operations, buffer, -1)
                        buffer += b"\n"
                        chunk = next(it, _END)
                        continue
                    elif type(chunk) is ToolResultChunk:
                        tool = tools_get(chunk.tool_call_id)
                        if tool is not None and chunk.artifact is None and chunk.is_error is False:
                            buffer += _RESULT_HEAD % tool.id_json
                            encode_into(chunk.result, buffer, -1)
                            buffer += b"}\n"
                            tool.state = _SETTLED
                            open_tools.pop(chunk.tool_call_id, None)
                            chunk = next(it, _END)
                            continue
                    elif type(chunk) is StepFinishChunk and not open_tools:
                        buffer += b"e:"
                        usage = _Usage(chunk.input_tokens, chunk.output_tokens)
                        encode_into(
                            _StepFinish(chunk.finish_reason, usage, chunk.is_continued), buffer, -1
                        )
                        buffer += b"\n"
                        chunk = next(it, _END)
                        continue
                    elif (
                        type(chunk) is ToolCallBeginChunk
                        and not chunk.parent_id
                        and chunk.tool_call_id not in tools
                    ):
                        # The id is encoded once, for this line and the call's
                        # args head; the line is what _ToolBegin writes.
                        id_json = dumps(chunk.tool_call_id)
                        buffer += _BEGIN_HEAD
                        buffer += id_json
                        buffer += _BEGIN_NAME
                        encode_into(chunk.tool_name, buffer, -1)
                        buffer += b"}\n"
                        tools[chunk.tool_call_id] = _Tool(_DELTA_HEAD % id_json, id_json)
                        open_tools[chunk.tool_call_id] = None
                        chunk = next(it, _END)
                        continue
                    write(buffer, chunk)
                    chunk = next(it, _END)
        except ChunkEncodeError as exc:
            exc.partial = bytes(buffer)  # raised before any byte of the chunk's line
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            # JSON never holds a raw newline, and a failure always comes in the
            # last line: the lines up to the last newline are whole. (Lines
            # that closed open tool calls before a failed finish stay: those
            # calls are settled.)
            del buffer[buffer.rfind(b"\n") + 1 :]
            raise encode_error(chunk, exc, bytes(buffer)) from exc
        return bytes(buffer)

    def finish(self) -> bytes:
        """Return the final args frames for tool calls still open."""
        buffer = bytearray()
        self._close_open_tools(buffer)
        return bytes(buffer)

    # One branch per chunk kind, JSON written straight into the buffer: the
    # general path, which encode_frames falls back to. encode_many writes the
    # common cases of the kinds a run writes most itself (deltas, steps, state,
    # begins and results), so from there only the rare ones reach here.
    def _write(self, out: bytearray, chunk: Chunk) -> None:
        encode_into = self._json.encode_into
        if type(chunk) is ToolCallBeginChunk:
            if chunk.tool_call_id in self._tools:
                raise ChunkEncodeError(
                    f"cannot encode tool-call-begin chunk: tool_call_id "
                    f"{chunk.tool_call_id!r} was already used in this stream"
                )
            # The id is encoded once, for this line and the call's args head.
            id_json = self._dumps(chunk.tool_call_id)
            if chunk.parent_id:
                out += b"b:"
                encode_into(
                    _ToolBegin(chunk.tool_call_id, chunk.tool_name, chunk.parent_id), out, -1
                )
            else:
                out += b'b:{"toolCallId":%b,"toolName":' % id_json  # what _ToolBegin writes
                encode_into(chunk.tool_name, out, -1)
                out += b"}"
            self._tools[chunk.tool_call_id] = _Tool(_DELTA_HEAD % id_json, id_json)
            self._open_tools[chunk.tool_call_id] = None
        elif type(chunk) is ToolResultChunk:
            tool = self._tools.get(chunk.tool_call_id)
            if tool is None:
                raise _unknown_tool(chunk, chunk.tool_call_id)
            if chunk.artifact is None and chunk.is_error is False:
                out += _RESULT_HEAD % tool.id_json  # what _ToolResult writes up to the result
                encode_into(chunk.result, out, -1)
                out += b"}"
            else:
                out += b"a:"
                encode_into(
                    _ToolResult(chunk.tool_call_id, chunk.result, chunk.artifact, chunk.is_error),
                    out,
                    -1,
                )
            tool.state = _SETTLED
            self._open_tools.pop(chunk.tool_call_id, None)
        elif type(chunk) is UpdateStateChunk:
            out += b"aui-state:"
            encode_into(chunk.operations, out, -1)
        elif type(chunk) is StepStartChunk:
            out += b'f:{"messageId":'  # what _StepStart writes
            encode_into(chunk.message_id, out, -1)
            out += b"}"
        elif type(chunk) is StepFinishChunk:
            if self._open_tools:
                self._close_open_tools(out)
            out += b"e:"
            usage = _Usage(chunk.input_tokens, chunk.output_tokens)
            encode_into(_StepFinish(chunk.finish_reason, usage, chunk.is_continued), out, -1)
        elif type(chunk) is ToolCallDeltaChunk:
            tool = self._tools.get(chunk.tool_call_id)
            if tool is None:
                raise _unknown_tool(chunk, chunk.tool_call_id)
            if tool.state == _SETTLED:
                return  # upstream drops args text after the call settled
            # The line's head is constant per call: only the delta is encoded.
            out += tool.delta_head
            encode_into(chunk.args_text_delta, out, -1)
            out += b"}"
            if chunk.args_text_delta:
                tool.state = _OPEN
        elif type(chunk) is TextDeltaChunk:
            if chunk.parent_id:
                out += b"aui-text-delta:"
                encode_into(_PartDelta(chunk.text_delta, chunk.parent_id), out, -1)
            else:
                out += b"0:"
                encode_into(chunk.text_delta, out, -1)
        elif type(chunk) is ReasoningDeltaChunk:
            if chunk.parent_id:
                out += b"aui-reasoning-delta:"
                encode_into(_ReasoningDelta(chunk.reasoning_delta, chunk.parent_id), out, -1)
            else:
                out += b"g:"
                encode_into(chunk.reasoning_delta, out, -1)
        elif type(chunk) is ToolCallArgsTextFinishChunk:
            tool = self._tools.get(chunk.tool_call_id)
            if tool is None:
                raise _unknown_tool(chunk, chunk.tool_call_id)
            if tool.state == _SETTLED:
                return
            self._write_final_args(out, chunk.tool_call_id, tool, chunk.args_text_delta)
            return  # _write_final_args ends its own line
        elif type(chunk) is DataChunk:
            out += b"2:"
            encode_into((chunk.data,), out, -1)
        elif type(chunk) is ErrorChunk:
            self._close_open_tools(out)
            out += b"3:"
            encode_into(chunk.error, out, -1)
        elif type(chunk) is ReasoningPartStartChunk:
            if chunk.unstable_summary is None:
                return  # nothing to say: the next reasoning delta opens the part
            out += b"aui-reasoning-part-start:"
            wire_start = _ReasoningStart(chunk.unstable_summary, parent_or_none(chunk.parent_id))
            encode_into(wire_start, out, -1)
        elif type(chunk) is SourceChunk:
            out += b"h:"
            wire_source = _Source(
                chunk.source_type, chunk.id, chunk.url, chunk.title, parent_or_none(chunk.parent_id)
            )
            encode_into(wire_source, out, -1)
        elif type(chunk) is FileChunk:
            out += b"k:"
            encode_into(
                _File(chunk.data, chunk.mime_type, parent_or_none(chunk.parent_id)), out, -1
            )
        elif type(chunk) is AnnotationsChunk:
            out += b"8:"
            encode_into(chunk.annotations, out, -1)
        elif type(chunk) is MessageFinishChunk:
            self._close_open_tools(out)
            out += b"d:"
            usage = _Usage(chunk.input_tokens, chunk.output_tokens)
            encode_into(_MessageFinish(chunk.finish_reason, usage), out, -1)
        else:
            raise ChunkEncodeError(f"cannot encode {type(chunk).__name__!s}: not a chunk")
        out += b"\n"

    def _write_final_args(self, out: bytearray, tool_call_id: str, tool: _Tool, rest: str) -> None:
        if not rest and tool.state == _OPEN_EMPTY:
            rest = "{}"  # the client parses args text as JSON: send an empty object
        out += b"c:"
        self._json.encode_into(_ToolDelta(tool_call_id, rest, True), out, -1)
        out += b"\n"
        tool.state = _SETTLED
        self._open_tools.pop(tool_call_id, None)

    def _close_open_tools(self, out: bytearray) -> None:
        for tool_call_id in list(self._open_tools):
            self._write_final_args(out, tool_call_id, self._tools[tool_call_id], "")


def _unknown_tool(chunk: Chunk, tool_call_id: str) -> ChunkEncodeError:
    return ChunkEncodeError(
        f"cannot encode {chunk.type} chunk: unknown tool_call_id {tool_call_id!r} "
        "(no tool-call-begin for it in this stream)"
    )


# --- decoding ---------------------------------------------------------------

_STRING = typed_decoder(str)
_LIST = typed_decoder(list[Any])
_OPERATIONS = typed_decoder(list[dict[str, Any]])
_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "aui-text-delta": typed_decoder(_PartDelta),
    "aui-reasoning-delta": typed_decoder(_ReasoningDelta),
    "aui-reasoning-part-start": typed_decoder(_ReasoningStart),
    "b": typed_decoder(_ToolBegin),
    "c": typed_decoder(_ToolDelta),
    "9": typed_decoder(_ToolCall),
    "a": typed_decoder(_ToolResult),
    "h": typed_decoder(_Source),
    "k": typed_decoder(_File),
    "f": typed_decoder(_StepStart),
    "e": typed_decoder(_StepFinish),
    "d": typed_decoder(_MessageFinish),
    "aui-data": typed_decoder(_NamedData),
}
_IGNORED_CODES: Final = frozenset({"i", "j"})  # redacted reasoning, signatures: no chunk


class DataStreamDecoder:
    """Decodes assistant-ui Data Stream bytes into chunks.

    ``feed`` accepts bytes split anywhere; ``max_line_bytes`` bounds the
    memory one line may take (16 MiB by default). Malformed input raises
    :class:`ProtocolError` naming the problem and its byte offset; the decoder
    is then unusable. Blank lines (keepalives) are skipped; codes ``i`` and
    ``j`` are ignored, as the TS client does.

    Decoding gives back what :func:`normalize` says, with two more mappings
    for frames this library never writes: ``9:`` (a complete tool call)
    becomes begin, args delta and args finish; ``aui-data`` (a named data part)
    becomes ``DataChunk({"name": ..., "data": ...})``.
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
            out.append(AnnotationsChunk(decode_frame(_LIST, payload, "8: annotations", at)))
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
    if type(wire) is _ReasoningStart:
        return [ReasoningPartStartChunk(wire.unstable_summary, parent_or_none(wire.parent_id))]
    if type(wire) is _ToolBegin:
        return [
            ToolCallBeginChunk(wire.tool_call_id, wire.tool_name, parent_or_none(wire.parent_id))
        ]
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
    if type(wire) is _Source:
        parent = parent_or_none(wire.parent_id)
        return [SourceChunk(wire.id, wire.url, wire.source_type, wire.title, parent)]
    if type(wire) is _File:
        return [FileChunk(wire.data, wire.mime_type, parent_or_none(wire.parent_id))]
    if type(wire) is _StepStart:
        return [StepStartChunk(wire.message_id)]
    if type(wire) is _StepFinish:
        usage = wire.usage
        return [
            StepFinishChunk(
                wire.finish_reason, usage.input_tokens, usage.output_tokens, wire.is_continued
            )
        ]
    if type(wire) is _MessageFinish:
        return [
            MessageFinishChunk(
                wire.finish_reason, wire.usage.input_tokens, wire.usage.output_tokens
            )
        ]
    assert type(wire) is _NamedData
    return [DataChunk({"name": wire.name, "data": wire.data})]


def normalize(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    The Data Stream keeps every chunk except where it says less:

    * an empty ``parent_id`` becomes ``None``;
    * a reasoning part start without a summary has no frame and disappears;
    * args text after a tool call settled is dropped;
    * a tool call's args finish appears once, as its final frame: carrying
      ``"{}"`` if the call had no args text; not at all if a result settled
      the call first; and it is added before a step finish, a message
      finish, an error and at the end for every call still open.

    Assumes ``chunks`` encode without error (valid tool call ids).
    """
    out: list[Chunk] = []
    tools: dict[str, int] = {}

    def close_open() -> None:
        for tool_call_id, state in tools.items():
            if state != _SETTLED:
                out.append(ToolCallArgsTextFinishChunk(tool_call_id, "{}" if state == 0 else ""))
                tools[tool_call_id] = _SETTLED

    for chunk in chunks:
        if isinstance(chunk, TextDeltaChunk | ReasoningDeltaChunk | ToolCallBeginChunk):
            if chunk.parent_id == "":
                chunk = msgspec.structs.replace(chunk, parent_id=None)
            if isinstance(chunk, ToolCallBeginChunk):
                tools[chunk.tool_call_id] = _OPEN_EMPTY
        elif isinstance(chunk, SourceChunk | FileChunk) and chunk.parent_id == "":
            chunk = msgspec.structs.replace(chunk, parent_id=None)
        elif isinstance(chunk, ReasoningPartStartChunk):
            if chunk.unstable_summary is None:
                continue
            if chunk.parent_id == "":
                chunk = msgspec.structs.replace(chunk, parent_id=None)
        elif isinstance(chunk, ToolCallDeltaChunk):
            state = tools[chunk.tool_call_id]
            if state == _SETTLED:
                continue
            if chunk.args_text_delta:
                tools[chunk.tool_call_id] = _OPEN
        elif isinstance(chunk, ToolCallArgsTextFinishChunk):
            state = tools[chunk.tool_call_id]
            if state == _SETTLED:
                continue
            rest = chunk.args_text_delta or ("{}" if state == _OPEN_EMPTY else "")
            chunk = ToolCallArgsTextFinishChunk(chunk.tool_call_id, rest)
            tools[chunk.tool_call_id] = _SETTLED
        elif isinstance(chunk, ToolResultChunk):
            tools[chunk.tool_call_id] = _SETTLED
        elif isinstance(chunk, StepFinishChunk | MessageFinishChunk | ErrorChunk):
            close_open()
        out.append(chunk)
    close_open()
    return out
