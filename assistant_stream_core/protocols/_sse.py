"""Incremental Server-Sent Events parsing, and the skeleton of the SSE decoders.

The parsing rules are the TS client's: docs/protocols/index.rst lists them.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

from ..chunks import Chunk
from ..errors import ProtocolError
from ..limits import MAX_JSON_DEPTH, TOO_DEEP, check_frame_depth
from ._lines import LineSplitter

__all__ = ["SSEDecoder", "SSEEvent", "SSEParser"]


class SSEEvent(NamedTuple):
    """One dispatched event."""

    offset: int  #: stream offset of the event's first line
    event: str  #: the event name (``"message"`` when none was given)
    data: str  #: the ``data:`` lines joined with ``\n``
    id: str | None  #: the last ``id:`` value seen in the event, if any


class SSEParser:
    """Turns bytes into :class:`SSEEvent` values, bounding the event size."""

    __slots__ = ("_data", "_event", "_id", "_lines", "_max_event_bytes", "_start")

    def __init__(self, max_event_bytes: int) -> None:
        self._lines = LineSplitter(max_event_bytes)
        self._max_event_bytes = max_event_bytes
        self._reset()

    def _reset(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._start: int | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        """Return the events completed by ``data``."""
        events: list[SSEEvent] = []
        for offset, line in self._lines.feed(data):
            if not line:
                if self._data:
                    assert self._start is not None
                    events.append(
                        SSEEvent(
                            self._start, self._event or "message", "\n".join(self._data), self._id
                        )
                    )
                self._reset()
                continue
            if self._start is not None:
                # Every byte read since the event began counts, whatever the
                # lines hold: millions of empty "data:" lines or comments must
                # not slip past the bound. (The current line counts in
                # characters, never more than its bytes; the splitter bounds
                # it in bytes.)
                if offset - self._start + len(line) > self._max_event_bytes:
                    self._lines.failed = True
                    raise ProtocolError(
                        f"event longer than the limit of {self._max_event_bytes} bytes",
                        offset=self._start,
                    )
            elif line[0] != ":":
                self._start = offset
            if line[0] == ":":
                continue
            field, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if field == "data":
                self._data.append(value)
            elif field == "event":
                self._event = value
            elif field == "id" and "\0" not in value:
                self._id = value
            # "retry" and unknown fields are ignored, as the spec says.
        return events

    def finish(self) -> bool:
        """End of input. Return ``True`` if an unterminated event was dropped."""
        rest = self._lines.finish()
        pending = bool(self._data) or self._start is not None
        self._reset()
        return pending or (rest is not None and rest[1] != "")


class SSEDecoder:
    """The ``feed``/``finish`` skeleton the SSE protocol decoders share.

    A subclass decodes one event in :meth:`_decode_event` and sets the class
    attributes below for what its protocol does differently. Any
    :class:`ProtocolError`, from the parser or the subclass, leaves the decoder
    failed: every later call raises. One that ``_decode_event`` raises without
    an offset gets the event's.
    """

    __slots__ = ("_done", "_failed", "_sse")

    #: The SSE event names accepted; ``None`` accepts any.
    _EVENT_NAMES: ClassVar[frozenset[str] | None] = frozenset({"message"})
    #: ``data: [DONE]`` ends the stream. If ``False``, the subclass sets
    #: ``_done`` itself and its hook sees (and judges) every event.
    _DONE_MARKER: ClassVar[bool] = True
    #: Input after ``[DONE]`` is ignored rather than an error.
    _IGNORE_AFTER_DONE: ClassVar[bool] = False
    #: The error for an unterminated event at the end; ``None``: not checked.
    _UNTERMINATED: ClassVar[str | None] = "stream ended inside an unterminated event"
    #: The error for a stream that ends before it is done.
    _UNFINISHED: ClassVar[str] = "stream ended without data: [DONE]"

    def __init__(self, max_event_bytes: int) -> None:
        self._sse = SSEParser(max_event_bytes)
        self._done = False
        self._failed = False

    def feed(self, data: bytes) -> list[Chunk]:
        """Accept the next bytes (split anywhere); return the chunks completed."""
        if self._failed:
            raise ProtocolError("decoder already failed; start a new one")
        if self._done and self._IGNORE_AFTER_DONE:
            return []  # not even parsed: nothing after [DONE] can fail the stream
        out: list[Chunk] = []
        names = self._EVENT_NAMES
        marker = self._DONE_MARKER
        offset: int | None = None  # the event being read
        try:
            for event in self._sse.feed(data):
                offset = event.offset
                if self._done and marker:
                    if self._IGNORE_AFTER_DONE:
                        break
                    raise ProtocolError("data after [DONE]")
                if names is not None and event.event not in names:
                    raise ProtocolError(f"unknown SSE event type {event.event[:40]!r}")
                if marker and event.data == "[DONE]":
                    self._done = True
                    self._at_done(out)
                else:
                    text = event.data
                    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:  # else not too deep
                        check_frame_depth(text, offset)
                    self._decode_event(event, out)
        except ProtocolError as exc:
            self._failed = True
            if exc.offset is None and offset is not None:
                raise ProtocolError(exc.reason, offset=offset) from None
            raise
        except RecursionError:
            # Only on a caller's own deep stack: a frame's depth is counted
            # above, and JSON inside a string is counted where a subclass
            # decodes it (an AG-UI tool result).
            self._failed = True
            raise ProtocolError(TOO_DEEP) from None
        return out

    def finish(self) -> list[Chunk]:
        """End of input. Raises :class:`ProtocolError` unless the stream ended cleanly."""
        if self._failed:
            raise ProtocolError("decoder already failed; start a new one")
        try:
            if self._UNTERMINATED is not None and self._sse.finish():
                raise ProtocolError(self._UNTERMINATED)
            if not self._done:
                raise ProtocolError(self._UNFINISHED)
        except ProtocolError:
            self._failed = True
            raise
        return []

    def _decode_event(self, event: SSEEvent, out: list[Chunk]) -> None:
        """Append the chunks of one event (not ``[DONE]``) to ``out``."""
        raise NotImplementedError

    def _at_done(self, out: list[Chunk]) -> None:
        """Append the chunks ``[DONE]`` implies: none unless overridden."""
