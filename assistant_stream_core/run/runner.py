"""``create_run``: an async callback becomes an async iterator of chunks.

Structure (anyio; no task outlives the run)::

    task group                           owned by `async with run` or by the generator
      _produce()                         shielded scope, cancelled only by _stop()
        inner task group
          callback(controller)
          readers of add_stream(...)
        close open tool calls, error chunk, buffer.finish()
    consumer: take everything pending -> one batch; else wait for a write

Two shapes own the task group:

* ``async with create_run(cb) as run: async for chunk in run: ...`` — the safe
  shape (anyio's advice for anything that owns tasks): the task group is
  entered and exited by the ``async with`` block, the callback starts on
  entry, and a timeout may wrap a single ``anext``.
* ``async for chunk in create_run(cb)`` — upstream's shape: the task group
  lives in an async generator started lazily by the first ``__anext__``. The
  run must then be iterated and closed by one task, and a timeout must wrap
  the whole loop, not single ``anext`` calls (cancel scopes must nest). If the
  loop may stop early, close the run (``aclose()``), or the generator is
  finalised later, outside its task.

Closing early (``aclose()``, leaving the ``async with`` block, the consumer's
task being cancelled) sets ``controller.is_cancelled`` and the
``cancelled_event``, gives the callback ``grace_period`` seconds to return on
its own, then cancels it — the producer runs in a shielded scope, so an outer
cancellation reaches the callback only through this path — and waits for it to
finish. A callback that swallows cancellation therefore delays the close.

When the callback (or a merged stream) raises ``e``, open tool calls are
closed, ``ErrorChunk(error=str(e))`` is the last chunk, and the iterator
re-raises ``e`` after yielding it (DESIGN.md decision 3).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

from ..chunks import Chunk, ErrorChunk
from ._buffer import ChunkBuffer
from ._ids import random_id
from .controller import RunController, _RunCore

__all__ = ["DEFAULT_HIGH_WATER_MARK", "Run", "RunCallback", "create_run"]

logger = logging.getLogger("assistant_stream_core.run")

#: Default high-water mark for :meth:`RunController.drain` (see there for the unit).
DEFAULT_HIGH_WATER_MARK = 64 * 1024

RunCallback = Callable[[RunController], Awaitable[Any]]
"""The run function: ``async def run(controller): ...``."""

_Hook = Callable[..., Any]

# Set on an exception whose error chunk is already in a stream, so a run that
# merges a failed run (add_stream) re-raises it without a second error chunk.
_REPORTED = "_assistant_stream_error_reported"


def _mark_reported(exc: BaseException) -> None:
    # AttributeError: only for exceptions without a __dict__ (rare).
    with contextlib.suppress(AttributeError):
        setattr(exc, _REPORTED, True)


class _Batches:
    """``Run.batches()``: the same run, one list of chunks at a time."""

    __slots__ = ("_run",)

    def __init__(self, run: Run) -> None:
        self._run = run

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Chunk]:
        run = self._run
        if run._index < len(run._pending):
            rest = run._pending[run._index :]
            run._pending = []
            run._index = 0
            return rest
        return await run._next_batch()

    async def aclose(self) -> None:
        """Close the run (see :meth:`Run.aclose`)."""
        await self._run.aclose()


class Run:
    """A running (or not yet started) run: an async iterator of chunks.

    Returned by :func:`create_run`. Iterate it once, either chunk by chunk
    (``async for chunk in run``) or batch by batch (``async for batch in
    run.batches()``, each batch being everything pending when asked — the
    shape an adapter wants for one write per batch).

    Prefer ``async with create_run(cb) as run:`` around the loop: the block
    owns the run's tasks and closes the run on exit. Without it, close a run
    you stop reading early with :meth:`aclose`, from the task that iterated it.
    """

    __slots__ = (
        "_accumulator",
        "_callback",
        "_child_scope",
        "_closed",
        "_core",
        "_gen",
        "_grace_period",
        "_index",
        "_on_cancel",
        "_on_complete",
        "_on_error",
        "_pending",
        "_producer_done",
        "_reached_end",
        "_stopped",
        "_task_group",
        "controller",
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
    ) -> None:
        if not callable(callback):
            raise TypeError(f"callback must be an async callable, got {type(callback).__name__}")
        if run_id is None:
            run_id = "run_" + random_id(24)
        elif not isinstance(run_id, str):
            raise TypeError(f"run_id must be a str, got {type(run_id).__name__}")
        if not isinstance(grace_period, (int, float)) or grace_period < 0:
            raise ValueError(f"grace_period must be a number >= 0, got {grace_period!r}")
        if not isinstance(high_water_mark, int) or high_water_mark <= 0:
            raise ValueError(f"high_water_mark must be an int > 0, got {high_water_mark!r}")
        for name, hook in (
            ("on_complete", on_complete),
            ("on_error", on_error),
            ("on_cancel", on_cancel),
        ):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable, got {type(hook).__name__}")
        self._callback = callback
        self._core = _RunCore(ChunkBuffer(high_water_mark), state, run_id)
        #: The run's controller (what the callback receives).
        self.controller = RunController(self._core)
        self._grace_period = float(grace_period)
        self._on_complete = on_complete
        self._on_error = on_error
        self._on_cancel = on_cancel
        self._gen: AsyncGenerator[list[Chunk], None] | None = None
        self._pending: list[Chunk] = []
        self._index = 0
        self._closed = False
        self._child_scope: anyio.CancelScope | None = None
        self._producer_done: anyio.Event | None = None
        self._accumulator: Any = None
        self._reached_end = False
        self._stopped = False
        self._task_group: anyio.abc.TaskGroup | None = None

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
        if self._task_group is not None:
            return await self._next_batch_scoped()
        gen = self._gen
        if gen is None:
            if self._closed:
                raise StopAsyncIteration
            self._gen = gen = self._batches()
        return await gen.__anext__()

    async def aclose(self) -> None:
        """Stop the run: cancel the callback (after the grace period) and wait for it.

        Safe to call more than once, and before iteration started (then the
        callback never runs). Inside ``async with``, the callback is stopped
        here and its task is collected when the block exits.
        """
        self._closed = True
        self._pending = []
        if self._gen is not None:
            await self._gen.aclose()
        elif self._task_group is not None and not self._reached_end and not self._stopped:
            await self._stop()
            assert self._producer_done is not None
            # Shielded: the callback was cancelled and is finishing; wait for it.
            with anyio.CancelScope(shield=True):
                await self._producer_done.wait()

    # -- the safe shape: ``async with create_run(...) as run`` ---------------------------

    async def __aenter__(self) -> Run:
        """Start the run in a task group owned by this ``async with`` block.

        The callback starts at once. Iteration inside the block needs no
        generator, so timeouts may wrap single ``anext`` calls.
        """
        if self._gen is not None or self._task_group is not None or self._closed:
            raise RuntimeError("enter the run with `async with` before iterating or closing it")
        self._start()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._produce)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the run if it has not ended, wait for its tasks, call the hook."""
        task_group = self._task_group
        if task_group is None:  # pragma: no cover - __aenter__ failed
            return
        try:
            if not self._reached_end and not self._stopped:
                await self._stop()
            # The block's own exception is not passed in: the task group would
            # wrap it in an exception group. It propagates unchanged instead.
            await task_group.__aexit__(None, None, None)
        finally:
            await self._end(self._reached_end)

    async def _next_batch_scoped(self) -> list[Chunk]:
        if self._reached_end or self._stopped:
            raise StopAsyncIteration
        batch = await self._wait_batch()
        if batch is not None:
            return batch
        self._reached_end = True
        error = self._core.error
        if error is not None:
            raise error
        raise StopAsyncIteration

    # -- shared by both shapes -----------------------------------------------------------

    def _start(self) -> None:
        self._core.bind()
        self._producer_done = anyio.Event()
        self._child_scope = anyio.CancelScope(shield=True)
        self._accumulator = self._make_accumulator()

    async def _wait_batch(self) -> list[Chunk] | None:
        """The next batch: everything pending, waiting if nothing is; ``None`` at the end."""
        buffer = self._core.buffer
        while True:
            batch, done = buffer.take()
            if batch:
                if self._accumulator is not None:
                    self._accumulator.add_many(batch)
                return batch
            if done:
                return None
            event = buffer.arm()
            if event is not None:
                await event.wait()

    async def _end(self, reached_end: bool) -> None:
        self._core.buffer.end()
        accumulator = self._accumulator
        if accumulator is not None:
            self._accumulator = None  # hooks run once
            # A finished run's message is final; a cancelled one's is a snapshot.
            message = accumulator.finish() if reached_end else accumulator.message
            await self._call_hooks(reached_end, message)

    # -- the lazy shape: a generator that owns the task group -----------------------------

    async def _batches(self) -> AsyncGenerator[list[Chunk], None]:
        self._start()
        left: BaseException | None = None
        try:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(self._produce)
                try:
                    while (batch := await self._wait_batch()) is not None:
                        yield batch
                except BaseException as exc:
                    # The consumer left early (aclose, cancellation, an error
                    # thrown in). Raised again below, outside the task group,
                    # which would otherwise wrap it in an exception group.
                    left = exc
                    await self._stop()
            if left is not None:
                raise left
            self._reached_end = True
        finally:
            await self._end(self._reached_end)
        if self._core.error is not None:
            raise self._core.error

    async def _stop(self) -> None:
        self._stopped = True
        core = self._core
        core.mark_cancelled()
        core.buffer.cancel()
        assert self._producer_done is not None
        assert self._child_scope is not None
        with anyio.move_on_after(self._grace_period, shield=True):
            await self._producer_done.wait()
        self._child_scope.cancel()

    async def _produce(self) -> None:
        core = self._core
        assert self._child_scope is not None
        assert self._producer_done is not None
        try:
            with self._child_scope:
                async with anyio.create_task_group() as inner:
                    core.task_group = inner
                    inner.start_soon(self._call_callback)
            core.task_group = None
            self._finish()
        finally:
            core.task_group = None
            # Idempotent; here so that the consumer never waits on a producer
            # that died of something other than an Exception.
            core.buffer.finish()
            self._producer_done.set()

    async def _call_callback(self) -> None:
        try:
            await self._callback(self.controller)
        except Exception as exc:
            self._core.fail(exc)

    def _finish(self) -> None:
        core = self._core
        buffer = core.buffer
        core.close_open_tools()
        error = core.error
        if error is not None:
            if core.cancelled:
                logger.warning("run %s raised after its consumer left", core.run_id, exc_info=error)
            else:
                logger.error("run %s failed", core.run_id, exc_info=error)
            if not getattr(error, _REPORTED, False):
                buffer.add(ErrorChunk(error=str(error)))
                _mark_reported(error)
        buffer.finish()

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
                logger.exception("run %s: hook %r raised", core.run_id, hook)


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
) -> Run:
    """Turn ``callback`` into a :class:`Run`: an async iterator of chunks.

    :param callback: ``async def run(controller: RunController)``; it starts on
        the first iteration.
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
    )
