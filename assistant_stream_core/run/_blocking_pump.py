"""The background half of a :class:`~.blocking.BlockingStream`.

A :class:`Pump` owns everything that must be released when a blocking stream
ends: the portal (an event loop on a thread of its own), the memory stream
that hands buffers to the consumer's thread, and the task serving the run.
It holds no reference to the :class:`~.blocking.BlockingStream` that uses it,
so a stream a server drops without ``close()`` is collected at once and its
finalizer stops the run, instead of the serving task keeping it (and the
run) alive until the send timeout.

Every way out ends in :meth:`Pump.shutdown`, which runs once, whichever
thread gets there first: it waits for the serving task, stops the portal,
joins its thread, and only then closes both ends of the memory stream
(nothing can wait on them once the loop is gone, so closing them from this
thread is safe). That order holds on every path: a factory that raises, a
``close()`` racing a blocked ``next()``, a send timeout, a stream collected
on any thread, including the portal's own.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeGuard

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .log_records import SourceLog
from .serve import (
    DEFAULT_CLOSE_TIMEOUT,
    RunSource,
    Source,
    StreamEnd,
    StreamResult,
    aclose_source,
    stream_encoded,
)

__all__ = ["Pump", "close_source_soon", "is_source"]

_logger = logging.getLogger("assistant_stream_ce")


def is_source(value: object) -> TypeGuard[Source]:
    """Whether ``value`` is a run or an async iterable (not a factory)."""
    return isinstance(value, RunSource) or hasattr(value, "__aiter__")


def _resolve(value: object) -> Source:
    if is_source(value):
        return value
    source = value()  # type: ignore[operator]
    if not is_source(source):
        raise TypeError(
            f"the blocking stream's factory returned a {type(source).__name__}, "
            "not a run or an async iterable of chunks"
        )
    return source


def _close_source(source: Source, backend: str) -> None:
    # aclose_source bounds the close and logs what it raises.
    anyio.run(aclose_source, source, backend=backend)


def close_source_soon(source: Source, backend: str, *, wait: bool) -> None:
    """Close a source that was never served, on a short-lived loop of its own.

    The loop runs on a thread of its own: the caller may be a finalizer on a
    thread whose own event loop is running, where ``anyio.run`` refuses.
    """
    thread = _spawn(_close_source, source, backend)
    if wait and thread is not None:
        thread.join()


def _spawn(target: Callable[..., object], *args: object) -> threading.Thread | None:
    thread = threading.Thread(target=target, args=args, name="blocking-stream-close", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # interpreter shutdown: the daemon portal dies with it
        return None
    return thread


class Pump:
    """A portal, a memory stream and the task serving one run into it."""

    def __init__(self, backend: str, buffer_size: int) -> None:
        self.backend = backend
        self.buffer_size = buffer_size
        #: How the stream ended, once it has.
        self.result: StreamResult | None = None
        #: What the factory raised; the consumer's ``next()`` raises it.
        self.error: BaseException | None = None
        #: Set once no ``next()`` may return more bytes.
        self.done = False
        self._lock = threading.Lock()
        self._stopped = False
        self._exit = contextlib.ExitStack()
        self._portal: BlockingPortal | None = None
        self._loop_thread: int | None = None
        self._send: MemoryObjectSendStream[bytes] | None = None
        self._receive: MemoryObjectReceiveStream[bytes] | None = None
        self._closing: anyio.Event | None = None
        self._task: Any = None
        # The resolved source, once there is one: records about it name it.
        self._source: object = None

    def start(
        self,
        source: object,
        serve: dict[str, Any],
        on_send_timeout: Callable[[], object] | None,
    ) -> None:
        """Start the loop thread and serve ``source`` (or its factory's) with ``serve``."""
        with self._lock:
            if self._stopped:
                return
            portal = self._exit.enter_context(start_blocking_portal(self.backend))
            self._portal = portal
            portal.call(self._setup)
            self._task = portal.start_task_soon(self._serve, source, serve, on_send_timeout)

    async def _setup(self) -> None:
        self._loop_thread = threading.get_ident()
        self._closing = anyio.Event()
        self._send, self._receive = anyio.create_memory_object_stream[bytes](self.buffer_size)

    async def _serve(
        self,
        source_or_factory: object,
        serve: dict[str, Any],
        on_send_timeout: Callable[[], object] | None,
    ) -> None:
        assert self._send is not None
        assert self._closing is not None
        # The send end closes on every path, so a waiting next() always
        # learns that the stream ended (a raising factory included).
        async with self._send:
            try:
                source = _resolve(source_or_factory)
            except Exception as exc:
                self.error = exc
                return
            self._source = source
            self.result = await stream_encoded(
                source, send=self._send.send, disconnected=self._closing.wait, **serve
            )
        if self.result.end is StreamEnd.SEND_TIMEOUT and on_send_timeout is not None:
            try:
                on_send_timeout()
            except Exception:
                named = SourceLog(_logger, source)
                named.exception("the blocking stream's on_send_timeout hook failed")

    def next(self) -> bytes:
        """Everything encoded since the last call; ``StopIteration`` at the end."""
        portal = self._portal
        if self.done or portal is None:
            raise StopIteration
        try:
            data: bytes = portal.call(self._receive_all)
            return data
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            # The end, or a close() from another thread got there first.
            self.shutdown()
            error, self.error = self.error, None
            if error is not None:
                raise error from None
            raise StopIteration from None
        except BaseException:
            if self.done:
                # close() stopped the portal under this call.
                raise StopIteration from None
            self.close()
            raise

    async def _receive_all(self) -> bytes:
        assert self._receive is not None
        parts = [await self._receive.receive()]
        # Everything already waiting goes out in the same write.
        while True:
            try:
                parts.append(self._receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def close(self) -> None:
        """Stop the run (grace, then cancellation) and the loop thread."""
        if self._stopped:
            return
        if self._on_loop_thread():
            # Nothing may block on this loop from inside it.
            self.close_soon()
            return
        portal = self._portal
        if portal is not None:
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                portal.call(self._request_close)
        self.shutdown()

    def close_soon(self) -> None:
        """:meth:`close` on a short-lived thread: for finalizers, which must not block."""
        if not self._stopped:
            _spawn(self.close)

    async def _request_close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._receive is not None:
            # Unblocks a loop waiting to hand over a buffer.
            self._receive.close()

    def shutdown(self) -> None:
        """Wait for the serving task, stop the loop, close the memory stream (once)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.done = True
            portal = self._portal
            if portal is not None:
                self._wait_for_task()
                # Cancels what is left: a next() racing this close.
                with contextlib.suppress(RuntimeError):
                    portal.call(portal.stop, True)
            self._exit.close()  # joins the loop thread
            self._portal = None
            # The loop is gone: nothing waits on these, closing is bookkeeping.
            if self._send is not None:
                self._send.close()
            if self._receive is not None:
                self._receive.close()

    def _wait_for_task(self) -> None:
        try:
            self._task.result(DEFAULT_CLOSE_TIMEOUT + 1)
        except Exception:
            named = SourceLog(_logger, self._source) if self._source is not None else _logger
            named.exception("the blocking stream's serving task failed")

    def _on_loop_thread(self) -> bool:
        return self._loop_thread is not None and self._loop_thread == threading.get_ident()
