"""Incremental Server-Sent Events parsing shared by the SSE decoders.

Follows the WHATWG event-stream rules as the TS client implements them: an
empty line dispatches the pending event; an event without any ``data:`` line is
not dispatched; several ``data:`` lines join with ``\\n``; one space after the
colon is stripped; lines starting with ``:`` are comments; an unterminated
event at the end of input is dropped (its presence is reported by
:meth:`SSEParser.finish`).
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import ProtocolError
from ._lines import LineSplitter

__all__ = ["SSEEvent", "SSEParser"]


class SSEEvent(NamedTuple):
    """One dispatched event."""

    offset: int  #: stream offset of the event's first line
    event: str  #: the event name (``"message"`` when none was given)
    data: str  #: the ``data:`` lines joined with ``\n``
    id: str | None  #: the last ``id:`` value seen in the event, if any


class SSEParser:
    """Turns bytes into :class:`SSEEvent` values, bounding the event size."""

    __slots__ = ("_data", "_data_size", "_event", "_id", "_lines", "_max_event_bytes", "_start")

    def __init__(self, max_event_bytes: int) -> None:
        self._lines = LineSplitter(max_event_bytes)
        self._max_event_bytes = max_event_bytes
        self._reset()

    def _reset(self) -> None:
        self._data: list[str] = []
        self._data_size = 0
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
            if line[0] == ":":
                continue
            if self._start is None:
                self._start = offset
            field, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if field == "data":
                self._data_size += len(value) + 1
                if self._data_size > self._max_event_bytes:
                    self._lines.failed = True
                    raise ProtocolError(
                        f"event longer than the limit of {self._max_event_bytes} bytes",
                        offset=self._start,
                    )
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
