"""Upstream's ``ResumableStreamContext``: run a byte stream once, read it from any worker.

As upstream: :meth:`ResumableStreamContext.run` elects a producer, which
pumps ``make_stream()`` into the store in an asyncio task that outlives the
caller's reader, and returns a reader of the store; hooks are called and
their exceptions logged. Beyond upstream, with the stores of this package
(which have leases): the producer renews its lease, so readers of a stream
whose worker died get an error within seconds instead of waiting for the
TTL; a stop request (:meth:`ResumableStreamContext.stop`, from any worker)
cancels the producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant_stream_core.resumable.errors import ResumableStreamError

from .types import ResumableStreamRole, ResumableStreamStatus, ResumableStreamStore

__all__ = ["ResumableStreamContext", "create_resumable_stream_context"]

logger = logging.getLogger("assistant_stream_ce.resumable")

MakeStream = Callable[[], AsyncIterator[bytes]]
WaitUntil = Callable[["asyncio.Task[None]"], None]
OnAcquire = Callable[[str, ResumableStreamRole], None]
OnAppend = Callable[[str, int], None]
OnFinalize = Callable[[str, Literal["done", "error"], "str | None"], None]
OnError = Callable[[str, object], None]

# Set on an exception raised by a make_stream whose bytes already end with the
# protocol's error and closing frames (the response helpers' runs).
CLOSED_MARK = "_assistant_stream_resumable_closed"


def _call_hook(hook: Callable[..., Any] | None, /, *args: Any) -> None:
    if hook is None:
        return
    try:
        hook(*args)
    except Exception:
        logger.debug("resumable stream hook %r raised", hook, exc_info=True)


@dataclass
class ResumableStreamContext:
    """Runs streams through a store; created by :func:`create_resumable_stream_context`."""

    _store: ResumableStreamStore
    _ttl_ms: int | None
    _wait_until: WaitUntil | None
    _on_acquire: OnAcquire | None
    _on_append: OnAppend | None
    _on_finalize: OnFinalize | None
    _on_error: OnError | None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    async def run(self, stream_id: str, make_stream: MakeStream) -> AsyncIterator[bytes]:
        """Produce ``make_stream()`` into the store if this caller is elected; return a reader.

        :raises ResumableStreamError: ``invalid-id``.
        """
        store: Any = self._store
        lease = None
        if hasattr(store, "acquire_lease"):
            lease = await store.acquire_lease(stream_id, ttl_ms=self._ttl_ms)
            role: ResumableStreamRole = "consumer" if lease is None else "producer"
        else:
            role = await store.acquire(stream_id, ttl_ms=self._ttl_ms)
        _call_hook(self._on_acquire, stream_id, role)
        if role == "producer":
            task = asyncio.get_running_loop().create_task(
                self._produce(stream_id, make_stream, lease)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            if self._wait_until is not None:
                self._wait_until(task)
        return _read(store, stream_id, "")

    async def resume(self, stream_id: str) -> AsyncIterator[bytes] | None:
        """A reader from the start, or ``None`` if the stream is missing."""
        if await self._store.status(stream_id) == "missing":
            return None
        return _read(self._store, stream_id, "")

    async def require_resume(self, stream_id: str) -> AsyncIterator[bytes]:
        """A reader from the start.

        :raises ResumableStreamError: ``missing``.
        """
        if await self._store.status(stream_id) == "missing":
            raise ResumableStreamError("missing", f"resumable stream not found: {stream_id}")
        return _read(self._store, stream_id, "")

    async def status(self, stream_id: str) -> ResumableStreamStatus:
        """``"streaming"``, ``"done"``, ``"error"`` or ``"missing"``."""
        return await self._store.status(stream_id)

    async def delete(self, stream_id: str) -> None:
        """Forget the stream."""
        await self._store.delete(stream_id)

    async def stop(self, stream_id: str) -> bool:
        """Ask the stream's producer, on any worker, to stop (not in upstream).

        ``False`` if the stream is not streaming or the store takes no stop requests.
        """
        request = getattr(self._store, "request_stop", None)
        return bool(await request(stream_id)) if request is not None else False

    async def _produce(self, stream_id: str, make_stream: MakeStream, lease: Any) -> None:
        store: Any = self._store
        pump = asyncio.ensure_future(self._pump(stream_id, make_stream, lease))
        watch = asyncio.ensure_future(_watch(store, lease, pump)) if lease is not None else None
        try:
            await pump
        except asyncio.CancelledError:
            if not pump.cancelled():
                raise
        finally:
            if watch is not None:
                watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watch

    async def _pump(self, stream_id: str, make_stream: MakeStream, lease: Any) -> None:
        store: Any = self._store
        extra = (lease,) if lease is not None else ()
        try:
            try:
                stream = make_stream()
                try:
                    async for chunk in stream:
                        await store.append(stream_id, chunk, *extra)
                        _call_hook(self._on_append, stream_id, len(chunk))
                finally:
                    # Closed here, in this task, whatever happens (see response.py).
                    aclose = getattr(stream, "aclose", None)
                    if aclose is not None:
                        await aclose()
            except asyncio.CancelledError:
                # A stop request: the stream ends where it is.
                await self._finalize(stream_id, "error", "stopped", lease, closed=False)
                raise
            await self._finalize(stream_id, "done", None, lease, closed=True)
        except Exception as err:
            _call_hook(self._on_error, stream_id, err)
            message = str(err) or repr(err)
            closed = bool(getattr(err, CLOSED_MARK, False))
            try:
                await self._finalize(stream_id, "error", message, lease, closed=closed)
            except Exception as finalize_err:
                logger.error(
                    "resumable stream %s: finalize failed: %s",
                    stream_id,
                    finalize_err,
                    extra={"stream_id": stream_id},
                )

    async def _finalize(
        self,
        stream_id: str,
        status: Literal["done", "error"],
        error: str | None,
        lease: Any,
        *,
        closed: bool,
    ) -> None:
        store: Any = self._store
        if lease is not None:
            await store.finalize(stream_id, status, error, lease, closed=closed)
        else:
            await store.finalize(stream_id, status, error)
        _call_hook(self._on_finalize, stream_id, status, error)


async def _watch(store: Any, lease: Any, pump: asyncio.Future[None]) -> None:
    """Heartbeats and stop requests for a producer with a lease."""
    interval = store.heartbeat_interval
    while True:
        try:
            if await store.wait_stop(lease, interval) or not await store.heartbeat(lease):
                break
        except Exception:
            logger.warning(
                "resumable stream %s: heartbeat failed",
                lease.stream_id,
                exc_info=True,
                extra={"stream_id": lease.stream_id},
            )
            await asyncio.sleep(interval)
    pump.cancel()


def create_resumable_stream_context(
    *,
    store: ResumableStreamStore,
    ttl_ms: int | None = None,
    wait_until: WaitUntil | None = None,
    on_acquire: OnAcquire | None = None,
    on_append: OnAppend | None = None,
    on_finalize: OnFinalize | None = None,
    on_error: OnError | None = None,
) -> ResumableStreamContext:
    """Create a context over ``store`` (upstream's signature and hooks)."""
    return ResumableStreamContext(
        _store=store,
        _ttl_ms=ttl_ms,
        _wait_until=wait_until,
        _on_acquire=on_acquire,
        _on_append=on_append,
        _on_finalize=on_finalize,
        _on_error=on_error,
    )


async def _read(store: Any, stream_id: str, cursor: str) -> AsyncIterator[bytes]:
    signal = asyncio.Event()
    try:
        async for entry in store.read(stream_id, cursor, signal):
            yield entry.chunk
    finally:
        signal.set()
