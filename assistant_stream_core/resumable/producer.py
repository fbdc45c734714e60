"""The producer: one run, encoded once, appended to the store batch by batch.

The producer task drains the run's batches (``Run.batches()``), encodes each
with the protocol's encoder (``encode_many``), appends the bytes to the store
with one call, and hands the same bytes to the client that started the run
through a :class:`LocalLog` (so that client's stream goes on even if the store
fails). It does not belong to that client's response: when the client leaves,
the run goes on and stays readable from the store.

Beside it, a watcher renews the lease every ``store.heartbeat_interval``
seconds and waits for stop requests; a stop request, a lost lease or a
deleted stream closes the run (its callback is cancelled after its grace
period), and the stream ends with the protocol's closing frames.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Literal

import anyio

from ..chunks import ErrorChunk
from ..errors import ChunkEncodeError
from ..protocols.base import Encoder
from ..run.serve import RunSource
from .errors import ResumableStreamError
from .store import Lease, ResumableStore, StreamEntry

__all__ = ["LOCAL_LAG_BYTES", "LocalLog", "produce"]

logger = logging.getLogger("assistant_stream_ce.resumable")

#: Bytes the client that started a run may fall behind before it reads from
#: the store instead of from the producer's memory.
LOCAL_LAG_BYTES = 1024 * 1024


class LocalLog:
    """Entries handed from the producer to the client that started the run.

    Bounded: once the client lags by more than ``limit`` unread bytes (and
    the store works), the producer stops handing entries over and the client
    continues from the store after its last cursor.
    """

    def __init__(self, limit: int = LOCAL_LAG_BYTES) -> None:
        self.entries: deque[StreamEntry] = deque()
        self.unread = 0
        self.limit = limit
        self.overflowed = False
        self.detached = False
        self.end: ResumableStreamError | Literal[False] | None = False
        self.changed = anyio.Event()

    def push(self, entry: StreamEntry, *, store_ok: bool) -> None:
        if self.detached or self.overflowed:
            return
        if store_ok and entry.cursor and self.unread + len(entry.chunk) > self.limit:
            self.overflowed = True
        else:
            self.entries.append(entry)
            self.unread += len(entry.chunk)
        self._notify()

    def close(self, error: ResumableStreamError | None) -> None:
        self.end = error
        self._notify()

    def _notify(self) -> None:
        changed, self.changed = self.changed, anyio.Event()
        changed.set()

    async def read(self, store: ResumableStore, stream_id: str) -> AsyncIterator[StreamEntry]:
        """The entries for the client that started the run."""
        cursor = ""
        try:
            while True:
                while self.entries:
                    entry = self.entries.popleft()
                    self.unread -= len(entry.chunk)
                    cursor = entry.cursor or cursor
                    yield entry
                if self.overflowed:
                    # Too far behind: the rest comes from the store.
                    async for entry in await store.open_read(stream_id, cursor):
                        yield entry
                    return
                if self.end is not False:
                    if self.end is not None:
                        raise self.end
                    return
                await self.changed.wait()
        finally:
            self.detached = True
            self.entries.clear()


async def produce(
    store: ResumableStore,
    lease: Lease,
    run: RunSource,
    encoder: Encoder,
    log: LocalLog | None = None,
) -> None:
    """Drive ``run`` into ``store`` under ``lease``; never raises but cancellation."""
    state = _State(store, lease, log, getattr(run, "run_id", None))
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(state.watch, run)
            await state.pump(run, encoder)
            tg.cancel_scope.cancel()
    except BaseException:
        # Cancelled from outside (the process shuts down): readers get a clear end.
        with anyio.move_on_after(2, shield=True):
            await state.finalize("error", "the producer was cancelled", closed=False)
            await run.aclose()
        raise
    finally:
        if log is not None and log.end is False:
            log.close(state.failure)


class _State:
    def __init__(
        self, store: ResumableStore, lease: Lease, log: LocalLog | None, run_id: object
    ) -> None:
        # What every record names: the stream and, for a run, the run.
        run = run_id if isinstance(run_id, str) else None
        self.ids = {"stream_id": lease.stream_id, "run_id": run}
        self.label = f"resumable stream {lease.stream_id}" + (f" (run {run})" if run else "")
        self.store = store
        self.lease = lease
        self.log = log
        self.store_ok = True
        self.failure: ResumableStreamError | None = None

    def store_failed(self, exc: BaseException) -> None:
        if self.store_ok:
            self.store_ok = False
            logger.error(
                "%s: the store failed (%s); the run goes on for its "
                "connected client but can no longer be resumed",
                self.label,
                exc,
                extra=self.ids,
            )

    async def put(self, data: bytes) -> bool:
        """Append ``data``; ``False`` when the stream is gone (deleted, lease lost)."""
        cursor = ""
        if self.store_ok:
            try:
                cursor = await self.store.append(self.lease.stream_id, data, self.lease)
            except ResumableStreamError as exc:
                if exc.code in ("missing", "finalized"):
                    logger.info("%s: %s; stopping its run", self.label, exc, extra=self.ids)
                    return False
                self.store_failed(exc)
            except Exception as exc:
                self.store_failed(exc)
        if self.log is not None:
            self.log.push(StreamEntry(cursor, data), store_ok=self.store_ok)
        return True

    async def finalize(
        self, status: Literal["done", "error"], error: str | None, *, closed: bool
    ) -> None:
        if status == "error" and self.failure is None:
            self.failure = ResumableStreamError("failed", error or "Stream errored", closed=closed)
        if not self.store_ok:
            return
        try:
            await self.store.finalize(
                self.lease.stream_id, status, error, self.lease, closed=closed
            )
        except ResumableStreamError:
            pass  # deleted meanwhile: nothing to finalize
        except Exception as exc:
            self.store_failed(exc)

    async def pump(self, run: RunSource, encoder: Encoder) -> None:
        error: BaseException | None = None
        try:
            async for batch in run.batches():
                try:
                    data = encoder.encode_many(batch)
                except ChunkEncodeError as exc:
                    data = exc.partial + encoder.encode(
                        ErrorChunk(error=f"the response could not be encoded: {exc}")
                    )
                    error = exc
                    await self.put(data)
                    await run.aclose()
                    break
                if data and not await self.put(data):
                    await run.aclose()
                    return
        except Exception as exc:  # the run raised; its error chunk is encoded already
            error = exc
        try:
            tail = encoder.finish()
        except ChunkEncodeError as exc:
            tail, error = b"", error or exc
        if tail:
            await self.put(tail)
        if error is None:
            await self.finalize("done", None, closed=True)
        else:
            await self.finalize("error", str(error) or type(error).__name__, closed=True)

    async def watch(self, run: RunSource) -> None:
        store, lease = self.store, self.lease
        interval = store.heartbeat_interval
        while True:
            try:
                if await store.wait_stop(lease, interval):
                    logger.info("%s: stop requested", self.label, extra=self.ids)
                    break
                # After a store failure the lease is left to expire: readers of
                # the store then learn that this stream will not be completed.
                if self.store_ok and not await store.heartbeat(lease):
                    logger.warning("%s: lease lost; stopping its run", self.label, extra=self.ids)
                    break
            except Exception as exc:
                # The store is down: keep the run going for its client.
                self.store_failed(exc)
                await anyio.sleep(interval)
        await run.aclose()
