"""Incremental line splitting shared by the decoders.

Lines end at ``\\n``, ``\\r`` or ``\\r\\n`` (as in the TS client's line and SSE
decoders), also when a ``\\r\\n`` pair is split across two ``feed`` calls.
U+2028, U+2029 and U+0085 are ordinary characters. Input may be split inside a
UTF-8 sequence: bytes are split first and each complete line is decoded.
"""

from __future__ import annotations

import re

from ..errors import ProtocolError

__all__ = ["LineSplitter"]

_EOL = re.compile(rb"\r\n?|\n")


class LineSplitter:
    """Splits a byte stream into decoded lines, with a bound on line length."""

    __slots__ = ("_buffer", "_buffer_offset", "_max_line_bytes", "_skip_lf", "failed")

    def __init__(self, max_line_bytes: int) -> None:
        self._buffer = b""
        self._buffer_offset = 0  # stream offset of _buffer[0]
        self._max_line_bytes = max_line_bytes
        self._skip_lf = False  # the last feed ended with "\r"; drop a leading "\n"
        self.failed = False

    def feed(self, data: bytes) -> list[tuple[int, str]]:
        """Return ``(offset, line)`` for every line completed by ``data``.

        ``offset`` is the stream position of the line's first byte; lines
        exclude their terminator.
        """
        if self.failed:
            raise ProtocolError("decoder already failed; start a new one")
        if self._skip_lf and data:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
                self._buffer_offset += 1
        buffer = self._buffer + data if self._buffer else bytes(data)
        lines: list[tuple[int, str]] = []
        start = 0
        for match in _EOL.finditer(buffer):
            lines.append(self._decode(buffer[start : match.start()], self._buffer_offset + start))
            start = match.end()
            if match.end() == len(buffer) and match.group() == b"\r":
                self._skip_lf = True
        rest = buffer[start:]
        self._buffer_offset += start
        if len(rest) > self._max_line_bytes:
            self.failed = True
            raise ProtocolError(
                f"line longer than the limit of {self._max_line_bytes} bytes",
                offset=self._buffer_offset,
            )
        self._buffer = rest
        return lines

    def finish(self) -> tuple[int, str] | None:
        """Return the unterminated last line, if any bytes remain."""
        if self.failed:
            raise ProtocolError("decoder already failed; start a new one")
        if not self._buffer:
            return None
        rest, self._buffer = self._buffer, b""
        return self._decode(rest, self._buffer_offset)

    def _decode(self, line: bytes, offset: int) -> tuple[int, str]:
        if len(line) > self._max_line_bytes:
            self.failed = True
            raise ProtocolError(
                f"line longer than the limit of {self._max_line_bytes} bytes", offset=offset
            )
        try:
            return offset, line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.failed = True
            raise ProtocolError(
                f"invalid UTF-8 ({exc.reason})", offset=offset + exc.start
            ) from None
