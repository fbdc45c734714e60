"""Incremental line splitting shared by the decoders (rules: docs/protocols/index.rst)."""

from __future__ import annotations

from ..errors import ProtocolError

__all__ = ["LineSplitter"]


class LineSplitter:
    """Splits a byte stream into decoded lines, with a bound on line length.

    Linear in the input however it is split: only the new bytes are scanned
    for line ends, and the pieces of an unfinished line are kept in a list and
    joined once, when the line ends (a line fed in many small pieces would
    otherwise be copied and rescanned on every call).
    """

    __slots__ = (
        "_line_start",
        "_max_line_bytes",
        "_pending",
        "_pending_size",
        "_position",
        "_skip_lf",
        "failed",
    )

    def __init__(self, max_line_bytes: int) -> None:
        self._pending: list[bytes] = []  # the pieces of the unfinished line
        self._pending_size = 0
        self._line_start = 0  # stream offset of the unfinished line's first byte
        self._position = 0  # stream offset of the next byte fed
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
        if not data:
            return []
        data = bytes(data)
        base = self._position
        self._position += len(data)
        start = 0
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                start = 1
                self._line_start = base + 1
        cr = data.find(b"\r", start)
        if cr < 0:
            return self._feed_lf(data, start, base)
        lines: list[tuple[int, str]] = []
        # Line ends are found with bytes.find (memchr), not a regex: a regex
        # alternation tries every byte and made a long line cost ~30 ns a byte.
        nl = data.find(b"\n", start)
        while nl >= 0 or cr >= 0:
            if cr < 0 or 0 <= nl < cr:
                end = nl
                after = nl + 1
            else:
                end = cr
                after = cr + 2 if data[cr + 1 : cr + 2] == b"\n" else cr + 1
                cr = data.find(b"\r", after)
            if nl < after:
                nl = data.find(b"\n", after)
            lines.append(self._decode(self._take(data[start:end]), self._line_start))
            start = after
            self._line_start = base + start
        if data[-1:] == b"\r":
            self._skip_lf = True
        if start < len(data):
            self._keep(data[start:] if start else data)
        return lines

    def _feed_lf(self, data: bytes, start: int, base: int) -> list[tuple[int, str]]:
        # The common case, no "\r" at all: bytes.split does the scanning.
        parts = (data[start:] if start else data).split(b"\n")
        rest = parts.pop()
        lines: list[tuple[int, str]] = []
        if parts:
            parts[0] = self._take(parts[0])
            position = self._line_start
            limit = self._max_line_bytes
            try:
                for part in parts:
                    if len(part) > limit:
                        self._decode(part, position)  # raises
                    lines.append((position, part.decode("utf-8")))
                    position += len(part) + 1
            except UnicodeDecodeError:
                self._decode(part, position)  # raises, with the offset
            # The first line may have begun in an earlier feed: count from here.
            self._line_start = base + len(data) - len(rest)
        if rest:
            self._keep(rest)
        return lines

    def _keep(self, piece: bytes) -> None:
        """Hold ``piece``, the start of a line not yet ended, within the bound."""
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > self._max_line_bytes:
            raise self._too_long(self._line_start)

    def _take(self, end: bytes) -> bytes:
        """The whole line that ``end`` ends: the held pieces (now released) and ``end``."""
        if not self._pending:
            return end
        self._pending.append(end)
        line = b"".join(self._pending)
        self._pending = []
        self._pending_size = 0
        return line

    def finish(self) -> tuple[int, str] | None:
        """Return the unterminated last line, if any bytes remain."""
        if self.failed:
            raise ProtocolError("decoder already failed; start a new one")
        if not self._pending:
            return None
        return self._decode(self._take(b""), self._line_start)

    def _decode(self, line: bytes, offset: int) -> tuple[int, str]:
        if len(line) > self._max_line_bytes:
            raise self._too_long(offset)
        try:
            return offset, line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.failed = True
            raise ProtocolError(
                f"invalid UTF-8 ({exc.reason})", offset=offset + exc.start
            ) from None

    def _too_long(self, offset: int) -> ProtocolError:
        self.failed = True
        return ProtocolError(
            f"line longer than the limit of {self._max_line_bytes} bytes", offset=offset
        )
