"""What a server sends for a resumable stream: stored bytes as an adapter source.

A :class:`Replay` pairs a *source* (``batches()`` of already encoded frames)
with a :class:`ReplayEncoder`, so every adapter's response class streams it
exactly as it streams a run — keepalives, send timeout, disconnect detection
included: ``AssistantStreamResponse(replay.source, replay.encoder,
headers=replay.headers)``.

The replay encoder passes the stored frames through unchanged. Only when the
stream was cut short (its producer died, the store failed) does it encode,
with a fresh encoder of the stream's protocol, an error frame and the
protocol's closing frames.

Cursors. For the SSE protocols except OpenAI chat, every entry is followed by
an ``id: <tag>.<cursor>\\n\\n`` event, which sets the client's
``Last-Event-ID`` and dispatches nothing. The tag (8 hex digits of a hash of
the stream id, :func:`event_id`) binds the id to its stream: a
``Last-Event-ID`` from another stream is refused (:func:`event_cursor`),
even where the store's cursors look alike (``"3"`` in memory, ``"120-0"`` in
Redis). Data Stream and OpenAI chat carry no ids (the
``openai`` SDK's parser rejects ``id:`` lines): their cursor is the number of
bytes received, and their replays send no keepalive bytes, so that count
stays exact.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from typing import Any, cast

from ..chunks import Chunk, ErrorChunk
from ..protocols.base import Encoder
from .errors import ResumableStreamError
from .store import StreamEntry

__all__ = [
    "RESUMABLE_STREAM_ID_HEADER",
    "Replay",
    "ReplayEncoder",
    "event_cursor",
    "event_id",
    "uses_event_ids",
]

#: The header that carries the stream id, in requests and responses (upstream's name).
RESUMABLE_STREAM_ID_HEADER = "x-resumable-stream-id"

logger = logging.getLogger("assistant_stream_ce")


def uses_event_ids(encoder: Encoder) -> bool:
    """``True`` for SSE protocols that may carry ``id:`` lines (not OpenAI chat)."""
    return encoder.media_type.startswith("text/event-stream") and (
        type(encoder).__name__ != "OpenAIChatEncoder"
    )


def _tag(stream_id: str) -> str:
    return hashlib.blake2b(stream_id.encode(), digest_size=4).hexdigest()


def event_id(stream_id: str, cursor: str) -> str:
    """The SSE event id for the store ``cursor`` of ``stream_id``: ``<tag>.<cursor>``."""
    return f"{_tag(stream_id)}.{cursor}"


def event_cursor(stream_id: str, last_event_id: str) -> str:
    """The store cursor in ``last_event_id``, checked against ``stream_id``.

    :raises ResumableStreamError: ``invalid-cursor`` when the id is not one of
        ours or belongs to another stream.
    """
    tag, dot, cursor = last_event_id.partition(".")
    if not dot or not cursor or len(tag) != 8:
        raise ResumableStreamError(
            "invalid-cursor", f"Last-Event-ID {last_event_id[:40]!r} is not an event id of a stream"
        )
    if tag != _tag(stream_id):
        raise ResumableStreamError(
            "invalid-cursor",
            f"Last-Event-ID {last_event_id[:40]!r} belongs to another stream than {stream_id}",
        )
    return cursor


class ReplayEncoder:
    """Passes stored frames through; encodes only a terminal error (see the module doc).

    :param protocol: a fresh encoder of the stream's protocol, used only for
        the error frame and closing frames of a stream that was cut short.
    """

    def __init__(self, protocol: Encoder, *, event_ids: bool) -> None:
        self.protocol = protocol
        self.media_type = protocol.media_type
        self.headers: Mapping[str, str] = protocol.headers
        # A byte-offset cursor counts every byte: no keepalive bytes there.
        self.keepalive: bytes | None = protocol.keepalive if event_ids else None
        #: Set by the source when the stream was cut short.
        self.cut_short = False

    def encode(self, chunk: Chunk) -> bytes:
        """Stored bytes pass through; an error chunk becomes the protocol's error frame."""
        if isinstance(chunk, ErrorChunk):
            self.cut_short = True
            return self.protocol.encode(chunk)
        return cast(bytes, chunk)

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        """Join the stored frames of one batch."""
        return b"".join([self.encode(chunk) for chunk in chunks])

    def finish(self) -> bytes:
        """The protocol's closing frames if the stream was cut short; else nothing."""
        return self.protocol.finish() if self.cut_short else b""


class _Source:
    """``batches()`` of stored frames for the adapters' serving loop."""

    def __init__(
        self,
        entries: AsyncIterator[StreamEntry],
        encoder: ReplayEncoder,
        *,
        event_ids: bool,
        stream_id: str,
    ) -> None:
        self._entries = entries
        self._encoder = encoder
        self._event_ids = event_ids
        self._id_prefix = b"id: " + _tag(stream_id).encode("ascii") + b"."

    async def batches(self) -> AsyncGenerator[list[Chunk], None]:
        entries = self._entries
        try:
            async for entry in entries:
                frames = self._frames(entry)
                if frames:
                    yield frames
        except ResumableStreamError as exc:
            if exc.closed:
                # The stored bytes already end with the error and closing frames.
                return
            self._encoder.cut_short = True
            raise
        except Exception as exc:  # the store failed (Redis unreachable, ...)
            self._encoder.cut_short = True
            raise ResumableStreamError(
                "unavailable", f"the resumable stream store failed: {exc}"
            ) from exc

    def _frames(self, entry: StreamEntry) -> list[Chunk]:
        data = entry.chunk
        frames: list[Any] = [data] if data else []
        if self._event_ids and entry.cursor:
            frames.append(self._id_prefix + entry.cursor.encode("ascii") + b"\n\n")
        return frames

    async def aclose(self) -> None:
        aclose = getattr(self._entries, "aclose", None)
        if aclose is not None:
            await aclose()


class Replay:
    """One response's view of a resumable stream, for any adapter.

    ``AssistantStreamResponse(replay.source, replay.encoder,
    headers=replay.headers)`` (Starlette; the aiohttp and Django adapters take
    the same arguments) sends it.
    """

    def __init__(
        self,
        stream_id: str,
        role: str,
        entries: AsyncIterator[StreamEntry],
        protocol: Encoder,
        *,
        event_ids: bool,
    ) -> None:
        #: The stream's id.
        self.stream_id = stream_id
        #: ``"producer"`` if this request started the run, else ``"consumer"``.
        self.role = role
        #: The pass-through encoder (media type, headers, keepalive of the protocol).
        self.encoder = ReplayEncoder(protocol, event_ids=event_ids)
        #: The adapter source: ``batches()`` and ``aclose()``.
        self.source = _Source(entries, self.encoder, event_ids=event_ids, stream_id=stream_id)
        #: Response headers to add: the stream id.
        self.headers = {RESUMABLE_STREAM_ID_HEADER: stream_id}

    async def read_bytes(self) -> AsyncIterator[bytes]:
        """The response body as bytes, for servers without an adapter (and tests)."""
        encoder = self.encoder
        batches = self.source.batches()
        try:
            try:
                async for batch in batches:
                    yield encoder.encode_many(batch)
            except ResumableStreamError as exc:
                yield encoder.encode(ErrorChunk(error=str(exc)))
            yield encoder.finish()
        finally:
            await batches.aclose()
            await self.source.aclose()
