"""The serving loop every adapter shares: chunks in, encoded writes out.

:func:`stream_encoded` drains a source of chunks through a sans-IO encoder into
an ``async send(bytes)`` callable supplied by the adapter. It owns the policy
that must be the same for every web framework:

* one ``send`` per batch a run hands over (one frame per chunk for a plain
  async iterable of chunks); on asyncio, a run's write that finds the loop
  waiting with nothing pending is sent from the run's own call instead, with
  no second task woken (the write-through, :data:`WRITE_THROUGH`);
* keepalive bytes while the source is silent, never in the middle of a frame;
  they double as a probe that finds a client that left;
* a send that takes longer than ``send_timeout`` means the client is gone;
* a client that is gone (the framework's disconnect signal, or a failed write)
  stops the loop and closes the source, which cancels the run through the run
  layer's grace-then-cancel path;
* a source that raises ends the stream with an error frame and the protocol's
  closing frames, and the exception is logged;
* an encoder error (for example a value the wire format cannot carry) is
  logged and ends the stream with an error frame if one can still be encoded.

The HTTP helpers around it (headers, ``Accept-Encoding``,
:class:`~assistant_stream_core.run.http.FlushingCompressor`,
:func:`~assistant_stream_core.run.http.make_encoder`) live in
:mod:`assistant_stream_core.run.http`; they are re-exported here.

The loop never raises for any of these: it returns a :class:`StreamResult`
saying how the stream ended. Only cancellation of the calling task propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import math
import types
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from threading import get_ident
from time import monotonic
from typing import Any, Protocol, runtime_checkable

import anyio

from ..chunks import Chunk, ErrorChunk
from ..protocols.base import Encoder
from . import _guard
from .error_messages import ErrorMessage, check_policy, exception_text, render_error
from .errors import was_logged
from .http import (
    PROTOCOL_ENCODERS,
    EncoderSpec,
    FlushingCompressor,
    accepted_coding,
    make_encoder,
    reset_on_close,
    response_headers,
)
from .log_records import SourceLog
from .runner import Run, _Batches
from .shutdown import track_response, untrack_response

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_KEEPALIVE_INTERVAL",
    "DEFAULT_SEND_TIMEOUT",
    "DISCONNECT_ERRORS",
    "LOGGER_NAME",
    "RunSource",
    "SendBytes",
    "Source",
    "StreamEnd",
    "StreamResult",
    "WRITE_THROUGH",
    "WRITE_THROUGH_QUIET",
    "PROTOCOL_ENCODERS",
    "EncoderSpec",
    "FlushingCompressor",
    "aclose_source",
    "apply_error_message",
    "accepted_coding",
    "make_encoder",
    "reset_on_close",
    "response_headers",
    "stream_encoded",
]

#: Seconds of silence after which the protocol's keepalive bytes are written.
DEFAULT_KEEPALIVE_INTERVAL = 15.0
#: Seconds one write may take before the client is treated as gone.
DEFAULT_SEND_TIMEOUT = 30.0
#: Whether a run's write may go through to ``send`` from the producer's own
#: call while the serving loop waits (asyncio only; see docs/architecture.rst,
#: "Write-through"). ``False``: every write is made by the serving loop's task.
WRITE_THROUGH = True
#: Seconds since the last write after which a write may go through: a
#: producer writing faster than that has its writes merged, as before.
WRITE_THROUGH_QUIET = 0.001
#: Seconds allowed for closing the source (the run's grace and cancellation).
DEFAULT_CLOSE_TIMEOUT = 5.0
#: The logger every adapter writes to.
LOGGER_NAME = "assistant_stream_ce"
#: Seconds a cancelled response has to write its error frame and its end.
INTERRUPT_TIMEOUT = 1.0
#: The error frame's text when the server cancels a response mid-stream.
INTERRUPTED_MESSAGE = "the server stopped this response before the run ended"

#: Exceptions from ``send`` that mean the client has gone. ASGI servers raise
#: an ``OSError`` (ASGI spec 2.4), aiohttp a ``ConnectionResetError``, anyio
#: streams ``BrokenResourceError``/``ClosedResourceError``.
DISCONNECT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
)

_default_logger = logging.getLogger(LOGGER_NAME)

# asyncio's record of each loop's running task: a dict from loop to task
# (private, in every Python this library supports), which ``Task`` sets and
# deletes around each step of its own (``_enter_task``/``_leave_task``,
# with checks). A write-through runs the send as the serving loop's task by
# setting it for the step. Used only where the running task is found there
# (see enable_write_through); elsewhere there is no write-through.
_current_tasks: Any = getattr(asyncio.tasks, "_current_tasks", None)
if not isinstance(_current_tasks, dict):
    _current_tasks = {}
_current_task_of: Callable[[Any], Any] = _current_tasks.get
# The write-through's tally (see _Streamer.through_sent): one write
# adds this and its size in bytes.
_ONE_WRITE = 1 << 64
_FUTURE: Any = asyncio.Future
# What next() returns for a send that ran to its end (never something a
# coroutine yields).
_DONE: Any = object()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop; ``None`` on trio."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _guard_tick(interval: float | None, timeout: float | None) -> float:
    """How often the shared guard timer must look at a stream."""
    shortest = min(interval or math.inf, math.inf if timeout is None else timeout)
    return min(_guard.GUARD_TICK, shortest / _guard.GUARD_FRACTION)


@runtime_checkable
class RunSource(Protocol):
    """A run from the run layer: it hands over chunks in batches.

    ``batches()`` yields every chunk pending since the last call as one list;
    ``aclose()`` stops the run (the callback gets a short grace period, then it
    is cancelled).
    """

    def batches(self) -> AsyncIterator[list[Chunk]]:
        """Yield the chunks, one list per drain of the run's buffer."""
        ...

    async def aclose(self) -> None:
        """Stop the run and wait until its callback has ended."""
        ...


#: What an adapter can stream: a run, or any async iterable of chunks.
Source = RunSource | AsyncIterable[Chunk]
#: The adapter's write: one call per buffer, awaited before the next one.
SendBytes = Callable[[bytes], Awaitable[None]]


class StreamEnd(enum.Enum):
    """How a stream ended."""

    #: The source ended; the closing frames were written.
    COMPLETE = "complete"
    #: The source raised; the error frame and closing frames were written.
    RUN_ERROR = "run-error"
    #: The encoder raised; the stream was cut short.
    ENCODE_ERROR = "encode-error"
    #: The client left (disconnect signal or a failed write).
    DISCONNECTED = "disconnected"
    #: A write took longer than ``send_timeout``; the client is treated as gone.
    SEND_TIMEOUT = "send-timeout"


@dataclass
class StreamResult:
    """What :func:`stream_encoded` did, for the adapter and for tests."""

    #: How the stream ended.
    end: StreamEnd
    #: Chunks taken from the source.
    chunks: int = 0
    #: Calls to ``send`` that completed (keepalives included).
    writes: int = 0
    #: Bytes written.
    bytes_sent: int = 0
    #: Keepalive writes among :attr:`writes`.
    keepalives: int = 0
    #: Writes among :attr:`writes` that went through from the run's own call.
    write_throughs: int = 0
    #: The exception behind ``RUN_ERROR``, ``ENCODE_ERROR`` or a failed write.
    error: BaseException | None = None

    @property
    def client_gone(self) -> bool:
        """``True`` when the response must not be finished (the client left)."""
        return self.end in (StreamEnd.DISCONNECTED, StreamEnd.SEND_TIMEOUT)


async def aclose_source(
    source: Source,
    *,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    logger: logging.Logger | None = None,
) -> None:
    """Close ``source`` (cancelling its run), shielded from outer cancellation.

    Used by :func:`stream_encoded` and by adapters that give up before the
    stream starts (a client gone before the first byte).
    """
    await _aclose_all([source], close_timeout, SourceLog(logger or _default_logger, source))


async def _aclose_all(objects: list[Any], limit: float, logger: logging.Logger | SourceLog) -> None:
    # Shielded: this also runs while the caller is being cancelled, and the
    # run's callback must not outlive its response.
    with anyio.move_on_after(limit, shield=True) as scope:
        for obj in objects:
            aclose = getattr(obj, "aclose", None)
            if aclose is None:
                continue
            try:
                await aclose()
            except Exception:
                logger.exception("closing the stream source failed")
    if scope.cancelled_caught:
        logger.warning("the stream source did not close within %.1f s", limit)


class _Streamer:
    """The state of one :func:`stream_encoded` call."""

    __slots__ = (
        "buffer",
        "bytes_sent",
        "chunks",
        "context",
        "encode_one",
        "encoder",
        "end",
        "error",
        "error_at",
        "error_message",
        "gone",
        "handed",
        "head_sent",
        "keepalive_done",
        "keepalive_due",
        "keepalive_interval",
        "keepalives",
        "last_write",
        "logger",
        "loop",
        "record",
        "scope",
        "send",
        "send_timeout",
        "task",
        "thread",
        "through_finished",
        "through_other",
        "through_sent",
        "tick",
        "wake",
        "writes",
        "writing",
    )

    def __init__(
        self,
        encoder: Encoder,
        send: SendBytes,
        keepalive_interval: float | None,
        send_timeout: float | None,
        logger: logging.Logger | SourceLog,
        error_message: ErrorMessage | None = None,
    ) -> None:
        self.encoder = encoder
        self.error_message = error_message
        self.send = send
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        self.logger = logger
        self.end: StreamEnd | None = None
        self.error: BaseException | None = None
        # Chunks and writes of the serving loop's task.
        self.chunks = 0
        self.writes = 0
        self.bytes_sent = 0
        self.keepalives = 0
        # The write-through's: its sends that ended in its call, counted
        # with their bytes in one number (the count times _ONE_WRITE plus
        # the bytes: one addition per token); the chunks it took but did not
        # send so (an empty frame, a send handed over or failed); the
        # handed-over sends the serving loop finished (their bytes go to
        # bytes_sent).
        self.through_sent = 0
        self.through_other = 0
        self.through_finished = 0
        # When the last write (or the response head) started: the keepalive
        # timer counts silence from there, the send timeout while writing.
        # One clock read per write: a write of a frame ends at once, or the
        # send timeout is what matters.
        self.last_write = monotonic()
        # The pump and the guard task share one connection: a keepalive is
        # only written while the pump is not writing, and the pump waits for
        # a keepalive in flight (never two writes at once, no split frame).
        self.writing = False
        self.keepalive_done: anyio.Event | None = None
        self.scope: anyio.CancelScope | None = None
        # The stream's last chunk was an error chunk while this equals
        # through_chunks() (an error chunk never goes through; a chunk that
        # does after it makes it stale at no cost to the write-through).
        self.error_at = -1
        self.gone = False
        # The response head has been sent (stream_encoded sets it when there
        # is no start callable): only then can a body be ended.
        self.head_sent = False
        # The write-through (see write_through()), set up by pump_polled:
        # the run's buffer, the serving loop's task, its loop and a copy of
        # its context, the run's record of batches taken directly.
        self.buffer: Any = None
        self.encode_one: Callable[[Chunk], bytes] = encoder.encode
        self.thread: int | None = None
        self.task: Any = None
        self.loop: Any = None
        self.context: contextvars.Context | None = None
        self.record: Callable[[list[Chunk]], None] | None = None
        # A write-through's send that suspended, for the serving loop to
        # finish: (the send, what it yielded, its size); or (None, the
        # exception it raised, its size).
        self.handed: tuple[Any, Any, int] | None = None
        # The shared guard timer (asyncio, see _guard): how often it must
        # look, and what it calls to have a keepalive written: the guard
        # task's scope's cancel (serve_tasks), or wake_for_keepalive
        # (serve_run), which sets keepalive_due.
        self.tick = _guard_tick(keepalive_interval, send_timeout)
        self.wake: Callable[[], object] | None = None
        self.keepalive_due = False

    def client_gone(self, end: StreamEnd, error: BaseException | None = None) -> None:
        if self.buffer is not None:
            self.buffer.through = None  # nothing goes through any more
        if not self.gone:
            self.gone = True
            # A stream that already completed stays complete; a run error or
            # an encoder error keeps its exception for the log.
            if self.end is not StreamEnd.COMPLETE:
                self.end = end
                self.error = self.error or error
        if self.scope is not None:
            self.scope.cancel()

    async def write(self, data: bytes) -> bool:
        """Send ``data``; return ``False`` if the client is gone.

        The send timeout is enforced by :meth:`guard`, not by a cancel scope
        per write: a scope costs more than encoding a whole batch.
        """
        while self.keepalive_done is not None:  # another may start meanwhile
            await self.keepalive_done.wait()
        # _write(), inlined: this is the path of every token.
        if self.gone:
            return False
        self.writing = True
        self.last_write = monotonic()
        try:
            await self.send(data)
        except DISCONNECT_ERRORS as exc:
            self.client_gone(StreamEnd.DISCONNECTED, exc)
            return False
        finally:
            self.writing = False
        self.writes += 1
        self.bytes_sent += len(data)
        return True

    async def _write(self, data: bytes) -> bool:
        if self.gone:
            return False
        self.writing = True
        self.last_write = monotonic()
        try:
            await self.send(data)
        except DISCONNECT_ERRORS as exc:
            self.client_gone(StreamEnd.DISCONNECTED, exc)
            return False
        finally:
            self.writing = False
        self.writes += 1
        self.bytes_sent += len(data)
        return True

    def abandon(self) -> None:
        """Stop serving, as if the client had left (:func:`.shutdown.drain`)."""
        self.client_gone(StreamEnd.DISCONNECTED)

    async def interrupted(self, end_body: Callable[[], Awaitable[object]] | None) -> bool:
        """The calling task is cancelled: write an error frame, the closing
        frames and the end of the body, shielded, within INTERRUPT_TIMEOUT.
        Returns whether the error frame was written.

        Not when the stream has ended or its client left, nor before the
        head, nor while a write-through's send is still to be finished. A
        write the cancellation interrupted has handed its whole frame to the
        transport already (ASGI servers and aiohttp write, then wait for
        flow control), so the error frame follows a whole frame."""
        if self.gone or self.end is not None or not self.head_sent or self.handed is not None:
            return False
        if self.buffer is not None:
            self.buffer.through = None  # the run's own writes stop here
        with anyio.move_on_after(INTERRUPT_TIMEOUT, shield=True):
            data = self.encode_end([ErrorChunk(error=INTERRUPTED_MESSAGE)])
            if data is None or not await self._write(data):
                return False
            if end_body is not None:
                with contextlib.suppress(*DISCONNECT_ERRORS):
                    await end_body()
            return True
        return False

    async def start(self, start: Callable[[], Awaitable[object]]) -> None:
        """Send the response head (the guard watches it like any write)."""
        self.writing = True
        self.last_write = monotonic()
        try:
            await start()
            self.head_sent = True
        except DISCONNECT_ERRORS as exc:
            self.client_gone(StreamEnd.DISCONNECTED, exc)
        finally:
            self.writing = False

    def next_check(self, interval: float | None, timeout: float | None) -> float | None:
        """Seconds until :meth:`guard` must look again; ``0``: write a keepalive now;
        ``None``: nothing to time. Ends the stream when a write has hung."""
        now = monotonic()
        if self.writing:
            if timeout is None:
                return interval
            remaining = self.last_write + timeout - now
            if remaining <= 0:
                self.client_gone(StreamEnd.SEND_TIMEOUT)
                return None
            # Most writes end long before the timeout; look again in time for
            # the next keepalive.
            return min(remaining, interval) if interval else remaining
        due = self.last_write + interval - now if interval else None
        if due is not None and due <= 0:
            return 0.0
        if timeout is not None:
            # A write may start while the guard waits; look again in time.
            return timeout if due is None else min(due, timeout)
        return due

    async def guard(
        self, keepalive: bytes | None, disconnected: Callable[[], Awaitable[object]] | None
    ) -> None:
        """Watch for the client leaving, write keepalives while idle, end the
        stream when a write hangs: one task per stream for all three."""
        interval = self.keepalive_interval if keepalive else None
        timeout = self.send_timeout
        while True:
            delay = self.next_check(interval, timeout)
            if self.gone:
                return
            if delay == 0:
                assert keepalive is not None
                await self.write_keepalive(keepalive)
                continue
            if disconnected is None:
                if delay is None:
                    return
                await anyio.sleep(delay)
                continue
            # Waiting for the disconnect signal is the sleep; a scope per
            # keepalive interval, not per write.
            with anyio.move_on_after(math.inf if delay is None else delay):
                await disconnected()
                self.client_gone(StreamEnd.DISCONNECTED)
                return

    def check(self, now: float) -> None:
        """The shared guard timer's look (asyncio): end a write that has hung,
        wake the guard task when a keepalive is due."""
        if self.gone:
            return
        if self.writing:
            timeout = self.send_timeout
            if timeout is not None and now - self.last_write >= timeout:
                self.client_gone(StreamEnd.SEND_TIMEOUT)
            return
        interval = self.keepalive_interval
        wake = self.wake
        if wake is not None and interval and now - self.last_write >= interval:
            wake()

    async def guard_shared(
        self, keepalive: bytes | None, disconnected: Callable[[], Awaitable[object]] | None
    ) -> None:
        """:meth:`guard` on asyncio, timed by the loop's shared timer: this
        task only waits for the disconnect signal and writes the keepalives
        the timer wakes it for; the timer itself ends a hung write."""
        interval = self.keepalive_interval if keepalive else None
        while not self.gone:
            if interval and not self.writing and monotonic() - self.last_write >= interval:
                assert keepalive is not None
                await self.write_keepalive(keepalive, watched=True)
                continue
            with anyio.CancelScope() as scope:
                self.wake = scope.cancel
                if disconnected is None:
                    # Not sleep_forever(): asyncio would keep a timer at
                    # infinity, one more heap entry per stream.
                    await asyncio.get_running_loop().create_future()
                else:
                    await disconnected()
                    self.client_gone(StreamEnd.DISCONNECTED)
                    return
            self.wake = None

    async def write_keepalive(self, data: bytes, *, watched: bool = False) -> None:
        """Write a keepalive; ``watched``: the shared guard timer enforces the
        send timeout (asyncio), else this task does (trio)."""
        self.keepalive_done = done = anyio.Event()
        if self.buffer is not None:
            # Nothing goes through meanwhile; the next write wakes the
            # serving loop, whose next wait arms it again.
            self.buffer.through = None
        try:
            if watched:
                if await self._write(data):
                    self.keepalives += 1
                return
            # This task cannot watch its own write, so it gets a scope.
            with anyio.move_on_after(self.send_timeout) as scope:
                if await self._write(data):
                    self.keepalives += 1
            if scope.cancelled_caught:
                self.client_gone(StreamEnd.SEND_TIMEOUT)
        finally:
            # Silence counts from the keepalive's end: a slow one is not
            # followed at once by the next, ahead of a waiting write.
            self.last_write = monotonic()
            self.keepalive_done = None
            done.set()

    def encode(self, chunks: list[Chunk] | tuple[Chunk, ...]) -> bytes | None:
        """Encode a batch; on an encoder error, return ``None`` after logging."""
        try:
            return self.encoder.encode_many(chunks)
        except Exception as exc:
            self.encode_failed(exc)
            return None

    def encode_failed(self, exc: Exception) -> None:
        self.end = StreamEnd.ENCODE_ERROR
        self.error = exc
        self.logger.error("encoding the stream failed: %s", exc, exc_info=exc)

    async def pump_polled(self, batches: _Batches, keepalive: bytes | None = None) -> None:
        """:meth:`pump` for a run's batches, polled without a coroutine per batch.

        At a model's pace every token is a batch, so everything a batch costs
        here is per token: one ``poll`` (a lock round trip) that takes the
        batch and arms the wait for the next write, the encoder, one clock
        read, the adapter's ``send``, and the wait: the run's future itself,
        awaited in this frame. The run is started here and every wait, the
        first included, is a poll's; the end and a stop go through
        ``__anext__``. ``keepalive``: what to write when the shared guard
        timer wakes this loop (:meth:`serve_run`). On asyncio the poll also
        arms the write-through (:meth:`write_through`), so while this waits,
        the run's writes are sent from its own calls and this task is not
        woken per token.
        """
        encode_many = self.encoder.encode_many
        send = self.send
        buffer = batches.buffer()
        poll = batches.start()
        through = poll is not None and self.enable_write_through(
            batches, buffer, poll == buffer.poll
        )
        started = poll is not None
        # Counted in locals, stored on the way out.
        chunks = writes = sent = 0
        try:
            while not self.gone:  # gone: not even the closing frames
                item = poll() if poll is not None else None
                if item is None:
                    try:
                        item = await batches.__anext__()
                    except StopAsyncIteration:
                        break
                    except Exception as exc:
                        await self.run_failed(exc)
                        return
                    if self.gone:
                        return  # nobody will read it: drop the batch
                    if not started:
                        # The leftovers of a run read chunk by chunk were
                        # this batch: poll from now on.
                        started = True
                        poll = batches.start()
                        through = poll is not None and self.enable_write_through(
                            batches, buffer, poll == buffer.poll
                        )
                elif item.__class__ is not list:
                    if self.keepalive_due:
                        # The shared guard timer woke this loop (serve_run);
                        # the armed wait is polled again after the keepalive.
                        self.keepalive_due = False
                        # Nothing goes through while it is written (the
                        # poll just armed the write-through).
                        buffer.through = None
                        if keepalive is not None and not await self.keepalive_if_silent(keepalive):
                            return
                        continue
                    await item  # type: ignore[misc]
                    if through and self.handed is not None and not await self.finish_handed():
                        return
                    continue
                batch: list[Chunk] = item
                # What the take armed (asyncio): awaited after the send.
                wait = buffer.waiter
                try:
                    data = encode_many(batch)
                except Exception as exc:
                    self.encode_failed(exc)
                    await self.write_error_tail()
                    return
                chunks += len(batch)
                self.error_at = self.through_chunks() if batch[-1].__class__ is ErrorChunk else -1
                if not data:
                    continue
                # write(), inlined.
                while self.keepalive_done is not None:  # another may start meanwhile
                    await self.keepalive_done.wait()
                    if self.gone:
                        return
                self.writing = True
                self.last_write = monotonic()
                try:
                    await send(data)
                except DISCONNECT_ERRORS as exc:
                    self.client_gone(StreamEnd.DISCONNECTED, exc)
                    return
                finally:
                    self.writing = False
                writes += 1
                sent += len(data)
                if wait is not None and wait.__class__ is not anyio.Event:
                    # Done already if the producer wrote during the send.
                    if through and not wait.done():
                        buffer.arm_through(wait)
                    await wait
                    if through and self.handed is not None and not await self.finish_handed():
                        return
            else:
                return
        finally:
            if through:
                # Also breaks the cycle buffer -> bound method -> this object.
                buffer.set_write_through(None)
                if self.handed is not None:
                    self.drop_handed()
            self.chunks += chunks
            self.writes += writes
            self.bytes_sent += sent
        await self.finish()

    async def keepalive_if_silent(self, data: bytes) -> bool:
        """Write the keepalive ``data`` if the stream is still silent for the
        keepalive interval; ``False`` if the client is gone."""
        interval = self.keepalive_interval
        if interval and monotonic() - self.last_write >= interval:
            if not await self._write(data):
                return False
            self.keepalives += 1
        return True

    def wake_for_keepalive(self) -> None:
        """The shared guard timer's call when a keepalive is due (serve_run):
        wake the serving loop parked on the run's buffer, which writes it."""
        self.keepalive_due = True
        self.buffer.wake_waiter()

    def watch_disconnect(
        self, loop: asyncio.AbstractEventLoop, disconnected: Callable[[], Awaitable[object]]
    ) -> asyncio.Future[Any]:
        """Watch ``disconnected()`` (serve_run): a task that awaits it, or, if
        it returns an asyncio future, a callback on that future (no task)."""
        waited = disconnected()
        if isinstance(waited, asyncio.Future):
            waited.add_done_callback(self.disconnect_done)
            return waited

        async def watch() -> None:
            error: BaseException | None = None
            try:
                await waited
            except Exception as exc:
                # The framework could not tell: its connection is broken.
                error = exc
            self.client_gone(StreamEnd.DISCONNECTED, error)

        task = loop.create_task(watch())
        if isinstance(waited, types.CoroutineType):
            # Cancelled before its first step (a start hook that raised), the
            # task never awaits ``waited``: close it, or it warns when freed.
            task.add_done_callback(lambda _: waited.close())
        return task

    def disconnect_done(self, future: asyncio.Future[Any]) -> None:
        """A future from ``disconnected()`` is done: the client is gone
        (unless it was cancelled, on the serving loop's way out)."""
        if not future.cancelled():
            self.client_gone(StreamEnd.DISCONNECTED, future.exception())

    async def serve_run(
        self,
        loop: asyncio.AbstractEventLoop,
        batches: _Batches,
        keepalive: bytes | None,
        start: Callable[[], Awaitable[object]] | None,
        disconnected: Callable[[], Awaitable[object]] | None,
    ) -> None:
        """Serve a run on asyncio: one cancel scope and at most one task.

        This task makes every write, keepalives included (the loop's shared
        guard timer wakes it when one is due, see :meth:`wake_for_keepalive`,
        and ends a write that hangs); a plain task waits for the framework's
        disconnect signal and cancels the scope. Nothing here waits for that
        task: cancelled on the way out, it ends at the loop's next turn.
        """
        watcher: asyncio.Future[Any] | None = None
        guard: _guard.LoopGuard | None = None
        guarded = keepalive is not None or self.send_timeout is not None
        with anyio.CancelScope() as self.scope:
            try:
                if guarded:
                    self.buffer = batches.buffer()
                    self.wake = self.wake_for_keepalive if keepalive is not None else None
                    guard = _guard.watch(loop, self)
                if disconnected is not None:
                    watcher = self.watch_disconnect(loop, disconnected)
                if start is not None:
                    await self.start(start)
                if not self.gone:
                    await self.pump_polled(batches, keepalive)
            finally:
                self.scope = None
                self.wake = None  # a bound method: this object would be a cycle
                if watcher is not None:
                    watcher.cancel()
                if guard is not None:
                    guard.leave(self)

    async def serve_tasks(
        self,
        loop: asyncio.AbstractEventLoop | None,
        iterator: AsyncIterator[Any],
        batched: bool,
        keepalive: bytes | None,
        start: Callable[[], Awaitable[object]] | None,
        disconnected: Callable[[], Awaitable[object]] | None,
    ) -> None:
        """Serve anything else (trio, or a plain async iterable of chunks): a
        task group, whose guard task watches the client and writes keepalives
        while the iterator is awaited."""
        guard: _guard.LoopGuard | None = None
        try:
            async with anyio.create_task_group() as tg:
                self.scope = tg.cancel_scope
                if loop is not None:
                    # The loop's shared guard timer (asyncio), for the
                    # keepalive and the send timeout; trio has a timer per
                    # stream (guard()).
                    guard = _guard.watch(loop, self)
                    if keepalive or disconnected is not None:
                        tg.start_soon(self.guard_shared, keepalive, disconnected)
                elif keepalive or self.send_timeout is not None or disconnected is not None:
                    tg.start_soon(self.guard, keepalive, disconnected)
                if start is not None:
                    await self.start(start)
                if self.gone:
                    pass
                elif iterator.__class__ is _Batches:
                    await self.pump_polled(iterator)
                else:
                    await self.pump(iterator, batched)
                tg.cancel_scope.cancel()
        finally:
            self.scope = None
            if guard is not None:
                guard.leave(self)

    def enable_write_through(self, batches: _Batches, buffer: Any, polled: bool) -> bool:
        """Set up :meth:`write_through` for this stream; ``False`` where it
        cannot be used (not asyncio)."""
        if not WRITE_THROUGH:
            return False
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no asyncio loop: trio
            return False
        loop = asyncio.get_running_loop()
        if task is None or _current_task_of(loop) is not task:
            return False  # asyncio keeps its running task elsewhere
        self.task = task
        self.loop = loop
        self.thread = get_ident()
        self.buffer = buffer
        # The sends it makes run in this context: a send that sets a context
        # variable and resets it after suspending stays in one context.
        self.context = contextvars.copy_context()
        self.record = None if polled else batches.record
        buffer.set_write_through(self.write_through if polled else self.write_through_recorded)
        return True

    def write_through(self, chunk: Chunk) -> bool:
        """Write the producer's chunk from its own call: no second task's wake-up.

        A write to the run calls this (as ``ChunkBuffer.through``, armed
        while nothing is pending and the serving loop waits on the armed
        waiter, which stays armed, as does ``through``); a write from another
        thread than the event loop's is declined at once. The chunk is
        encoded and the adapter's ``send`` is stepped right here, as the
        serving loop's task: asyncio's current task is switched for the step
        and the step runs in the serving loop's context, so cancel scopes,
        timeouts and ``current_task()`` inside the send are the serving
        loop's. A send that finishes without
        suspending (the common case: the server writes to its transport) was
        the whole write; one that suspends (flow control, a middleware that
        waits) is handed to the serving loop, woken to finish it.

        Returns ``False`` to have the chunk buffered as usual: a write in
        progress (the serving loop's own, a keepalive, a handed-over send),
        a write less than :data:`WRITE_THROUGH_QUIET` after the last one (a
        fast producer's writes merge), a write made inside a send of the
        serving loop's task, or a chunk that cannot be encoded (the serving
        loop meets the error as always). Nothing raises into the producer's
        call: a failed send ends the stream as the serving loop's own would.
        """
        if get_ident() != self.thread:
            return False
        now = monotonic()
        if now - self.last_write < WRITE_THROUGH_QUIET:
            return False
        loop = self.loop
        task = self.task
        current = _current_task_of(loop)
        if current is task:  # inside a send of its own: never nested
            return False
        try:
            data = self.encode_one(chunk)
        except Exception:
            return False
        if not data:
            self.through_other += 1
            return True
        self.last_write = now
        # The send, as the serving loop's task: what asyncio's Task does
        # around each step of its own, without its checks (the current task
        # was just read).
        _current_tasks[loop] = task
        try:
            step = self.send(data).__await__()
            # next() with a default: a send that returns raises no
            # StopIteration to catch here.
            yielded = self.context.run(next, step, _DONE)  # type: ignore[union-attr]
        except BaseException as exc:  # the serving loop's to raise
            step = None
            yielded = exc
        finally:
            if current is None:
                del _current_tasks[loop]
            else:
                _current_tasks[loop] = current
        if yielded is _DONE:
            self.through_sent += len(data) + _ONE_WRITE
            return True
        self.through_other += 1
        self.through_failed(step, yielded, len(data))
        return True

    def write_through_recorded(self, chunk: Chunk) -> bool:
        """:meth:`write_through` for a run that assembles its message (hooks):
        a chunk that went through is counted in it, as the run's poll does."""
        if not self.write_through(chunk):
            return False
        assert self.record is not None
        self.record([chunk])
        return True

    def through_failed(self, step: Any, yielded: Any, size: int) -> None:
        """A write-through's send suspended (``step`` and what it yielded) or
        raised (``step`` ``None``, ``yielded`` the exception)."""
        if step is None and isinstance(yielded, DISCONNECT_ERRORS):
            # Not while the serving loop's task was the current one: its
            # cancel scope would then spare it.
            self.client_gone(StreamEnd.DISCONNECTED, yielded)
            self.buffer.wake_waiter()
        else:
            self.hand_over(step, yielded, size)

    def hand_over(self, step: Any, yielded: Any, size: int) -> None:
        """Leave a write-through's send to the serving loop, and wake it."""
        self.writing = True  # the guard's send timeout watches it
        self.handed = (step, yielded, size)
        self.buffer.wake_waiter()

    async def finish_handed(self) -> bool:
        """Finish the send a write-through handed over; ``False`` if the client is gone."""
        handed = self.handed
        assert handed is not None
        self.handed = None
        step, yielded, size = handed
        try:
            if step is None:
                raise yielded
            assert self.context is not None
            await _resume(self.context, step, yielded)
        except DISCONNECT_ERRORS as exc:
            self.client_gone(StreamEnd.DISCONNECTED, exc)
            return False
        finally:
            self.writing = False
        self.through_finished += 1
        self.bytes_sent += size
        return True

    def through_chunks(self) -> int:
        """Chunks the write-through has taken."""
        return (self.through_sent >> 64) + self.through_other

    def drop_handed(self) -> None:
        """The serving loop is leaving: close a handed send it did not finish."""
        handed, self.handed = self.handed, None
        close = None if handed is None else getattr(handed[0], "close", None)
        if close is not None:
            assert self.context is not None
            self.context.run(close)
        self.writing = False

    async def finish(self) -> None:
        """Write the protocol's closing frames; the stream is complete."""
        try:
            data = self.encoder.finish()
        except Exception as exc:
            self.encode_failed(exc)
            return
        if data:
            await self.write(data)
        if self.end is None:
            self.end = StreamEnd.COMPLETE

    async def pump(self, iterator: AsyncIterator[Any], batched: bool) -> None:
        while True:
            if self.gone:
                return  # not even the closing frames: nobody reads them
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except Exception as exc:
                await self.run_failed(exc)
                return
            batch: list[Chunk] | tuple[Chunk, ...] = item if batched else (item,)
            if self.gone:
                # Nobody will read it: drop the batch rather than encode it.
                return
            if not batch:
                continue
            data = self.encode(batch)
            if data is None:
                await self.write_error_tail()
                return
            self.chunks += len(batch)
            self.error_at = self.through_chunks() if isinstance(batch[-1], ErrorChunk) else -1
            if data and not await self.write(data):
                return
        await self.finish()

    async def run_failed(self, exc: Exception) -> None:
        self.end = StreamEnd.RUN_ERROR
        self.error = exc
        if not was_logged(exc):  # a run has logged it already
            self.logger.error("the run raised: %s", exception_text(exc), exc_info=exc)
        # A run has already emitted its ErrorChunk; a plain iterable has not.
        tail: list[Chunk] = []
        if self.error_at != self.through_chunks():  # the last chunk was not an error
            tail.append(ErrorChunk(error=render_error(self.error_message, exc, self.logger)))
        data = self.encode_end(tail)
        if data:
            await self.write(data)

    def encode_end(self, tail: list[Chunk]) -> bytes | None:
        """``tail`` and the closing frames, encoded; ``None`` (the failure
        recorded) if the encoder cannot."""
        try:
            return self.encoder.encode_many(tail) + self.encoder.finish()
        except Exception as exc:
            self.encode_failed(exc)
            return None

    async def write_error_tail(self) -> None:
        # The frames encoded before the bad chunk (``ChunkEncodeError.partial``),
        # then an error frame and the closing frames. Best effort: an encoder
        # that cannot encode anything more just ends the stream.
        partial = getattr(self.error, "partial", b"")
        error = self.error
        assert error is not None
        if self.error_message is None:
            text = f"the response could not be encoded: {error}"
        else:
            text = render_error(self.error_message, error, self.logger)
        chunk = ErrorChunk(error=text)
        try:
            data = partial + self.encoder.encode(chunk) + self.encoder.finish()
        except Exception:
            data = partial
        if data:
            await self.write(data)


@types.coroutine
def _resume(context: contextvars.Context, step: Any, yielded: Any) -> Any:
    """Finish ``step``, a send stepped elsewhere that suspended on
    ``yielded``, in the current task: each yield goes to it, each resumption
    (or exception, a cancellation) goes to the send, in ``context``."""
    try:
        while True:
            try:
                value = yield yielded
            except GeneratorExit:
                raise
            except BaseException as exc:  # the send's to handle
                resume, arg = step.throw, exc
            else:
                resume, arg = step.send, value
            try:
                yielded = context.run(resume, arg)
            except StopIteration as stop:
                return stop.value
    finally:
        context.run(step.close)  # nothing to do once it has ended


async def stream_encoded(
    source: Source,
    encoder: Encoder,
    send: SendBytes,
    *,
    start: Callable[[], Awaitable[object]] | None = None,
    disconnected: Callable[[], Awaitable[object]] | None = None,
    keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
    send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    logger: logging.Logger | None = None,
    error_message: ErrorMessage | None = None,
    end_body: Callable[[], Awaitable[object]] | None = None,
) -> StreamResult:
    """Stream ``source`` through ``encoder`` into ``send``; return how it ended.

    :param source: a run (anything with ``batches()`` and ``aclose()``), whose
        batches are encoded with ``encode_many`` and written with one ``send``
        each; or any async iterable of chunks, written one frame per chunk.
    :param encoder: a fresh encoder from :mod:`assistant_stream_core.protocols`.
    :param send: writes bytes to the client; an exception from
        :data:`DISCONNECT_ERRORS` means the client has gone.
    :param start: awaited once before the first write (for example, to send
        the response headers); a disconnect error there ends the stream.
    :param disconnected: an async callable that returns when the framework
        reports that the client has gone (on asyncio it may return a future
        instead of a coroutine: a run is then served with no task waiting
        for it, only a callback on the future).
    :param keepalive_interval: seconds of silence before the encoder's
        ``keepalive`` bytes are written; ``None`` or ``0`` disables keepalive
        (so does an encoder whose ``keepalive`` is ``None``).
    :param send_timeout: seconds one write may take before the client is
        treated as gone; ``None`` waits forever.
    :param close_timeout: seconds allowed for closing the source.
    :param logger: where to log; defaults to the ``assistant_stream_ce`` logger.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the source or the encoder raises (see
        :mod:`~assistant_stream_core.run.error_messages`); ``None`` sends the
        exception's text. A run from ``create_run`` that has no policy of
        its own gets this one.
    :param end_body: awaited to end the response body when the calling task
        is cancelled (the adapter's own end is skipped, as the cancellation
        propagates); for example, the ASGI ``more_body: False`` message.

    The source is always closed before this returns, also when the calling
    task is cancelled, so a run never outlives its response. A cancelled
    call first writes, within :data:`INTERRUPT_TIMEOUT`, an error frame
    (:data:`INTERRUPTED_MESSAGE`) and the protocol's closing frames, then
    ``end_body``: a server that gives up on a response at shutdown leaves
    its client a stream that ends in the protocol's way.
    """
    # Records about this response name its run (looked up only when one is
    # written: nothing per chunk).
    log = SourceLog(logger or _default_logger, source)
    check_policy(error_message)
    apply_error_message(source, error_message)
    keepalive = encoder.keepalive if keepalive_interval else None
    interval = keepalive_interval if keepalive else None
    streamer = _Streamer(encoder, send, interval, send_timeout, log, error_message)
    # Not isinstance(source, RunSource): a runtime protocol check costs tens
    # of microseconds per stream.
    batches: Any = getattr(source, "batches", None)
    batched = callable(batches) and callable(getattr(source, "aclose", None))
    iterable: Any = batches() if batched else source
    iterator: AsyncIterator[Any] = iterable.__aiter__()
    loop = _running_loop()
    guarded = keepalive or send_timeout is not None
    streamer.head_sent = start is None
    track_response(streamer)
    try:
        if loop is not None and iterator.__class__ is _Batches:
            await streamer.serve_run(loop, iterator, keepalive, start, disconnected)
        else:
            await streamer.serve_tasks(
                loop if guarded else None, iterator, batched, keepalive, start, disconnected
            )
    except anyio.get_cancelled_exc_class():
        # The server cancelled this response (its graceful-shutdown timeout,
        # most often): tell the client in the protocol's own way before the
        # cancellation goes on, rather than cutting the body mid-stream.
        told = await streamer.interrupted(end_body)
        if told:
            log.info(
                "the response was cancelled before the run ended; the client got the error frame"
            )
        raise
    finally:
        # The iterator first (an async generator's ``finally`` runs now),
        # then the run itself (grace, then cancellation of its callback).
        # A run read to its end has nothing to close: skip the shielded scope.
        try:
            if not (isinstance(source, Run) and source.ended):
                to_close: list[Any] = [iterator] if iterator is not source else []
                await _aclose_all([*to_close, source], close_timeout, log)
        finally:
            untrack_response(streamer)
    end = streamer.end or StreamEnd.DISCONNECTED
    write_throughs = (streamer.through_sent >> 64) + streamer.through_finished
    result = StreamResult(
        end=end,
        chunks=streamer.chunks + streamer.through_chunks(),
        writes=streamer.writes + write_throughs,
        bytes_sent=streamer.bytes_sent + (streamer.through_sent & (_ONE_WRITE - 1)),
        keepalives=streamer.keepalives,
        write_throughs=write_throughs,
        error=streamer.error,
    )
    _log_end(log, result)
    return result


def apply_error_message(source: object, error_message: ErrorMessage | None) -> None:
    """Give a run from ``create_run`` the response's policy, unless it has its own."""
    if error_message is not None and getattr(source, "error_message", False) is None:
        source.error_message = error_message  # type: ignore[attr-defined]


def _log_end(log: SourceLog, result: StreamResult) -> None:
    if result.end is StreamEnd.DISCONNECTED:
        cause = f" ({result.error!r})" if result.error is not None else ""
        log.info(
            "client disconnected after %d bytes; the run was stopped%s",
            result.bytes_sent,
            cause,
        )
    elif result.end is StreamEnd.SEND_TIMEOUT:
        log.warning(
            "a write took longer than the send timeout (client not reading); "
            "the run was stopped after %d bytes",
            result.bytes_sent,
        )
    elif result.end is StreamEnd.COMPLETE and result.chunks == 0:
        log.info("the run ended without producing any chunks")
    else:
        log.debug(
            "stream ended: %s, %d chunks, %d writes, %d bytes",
            result.end.value,
            result.chunks,
            result.writes,
            result.bytes_sent,
        )
