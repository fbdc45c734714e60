"""Stream ids and the one exception every resumable-stream failure raises."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import ClassVar, Literal

from ..errors import AssistantStreamError

__all__ = [
    "DEFAULT_TTL_MS",
    "STREAM_ID_PATTERN",
    "ResumableStreamError",
    "ResumableStreamErrorCode",
    "new_stream_id",
    "validate_stream_id",
]

#: How long a stream is kept after its last write: 24 hours (upstream's default).
DEFAULT_TTL_MS = 24 * 60 * 60 * 1000

#: What a stream id may be: 1 to 256 ASCII letters, digits, ``_ . : -``. No
#: ``{``/``}`` (Redis Cluster hash tags), no whitespace, no ``*`` or ``?``
#: (Redis glob patterns): an id that passes is safe inside a Redis key.
STREAM_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,256}")

ResumableStreamErrorCode = Literal[
    "missing",
    "exists",
    "finalized",
    "invalid-id",
    "invalid-cursor",
    "full",
    "failed",
    "producer-lost",
    "unavailable",
]
"""Why a resumable-stream operation failed.

``missing``, ``exists``, ``finalized`` and ``invalid-id`` are upstream's codes.
``invalid-cursor``: a cursor or offset that is malformed or names no entry of
this stream. ``full``: the in-memory store reached its size bound.
``failed``: the producer finalized the stream as an error. ``producer-lost``:
the producer stopped renewing its lease (its process died). ``unavailable``:
the store (Redis) could not be reached.
"""


class ResumableStreamError(AssistantStreamError):
    """A resumable-stream operation failed; :attr:`code` says why.

    :attr:`closed` is ``True`` when the stored bytes already end with the
    protocol's error and closing frames (the run raised), so a reader has
    nothing to add; ``False`` when the stream was cut short (a lost producer).
    """

    def __init__(
        self, code: ResumableStreamErrorCode, message: str, *, closed: bool = False
    ) -> None:
        super().__init__(message)
        #: The reason, one of :data:`ResumableStreamErrorCode`.
        self.code: ResumableStreamErrorCode = code
        #: Whether the stored bytes are a complete stream of the protocol.
        self.closed = closed

    #: The HTTP status a server answers with for each code.
    HTTP_STATUS: ClassVar[Mapping[str, int]] = {
        "missing": 404,
        "exists": 409,
        "finalized": 409,
        "invalid-id": 400,
        "invalid-cursor": 400,
        "full": 503,
        "failed": 500,
        "producer-lost": 502,
        "unavailable": 503,
    }

    @property
    def http_status(self) -> int:
        """The HTTP status for this error (400 for bad input, 404 missing, 503 store down)."""
        return self.HTTP_STATUS.get(self.code, 500)


def validate_stream_id(stream_id: object) -> None:
    """Raise :class:`ResumableStreamError` (``invalid-id``) unless ``stream_id`` is valid.

    Valid: a ``str`` of 1 to 256 characters from ``A-Z a-z 0-9 _ . : -``
    (:data:`STREAM_ID_PATTERN`). Every store calls this before an id becomes
    part of a key.
    """
    if not isinstance(stream_id, str) or STREAM_ID_PATTERN.fullmatch(stream_id) is None:
        shown = repr(stream_id)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise ResumableStreamError(
            "invalid-id",
            f"invalid stream id {shown}: it must be 1 to 256 characters from A-Z a-z 0-9 _ . : -",
        )


def new_stream_id() -> str:
    """Return a fresh stream id: 144 random bits from :mod:`secrets`, 24 URL-safe characters."""
    return secrets.token_urlsafe(18)
