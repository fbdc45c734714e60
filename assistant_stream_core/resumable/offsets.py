"""Reading a stream from a byte offset: the cursor of the protocols without event ids.

A Data Stream or OpenAI chat client resumes with the number of bytes it
received. :func:`open_read_at` asks the store where that byte is: a store that
is an :class:`~.store.OffsetReader` (both stores shipped here) finds its
entry in a constant number of round trips, however long the stream. Any
other store, and streams written without an offset index (by the npm
``assistant-stream`` Redis store or upstream's Python store), are read from
the start and the first ``offset`` bytes dropped: correct, but linear in the
offset (:func:`skip_bytes`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from .errors import ResumableStreamError
from .store import OffsetReader, ResumableStore, StreamEntry

__all__ = ["check_offset", "cut_first", "open_read_at", "skip_bytes"]


def check_offset(offset: object, stored: int | None = None) -> int:
    """Return ``offset`` if it is an ``int`` in ``0..stored``; else raise ``invalid-cursor``."""
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ResumableStreamError("invalid-cursor", f"invalid offset {offset!r}")
    if stored is not None and offset > stored:
        raise ResumableStreamError(
            "invalid-cursor",
            f"offset {offset} is past the {stored} bytes this stream has stored",
        )
    return offset


async def open_read_at(
    store: ResumableStore, stream_id: str, offset: int
) -> AsyncIterator[StreamEntry]:
    """Open a read of ``stream_id`` from byte ``offset`` (see :class:`~.store.OffsetReader`).

    :raises ResumableStreamError: ``missing``; ``invalid-cursor`` (an offset
        past the stored bytes is found at once by an offset reader, and at
        the stream's end by the fallback).
    """
    check_offset(offset)
    if offset and isinstance(store, OffsetReader):
        return await store.open_read_at(stream_id, offset)
    entries = await store.open_read(stream_id)
    return skip_bytes(entries, offset) if offset else entries


async def skip_bytes(
    entries: AsyncIterator[StreamEntry], offset: int
) -> AsyncIterator[StreamEntry]:
    """``entries`` without their first ``offset`` bytes (the linear fallback).

    :raises ResumableStreamError: ``invalid-cursor`` if the stream ends
        before ``offset``.
    """
    skip = offset
    try:
        async for entry in entries:
            if skip:
                if skip >= len(entry.chunk):
                    skip -= len(entry.chunk)
                    continue
                entry = StreamEntry(entry.cursor, entry.chunk[skip:])
                skip = 0
            yield entry
    finally:
        aclose = getattr(entries, "aclose", None)
        if aclose is not None:
            await aclose()
    if skip:
        raise ResumableStreamError(
            "invalid-cursor", f"offset {offset} is past the {offset - skip} bytes of this stream"
        )


async def cut_first(entries: AsyncIterator[StreamEntry], skip: int) -> AsyncIterator[StreamEntry]:
    """``entries`` with the first one's first ``skip`` bytes cut (for offset readers)."""
    try:
        async for entry in entries:
            if skip:
                entry = StreamEntry(entry.cursor, entry.chunk[skip:])
                skip = 0
            yield entry
    finally:
        aclose = getattr(entries, "aclose", None)
        if aclose is not None:
            await aclose()
