"""Keepalive settings, as upstream's ``assistant_stream.serialization.heartbeat``.

The response classes take ``heartbeat``: ``True`` for the default interval
(15 s), a positive number of seconds, or ``False``/``None``/``0`` for none.

:func:`add_keepalive` and :func:`add_sse_heartbeat` are upstream's helpers for
wrapping an already encoded stream of text yourself. The response classes do
not need them (their serving loop writes keepalives itself, on asyncio and
trio); the helpers keep a read pending across ``yield``, which needs an
asyncio task, so they run on asyncio only, as upstream's do.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, AsyncIterator

__all__ = [
    "DATA_STREAM_KEEPALIVE_LINE",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "HeartbeatOption",
    "SSE_HEARTBEAT_LINE",
    "add_keepalive",
    "add_sse_heartbeat",
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


async def add_keepalive(
    stream: AsyncIterator[str], interval: float, token: str
) -> AsyncGenerator[str, None]:
    """Yield ``stream``'s items, and ``token`` whenever it is idle for ``interval`` seconds.

    Any real item restarts the timer. Closing the generator cancels a read that
    is still pending and closes ``stream``.

    :raises RuntimeError: when not running on asyncio.
    """
    pending: asyncio.Future[str] | None = None
    try:
        while True:
            if pending is None:
                # A task, not a timeout around __anext__: cancelling the read
                # on every idle interval would close the source generator.
                pending = asyncio.ensure_future(stream.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield token
                continue
            read, pending = pending, None
            try:
                item = read.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved, so asyncio does not log it as lost
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def add_sse_heartbeat(stream: AsyncIterator[str], interval: float) -> AsyncGenerator[str, None]:
    """:func:`add_keepalive` with the SSE comment line (upstream's older name)."""
    return add_keepalive(stream, interval, SSE_HEARTBEAT_LINE)
