"""What ``decode`` writes: one JSON line per chunk (coloured by kind on a
terminal), or the assembled message; and a progress line on stderr."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

import msgspec

from ..chunks import Chunk

__all__ = ["ChunkPrinter", "Progress", "use_colour"]

_RESET = "\x1b[0m"
# Chunk type prefix -> ANSI colour: what the reader scans for first.
_COLOURS = (
    ("error", "\x1b[31m"),  # red
    ("tool", "\x1b[33m"),  # yellow
    ("update-state", "\x1b[34m"),  # blue
    ("reasoning", "\x1b[35m"),  # magenta
    ("text", "\x1b[32m"),  # green
)
_OTHER = "\x1b[36m"  # cyan
_ENCODER = msgspec.json.Encoder()


def use_colour(choice: str, stream: TextIO) -> bool:
    """``always``/``never``, or ``auto``: a terminal, and ``NO_COLOR`` unset."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _colour_of(kind: str) -> str:
    return next((colour for prefix, colour in _COLOURS if kind.startswith(prefix)), _OTHER)


class ChunkPrinter:
    """Writes each chunk as one line of JSON (its ``type`` first, as on the wire)."""

    def __init__(self, out: TextIO, *, colour: bool) -> None:
        self.out = out
        self.colour = colour

    def __call__(self, chunk: Chunk) -> None:
        line = _ENCODER.encode(chunk).decode()
        if self.colour:
            kind = str(type(chunk).__struct_config__.tag)
            line = f"{_colour_of(kind)}{line}{_RESET}"
        self.out.write(line + "\n")
        self.out.flush()


class Progress:
    """A one-line counter on stderr: bytes, chunks, elapsed seconds.

    With ``mode="auto"`` it appears only on a terminal and only once the
    stream has lasted ``after`` seconds, so short streams print nothing extra.
    """

    def __init__(self, mode: str, stream: TextIO | None = None, *, after: float = 1.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = mode == "always" or (mode == "auto" and self.stream.isatty())
        self.after = 0.0 if mode == "always" else after
        self.start = time.monotonic()
        self.bytes = 0
        self.chunks = 0
        self._shown_at: float | None = None

    def _line(self, now: float) -> str:
        return f"{self.bytes:,} bytes, {self.chunks:,} chunks, {now - self.start:.1f} s"

    def update(self, size: int, chunks: int) -> None:
        """Count one block of ``size`` bytes that decoded to ``chunks`` chunks."""
        self.bytes += size
        self.chunks += chunks
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < self.after:
            return
        if self._shown_at is not None and now - self._shown_at < 0.1:
            return  # at most ten redraws a second
        self._shown_at = now
        self.stream.write(f"\r\x1b[K{self._line(now)}")
        self.stream.flush()

    def done(self) -> None:
        """Leave the final count on its own line, if the counter was shown."""
        if self.enabled and (self._shown_at is not None or self.after == 0.0):
            self.stream.write(f"\r\x1b[K{self._line(time.monotonic())}\n")
            self.stream.flush()
