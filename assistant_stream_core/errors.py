"""The library's exception hierarchy.

Everything the library raises on purpose derives from :class:`AssistantStreamError`.
Each leaf also derives from the built-in exception a caller would naturally
catch (``ValueError``, ``TypeError``), so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

__all__ = [
    "AssistantStreamError",
    "ChunkEncodeError",
    "ProtocolError",
    "RequestError",
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


class RequestError(AssistantStreamError, ValueError):
    """A chat request body is malformed, or larger than allowed.

    Raised by :mod:`assistant_stream_core.conversation` when it reads what a
    client sent. ``field`` names the offending field as a path into the body
    (``"messages[2].parts[0].toolCallId"``; ``None`` when the body as a whole is
    wrong), ``status`` is the HTTP status to answer with: 400, or 413 for a body
    over the size limit. :meth:`to_json` is the JSON error body the adapters send.
    """

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        self.field = field
        self.status = status
        self.reason = message
        where = f" (at {field})" if field else ""
        super().__init__(f"{message}{where}")

    def to_json(self) -> bytes:
        """The error as a JSON object: ``{"error": {"message", "type", "field"}}``."""
        kind = "request_too_large" if self.status == 413 else "invalid_request"
        return msgspec.json.encode(
            {"error": {"message": str(self), "type": kind, "field": self.field}}
        )
