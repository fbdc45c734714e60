"""Upstream's ``read(stream_id, cursor, signal)`` over a core store's ``open_read``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from assistant_stream_core.resumable.store import CancellationSignal, StreamEntry

__all__ = ["UpstreamRead"]


class UpstreamRead:
    """Adds upstream's ``read`` to a core store (asyncio, as upstream)."""

    def read(
        self, stream_id: str, cursor: str, signal: CancellationSignal
    ) -> AsyncIterator[StreamEntry]:
        """Entries after ``cursor`` until the stream ends; setting ``signal`` ends it quietly."""
        return _read(self, stream_id, cursor, signal)


async def _read(
    store: Any, stream_id: str, cursor: str, signal: CancellationSignal
) -> AsyncIterator[StreamEntry]:
    if signal.is_set():
        return
    entries: AsyncIterator[StreamEntry] = await store.open_read(stream_id, cursor)
    stopped = asyncio.ensure_future(signal.wait())
    try:
        while not signal.is_set():
            step = asyncio.ensure_future(entries.__anext__())
            await asyncio.wait({step, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                step.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await step
                return
            try:
                entry = step.result()
            except StopAsyncIteration:
                return
            yield entry
    finally:
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopped
        aclose = getattr(entries, "aclose", None)
        if aclose is not None:
            await aclose()
