"""Keepalive settings, as upstream's ``assistant_stream.serialization.heartbeat``.

The response classes take ``heartbeat``: ``True`` for the default interval
(15 s), a positive number of seconds, or ``False``/``None``/``0`` for none.
"""

from __future__ import annotations

import math

__all__ = [
    "DATA_STREAM_KEEPALIVE_LINE",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "HeartbeatOption",
    "SSE_HEARTBEAT_LINE",
    "resolve_heartbeat_interval",
]

#: Seconds of silence before a keepalive, when ``heartbeat=True``.
DEFAULT_HEARTBEAT_INTERVAL = 15.0
#: The SSE keepalive: a comment line, which every SSE client ignores.
SSE_HEARTBEAT_LINE = ": heartbeat\n\n"
#: The Data Stream keepalive: a blank line, which assistant-ui's decoder skips.
DATA_STREAM_KEEPALIVE_LINE = "\n"

#: What ``heartbeat=`` accepts.
HeartbeatOption = float | int | bool | None


def resolve_heartbeat_interval(heartbeat: HeartbeatOption) -> float | None:
    """Turn a ``heartbeat`` option into seconds, or ``None`` for no keepalive.

    :raises ValueError: for a negative, zero-but-true or non-finite number.
    """
    if heartbeat is True:
        return DEFAULT_HEARTBEAT_INTERVAL
    if not heartbeat:
        return None
    interval = float(heartbeat)
    if not math.isfinite(interval) or interval <= 0:
        raise ValueError(f"heartbeat interval must be a positive finite number, got {heartbeat!r}")
    return interval
