"""The Django response: the right iterator for ASGI and for WSGI."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import CodeType, FrameType
from typing import Any, ClassVar, cast

import anyio
from asgiref.sync import SyncToAsync
from django.http import StreamingHttpResponse  # type: ignore[import-untyped]

from assistant_stream_core.run.blocking import BlockingStream, client_socket, shut_down
from assistant_stream_core.run.error_messages import ErrorMessage, check_policy
from assistant_stream_core.run.http import check_source
from assistant_stream_core.run.log_records import SourceLog
from assistant_stream_core.run.serve import (
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SEND_TIMEOUT,
    LOGGER_NAME,
    EncoderSpec,
    SendBytes,
    Source,
    StreamEnd,
    StreamResult,
    make_encoder,
    response_headers,
    stream_encoded,
)

from ._django_gzip import gzip_problem

__all__ = [
    "AGUIHttpResponse",
    "AssistantStreamHttpResponse",
    "AssistantTransportHttpResponse",
    "DataStreamHttpResponse",
    "OpenAIChatHttpResponse",
    "UIMessageStreamHttpResponse",
]

_logger = logging.getLogger(LOGGER_NAME)


def _served_async() -> bool:
    """Whether the code asking for the body belongs to an async (ASGI) handler.

    True on an event loop, and in a worker thread of ``sync_to_async`` (where
    Django's ASGI handler runs sync middleware such as ``GZipMiddleware``);
    False in a WSGI request thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None
    return True


class AssistantStreamHttpResponse(StreamingHttpResponse):  # type: ignore[misc]
    """Stream a run (or any async iterable of chunks) in any protocol.

    :param source: a run from ``create_run``, or an async iterable of chunks.
    :param encoder: an encoder, an encoder class, or a protocol name such as
        ``"data_stream"``; subclasses fix it with :attr:`protocol`.
    :param status: the response status.
    :param headers: extra headers; they replace protocol headers of the same name.
    :param keepalive_interval: seconds of silence before the protocol's
        keepalive bytes are sent (``None`` or ``0``: never). Under WSGI it is
        the only way to notice a client that left while the run is silent.
    :param send_timeout: seconds a write may take before the client is
        treated as gone (``None``: wait forever).
    :param expose_headers: add ``Access-Control-Expose-Headers`` listing the
        protocol headers, for browser clients on another origin.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the run raises (default: the exception's text; see
        :mod:`assistant_stream_core.run.error_messages`).

    Django asks for ``aiter(response)`` under ASGI and ``iter(response)``
    under WSGI; each gets its own kind of iterator. Middleware that wraps
    ``streaming_content`` gets the async kind under ASGI (also when it is
    sync middleware run in a ``sync_to_async`` thread) and the sync kind
    under WSGI, which is again the kind its handler consumes.

    Compression: before Django 6.1, use
    :class:`assistant_stream_django.middleware.GZipMiddleware` instead of
    Django's ``GZipMiddleware``, which holds frames back (under ASGI up to
    5.2, it compresses each write as a separate gzip member that some clients,
    httpx for one, stop decoding after the first). A response that Django's
    middleware compressed that way logs a warning saying so. From 6.1,
    Django's flushes after every write, and either middleware will do.

    A client that stops reading: after ``send_timeout`` the run is stopped.
    Under ASGI the task sending the response is then cancelled, so the server
    closes the connection (uvicorn logs "ASGI callable returned without
    completing response"). Under WSGI, if the server exposes the client's
    socket (gunicorn, Werkzeug), it is shut down, which frees the server's
    thread from its blocked write; other WSGI servers (``wsgiref``) stay in
    that write until the client or the server's socket timeout ends it.
    """

    #: The protocol a subclass streams (see ``make_encoder``).
    protocol: ClassVar[EncoderSpec | None] = None
    # True while ``streaming_content`` is still this response's own stream
    # (not replaced by middleware).
    _own_content = False

    def __init__(
        self,
        source: Source,
        encoder: EncoderSpec | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        expose_headers: bool = False,
        error_message: ErrorMessage | None = None,
    ) -> None:
        check_source(source)
        spec = encoder if encoder is not None else type(self).protocol
        if spec is None:
            raise TypeError(f"{type(self).__name__} needs an encoder or a protocol name")
        self.encoder = make_encoder(spec)
        super().__init__((), status=status, content_type=self.encoder.media_type)
        for name, value in response_headers(self.encoder, headers, expose_headers=expose_headers):
            self.headers[name] = value
        self.source = source
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        check_policy(error_message)
        self.error_message = error_message
        #: How the stream ended, once it has.
        self.result: StreamResult | None = None
        self._blocking: BlockingStream | None = None
        self._resource_closers.append(self._close_blocking)
        self._own_content = True

    # -- which kind of iterator -------------------------------------------

    @property
    def is_async(self) -> bool:
        """Whether ``streaming_content`` is an async iterator."""
        if self._own_content:
            return _served_async()
        return bool(self.__dict__.get("_is_async", False))

    @is_async.setter
    def is_async(self, value: bool) -> None:
        self.__dict__["_is_async"] = value

    @property
    def streaming_content(self) -> Any:
        """The body: async under an event loop, sync otherwise."""
        if self._own_content:
            return self._async_body() if self.is_async else self._blocking_body()
        return super().streaming_content

    @streaming_content.setter
    def streaming_content(self, value: Any) -> None:
        self._set_streaming_content(value)

    def _set_streaming_content(self, value: Any) -> None:
        problem = gzip_problem(value)
        if problem is not None:
            # Named by its run: one of many responses open at once.
            SourceLog(_logger, getattr(self, "source", None)).warning("%s", problem)
        self._own_content = False
        super()._set_streaming_content(value)

    def __iter__(self) -> Iterator[bytes]:
        if self._own_content:
            return self._blocking_body()
        iterator: Iterator[bytes] = super().__iter__()
        return iterator

    def __aiter__(self) -> AsyncIterator[bytes]:
        if self._own_content:
            return self._async_body()
        iterator: AsyncIterator[bytes] = super().__aiter__()
        return iterator

    # -- WSGI ---------------------------------------------------------------

    def _blocking_body(self) -> BlockingStream:
        if self._blocking is None:
            self._blocking = BlockingStream(
                self.source,
                self.encoder,
                keepalive_interval=self.keepalive_interval,
                send_timeout=self.send_timeout,
                on_send_timeout=self._unblock_server(),
                error_message=self.error_message,
            )
        return self._blocking

    def _unblock_server(self) -> Callable[[], None] | None:
        # Django hands the response no WSGI environ; its request is reachable
        # through the closer Django registers on every response. Best effort:
        # without it, the server's own timeout ends a blocked write.
        for closer in self._resource_closers:
            environ = getattr(getattr(closer, "__self__", None), "environ", None)
            if isinstance(environ, Mapping):
                sock = client_socket(environ)
                if sock is not None:
                    return functools.partial(shut_down, sock)
        return None

    def _close_blocking(self) -> None:
        if self._blocking is not None:
            self._blocking.close()
            self.result = self._blocking.result

    # -- ASGI ---------------------------------------------------------------

    def _async_body(self) -> _AsyncBody:
        return _AsyncBody(self)

    async def _produce(
        self, handoff: _Handoff, consumer: asyncio.Task[Any] | None, send: SendBytes
    ) -> None:
        """Run the serving loop into ``send`` (a task of its own)."""
        try:
            self.result = await stream_encoded(
                self.source,
                self.encoder,
                send,
                disconnected=handoff.wait_closed,
                keepalive_interval=self.keepalive_interval,
                send_timeout=self.send_timeout,
                error_message=self.error_message,
            )
        finally:
            iterating = not handoff.closed
            handoff.close()
        if self.result.end is StreamEnd.SEND_TIMEOUT and iterating and consumer is not None:
            # Django is stuck in the server's send to a client that stopped
            # reading (or waits for the body's end while the serving loop
            # was in that send). Cancelling its task is how Django itself
            # gives up on a client (as on http.disconnect); the server then
            # closes the connection instead of waiting for the client forever.
            consumer.cancel()


def _server_send(frame: FrameType | None) -> Callable[[Any], Awaitable[None]] | None:
    """The ASGI server's ``send``, if ``frame`` is Django's ``send_response``.

    Django's ASGI handler sends a streaming body from its own task, one
    ``async for`` step per part: at a model's pace, a wake-up of that task,
    Django's loop and a server send per token, on top of the run's own task.
    When its ``send_response`` iterates this body directly (no middleware
    replaced ``streaming_content``), the response head is out and Django
    only relays parts to the server's ``send``, so the serving loop writes
    the body there itself, as on Starlette (with the write-through: from the
    run's own call), and Django's task waits for the end. Matched by code
    object, so another handler, or a Django whose ``send_response`` differs,
    gets the handoff instead.
    """
    global _send_response_code
    if frame is None:
        return None
    if _send_response_code is None:
        from django.core.handlers.asgi import ASGIHandler  # type: ignore[import-untyped]

        _send_response_code = ASGIHandler.send_response.__code__
    if frame.f_code is not _send_response_code:
        return None
    send = frame.f_locals.get("send")
    return send if callable(send) else None


_send_response_code: CodeType | None = None


class _Ready(tuple):  # type: ignore[type-arg]
    """An awaitable that is done at once, awaited without a Python frame.

    ``await`` calls ``type(x).__await__(x)``: here the iterator of an empty
    tuple, which ends at once. What ``_Handoff.send`` returns when the bytes
    are taken without waiting, that is once per token.
    """

    __slots__ = ()
    __await__ = tuple.__iter__


_READY = cast("Awaitable[None]", _Ready())


class _Handoff:
    """Bytes from the serving loop's task to Django's, one write in flight.

    Django's task waits on a future of its own (:meth:`wait`); ``send`` puts
    the bytes in it and returns a done awaitable, so while Django keeps up a
    write costs the serving loop no coroutine and no task switch, and Django
    is woken with the bytes as its future's result. One write may wait in the
    slot while Django is busy sending the last; the next ``send`` waits until
    Django has taken it, so a client that stops reading holds the serving
    loop's write (and its send timeout sees it), as a full socket buffer would.
    """

    __slots__ = ("_closed_waiter", "_data", "_taken", "_waiter", "closed")

    def __init__(self) -> None:
        self._data: bytes | None = None
        self.closed = False
        self._waiter: asyncio.Future[bytes] | None = None  # Django waits for bytes
        self._taken: asyncio.Future[None] | None = None  # the loop waits for Django
        self._closed_waiter: asyncio.Future[None] | None = None  # the loop's disconnect wait

    def send(self, data: bytes) -> Awaitable[None]:
        """Hand ``data`` to Django; awaited by the serving loop."""
        waiter = self._waiter
        if waiter is not None:  # Django waits: the common case
            self._waiter = None
            if not waiter.done():
                waiter.set_result(data)
                return _READY
        if self._data is None and not self.closed:
            self._data = data
            return _READY
        return self._send_later(data)

    async def _send_later(self, data: bytes) -> None:
        # The previous write is still in the slot: wait for Django.
        while self._data is not None and not self.closed:
            self._taken = taken = asyncio.get_running_loop().create_future()
            try:
                await taken
            finally:
                self._taken = None
        if self.closed:
            raise anyio.BrokenResourceError
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(data)
        else:
            self._data = data

    def take(self) -> bytes | None:
        """The bytes in the slot, if any; frees it for the serving loop."""
        data, self._data = self._data, None
        taken = self._taken
        if taken is not None and not taken.done():
            taken.set_result(None)
        return data

    def wait(self) -> asyncio.Future[bytes]:
        """Django's wait for the next bytes; it raises ``StopAsyncIteration``
        once the serving loop is done."""
        self._waiter = waiter = _Wait(loop=asyncio.get_running_loop())
        waiter.handoff = self
        return waiter

    def wait_closed(self) -> asyncio.Future[None]:
        """A future done once Django has stopped iterating (the serving
        loop's ``disconnected``: a future, so no task waits for it)."""
        self._closed_waiter = waiter = asyncio.get_running_loop().create_future()
        if self.closed:
            waiter.set_result(None)
        return waiter

    def close(self) -> None:
        """No more bytes either way; wake whoever waits (Django's wait ends
        its iteration)."""
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(StopAsyncIteration())
        for future in (self._taken, self._closed_waiter):
            if future is not None and not future.done():
                future.set_result(None)
        self._waiter = self._taken = self._closed_waiter = None


class _Wait(asyncio.Future[bytes]):
    """Django's wait for the next bytes, which ends the body if cancelled.

    Whatever wraps the body (async generators of middleware, in any number),
    the innermost await of Django's task is this future, so cancelling that
    task (how Django's handler reacts to a disconnect) cancels it. Cancelled,
    it closes the handoff at once, which stops the serving loop: as an async
    generator ends when a cancellation reaches it at an await. Neither
    ``aclose()`` (a wrapper does not pass it on) nor ``__del__`` can be relied
    on here: Django 6.1 handles a disconnect in a ``TaskGroup``, whose
    exception group keeps the wrapper's frame, and so the body, alive in a
    reference cycle until the collector runs.
    """

    __slots__ = ("handoff",)
    handoff: _Handoff

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel the wait and close the handoff."""
        if not super().cancel(msg):
            return False
        self.handoff.close()
        return True


class _AsyncBody:
    """The body Django's ASGI handler iterates (``async for``, ``aclose``).

    A class, not an async generator: per token, ``__anext__`` returns the
    handoff's future itself, so Django's task is woken with the bytes and
    resumes no generator or coroutine frame of ours. The serving loop runs in
    a task started at the first ``__anext__`` (Django's handler only sends
    from its own task; see docs/architecture.rst, "Django").
    """

    __slots__ = ("_handoff", "_response", "_task")

    def __init__(self, response: AssistantStreamHttpResponse) -> None:
        self._response = response
        self._handoff = _Handoff()
        self._task: asyncio.Task[None] | None = None

    def __aiter__(self) -> _AsyncBody:
        return self

    def __anext__(self) -> Awaitable[bytes]:
        handoff = self._handoff
        data = handoff._data
        if data is not None:  # Django fell behind: the bytes wait in the slot
            ready = asyncio.get_running_loop().create_future()
            ready.set_result(handoff.take())
            return ready
        if handoff.closed:
            return self._end()
        if self._task is None:
            self._start(sys._getframe(1))
        return handoff.wait()

    def _start(self, caller: FrameType | None) -> None:
        send: SendBytes = self._handoff.send
        server_send = _server_send(caller)
        if server_send is not None:

            def send(data: bytes) -> Awaitable[None]:
                # The server's own awaitable: no coroutine of ours per write.
                return server_send({"type": "http.response.body", "body": data, "more_body": True})

        # Django's task, which iterates this body: cancelled on a send timeout.
        self._task = asyncio.ensure_future(
            self._response._produce(self._handoff, asyncio.current_task(), send)
        )

    async def _end(self) -> bytes:
        # The serving loop is done (or Django closed this body): let its task
        # finish, so ``response.result`` is set when iteration ends.
        await self._join()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Django stopped iterating (client gone, or done): stop the run."""
        self._handoff.close()
        await self._join()

    async def _join(self) -> None:
        # Usually done already: the serving loop's task ends in the step
        # that ended this body's iteration.
        task = self._task
        if task is None:
            return
        if not task.done():
            # Not shield(): a cancelled serving task must not cancel Django's.
            await asyncio.wait((task,))
        # Cancelled from outside (drain_on_shutdown's wrapper, when the server
        # cancels the connection), the serving loop has written its error
        # frame and closing frames: the body ends as usual, so the client
        # reads a complete response.
        if not task.cancelled():
            task.result()  # its exception, if any, as awaiting it would raise

    def __del__(self) -> None:
        # Dropped without aclose() (a middleware's wrapper left unclosed): as
        # an async generator's finalizer would, stop the serving loop. Through
        # the loop: the collector may run this in another thread (a
        # sync_to_async worker), and the handoff's futures are the loop's.
        task = self._task
        if task is None or task.done():
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to stop
            task.get_loop().call_soon_threadsafe(self._handoff.close)


class DataStreamHttpResponse(AssistantStreamHttpResponse):
    """assistant-ui's Data Stream (``text/plain``, ``x-vercel-ai-data-stream: v1``)."""

    protocol = "data_stream"


class AssistantTransportHttpResponse(AssistantStreamHttpResponse):
    """assistant-ui's Assistant Transport (SSE JSON events)."""

    protocol = "assistant_transport"


class OpenAIChatHttpResponse(AssistantStreamHttpResponse):
    """OpenAI ``chat.completion.chunk`` server-sent events, ending in ``[DONE]``."""

    protocol = "openai_chat"


class UIMessageStreamHttpResponse(AssistantStreamHttpResponse):
    """The Vercel AI SDK's UI Message Stream v1."""

    protocol = "ui_message_stream"


class AGUIHttpResponse(AssistantStreamHttpResponse):
    """AG-UI protocol events."""

    protocol = "ag_ui"
