"""``create_run``: an async callback becomes an async iterator of chunks.

Structure (the producers are in :mod:`._producer`)::

    producer                             runs the callback, then the closing chunks
      callback(controller)
      readers of add_stream(...)         made on first use
      close open tool calls, error chunk, buffer.finish()
    consumer: take everything pending -> one batch; else wait for a write

Two shapes own the producer:

* ``async with create_run(cb) as run: async for chunk in run: ...`` — the
  producer runs in a task group entered and exited by the ``async with``
  block (anyio's advice for anything that owns tasks): the callback starts on
  entry and the block does not exit before it has ended. An inner task group,
  shielded, hosts the readers; its scope's deadline ends the grace period.
* ``async for chunk in create_run(cb)`` — upstream's shape. The first
  ``__anext__`` starts the producer as a *detached* task owned by the
  :class:`Run` object. There is no task group and no async generator, so
  nothing ties the run to the task that iterates it: a timeout may wrap a
  single ``anext``, and :meth:`Run.aclose` may be called from any task
  (upstream's ``test_early_stream_close_does_not_swallow_close_task_
  cancellation``). A generator holding a task group across ``yield`` would
  exit that group's cancel scope in whichever task closed it, and anyio
  would then cancel the task that iterated the run. On asyncio (what every
  asyncio web adapter streams) that task is the callback's own, made with
  ``loop.create_task``, with no task group and no cancel scope: one task per
  run; on trio a system task with the inner task group.

Stopping (``aclose()``, leaving the ``async with`` block, the consumer being
cancelled inside ``__anext__``) sets ``controller.is_cancelled`` and the
``cancelled_event`` and has the producer cancel the callback
``grace_period`` seconds later (its scope's deadline; on asyncio in the plain
shape a timer of the loop): a callback that returns in time is not
cancelled, one that does not is cancelled when the deadline passes. The
stopper then waits for the producer:

* ``aclose()`` in the plain shape waits *cancellably*: cancelling the closing
  task ends its wait at once. The producer is not abandoned — it keeps
  cancelling the callback (at every checkpoint in a scope, every
  ``RECANCEL_INTERVAL`` on asyncio) until the callback ends, and its
  ``finally:`` blocks run. A callback that swallows
  its cancellation is closed after ``close_timeout`` on asyncio
  (``_TaskProducer.cancel``); on trio it outlives its run.
* a consumer cancelled inside ``__anext__`` (plain shape) closes the run, as
  an exception thrown into upstream's generator does, and waits shielded, so
  the callback has ended when the cancellation propagates (at most
  ``grace_period + close_timeout`` and a margin). To time out one
  ``anext`` and keep reading, use the ``async with`` shape.
* the ``async with`` block waits shielded, like any task group.

A plain-shape run that is dropped without being closed or read to the end
(the consumer lost its reference) is stopped when it is garbage-collected,
exactly as :meth:`Run.aclose` would stop it (grace period, then
cancellation), from a callback scheduled on its event loop; no hook is called
for it, as nobody is left to receive the message. The producer holds no
reference to the :class:`Run`, so dropping it does free it. A run that is
kept but never read runs until its callback blocks in
:meth:`RunController.drain` (the buffer is full) or ends.

When the callback (or a merged stream) raises ``e``, open tool calls are
closed, ``ErrorChunk(error=str(e))`` is the last chunk (or the text the run's
``error_message`` policy gives, see :mod:`.error_messages`), and the iterator
re-raises ``e`` after yielding it (docs/architecture.rst, "A raising run"). A
``BaseException`` that is not a cancellation (``KeyboardInterrupt``, ...)
ends the stream and is raised by the iterator (plain shape) or by the
``async with`` block.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from ..chunks import Chunk
from ..ids import random_id
from ._buffer import ChunkBuffer
from ._producer import RECANCEL_INTERVAL, _Producer, make_producer
from .controller import RunController, _RunCore
from .error_messages import ErrorMessage, check_policy

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_HIGH_WATER_MARK",
    "RECANCEL_INTERVAL",
    "Run",
    "RunCallback",
    "create_run",
]

logger = logging.getLogger("assistant_stream_core.run")

#: Default high-water mark for :meth:`RunController.drain` (see there for the unit).
DEFAULT_HIGH_WATER_MARK = 64 * 1024
#: Default seconds a stopped run waits, after the grace period, for a callback
#: that ignores its cancellation before abandoning it.
DEFAULT_CLOSE_TIMEOUT = 5.0
RunCallback = Callable[[RunController], Awaitable[Any]]
"""The run function: ``async def run(controller): ...``."""

_Hook = Callable[..., Any]


async def _ready(batch: list[Chunk]) -> list[Chunk]:
    return batch


class _Batches:
    """``Run.batches()``: the same run, one list of chunks at a time."""

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    def __aiter__(self) -> _Batches:
        return self

    def __anext__(self) -> Awaitable[list[Chunk]]:
        # Not a coroutine of its own: the run's is returned as is, one frame
        # less for every batch (at a model's pace, for every token).
        run = self._run
        if run._index < len(run._pending):
            rest = run._pending[run._index :]
            run._pending = []
            run._index = 0
            return _ready(rest)
        return run._next_batch()

    def start(self) -> Callable[[], list[Chunk] | Awaitable[object] | None] | None:
        """Start the run if it has not started, without waiting for a batch;
        return :meth:`poller`'s ``poll``. ``None``: take the next batch with
        ``__anext__`` first (the run was closed before it started, or chunks
        are left over from iterating it chunk by chunk)."""
        run = self._run
        if run._producer is None:
            if run._closed:
                return None
            run._start(scoped=False).spawn()
        elif run._index < len(run._pending):
            return None
        return self.poller()

    def poller(self) -> Callable[[], list[Chunk] | Awaitable[object] | None]:
        """The serving loop's fast path, once ``__anext__`` has started the run.

        The returned ``poll()`` gives a non-empty batch; or what to await
        before polling again (nothing was pending); or ``None``: take the
        next batch with ``__anext__`` instead (the run has ended or was
        stopped). No coroutine per batch: at a model's pace, per token. A
        wait cancelled there leaves the run to the caller to close, as
        :func:`~assistant_stream_core.run.serve.stream_encoded` always does.
        """
        run = self._run
        if run._accumulator is None:
            # Nothing to do here per batch: the buffer's own take.
            return run._core.buffer.poll
        return self.poll

    def buffer(self) -> ChunkBuffer:
        """The run's buffer (the serving loop reads its armed :attr:`~ChunkBuffer.waiter`)."""
        return self._run._core.buffer

    def record(self, batch: list[Chunk]) -> None:
        """Count ``batch``, taken from the buffer directly (a write-through),
        in the message a run with hooks assembles."""
        accumulator = self._run._accumulator
        if accumulator is not None:
            accumulator.add_many(batch)

    def poll(self) -> list[Chunk] | Awaitable[object] | None:
        """:meth:`poller`'s ``poll`` for a run that assembles its message (hooks)."""
        run = self._run
        if (
            run._producer is None
            or run._stopped
            or run._reached_end
            or run._index < len(run._pending)
        ):
            return None
        item = run._core.buffer.poll()
        if item.__class__ is list and run._accumulator is not None:
            run._accumulator.add_many(item)
        return item

    async def aclose(self) -> None:
        """Close the run (see :meth:`Run.aclose`)."""
        await self._run.aclose()


class Run:
    """A running (or not yet started) run: an async iterator of chunks.

    Returned by :func:`create_run`. Iterate it once, either chunk by chunk
    (``async for chunk in run``) or batch by batch (``async for batch in
    run.batches()``, each batch being everything pending when asked — the
    shape an adapter wants for one write per batch).

    ``async with create_run(cb) as run:`` around the loop ties the callback's
    task to the block, which closes the run on exit. Without it, close a run
    you stop reading early with :meth:`aclose` (from any task); a run dropped
    unclosed is stopped when it is garbage-collected.
    """

    __slots__ = (
        "_accumulator",
        "_callback",
        "_close_timeout",
        "_closed",
        "_core",
        "_grace_period",
        "_index",
        "_on_cancel",
        "_on_complete",
        "_on_error",
        "_pending",
        "_producer",
        "_reached_end",
        "_stopped",
        "_task_group",
        "controller",
        "error_message",
    )

    def __init__(
        self,
        callback: RunCallback,
        *,
        state: Any = None,
        run_id: str | None = None,
        grace_period: float = 0.05,
        high_water_mark: int = DEFAULT_HIGH_WATER_MARK,
        on_complete: _Hook | None = None,
        on_error: _Hook | None = None,
        on_cancel: _Hook | None = None,
        error_message: ErrorMessage | None = None,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
    ) -> None:
        self._producer: _Producer | None = None  # first: __del__ reads it
        if not callable(callback):
            raise TypeError(f"callback must be an async callable, got {type(callback).__name__}")
        if run_id is None:
            run_id = "run_" + random_id(24)
        elif not isinstance(run_id, str):
            raise TypeError(f"run_id must be a str, got {type(run_id).__name__}")
        if not isinstance(grace_period, (int, float)) or grace_period < 0:
            raise ValueError(f"grace_period must be a number >= 0, got {grace_period!r}")
        if not isinstance(close_timeout, (int, float)) or close_timeout < 0:
            raise ValueError(f"close_timeout must be a number >= 0, got {close_timeout!r}")
        if not isinstance(high_water_mark, int) or high_water_mark <= 0:
            raise ValueError(f"high_water_mark must be an int > 0, got {high_water_mark!r}")
        for name, hook in (
            ("on_complete", on_complete),
            ("on_error", on_error),
            ("on_cancel", on_cancel),
        ):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable, got {type(hook).__name__}")
        check_policy(error_message)
        self._callback = callback
        self._core = _RunCore(ChunkBuffer(high_water_mark), state, run_id)
        #: The run's controller (what the callback receives).
        self.controller = RunController(self._core)
        self._grace_period = float(grace_period)
        self._close_timeout = float(close_timeout)
        self._on_complete = on_complete
        self._on_error = on_error
        self._on_cancel = on_cancel
        #: The error-message policy (see :mod:`.error_messages`); ``None``
        #: sends the exception's text. A response streaming this run sets its
        #: own policy here if the run has none, before the run starts.
        self.error_message = error_message
        self._pending: list[Chunk] = []
        self._index = 0
        self._closed = False
        self._accumulator: Any = None
        self._reached_end = False
        self._stopped = False
        self._task_group: anyio.abc.TaskGroup | None = None

    def __del__(self) -> None:
        # A plain-shape run dropped while its producer runs: stop it as
        # aclose() would. Scheduled on the loop: GC may run in any thread, and
        # the stop touches the loop's events and the producer's cancel scope.
        producer = self._producer
        if (
            producer is None
            or self._task_group is not None
            or self._stopped
            or self._reached_end
            or producer.finished
        ):
            return
        # RuntimeError: the event loop is closed, and the producer with it.
        with contextlib.suppress(RuntimeError):
            producer.stop_soon(self._grace_period)

    @property
    def ended(self) -> bool:
        """``True`` once the last chunk has been read: :meth:`aclose` has nothing to do."""
        return self._reached_end and self._accumulator is None

    @property
    def run_id(self) -> str:
        """The run's id (given to :func:`create_run`, or generated)."""
        return self._core.run_id

    # -- iteration ---------------------------------------------------------------

    def __aiter__(self) -> Run:
        return self

    async def __anext__(self) -> Chunk:
        pending = self._pending
        index = self._index
        if index < len(pending):
            self._index = index + 1
            return pending[index]
        batch = await self._next_batch()
        self._pending = batch
        self._index = 1
        return batch[0]

    def batches(self) -> _Batches:
        """Iterate the run one batch (a non-empty ``list`` of chunks) at a time."""
        return _Batches(self)

    async def _next_batch(self) -> list[Chunk]:
        if self._reached_end or self._stopped:
            raise StopAsyncIteration
        producer = self._producer
        scoped = self._task_group is not None
        if producer is None:
            if self._closed:
                raise StopAsyncIteration
            producer = self._start(scoped=False)
            producer.spawn()
        # The wait for a batch, inline: at a model's pace this frame is
        # resumed once per token.
        buffer = self._core.buffer
        try:
            while True:
                batch, done, wait = buffer.take_or_arm()
                if batch or done:
                    break
                if wait is not None:
                    await wait
        except BaseException:
            if not scoped:
                # The consumer was cancelled (or interrupted) while waiting:
                # like an exception thrown into upstream's generator, that
                # closes the run; shielded, so the callback has ended when the
                # cancellation goes on — unless it ignores its cancellation:
                # then the wait ends with the close timeout.
                with anyio.move_on_after(self._stop_limit(), shield=True):
                    await self._stop_and_wait(producer)
            raise
        if self._stopped:
            # Another task closed the run while this one waited.
            raise StopAsyncIteration
        if batch:
            if self._accumulator is not None:
                self._accumulator.add_many(batch)
            return batch
        self._reached_end = True
        fatal = producer.fatal
        if fatal is not None:
            await self._end(False)
            raise fatal
        if not scoped:
            await self._end(True)
        error = self._core.error
        if error is not None:
            raise error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop the run: cancel the callback (after the grace period) and wait for it.

        Safe to call more than once, from any task, and before iteration
        started (then the callback never runs). Cancelling the task that
        waits here ends the wait at once; the callback keeps being cancelled
        and ends on its own. Inside ``async with``, the callback is stopped
        here and its task is collected when the block exits.
        """
        self._closed = True
        self._pending = []
        self._index = 0
        producer = self._producer
        if producer is None or self._reached_end:
            return
        if self._task_group is not None:
            if not self._stopped:
                self._stopped = True
                producer.stop(self._grace_period)
                # Shielded: the callback was cancelled and is finishing; wait for it.
                with anyio.move_on_after(self._stop_limit(), shield=True):
                    await producer.wait_done()
            return
        if self._stopped:
            await producer.wait_done()
            return
        await self._stop_and_wait(producer)

    def _stop_limit(self) -> float:
        # The grace period, the close timeout, and a margin for the producer
        # to finish after it has abandoned the callback.
        return self._grace_period + self._close_timeout + 1.0

    async def _stop_and_wait(self, producer: _Producer) -> None:
        self._stopped = True
        producer.stop(self._grace_period)
        try:
            await producer.wait_done()  # cancellable: see the module doc
        finally:
            await self._end(False)

    # -- the safe shape: ``async with create_run(...) as run`` ---------------------------

    async def __aenter__(self) -> Run:
        """Start the run in a task group owned by this ``async with`` block.

        The callback starts at once. Iteration inside the block needs no
        generator, so timeouts may wrap single ``anext`` calls.
        """
        if self._producer is not None or self._closed:
            raise RuntimeError("enter the run with `async with` before iterating or closing it")
        producer = self._start(scoped=True)
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(producer.run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the run if it has not ended, wait for its tasks, call the hook."""
        task_group = self._task_group
        producer = self._producer
        if task_group is None or producer is None:  # pragma: no cover - __aenter__ failed
            return
        try:
            if not self._reached_end and not self._stopped:
                self._stopped = True
                producer.stop(self._grace_period)
            # The block's own exception is not passed in: the task group would
            # wrap it in an exception group. It propagates unchanged instead.
            await task_group.__aexit__(None, None, None)
        finally:
            await self._end(self._reached_end)

    # -- shared by both shapes -----------------------------------------------------------

    def _start(self, *, scoped: bool) -> _Producer:
        self._producer = producer = make_producer(
            self._callback,
            self.controller,
            self._core,
            scoped=scoped,
            error_message=self.error_message,
            close_timeout=self._close_timeout,
        )
        self._accumulator = self._make_accumulator()
        return producer

    async def _end(self, reached_end: bool) -> None:
        accumulator = self._accumulator
        if accumulator is not None:
            self._accumulator = None  # hooks run once
            # A finished run's message is final; a cancelled one's is a snapshot.
            message = accumulator.finish() if reached_end else accumulator.message
            await self._call_hooks(reached_end, message)

    # -- hooks -----------------------------------------------------------------------

    def _make_accumulator(self) -> Any:
        # Only pay for assembling the message when someone will read it.
        if self._on_complete is None and self._on_error is None and self._on_cancel is None:
            return None
        from ..message import MessageAccumulator

        # The client applies state operations to the state it already holds.
        return MessageAccumulator(state=self._core.state.value)

    async def _call_hooks(self, reached_end: bool, message: Any) -> None:
        core = self._core
        error = core.error
        args: tuple[Any, ...]
        if not reached_end:
            hook, args = self._on_cancel, (core.run_id, message)
        elif error is not None:
            hook, args = self._on_error, (core.run_id, message, error)
        else:
            hook, args = self._on_complete, (core.run_id, message)
        if hook is None:
            return
        # Shielded: a cancelled consumer still gets its on_cancel call.
        with anyio.CancelScope(shield=True):
            try:
                result = hook(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception(
                    "run %s: hook %r raised", core.run_id, hook, extra={"run_id": core.run_id}
                )


def create_run(
    callback: RunCallback,
    *,
    state: Any = None,
    run_id: str | None = None,
    grace_period: float = 0.05,
    high_water_mark: int = DEFAULT_HIGH_WATER_MARK,
    on_complete: _Hook | None = None,
    on_error: _Hook | None = None,
    on_cancel: _Hook | None = None,
    error_message: ErrorMessage | None = None,
    close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
) -> Run:
    """Turn ``callback`` into a :class:`Run`: an async iterator of chunks.

    :param callback: ``async def run(controller: RunController)``; it starts on
        the first iteration, or on entering ``async with``.
    :param state: the initial state (any JSON value, deep-copied); ``None``
        means ``controller.state`` is ``None`` until assigned.
    :param run_id: the run's id; generated (``"run_"`` + 24 characters) if not given.
    :param grace_period: seconds a cancelled callback gets to return on its
        own before it is cancelled.
    :param high_water_mark: the buffer size above which
        :meth:`RunController.drain` waits (characters of pending deltas, plus
        64 per other chunk or state operation).
    :param on_complete: ``on_complete(run_id, message)``, after the last chunk
        of a run that ended normally.
    :param on_error: ``on_error(run_id, message, exc)``, after the error chunk
        of a run whose callback raised ``exc``.
    :param on_cancel: ``on_cancel(run_id, message)``, when the consumer left
        before the end.
    :param error_message: ``error_message(exc) -> str``, the text of the
        error chunk when the callback raises ``exc``; ``None`` (the default)
        sends ``str(exc)``, as upstream does.
        :func:`~assistant_stream_core.run.internal_error` sends a fixed
        sentence instead. The exception is logged either way.
    :param close_timeout: seconds a stopped run waits, after the grace period,
        for a callback that ignores its cancellation (catches
        ``CancelledError`` and goes on). On asyncio it is cancelled again
        every quarter of a second until then, and then abandoned with a
        warning: its task is never cancelled again (no busy loop), and its
        writes to the controller raise :class:`RunClosedError`.

    Each hook may be sync or async, is called at most once, and only one of
    them is called per run. ``message`` is what the consumer received,
    assembled by :class:`assistant_stream_core.message.MessageAccumulator`.
    A hook that raises is logged, not propagated.

    :raises TypeError: ``state`` is not JSON, or an argument has the wrong type.
    :raises ValueError: a bad ``grace_period``/``high_water_mark``, or a
        non-finite number in ``state``.
    """
    return Run(
        callback,
        state=state,
        run_id=run_id,
        grace_period=grace_period,
        high_water_mark=high_water_mark,
        on_complete=on_complete,
        on_error=on_error,
        on_cancel=on_cancel,
        error_message=error_message,
        close_timeout=close_timeout,
    )
