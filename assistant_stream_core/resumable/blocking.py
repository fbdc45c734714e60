"""Resumable streams for synchronous servers (WSGI): one background event loop.

A resumable stream's producer outlives the request that started it, so it
needs an event loop that lives as long as the process. :class:`BlockingStreams`
runs one in a background thread (anyio's blocking portal), creates the
:class:`~.streams.ResumableStreams` there (its store, and a Redis client, must
belong to that loop: pass a factory), and hands out each response body as a
plain iterator of bytes::

    streams = BlockingStreams(lambda: ResumableStreams(RedisStore(Redis.from_url(url))))

    def chat(request):                       # a sync Django view, under WSGI
        return start_resumable_wsgi(streams, my_run, "data_stream")

The iterator's ``close()`` (called by WSGI servers when the client leaves)
closes the reader only; the run goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ..run.runner import RunCallback
from ..run.serve import EncoderSpec
from .http import Lookup, open_resume
from .replay import Replay
from .store import StreamStatus
from .streams import ResumableStreams

__all__ = ["BlockingReplay", "BlockingStreams"]


class BlockingReplay(Iterator[bytes]):
    """A :class:`~.replay.Replay` as a blocking iterator of bytes (one item per batch)."""

    def __init__(self, portal: BlockingPortal, replay: Replay) -> None:
        self._portal = portal
        self._body: AsyncIterator[bytes] = replay.read_bytes()
        self._closed = False
        #: The stream's id.
        self.stream_id = replay.stream_id
        #: ``"producer"`` or ``"consumer"``.
        self.role = replay.role
        #: The media type of the protocol.
        self.media_type = replay.encoder.media_type
        #: The response headers: the protocol's and the stream id.
        self.headers: Mapping[str, str] = {**replay.encoder.headers, **replay.headers}

    def __iter__(self) -> BlockingReplay:
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            data: bytes = self._portal.call(self._body.__anext__)
        except StopAsyncIteration:
            self._closed = True
            raise StopIteration from None
        return data

    def close(self) -> None:
        """Stop reading (the run goes on); safe to call twice."""
        if not self._closed:
            self._closed = True
            aclose = getattr(self._body, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(RuntimeError):  # the portal has stopped
                    self._portal.call(aclose)


class BlockingStreams:
    """:class:`~.streams.ResumableStreams` on a background event loop, for sync code.

    :param factory: builds the :class:`ResumableStreams` (and its store) on
        the background loop.
    :param backend: the loop's anyio backend (``"asyncio"``, which the Redis
        store needs, or ``"trio"``).
    """

    def __init__(
        self, factory: Callable[[], ResumableStreams], *, backend: str = "asyncio"
    ) -> None:
        self._stack = contextlib.ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal(backend))

        async def build() -> ResumableStreams:
            return factory()

        #: The streams object, living on the background loop.
        self.streams: ResumableStreams = self._portal.call(build)

    def start(
        self, run: RunCallback, protocol: EncoderSpec, *, stream_id: str | None = None
    ) -> BlockingReplay:
        """:meth:`ResumableStreams.start`, from sync code."""

        async def start() -> Replay:
            return await self.streams.start(run, protocol, stream_id=stream_id)

        return BlockingReplay(self._portal, self._portal.call(start))

    def resume(
        self,
        protocol: EncoderSpec,
        *,
        header: Lookup,
        query: Lookup,
        stream_id: str | None = None,
    ) -> BlockingReplay:
        """Serve a resume request (:func:`~.http.open_resume`), from sync code."""

        async def resume() -> Replay:
            return await open_resume(
                self.streams, protocol, header=header, query=query, stream_id=stream_id
            )

        return BlockingReplay(self._portal, self._portal.call(resume))

    def stop(self, stream_id: str) -> bool:
        """:meth:`ResumableStreams.stop`, from sync code."""
        return bool(self._portal.call(self.streams.stop, stream_id))

    def status(self, stream_id: str) -> StreamStatus:
        """:meth:`ResumableStreams.status`, from sync code."""
        result: Any = self._portal.call(self.streams.status, stream_id)
        return result  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the background loop (running producers are cancelled)."""
        self._stack.close()
