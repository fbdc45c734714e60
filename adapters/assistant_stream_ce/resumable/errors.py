"""Upstream's ``assistant_stream.resumable.errors``: the error, its codes, stream ids."""

from __future__ import annotations

from assistant_stream_core.resumable.errors import (
    DEFAULT_TTL_MS,
    ResumableStreamError,
    ResumableStreamErrorCode,
    validate_stream_id,
)

__all__ = [
    "DEFAULT_TTL_MS",
    "ResumableStreamError",
    "ResumableStreamErrorCode",
    "validate_stream_id",
]
