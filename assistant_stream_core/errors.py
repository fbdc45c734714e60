"""The library's exception hierarchy.

Everything the library raises on purpose derives from :class:`AssistantStreamError`.
Each leaf also derives from the built-in exception a caller would naturally
catch (``ValueError``, ``TypeError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AssistantStreamError",
    "ChunkEncodeError",
    "ProtocolError",
    "StateError",
]


class AssistantStreamError(Exception):
    """Root of every exception this library raises on purpose."""


class ProtocolError(AssistantStreamError, ValueError):
    """The peer sent bytes that are not a valid stream of this protocol.

    Raised by decoders. ``offset`` is the position, counted in bytes from the
    start of the stream, of the line or event that is wrong (``None`` when the
    problem is the end of the stream itself). After a ``ProtocolError`` the
    decoder is in an error state: every later ``feed``/``finish`` raises again.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.offset = offset
        where = f" (at byte {offset})" if offset is not None else ""
        super().__init__(f"{message}{where}")
        self.reason = message


class ChunkEncodeError(AssistantStreamError, TypeError):
    """A chunk holds a value the wire format cannot carry.

    Raised by encoders *before* any byte of the offending frame is produced, so
    the stream is never left with half a frame. The message names the chunk
    type and the field.

    Attributes:
        chunk_type: the ``type`` of the chunk that failed, if known.
        field: the name of the field holding the bad value, if known.
        partial: when raised by ``encode_many``, the complete frames encoded
            for the chunks before the failing one (send them, then an error
            frame); ``b""`` otherwise.
    """

    chunk_type: str | None = None
    field: str | None = None
    partial: bytes = b""


class StateError(AssistantStreamError, ValueError):
    """A state operation cannot be applied: a bad path, or a bad target.

    ``path`` is the operation's path as given.
    """

    def __init__(self, message: str, *, path: Iterable[str] = ()) -> None:
        self.path = tuple(path)
        super().__init__(message)
