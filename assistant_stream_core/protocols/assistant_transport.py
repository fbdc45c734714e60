"""assistant-ui Assistant Transport: SSE frames ``data: <json>\\n\\n``, then ``data: [DONE]``.

Each frame is one chunk of the TS client's ``AssistantStreamChunk`` model, not
our flat chunk: the encoder assigns part indices and opens and closes parts.

* Text and reasoning deltas extend the open text/reasoning part while kind
  and ``parent_id`` stay the same; otherwise the open part gets
  ``part-finish`` and a ``part-start`` (path ``[]``) opens the next, at the
  next index. A tool call begin, source, file or summarised reasoning part
  start also closes it; data, annotations, steps, errors, state and results
  do not.
* Tool calls keep their own index, so parallel calls interleave. Args deltas
  are ``text-delta`` frames at the call's path. The call *settles* at its args
  finish or its result, whichever comes first: ``text-delta`` with the
  finish's trailing text (or ``"{}"`` if no args text was ever sent),
  ``tool-call-args-text-finish``, ``part-finish``. A result is written before
  those frames; a result for a settled call is written alone.
* Message-level frames (``data`` with the value wrapped in a list,
  ``annotations``, ``step-start``, ``step-finish``, ``message-finish``,
  ``error``, ``update-state``) carry no path.
* :meth:`AssistantTransportEncoder.finish` closes the open part, settles every
  unsettled call (in begin order) and writes ``data: [DONE]``.

Differences from upstream ``assistant-stream`` (listed in the migration
notes): compact UTF-8 JSON; ``Cache-Control``/``X-Accel-Buffering`` headers;
an empty ``parent_id`` means no parent; a tool call id begun twice, or used
without a begin, raises :class:`ChunkEncodeError` (upstream dropped the
second begin and wrote orphan results at path ``[]``, which the client
drops); non-finite floats are written as ``null``.
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
from ._frames import decode_operations, encode_error, json_encoder, split_frames
from ._sse import SSEParser
from .base import DEFAULT_MAX_LINE_BYTES, STREAMING_HEADERS

__all__ = ["AssistantTransportDecoder", "AssistantTransportEncoder", "normalize"]

MEDIA_TYPE: Final = "text/event-stream"
HEADERS: Final[Mapping[str, str]] = {"Content-Type": MEDIA_TYPE, **STREAMING_HEADERS}
DONE: Final = b"data: [DONE]\n\n"


# --- wire objects (field order is upstream's key order) ---------------------


class _Frame(msgspec.Struct, omit_defaults=True, rename="camel", tag_field="type"):
    pass


class _TextPart(msgspec.Struct, omit_defaults=True, rename="camel", tag="text", tag_field="type"):
    parent_id: str | None = None


class _ReasoningPart(
    msgspec.Struct, omit_defaults=True, rename="camel", tag="reasoning", tag_field="type"
):
    unstable_summary: str | None = msgspec.field(default=None, name="unstable_summary")
    parent_id: str | None = None


class _ToolCallPart(
    msgspec.Struct, omit_defaults=True, rename="camel", tag="tool-call", tag_field="type"
):
    tool_call_id: str
    tool_name: str
    parent_id: str | None = None


class _SourcePart(
    msgspec.Struct, omit_defaults=True, rename="camel", tag="source", tag_field="type"
):
    source_type: str
    id: str
    url: str
    title: str | None = None
    parent_id: str | None = None


class _FilePart(msgspec.Struct, omit_defaults=True, rename="camel", tag="file", tag_field="type"):
    data: str
    mime_type: str
    parent_id: str | None = None


class _DataPart(msgspec.Struct, omit_defaults=True, rename="camel", tag="data", tag_field="type"):
    name: str
    data: Any = None
    parent_id: str | None = None


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


class _StepStart(_Frame, tag="step-start"):
    message_id: str


class _Usage(msgspec.Struct, rename="camel"):
    input_tokens: int = 0
    output_tokens: int = 0


class _StepFinish(_Frame, tag="step-finish", omit_defaults=False):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)
    is_continued: bool = False


class _MessageFinish(_Frame, tag="message-finish", omit_defaults=False):
    finish_reason: str
    usage: _Usage = msgspec.field(default_factory=_Usage)


class _Error(_Frame, tag="error"):
    error: Any = msgspec.UNSET


class _UpdateState(_Frame, tag="update-state"):
    operations: list[dict[str, Any]]


_AnyFrame = (
    _PartStart
    | _TextDelta
    | _Result
    | _ArgsFinish
    | _PartFinish
    | _Data
    | _Annotations
    | _StepStart
    | _StepFinish
    | _MessageFinish
    | _Error
    | _UpdateState
)


def _parent(parent_id: str | None) -> str | None:
    return parent_id or None


class _Tool:
    __slots__ = ("has_args", "index", "settled", "suffix")

    def __init__(self, index: int) -> None:
        self.index = index
        self.has_args = False
        self.settled = False
        # The tail of this call's args text-delta frames (see _delta_suffix).
        self.suffix = _delta_suffix(index)


_TEXT_DELTA_HEAD: Final = b'data: {"type":"text-delta","textDelta":'
_TEXT: Final = 0
_REASONING: Final = 1
# The parent key of a kind of part that is not open: equal to no parent_id.
_CLOSED: Final = object()


def _delta_suffix(index: int) -> bytes:
    """The bytes after the text in a ``text-delta`` frame at path ``[index]``.

    With :data:`_TEXT_DELTA_HEAD` they are exactly what encoding
    ``_TextDelta(text, (index,))`` writes, so a delta costs one encode of its text.
    """
    return b',"path":[%d]}\n\n' % index


class AssistantTransportEncoder:
    """Encodes chunks as Assistant Transport SSE frames. One per response.

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

    __slots__ = (
        "_dumps",
        "_json",
        "_next_index",
        "_open",
        "_reasoning_key",
        "_text_key",
        "_text_suffix",
        "_tools",
    )

    def __init__(self) -> None:
        self._json = json_encoder()
        self._dumps = self._json.encode
        self._next_index = 0
        # The open text/reasoning part: (kind, parent_id, index), or None.
        self._open: tuple[int, str | None, int] | None = None
        # The same, for the hot path's single comparison: the open text
        # (reasoning) part's parent_id, or _CLOSED when none is open.
        self._text_key: object = _CLOSED
        self._reasoning_key: object = _CLOSED
        # Prebuilt frame tail for deltas of the open part: ',"path":[i]}\n\n'.
        self._text_suffix = b""
        self._tools: dict[str, _Tool] = {}

    def encode(self, chunk: Chunk) -> bytes:
        """Return the frames for one chunk (possibly ``b""``)."""
        # Hot path for callers that encode chunk by chunk (``encode_stream``):
        # a delta into the open part is one formatting call, no batch buffer.
        try:
            if type(chunk) is TextDeltaChunk and (chunk.parent_id or None) == self._text_key:
                text = self._dumps(chunk.text_delta)
                return b"%b%b%b" % (_TEXT_DELTA_HEAD, text, self._text_suffix)
            if (
                type(chunk) is ReasoningDeltaChunk
                and (chunk.parent_id or None) == self._reasoning_key
            ):
                text = self._dumps(chunk.reasoning_delta)
                return b"%b%b%b" % (_TEXT_DELTA_HEAD, text, self._text_suffix)
        except (TypeError, ValueError, OverflowError):
            pass  # _encode_one raises the error that names the chunk and field
        return self._encode_one(chunk)

    def encode_frames(self, chunk: Chunk) -> bytes | list[bytes]:
        """Return the frames for one chunk, one item per SSE event.

        A single frame is returned as ``bytes`` itself, without a list around
        it: APIs that hand out one frame at a time (upstream's
        ``encode_stream``) then pay nothing for the common case. Zero frames
        or several come back as a list.
        """
        try:
            if type(chunk) is TextDeltaChunk and (chunk.parent_id or None) == self._text_key:
                text = self._dumps(chunk.text_delta)
                return b"%b%b%b" % (_TEXT_DELTA_HEAD, text, self._text_suffix)
            if (
                type(chunk) is ReasoningDeltaChunk
                and (chunk.parent_id or None) == self._reasoning_key
            ):
                text = self._dumps(chunk.reasoning_delta)
                return b"%b%b%b" % (_TEXT_DELTA_HEAD, text, self._text_suffix)
            if type(chunk) is ToolCallDeltaChunk:
                tool = self._tools.get(chunk.tool_call_id)
                if tool is not None and not tool.settled:
                    text = self._dumps(chunk.args_text_delta)
                    if chunk.args_text_delta:
                        tool.has_args = True
                    return b"%b%b%b" % (_TEXT_DELTA_HEAD, text, tool.suffix)
        except (TypeError, ValueError, OverflowError):
            pass  # _encode_one raises the error that names the chunk and field
        return split_frames(self._encode_one(chunk), b"\n\n")

    def _encode_one(self, chunk: Chunk) -> bytes:
        """``encode_many((chunk,))`` without the batch loop."""
        buffer = bytearray()
        state = (self._next_index, self._open)
        try:
            self._write(buffer, chunk)
        except ChunkEncodeError as exc:
            self._restore(*state)
            exc.partial = b""
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            self._restore(*state)
            raise encode_error(chunk, exc, b"") from exc
        return bytes(buffer)

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        """Return the frames for several chunks as one buffer.

        Raises :class:`ChunkEncodeError` for a chunk that cannot be encoded;
        its ``partial`` holds the frames of the chunks before it.
        """
        buffer = bytearray()
        encode_into = self._json.encode_into
        write = self._write
        mark = 0
        # The part state before the chunk being written, to undo it on failure
        # (None on the hot paths, which change no state).
        state: tuple[int, tuple[int, str | None, int] | None] | None = None
        chunk: Chunk | None = None
        try:
            for chunk in chunks:
                mark = len(buffer)
                # Hot paths, inlined: a text or reasoning delta that extends
                # the open part of its kind.
                if type(chunk) is TextDeltaChunk and (chunk.parent_id or None) == self._text_key:
                    state = None
                    buffer += _TEXT_DELTA_HEAD
                    encode_into(chunk.text_delta, buffer, -1)
                    buffer += self._text_suffix
                elif (
                    type(chunk) is ReasoningDeltaChunk
                    and (chunk.parent_id or None) == self._reasoning_key
                ):
                    state = None
                    buffer += _TEXT_DELTA_HEAD
                    encode_into(chunk.reasoning_delta, buffer, -1)
                    buffer += self._text_suffix
                else:
                    state = (self._next_index, self._open)
                    write(buffer, chunk)
        except ChunkEncodeError as exc:
            del buffer[mark:]
            if state is not None:
                self._restore(*state)
            exc.partial = bytes(buffer)
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            del buffer[mark:]
            if state is not None:
                self._restore(*state)
            assert chunk is not None
            raise encode_error(chunk, exc, bytes(buffer)) from exc
        return bytes(buffer)

    def _restore(self, next_index: int, open_part: tuple[int, str | None, int] | None) -> None:
        """Undo the part changes of a chunk that failed to encode."""
        self._next_index = next_index
        self._set_open(open_part)

    def _set_open(self, open_part: tuple[int, str | None, int] | None) -> None:
        """Make ``open_part`` the open part, keeping the hot path's keys in step."""
        self._open = open_part
        self._text_key = self._reasoning_key = _CLOSED
        if open_part is None:
            self._text_suffix = b""
            return
        kind, parent_id, index = open_part
        if kind == _TEXT:
            self._text_key = parent_id
        else:
            self._reasoning_key = parent_id
        self._text_suffix = _delta_suffix(index)

    def finish(self) -> bytes:
        """Close the open part, settle every unsettled tool call, write ``[DONE]``."""
        buffer = bytearray()
        self._close_open(buffer)
        for tool in self._tools.values():
            if not tool.settled:
                self._settle(buffer, tool, "")
        buffer += DONE
        return bytes(buffer)

    def _frame(self, out: bytearray, frame: _AnyFrame) -> None:
        out += b"data: "
        self._json.encode_into(frame, out, -1)
        out += b"\n\n"

    def _append_delta(self, out: bytearray, kind: int, text: str, parent_id: str | None) -> None:
        parent_id = parent_id or None
        open_part = self._open
        if open_part is None or open_part[0] != kind or open_part[1] != parent_id:
            self._close_open(out)
            part: _Part = _TextPart(parent_id) if kind == _TEXT else _ReasoningPart(None, parent_id)
            self._open_part(out, kind, parent_id, part)
        # The frame's head and tail are constant for the open part.
        out += _TEXT_DELTA_HEAD
        self._json.encode_into(text, out, -1)
        out += self._text_suffix

    def _open_part(self, out: bytearray, kind: int, parent_id: str | None, part: _Part) -> None:
        index = self._next_index
        self._frame(out, _PartStart(part))
        self._next_index = index + 1
        self._set_open((kind, parent_id, index))

    def _close_open(self, out: bytearray) -> None:
        if self._open is not None:
            self._frame(out, _PartFinish((self._open[2],)))
            self._set_open(None)

    def _new_part(self, out: bytearray, part: _Part) -> int:
        self._close_open(out)
        index = self._next_index
        self._frame(out, _PartStart(part))
        self._next_index = index + 1
        return index

    def _settle(self, out: bytearray, tool: _Tool, rest: str) -> None:
        if not rest and not tool.has_args:
            rest = "{}"  # the client parses args text as JSON: send an empty object
        path = (tool.index,)
        if rest:
            self._frame(out, _TextDelta(rest, path))
        self._frame(out, _ArgsFinish(path))
        self._frame(out, _PartFinish(path))
        tool.settled = True

    def _tool(self, chunk: Chunk, tool_call_id: str) -> _Tool:
        tool = self._tools.get(tool_call_id)
        if tool is None:
            raise ChunkEncodeError(
                f"cannot encode {chunk.type} chunk: unknown tool_call_id {tool_call_id!r} "
                "(no tool-call-begin for it in this stream)"
            )
        return tool

    # One branch per chunk kind; the kinds a run writes most come first.
    def _write(self, out: bytearray, chunk: Chunk) -> None:
        if type(chunk) is ToolCallDeltaChunk:
            tool = self._tool(chunk, chunk.tool_call_id)
            if tool.settled:
                return  # as upstream: args text after the call settled is dropped
            out += _TEXT_DELTA_HEAD
            self._json.encode_into(chunk.args_text_delta, out, -1)
            out += tool.suffix
            if chunk.args_text_delta:
                tool.has_args = True
        elif type(chunk) is TextDeltaChunk:
            self._append_delta(out, _TEXT, chunk.text_delta, chunk.parent_id)
        elif type(chunk) is ReasoningDeltaChunk:
            self._append_delta(out, _REASONING, chunk.reasoning_delta, chunk.parent_id)
        elif type(chunk) is ToolCallBeginChunk:
            if chunk.tool_call_id in self._tools:
                raise ChunkEncodeError(
                    f"cannot encode tool-call-begin chunk: tool_call_id "
                    f"{chunk.tool_call_id!r} was already used in this stream"
                )
            part = _ToolCallPart(chunk.tool_call_id, chunk.tool_name, _parent(chunk.parent_id))
            self._tools[chunk.tool_call_id] = _Tool(self._new_part(out, part))
        elif type(chunk) is ToolResultChunk:
            tool = self._tool(chunk, chunk.tool_call_id)
            artifact = msgspec.UNSET if chunk.artifact is None else chunk.artifact
            self._frame(out, _Result(chunk.result, chunk.is_error, artifact, (tool.index,)))
            if not tool.settled:
                self._settle(out, tool, "")
        elif type(chunk) is UpdateStateChunk:
            out += b'data: {"type":"update-state","operations":'
            self._json.encode_into(chunk.operations, out, -1)
            out += b"}\n\n"
        elif type(chunk) is StepStartChunk:
            self._frame(out, _StepStart(chunk.message_id))
        elif type(chunk) is StepFinishChunk:
            usage = _Usage(chunk.input_tokens, chunk.output_tokens)
            self._frame(out, _StepFinish(chunk.finish_reason, usage, chunk.is_continued))
        elif type(chunk) is ToolCallArgsTextFinishChunk:
            tool = self._tool(chunk, chunk.tool_call_id)
            if not tool.settled:
                self._settle(out, tool, chunk.args_text_delta)
        elif type(chunk) is DataChunk:
            self._frame(out, _Data([chunk.data]))
        elif type(chunk) is ErrorChunk:
            self._frame(out, _Error(chunk.error))
        elif type(chunk) is ReasoningPartStartChunk:
            if chunk.unstable_summary is None:
                return  # as upstream: the next reasoning delta opens the part
            parent_id = _parent(chunk.parent_id)
            self._close_open(out)
            part_r = _ReasoningPart(chunk.unstable_summary, parent_id)
            self._open_part(out, _REASONING, parent_id, part_r)
        elif type(chunk) is SourceChunk:
            source = _SourcePart(
                chunk.source_type, chunk.id, chunk.url, chunk.title, _parent(chunk.parent_id)
            )
            self._frame(out, _PartFinish((self._new_part(out, source),)))
        elif type(chunk) is FileChunk:
            file = _FilePart(chunk.data, chunk.mime_type, _parent(chunk.parent_id))
            self._frame(out, _PartFinish((self._new_part(out, file),)))
        elif type(chunk) is AnnotationsChunk:
            self._frame(out, _Annotations(chunk.annotations))
        elif type(chunk) is MessageFinishChunk:
            usage = _Usage(chunk.input_tokens, chunk.output_tokens)
            self._frame(out, _MessageFinish(chunk.finish_reason, usage))
        else:
            raise ChunkEncodeError(f"cannot encode {type(chunk).__name__!s}: not a chunk")


# --- decoding ---------------------------------------------------------------

_FRAME_DECODER: Final = msgspec.json.Decoder(_AnyFrame)
_OBJECT_DECODER: Final = msgspec.json.Decoder(dict[str, Any])
_KNOWN_TYPES: Final = frozenset(
    {
        "part-start",
        "text-delta",
        "result",
        "tool-call-args-text-finish",
        "part-finish",
        "data",
        "annotations",
        "step-start",
        "step-finish",
        "message-finish",
        "error",
        "update-state",
    }
)


class _DecodedPart:
    __slots__ = ("kind", "parent_id", "tool_call_id")

    def __init__(self, kind: str, parent_id: str | None, tool_call_id: str | None) -> None:
        self.kind = kind
        self.parent_id = parent_id
        self.tool_call_id = tool_call_id


class AssistantTransportDecoder:
    """Decodes Assistant Transport SSE bytes into chunks.

    ``feed`` accepts bytes split anywhere; ``max_event_bytes`` bounds one
    event (16 MiB by default). Malformed input raises :class:`ProtocolError`
    naming the problem and its byte offset: an SSE event name other than
    ``message``, a payload that is not a JSON object of a known ``type``,
    fields of the wrong type, a path that names no part, and a stream that
    ends without ``data: [DONE]``. Bytes after ``[DONE]`` are ignored, as the
    TS client does.

    Decoding gives back what :func:`normalize` says. Frames this library
    never writes map as follows: a named ``data`` part becomes
    ``DataChunk({"name": ..., "data": ...})``; ``part-start`` of a text or
    summary-less reasoning part yields nothing until its first delta.

    Limit: chunks extend only the part that is currently open, so a stream
    whose deltas interleave between several open text or reasoning parts (the
    npm encoder can write one when parts are produced concurrently) decodes
    each delta with its part's kind and parent, but the part boundaries of the
    assembled message can differ from the sender's.
    """

    __slots__ = ("_done", "_failed", "_parts", "_sse")

    def __init__(self, *, max_event_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._sse = SSEParser(max_event_bytes)
        self._parts: list[_DecodedPart] = []
        self._done = False
        self._failed = False

    def feed(self, data: bytes) -> list[Chunk]:
        """Accept the next bytes; return the chunks of every event they complete."""
        if self._failed:
            raise ProtocolError("decoder already failed; start a new one")
        if self._done:
            return []
        chunks: list[Chunk] = []
        try:
            for event in self._sse.feed(data):
                if self._done:
                    break
                if event.event != "message":
                    raise ProtocolError(
                        f"unknown SSE event type {event.event[:40]!r}", offset=event.offset
                    )
                if event.data == "[DONE]":
                    self._done = True
                    break
                self._decode_frame(event.data, event.offset, chunks)
        except ProtocolError:
            self._failed = True
            raise
        return chunks

    def finish(self) -> list[Chunk]:
        """End of input. Raises :class:`ProtocolError` if ``[DONE]`` never came."""
        if self._failed:
            raise ProtocolError("decoder already failed; start a new one")
        if not self._done:
            self._failed = True
            raise ProtocolError("stream ended without the data: [DONE] marker")
        return []

    def _decode_frame(self, text: str, offset: int, out: list[Chunk]) -> None:
        try:
            frame = _FRAME_DECODER.decode(text)
        except msgspec.DecodeError as exc:
            raise ProtocolError(self._explain(text, exc), offset=offset) from None
        if type(frame) is _TextDelta:
            part = self._part(frame.path, offset)
            if part.kind == "text":
                out.append(TextDeltaChunk(frame.text_delta, part.parent_id))
            elif part.kind == "reasoning":
                out.append(ReasoningDeltaChunk(frame.text_delta, part.parent_id))
            elif part.kind == "tool-call":
                assert part.tool_call_id is not None
                out.append(ToolCallDeltaChunk(part.tool_call_id, frame.text_delta))
            else:
                raise ProtocolError(f"text-delta for a {part.kind} part", offset=offset)
        elif type(frame) is _PartStart:
            out.extend(self._start(frame.part))
        elif type(frame) is _PartFinish:
            self._part(frame.path, offset)
        elif type(frame) is _ArgsFinish:
            part = self._part(frame.path, offset)
            if part.tool_call_id is None:
                raise ProtocolError("tool-call-args-text-finish for a non-tool part", offset=offset)
            out.append(ToolCallArgsTextFinishChunk(part.tool_call_id))
        elif type(frame) is _Result:
            part = self._part(frame.path, offset)
            if part.tool_call_id is None:
                raise ProtocolError("result for a non-tool part", offset=offset)
            result = None if frame.result is msgspec.UNSET else frame.result
            artifact = None if frame.artifact is msgspec.UNSET else frame.artifact
            is_error = frame.is_error is True
            out.append(ToolResultChunk(part.tool_call_id, result, artifact, is_error))
        elif type(frame) is _Data:
            out.extend(DataChunk(item) for item in frame.data)
        elif type(frame) is _Annotations:
            out.append(AnnotationsChunk(frame.annotations))
        elif type(frame) is _StepStart:
            out.append(StepStartChunk(frame.message_id))
        elif type(frame) is _StepFinish:
            usage = frame.usage
            out.append(
                StepFinishChunk(
                    frame.finish_reason, usage.input_tokens, usage.output_tokens, frame.is_continued
                )
            )
        elif type(frame) is _MessageFinish:
            usage = frame.usage
            out.append(
                MessageFinishChunk(frame.finish_reason, usage.input_tokens, usage.output_tokens)
            )
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
            out.append(
                UpdateStateChunk(decode_operations(frame.operations, "update-state", offset))
            )

    def _explain(self, text: str, exc: msgspec.DecodeError) -> str:
        """Name the problem: not JSON, not an object, unknown type, or bad fields."""
        try:
            value = _OBJECT_DECODER.decode(text)
        except msgspec.ValidationError:
            return f"frame is not a JSON object: {text[:40]!r}"
        except msgspec.DecodeError as inner:
            return f"frame is not valid JSON ({inner}): {text[:40]!r}"
        kind = value.get("type")
        if kind not in _KNOWN_TYPES:
            return f"unknown frame type {kind!r}"
        return f"invalid {kind} frame: {exc}"

    def _part(self, path: tuple[int, ...], offset: int) -> _DecodedPart:
        if len(path) != 1 or not 0 <= path[0] < len(self._parts):
            raise ProtocolError(f"path {list(path)} names no part", offset=offset)
        return self._parts[path[0]]

    def _start(self, part: _Part) -> list[Chunk]:
        parent_id = _parent(part.parent_id)
        if type(part) is _TextPart:
            self._parts.append(_DecodedPart("text", parent_id, None))
            return []
        if type(part) is _ReasoningPart:
            self._parts.append(_DecodedPart("reasoning", parent_id, None))
            if part.unstable_summary is None:
                return []
            return [ReasoningPartStartChunk(part.unstable_summary, parent_id)]
        if type(part) is _ToolCallPart:
            self._parts.append(_DecodedPart("tool-call", parent_id, part.tool_call_id))
            return [ToolCallBeginChunk(part.tool_call_id, part.tool_name, parent_id)]
        if type(part) is _SourcePart:
            self._parts.append(_DecodedPart("source", parent_id, None))
            return [SourceChunk(part.id, part.url, part.source_type, part.title, parent_id)]
        if type(part) is _FilePart:
            self._parts.append(_DecodedPart("file", parent_id, None))
            return [FileChunk(part.data, part.mime_type, parent_id)]
        assert type(part) is _DataPart
        self._parts.append(_DecodedPart("data", parent_id, None))
        return [DataChunk({"name": part.name, "data": part.data})]


def normalize(chunks: Iterable[Chunk]) -> list[Chunk]:
    """Return what decoding the encoding of ``chunks`` gives back.

    Assistant Transport keeps every chunk, with these exceptions:

    * an empty ``parent_id`` becomes ``None``;
    * a reasoning part start without a summary has no frame and disappears;
    * args text after a tool call settled is dropped;
    * a call settles once, at its args finish or its result (whichever is
      first): the finish's trailing text (or ``"{}"`` if the call had no args
      text) becomes an args delta, followed by an args finish with no text;
      unsettled calls settle at the end, in begin order;
    * a ``None`` artifact is absent, which decodes as ``None``.

    Assumes ``chunks`` encode without error (valid tool call ids).
    """
    out: list[Chunk] = []
    tools: dict[str, list[bool]] = {}  # id -> [has_args, settled]

    def settle(tool_call_id: str, rest: str) -> None:
        state = tools[tool_call_id]
        if not rest and not state[0]:
            rest = "{}"
        if rest:
            out.append(ToolCallDeltaChunk(tool_call_id, rest))
        out.append(ToolCallArgsTextFinishChunk(tool_call_id))
        state[1] = True

    for chunk in chunks:
        if isinstance(chunk, ToolCallArgsTextFinishChunk):
            if not tools[chunk.tool_call_id][1]:
                settle(chunk.tool_call_id, chunk.args_text_delta)
            continue
        if isinstance(chunk, ToolCallDeltaChunk):
            state = tools[chunk.tool_call_id]
            if state[1]:
                continue
            if chunk.args_text_delta:
                state[0] = True
        elif isinstance(chunk, ReasoningPartStartChunk) and chunk.unstable_summary is None:
            continue
        elif (
            isinstance(
                chunk,
                TextDeltaChunk
                | ReasoningDeltaChunk
                | ReasoningPartStartChunk
                | ToolCallBeginChunk
                | SourceChunk
                | FileChunk,
            )
            and chunk.parent_id == ""
        ):
            chunk = msgspec.structs.replace(chunk, parent_id=None)
        out.append(chunk)
        if isinstance(chunk, ToolCallBeginChunk):
            tools[chunk.tool_call_id] = [False, False]
        elif isinstance(chunk, ToolResultChunk) and not tools[chunk.tool_call_id][1]:
            settle(chunk.tool_call_id, "")
    for tool_call_id, state in tools.items():
        if not state[1]:
            settle(tool_call_id, "")
    return out
