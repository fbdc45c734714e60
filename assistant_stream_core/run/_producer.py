"""What runs a run's callback: two producers, by how the run is owned.

* :class:`_TaskProducer`, a run iterated without ``async with`` on asyncio
  (what every asyncio web adapter streams): one task, created with the
  loop's own ``create_task``, which *is* the callback's task. No task group
  and no cancel scope: a stop cancels that task by hand when the grace
  period ends, and again every :data:`RECANCEL_INTERVAL` seconds until the
  close timeout (a scope would cancel it again at every turn of the loop, a
  busy loop for a callback that swallows its cancellation); then its
  coroutine is closed. The readers of ``add_stream()`` are tasks of their
  own, made on first use and joined once the callback has returned.
* :class:`_ScopedProducer`, everything else: the ``async with`` shape (the
  block's task group hosts it) and trio. An anyio task group hosts the
  readers; its scope is the run's and its deadline ends the grace period.
  On asyncio the callback still runs in a task of its own, cancelled by hand,
  for the same reason as above.

Both expose what the run (:class:`~assistant_stream_core.run.runner.Run`)
and the controller's core need: :meth:`_Producer.stop`,
:meth:`_Producer.wait_done`, and, while the callback runs, ``start_soon``
(a reader of ``add_stream``) and ``cancel`` (a reader or the callback
failed: stop everything now), through ``core.host``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from ..chunks import ErrorChunk
from .controller import RunController, _RunCore
from .error_messages import ErrorMessage, render_error
from .errors import mark_logged
from .log_records import SourceLog

__all__ = ["RECANCEL_INTERVAL", "make_producer"]

logger = logging.getLogger("assistant_stream_core.run")

#: Seconds between two cancellations of a callback that swallowed one (asyncio).
RECANCEL_INTERVAL = 0.25

RunCallback = Callable[[RunController], Awaitable[Any]]


def call_callback(callback: RunCallback, controller: RunController) -> Awaitable[Any]:
    """``callback(controller)``, which must be awaitable.

    A plain ``def`` returns ``None`` and an async generator function returns
    a generator; awaiting either fails with a message about ``await`` that
    does not say the callback is the problem.
    """
    result = callback(controller)
    if not inspect.isawaitable(result):
        name = getattr(callback, "__qualname__", type(callback).__name__)
        raise TypeError(
            f"the run callback {name} returned {type(result).__name__}, not an awaitable: "
            "define it with async def (and without yield)"
        )
    return result


_Start = Callable[[], Coroutine[Any, Any, None]]

# Set on an exception whose error chunk is already in a stream, so a run that
# merges a failed run (add_stream) re-raises it without a second error chunk.
_REPORTED = "_assistant_stream_error_reported"

# Strong references to the detached producers and the callbacks' own tasks:
# asyncio keeps only weak ones, and a dropped Run must not take its running
# producer with it.
_DETACHED: set[asyncio.Task[None]] = set()


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # cancelled with its waiter
        future.set_result(None)


def _mark_reported(exc: BaseException) -> None:
    # AttributeError: only for exceptions without a __dict__ (rare).
    with contextlib.suppress(AttributeError):
        setattr(exc, _REPORTED, True)


def make_producer(
    callback: RunCallback,
    controller: RunController,
    core: _RunCore,
    *,
    scoped: bool,
    error_message: ErrorMessage | None,
    close_timeout: float,
) -> _Producer:
    """The producer for a run started now, in the running event loop."""
    core.bind()
    assert core.token is not None
    native = core.token.native_token
    if not scoped and isinstance(native, asyncio.AbstractEventLoop):
        return _TaskProducer(callback, controller, core, native, error_message, close_timeout)
    return _ScopedProducer(
        callback, controller, core, native, error_message, close_timeout, shield=scoped
    )


class _Producer:
    """What both producers share: the callback, the run's end, waiting for it."""

    __slots__ = (
        "_done",
        "callback",
        "close_timeout",
        "controller",
        "core",
        "error_message",
        "fatal",
        "finished",
        "native",
    )

    def __init__(
        self,
        callback: RunCallback,
        controller: RunController,
        core: _RunCore,
        native: Any,
        error_message: ErrorMessage | None,
        close_timeout: float,
    ) -> None:
        self.callback = callback
        self.controller = controller
        self.core = core
        #: The event loop (asyncio) or trio's token: what the run started in.
        self.native = native
        self.error_message = error_message
        self.close_timeout = close_timeout
        self.finished = False
        self._done: anyio.Event | None = None  # made only if someone waits
        self.fatal: BaseException | None = None

    def spawn(self) -> None:
        """Start :meth:`run_detached` in a task nothing awaits (the plain shape)."""
        raise NotImplementedError

    async def run(self) -> None:
        """Run the callback and merged streams, then end the buffer."""
        raise NotImplementedError

    def stop(self, grace_period: float) -> None:
        """Signal the callback and cancel it after ``grace_period`` (loop thread, sync)."""
        raise NotImplementedError

    def stop_soon(self, grace_period: float) -> None:
        """:meth:`stop`, from any thread (a :class:`Run` garbage-collected anywhere)."""
        raise NotImplementedError

    def start_soon(self, func: _Start) -> None:
        """Start a reader of ``add_stream`` (loop thread, while the run runs)."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Cancel the callback and every reader now (loop thread): one failed."""
        raise NotImplementedError

    async def run_detached(self) -> None:
        """The plain shape's task: :meth:`run`, keeping every exception in."""
        try:
            await self.run()
        except anyio.get_cancelled_exc_class():
            pass  # the event loop is shutting down and cancels every task
        except GeneratorExit:
            raise  # its coroutine is being closed (_close_stubborn)
        except BaseException as exc:
            self.fatal = exc  # raised by the consumer at the end of the stream

    def ended(self) -> None:
        """Mark the producer ended and wake its waiters (idempotent, sync).

        Also called when its task ends without running :meth:`run` at all.
        """
        if not self.finished:
            self.core.buffer.finish()
            self.core.buffer.end()
            self.finished = True
        if self._done is not None:
            self._done.set()

    async def wait_done(self) -> None:
        """Wait until :meth:`run` has ended."""
        if self.finished:
            await anyio.lowlevel.checkpoint()
            return
        if self._done is None:
            self._done = anyio.Event()
        await self._done.wait()

    def _end_buffer(self) -> None:
        # In a finally, so that the consumer never waits on a producer that
        # died of something other than an Exception. From now on the
        # controller raises RunClosedError. Not earlier: a stubborn callback
        # still running after its closer gave up writes into a cancelled
        # buffer, which drops the writes quietly.
        self.core.host = None
        self.ended()

    def _close_stubborn(self, task: asyncio.Task[None], what: str) -> None:
        """End a task that ignored cancellation for the whole close timeout.

        ``coroutine.close()`` raises ``GeneratorExit`` where it waits, which
        ``except CancelledError`` does not catch: its ``finally:`` blocks run
        (they cannot await) and the coroutine ends. Without this the task
        would live on, and an event loop that cancels every task at shutdown
        (``aiohttp.web.run_app``, ``asyncio.run``) would wait for it forever.
        Work the callback handed to a thread goes on in that thread.
        """
        run_id = self.core.run_id
        logger.warning(
            "run %s: the %s ignored cancellation for %.1f s; closing its coroutine",
            run_id,
            what,
            self.close_timeout,
            extra={"run_id": run_id},
        )
        try:
            task.get_coro().close()
        except RuntimeError:
            # It awaited in a finally: block. Left to the task (and logged).
            logger.exception(
                "run %s: the %s would not close", run_id, what, extra={"run_id": run_id}
            )
            return
        # The task ends at its next step, stepping a closed coroutine; what
        # it ends with says nothing more (retrieved, so asyncio is quiet).
        task.add_done_callback(_retrieve)
        task.cancel()

    def _finish(self) -> None:
        core = self.core
        buffer = core.buffer
        core.close_open_tools()
        error = core.error
        if error is not None:
            ids = {"run_id": core.run_id}
            if core.cancelled:
                logger.warning(
                    "run %s raised after its consumer left", core.run_id, exc_info=error, extra=ids
                )
            else:
                logger.error("run %s failed", core.run_id, exc_info=error, extra=ids)
            mark_logged(error)
            if not getattr(error, _REPORTED, False):
                # Upstream's contract is str(e), even when empty.
                # A policy that fails is logged naming this run.
                named = SourceLog(logger, core)
                text = render_error(self.error_message, error, named, default=str)
                buffer.add(ErrorChunk(error=text))
                _mark_reported(error)


class _TaskProducer(_Producer):
    """The plain shape on asyncio: one task, the callback's own (see the module doc)."""

    __slots__ = ("close_at", "readers", "returned", "task", "timer")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.task: asyncio.Task[None] | None = None
        #: The callback has returned: a stop cancels only readers now, not
        #: :attr:`task` (before its first step the task itself is cancelled).
        self.returned = False
        #: add_stream's readers, made on first use.
        self.readers: set[asyncio.Task[None]] | None = None
        #: The pending cancellation (the end of the grace period, or the
        #: next re-cancellation).
        self.timer: asyncio.TimerHandle | None = None
        #: Set by the first cancellation: when what still runs is closed.
        self.close_at: float | None = None

    def spawn(self) -> None:
        loop: asyncio.AbstractEventLoop = self.native
        self.task = task = loop.create_task(self.run_detached())  # copies the context
        _DETACHED.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        _DETACHED.discard(task)
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        # A task cancelled before its first step (the loop shutting down)
        # never runs the producer's finally: wake its waiters.
        self.ended()

    async def run(self) -> None:
        core = self.core
        core.host = self
        try:
            error: Exception | None = None
            try:
                await call_callback(self.callback, self.controller)
            except Exception as exc:
                error = exc
            except asyncio.CancelledError:
                # The stop's cancellation, or the loop's at shutdown: the
                # callback has ended either way; so does the run.
                pass
            # Before fail(), which must not cancel this task: only readers.
            self.returned = True
            if error is not None:
                core.fail(error)
            if self.readers:
                await self._join_readers()
            core.host = None
            self._finish()
        finally:
            self._end_buffer()

    async def _join_readers(self) -> None:
        readers = self.readers
        assert readers is not None
        while readers:  # a reader may add another
            done, _ = await asyncio.wait(list(readers))
            for task in done:
                # A BaseException that is not a cancellation ends the run.
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    def start_soon(self, func: _Start) -> None:
        loop: asyncio.AbstractEventLoop = self.native
        task = loop.create_task(func())
        if self.readers is None:
            self.readers = set()
        self.readers.add(task)
        task.add_done_callback(self.readers.discard)
        if self.close_at is not None:
            task.cancel()  # the run is being cancelled: so is a late reader

    def stop(self, grace_period: float) -> None:
        core = self.core
        core.mark_cancelled()
        core.buffer.cancel()
        if self.close_at is not None or self.task is None or self.task.done():
            return  # cancelling already, or over
        loop: asyncio.AbstractEventLoop = self.native
        deadline = loop.time() + grace_period
        timer = self.timer
        if timer is None or deadline < timer.when():
            if timer is not None:
                timer.cancel()
            self.timer = loop.call_at(deadline, self.cancel)

    def stop_soon(self, grace_period: float) -> None:
        loop: asyncio.AbstractEventLoop = self.native
        loop.call_soon_threadsafe(self.stop, grace_period)

    def cancel(self) -> None:
        """Cancel the callback and the readers; again every
        :data:`RECANCEL_INTERVAL` while one of them runs on; close what is
        left after the close timeout."""
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()
        task = self.task
        if task is None or task.done():
            return
        loop: asyncio.AbstractEventLoop = self.native
        now = loop.time()
        if self.close_at is None:
            self.close_at = now + self.close_timeout
        elif now >= self.close_at:
            self._close_the_rest(task)
            return
        left = False
        if not self.returned:
            task.cancel()
            left = True
        for reader in self.readers or ():
            if not reader.done():
                reader.cancel()
                left = True
        if left:
            self.timer = loop.call_at(min(now + RECANCEL_INTERVAL, self.close_at), self.cancel)

    def _close_the_rest(self, task: asyncio.Task[None]) -> None:
        for reader in list(self.readers or ()):
            if not reader.done():
                self._close_stubborn(reader, "reader of a merged stream")
        if not self.returned:
            self._close_stubborn(task, "callback")


class _ScopedProducer(_Producer):
    """A task group hosts the readers; its scope is the run's (see the module doc)."""

    __slots__ = ("group", "outer", "scope")

    def __init__(self, *args: Any, shield: bool) -> None:
        super().__init__(*args)
        # The group hosting add_stream()'s readers; its scope is the run's
        # scope (one scope, not two). Shielded in a task group, where an outer
        # cancellation must reach the callback only through stop(). A detached
        # producer has no outer scope but its event loop's shutdown, which
        # must reach it.
        self.group = anyio.create_task_group()
        # anyio's asyncio task group has its scope before it is entered; on
        # trio (or should that change) the run gets a scope of its own.
        scope: anyio.CancelScope | None = getattr(self.group, "cancel_scope", None)
        self.outer: anyio.CancelScope | None = None
        if scope is None:
            scope = self.outer = anyio.CancelScope()
        scope.shield = shield
        self.scope: anyio.CancelScope = scope

    def spawn(self) -> None:
        if isinstance(self.native, asyncio.AbstractEventLoop):  # pragma: no cover - _TaskProducer
            raise RuntimeError("a detached run on asyncio has a _TaskProducer")
        import trio  # the only other anyio backend

        # A system task outlives the caller's nursery; it must not raise.
        trio.lowlevel.spawn_system_task(self.run_detached, context=contextvars.copy_context())

    def _clock(self) -> float:
        if isinstance(self.native, asyncio.AbstractEventLoop):
            return self.native.time()
        import trio

        return trio.current_time()

    def stop(self, grace_period: float) -> None:
        core = self.core
        core.mark_cancelled()
        core.buffer.cancel()
        deadline = self._clock() + grace_period
        if deadline < self.scope.deadline:
            self.scope.deadline = deadline

    def stop_soon(self, grace_period: float) -> None:
        native = self.native
        if isinstance(native, asyncio.AbstractEventLoop):
            native.call_soon_threadsafe(self.stop, grace_period)
        else:
            native.run_sync_soon(self.stop, grace_period)

    def start_soon(self, func: _Start) -> None:
        self.group.start_soon(func)

    def cancel(self) -> None:
        self.scope.cancel()

    async def run(self) -> None:
        core = self.core
        try:
            with self.outer or contextlib.nullcontext():
                async with self.group:
                    core.host = self
                    # Awaited here, not started as a child of the group: one
                    # task less per run. The group only hosts the readers of
                    # add_stream().
                    await self._call_callback()
            core.host = None
            self._finish()
        finally:
            self._end_buffer()

    async def _call_callback(self) -> None:
        if isinstance(self.native, asyncio.AbstractEventLoop):
            await self._call_callback_in_task()
        else:
            # trio: cancellation is level-triggered by design, so a callback
            # that swallows Cancelled in a loop spins until it returns; the
            # consumer stops waiting for it after the close timeout (see Run).
            await self._call_callback_here()

    async def _call_callback_here(self) -> None:
        try:
            await call_callback(self.callback, self.controller)
        except Exception as exc:
            self.core.fail(exc)

    async def _call_callback_in_task(self) -> None:
        """Run the callback in a task of its own, cancelled by hand (asyncio).

        A cancel scope cancels every task inside it again, at each turn of
        the event loop, until the task ends: a callback that swallows
        ``CancelledError`` in a loop would keep the loop busy forever. Here
        the callback's task is outside any scope: it gets a
        ``CancelledError`` when the grace period ends and again every
        :data:`RECANCEL_INTERVAL` seconds until the close timeout; then its
        coroutine is closed (:meth:`_close_stubborn`).
        """
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._call_callback_here())
        _DETACHED.add(task)
        task.add_done_callback(_DETACHED.discard)
        # A bare future while all is well (an anyio.Event costs more, for
        # every run); the event only on the way out.
        ended: asyncio.Future[None] = loop.create_future()
        task.add_done_callback(lambda _: _resolve(ended))
        try:
            await ended
        except anyio.get_cancelled_exc_class():
            done = anyio.Event()
            if task.done():
                done.set()
            else:
                task.add_done_callback(lambda _: done.set())
            with anyio.move_on_after(self.close_timeout, shield=True):
                while not task.done():
                    task.cancel()
                    with anyio.move_on_after(RECANCEL_INTERVAL):
                        await done.wait()
            if not task.done():
                self._close_stubborn(task, "callback")
            raise
        if not task.cancelled():
            task.result()  # a BaseException that is not a cancellation goes on
