"""Graceful shutdown: let in-flight streams end before the process exits.

A server that gets SIGTERM stops accepting, waits for open responses (up to
its graceful-shutdown timeout), cancels the ones left, and then exits. Two
kinds of work of ours can still be alive at that point:

* a response the server has just cancelled, still writing its error frame
  and closing its run (a few event-loop turns);
* a detached resumable producer (:class:`~assistant_stream_core.resumable.ResumableStreams`),
  which belongs to no response, so the server does not wait for it.

uvicorn re-raises the signal as soon as its shutdown returns, which kills the
process with whatever is still pending: the run's ``finally`` never runs, and
a resumable stream stays "streaming" in its store until its lease expires.
:func:`drain`, awaited from the application's shutdown hook (an ASGI
lifespan, aiohttp's ``on_cleanup``), gives both a bounded time to end; and
:func:`drain_on_shutdown` adds that hook to an ASGI application that has no
lifespan of its own (Django). Two servers need more than that: one that
closes a connection in the same step as it cancels the response (aiohttp)
leaves the response no way to tell its client, which
:func:`interrupt_responses` avoids by stopping the streams a little before;
and a framework that serves the body from a task the server's cancellation
does not reach (Django) is stopped by :func:`drain_on_shutdown`'s wrapper.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any, Protocol

import anyio
import anyio.lowlevel

__all__ = [
    "DEFAULT_DRAIN_TIMEOUT",
    "drain",
    "drain_on_shutdown",
    "in_flight",
    "interrupt_responses",
]

logger = logging.getLogger("assistant_stream_ce")

#: Seconds :func:`drain` lets detached producers run before it cancels them.
DEFAULT_DRAIN_TIMEOUT = 30.0
#: Seconds a cancelled producer has to finalize its stream, and a stopped
#: response to close its run.
CLEANUP_TIMEOUT = 5.0
#: Seconds :func:`drain` waits for open responses (at most its grace) before
#: it stops them: a response the server cancelled ends well within it.
RESPONSE_WAIT = 1.0
#: How often :func:`drain` looks (shutdown only: polling keeps the per-stream
#: cost to one set insertion and one removal).
_POLL = 0.02


class Abandonable(Protocol):
    """An open response, as :func:`drain` sees it."""

    def abandon(self) -> None:
        """Stop serving, as if the client had left (the run is cancelled)."""


#: Cancels the task serving a response (asyncio); ``None`` on trio.
Canceller = Callable[[], object]

# Open responses (stream_encoded calls) and running detached producers (the
# cancel scope each runs in), each with its event loop's token: a process
# may run several loops (threads, a blocking portal per WSGI response), and
# drain() touches only its own loop's, never another thread's. A response
# also keeps the way to cancel the task serving it, to stop it with its
# error frame (interrupt_responses, drain_on_shutdown's wrapper).
_RESPONSES: dict[Abandonable, tuple[object, Canceller | None]] = {}
_PRODUCERS: dict[anyio.CancelScope, object] = {}
# The responses started under one connection of drain_on_shutdown's wrapper.
# A context variable, because the framework may serve the response from a
# task of its own (Django's), which copies the context it was started in.
_OWNED: ContextVar[set[Abandonable] | None] = ContextVar("assistant_stream_owned", default=None)


def _loop() -> object:
    return anyio.lowlevel.current_token().native_token


def _mine(tracked: dict[Any, object]) -> list[Any]:
    loop = _loop()
    return [item for item, its_loop in list(tracked.items()) if its_loop is loop]


def _my_responses() -> list[Abandonable]:
    loop = _loop()
    return [item for item, (its_loop, _) in list(_RESPONSES.items()) if its_loop is loop]


def in_flight() -> tuple[int, int]:
    """``(responses, producers)``: the streams the running event loop is
    serving now, and its detached resumable producers still running."""
    return len(_my_responses()), len(_mine(_PRODUCERS))


def track_response(response: Abandonable) -> None:
    """Count ``response`` as open (on the running loop) until :func:`untrack_response`."""
    _RESPONSES[response] = (_loop(), _task_canceller())
    owned = _OWNED.get()
    if owned is not None:
        owned.add(response)


def untrack_response(response: Abandonable) -> None:
    _RESPONSES.pop(response, None)
    owned = _OWNED.get()
    if owned is not None:
        owned.discard(response)


def _task_canceller() -> Canceller | None:
    task = _current_asyncio_task()
    return None if task is None else task.cancel


async def _interrupt(responses: list[Abandonable]) -> None:
    """Stop ``responses`` with their error frame, shielded.

    The task serving each is cancelled, as a server cancels the response it
    gives up on: the response writes its error frame and closing frames
    while its connection is still open, and closes its run. Without a task
    to cancel (trio), a response is stopped as if its client had left.
    Waits up to :data:`CLEANUP_TIMEOUT` for their runs to close.
    """
    with anyio.CancelScope(shield=True):
        for response in responses:
            _, cancel = _RESPONSES.get(response, (None, None))
            if cancel is None:
                response.abandon()
            else:
                cancel()
        if not await _wait_until(
            lambda: not any(r in _RESPONSES for r in responses), CLEANUP_TIMEOUT
        ):
            logger.warning("shutting down with interrupted response(s) still running")


async def run_producer(fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` (a detached producer) where :func:`drain` can cancel it."""
    with anyio.CancelScope() as scope:
        _PRODUCERS[scope] = _loop()
        try:
            await fn()
        finally:
            _PRODUCERS.pop(scope, None)


def _check_grace(grace: object) -> None:
    if isinstance(grace, bool) or not isinstance(grace, (int, float)):
        raise TypeError(f"grace must be a number of seconds, not {grace!r}")
    if not (math.isfinite(grace) and grace >= 0):
        raise ValueError(f"grace must be a finite number of seconds >= 0, not {grace!r}")


async def _wait_until(done: Callable[[], bool], seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while not done():  # noqa: ASYNC110 - shutdown only, see _POLL
            await anyio.sleep(_POLL)
    return done()


async def drain(grace: float = DEFAULT_DRAIN_TIMEOUT) -> bool:
    """Let the streams of the running event loop end; await it when the server shuts down,
    after the server has waited for its connections (an ASGI lifespan's
    shutdown, aiohttp's ``on_cleanup``).

    Detached resumable producers get up to ``grace`` seconds to finish on
    their own (a producer whose client left still completes its stream,
    which readers on other workers can resume); then the ones still running
    are cancelled, and each finalizes its stream as an error ("the producer
    was cancelled"), so a resuming client reads the end at once instead of
    waiting for the lease to expire.

    Responses are the server's: by now it has completed them or cancelled
    them, and a cancelled one ends within a few event-loop turns. One still
    running after :data:`RESPONSE_WAIT` was left behind by its framework
    (Django's request task outlives the handler the server cancels, unless
    :func:`drain_on_shutdown`'s wrapper stopped it) and is stopped as if its
    client had left. Await :func:`interrupt_responses` instead where the
    server has not waited for its responses yet (aiohttp's ``on_shutdown``).

    :param grace: seconds producers may run before they are cancelled;
        ``0`` cancels them at once.
    :returns: ``True`` when everything ended without being stopped.
    """
    _check_grace(grace)
    started = anyio.current_time()
    clean = await _wait_until(lambda: not _my_responses(), min(grace, RESPONSE_WAIT))
    left_behind = _my_responses()
    if left_behind:
        logger.warning(
            "shutting down: stopping %d response(s) still running after the server's shutdown",
            len(left_behind),
        )
        for response in left_behind:
            response.abandon()
    left = max(0.0, grace - (anyio.current_time() - started))
    if not await _wait_until(lambda: not _mine(_PRODUCERS), left):
        clean = False
        producers = _mine(_PRODUCERS)
        logger.warning(
            "shutting down: cancelling %d resumable producer(s) still running after %.1f s",
            len(producers),
            grace,
        )
        for scope in producers:
            scope.cancel()
    if not await _wait_until(lambda: in_flight() == (0, 0), CLEANUP_TIMEOUT):
        logger.warning(
            "shutting down with %d response(s) and %d producer(s) still running", *in_flight()
        )
    return clean


async def interrupt_responses(grace: float) -> bool:
    """Give the open responses of the running event loop up to ``grace``
    seconds to end, then stop the ones left, each with its error frame.

    For a server that closes a connection in the same step as it cancels
    its handler, so that a response it gives up on cannot tell its client:
    aiohttp past ``shutdown_timeout``. Await this from the hook the server
    runs *before* it waits for its handlers (aiohttp's ``on_shutdown``),
    with ``grace`` a little below the server's own timeout: each response
    still running then ends as a cancelled one does (the error frame *the
    server stopped this response before the run ended*, the protocol's
    closing frames, the end of the body) while its connection is open, and
    its run is closed before this returns. :func:`drain` still belongs in
    the hook after the wait (``on_cleanup``), for detached producers.

    :param grace: seconds the responses may run on; ``0`` stops them at once.
    :returns: ``True`` when every response ended without being stopped.
    """
    _check_grace(grace)
    if await _wait_until(lambda: not _my_responses(), grace):
        return True
    left = _my_responses()
    logger.warning(
        "shutting down: interrupting %d response(s) still running after %.1f s", len(left), grace
    )
    await _interrupt(left)
    return False


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def drain_on_shutdown(app: ASGIApp, grace: float = DEFAULT_DRAIN_TIMEOUT) -> ASGIApp:
    """Wrap an ASGI app that has no lifespan (Django's) so that the server's
    shutdown awaits :func:`drain` (``grace`` as there).

    The wrapper answers the ASGI lifespan protocol itself and passes every
    other connection to ``app``; an app with a lifespan of its own (Starlette,
    FastAPI) should await :func:`drain` at the end of that lifespan instead.
    Run the server with its lifespan on (uvicorn: ``--lifespan on`` or the
    default ``auto``).

    When the server cancels a connection (its graceful-shutdown timeout;
    Daphne, which has no lifespan, does at once on ``SIGTERM``), the
    wrapper stops the responses that connection started before the
    cancellation goes on, and waits for their runs to close: Django leaves
    its request task running when its handler is cancelled, and a server
    that exits right after would kill that run without its ``finally``.
    Django's disconnect listener, also left behind, then ends with
    ``RequestAborted``, which asyncio would log as *Task exception was never
    retrieved* at every such shutdown: the wrapper retrieves that one
    exception (any other a left-behind task raises is still reported).
    """
    _check_grace(grace)

    async def wrapped(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "lifespan":
            owned: set[Abandonable] = set()
            token = _OWNED.set(owned)
            # The tasks that wait for the client's messages, and those of
            # them told of the disconnect (see _retrieve_aborts).
            receivers: set[asyncio.Task[Any]] = set()
            told: set[asyncio.Task[Any]] = set()

            async def receive_noting() -> Message:
                task = _current_asyncio_task()
                if task is not None:
                    receivers.add(task)
                message = await receive()
                if task is not None and message["type"] == "http.disconnect":
                    told.add(task)
                return message

            try:
                await app(scope, receive_noting, send)
            except anyio.get_cancelled_exc_class():
                await _interrupt(list(owned))
                _retrieve_aborts(receivers, told)
                raise
            finally:
                _OWNED.reset(token)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await drain(grace)
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


def _current_asyncio_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # not on asyncio (trio): nothing to retrieve
        return None


def _retrieve_aborts(receivers: set[asyncio.Task[Any]], told: set[asyncio.Task[Any]]) -> None:
    """When a task a cancelled handler left behind ends: retrieve its
    ``RequestAborted`` if it was told of the disconnect (now or later);
    report anything else."""
    me = _current_asyncio_task()
    for task in receivers:
        if task is not me:
            task.add_done_callback(functools.partial(_retrieve_abort, told))


def _retrieve_abort(told: set[asyncio.Task[Any]], task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    exc = task.exception()  # retrieved: asyncio will not log it
    # Django's answer to http.disconnect (matched by name: the core imports
    # no web framework). Its handler, had it not been cancelled, would have
    # retrieved and ignored it too.
    if exc is None or (task in told and type(exc).__name__ == "RequestAborted"):
        return
    # Anything else is an error of the app's: reported as asyncio would.
    task.get_loop().call_exception_handler(
        {"message": "Task exception was never retrieved", "exception": exc, "future": task}
    )
