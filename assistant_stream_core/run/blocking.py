"""Serve a run from synchronous code: WSGI apps, ``http.server``, a CLI.

:class:`BlockingStream` is a plain iterator of encoded bytes. On first use it
starts a private event loop in a background thread (anyio's blocking portal)
and runs the shared serving loop, :func:`~.serve.stream_encoded`, there; each
``next()`` returns everything encoded since the previous one as one buffer, so
a WSGI server makes one socket write per drain. ``close()`` (which WSGI
servers call when the client goes away or the response ends) stops the run
through the same grace-then-cancel path as the async adapters, and the thread
ends with it.

:class:`WSGIStreamResponse` wraps it as a WSGI application::

    def app(environ, start_response):
        response = WSGIStreamResponse(lambda: create_run(my_run), "data_stream")
        return response(environ, start_response)

Pass the source as a zero-argument callable when it must be created on the
event loop (a run starts its task when created); an async generator object can
be passed directly.

Disconnects: a synchronous server only learns that a client left when a write
fails, so keep the keepalive on (it is the probe) if runs can be silent.

A client that stops reading: after ``send_timeout`` the run is stopped. The
server's thread, though, is blocked in its own socket write; WSGI gives the
application no way to end that. Where the server puts its socket in the
environ (gunicorn's ``gunicorn.socket``, Werkzeug's ``werkzeug.socket``),
:class:`WSGIStreamResponse` shuts that socket down, which fails the blocked
write and frees the thread. Elsewhere (``wsgiref``, for one) the thread waits
until the client reads or the server's socket timeout ends the write.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .error_messages import ErrorMessage, check_policy
from .serve import (
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SEND_TIMEOUT,
    EncoderSpec,
    RunSource,
    Source,
    StreamEnd,
    StreamResult,
    make_encoder,
    reset_on_close,
    response_headers,
    stream_encoded,
)

__all__ = ["BlockingStream", "WSGIStreamResponse", "client_socket", "shut_down"]

#: A source, or a zero-argument callable that creates one on the event loop.
SourceOrFactory = Source | Callable[[], Source]

_logger = logging.getLogger("assistant_stream_ce")


def _resolve(value: SourceOrFactory) -> Source:
    if isinstance(value, RunSource) or hasattr(value, "__aiter__"):
        return value
    return value()


def _is_source(value: object) -> bool:
    return isinstance(value, RunSource) or hasattr(value, "__aiter__")


class BlockingStream(Iterator[bytes]):
    """A blocking iterator of the encoded bytes of a source.

    :param source: a run, an async iterable of chunks, or a zero-argument
        callable returning one (called on the private event loop).
    :param encoder: an encoder, an encoder class, or a protocol name.
    :param keepalive_interval: seconds of silence before keepalive bytes are
        yielded (``None`` or ``0``: never).
    :param send_timeout: seconds the loop waits for the consumer to take the
        next buffer before treating the client as gone.
    :param backend: the event loop to run on, ``"asyncio"`` or ``"trio"``.
    :param buffer_size: buffers the loop may run ahead of the consumer.
    :param on_send_timeout: called (on the background thread) when the
        consumer took no buffer for ``send_timeout`` seconds, after the run
        was stopped: a hook to unblock a server stuck writing to a client that
        stopped reading, for example by shutting its socket down.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the run raises (default: the exception's text; see
        :mod:`assistant_stream_core.run.error_messages`).

    Use it once; close it (or exhaust it). It is also a context manager.
    """

    def __init__(
        self,
        source: SourceOrFactory,
        encoder: EncoderSpec,
        *,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        backend: str = "asyncio",
        buffer_size: int = 16,
        on_send_timeout: Callable[[], object] | None = None,
        error_message: ErrorMessage | None = None,
    ) -> None:
        self.encoder = make_encoder(encoder)
        #: Called when the consumer is treated as gone (see the parameter).
        self.on_send_timeout = on_send_timeout
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        check_policy(error_message)
        self.error_message = error_message
        #: How the stream ended, once it has.
        self.result: StreamResult | None = None
        self._source = source
        self._backend = backend
        self._buffer_size = buffer_size
        self._exit: contextlib.ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._receive: MemoryObjectReceiveStream[bytes] | None = None
        self._send: MemoryObjectSendStream[bytes] | None = None
        self._closing: anyio.Event | None = None
        self._task: Any = None
        self._done = False

    def __iter__(self) -> BlockingStream:
        return self

    def __next__(self) -> bytes:
        """Block until bytes are ready; return all of them as one buffer."""
        if self._done:
            raise StopIteration
        portal = self._portal or self._start()
        try:
            data: bytes = portal.call(self._receive_all)
            return data
        except anyio.EndOfStream:
            self._shutdown()
            raise StopIteration from None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop the run (if it is still going) and the background thread."""
        if self._done:
            return
        if self._portal is None:
            self._done = True
            if _is_source(self._source):
                # Never started: close it on a short-lived loop of its own.
                anyio.run(_aclose, self._source, backend=self._backend)
            return
        with contextlib.suppress(RuntimeError):  # the loop may be gone already
            self._portal.call(self._request_close)
        self._shutdown()

    def __enter__(self) -> BlockingStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A server that drops the iterator without close() must not leave a
        # thread and a run behind.
        if not self._done and self._portal is not None:
            self.close()

    def _start(self) -> BlockingPortal:
        self._exit = contextlib.ExitStack()
        portal = self._exit.enter_context(start_blocking_portal(self._backend))
        self._portal = portal
        portal.call(self._setup)
        self._task = portal.start_task_soon(self._serve)
        return portal

    async def _setup(self) -> None:
        self._closing = anyio.Event()
        self._send, self._receive = anyio.create_memory_object_stream[bytes](self._buffer_size)

    async def _serve(self) -> None:
        assert self._send is not None
        assert self._closing is not None
        source = _resolve(self._source)
        async with self._send:
            self.result = await stream_encoded(
                source,
                self.encoder,
                self._send.send,
                disconnected=self._closing.wait,
                keepalive_interval=self.keepalive_interval,
                send_timeout=self.send_timeout,
                error_message=self.error_message,
            )
        if self.result.end is StreamEnd.SEND_TIMEOUT and self.on_send_timeout is not None:
            try:
                self.on_send_timeout()
            except Exception:
                _logger.exception("the blocking stream's on_send_timeout hook failed")

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

    async def _request_close(self) -> None:
        if self._closing is not None:
            self._closing.set()
        if self._receive is not None:
            # Unblocks a loop waiting to hand over a buffer.
            self._receive.close()

    def _shutdown(self) -> None:
        self._done = True
        if self._task is not None:
            try:
                self._task.result(DEFAULT_CLOSE_TIMEOUT + 1)
            except Exception:
                _logger.exception("the blocking stream's serving task failed")
        if self._portal is not None and self._receive is not None:
            with contextlib.suppress(RuntimeError):
                self._portal.call(self._receive.aclose)
        if self._exit is not None:
            self._exit.close()
        self._portal = None


async def _aclose(source: Any) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


#: Environ keys under which WSGI servers expose the client's socket.
SOCKET_ENVIRON_KEYS = ("gunicorn.socket", "werkzeug.socket")


def client_socket(environ: Mapping[str, Any]) -> socket.socket | None:
    """The client's socket, if the WSGI server exposes it in ``environ``."""
    for key in SOCKET_ENVIRON_KEYS:
        sock = environ.get(key)
        if isinstance(sock, socket.socket):
            return sock
    return None


def shut_down(sock: socket.socket) -> None:
    """Shut ``sock`` down both ways: a write blocked on it fails at once.

    The server closes the socket after its failed write; that close then
    resets the connection (see :func:`~.serve.reset_on_close`) instead of
    leaving the kernel to deliver bytes the client will never read.
    """
    reset_on_close(sock)
    with contextlib.suppress(OSError):  # already closed or reset
        sock.shutdown(socket.SHUT_RDWR)


class WSGIStreamResponse:
    """A WSGI application that streams a source in any protocol.

    :param source: as for :class:`BlockingStream`.
    :param encoder: an encoder, an encoder class, or a protocol name.
    :param status: the WSGI status line.
    :param headers: extra headers; they replace protocol headers of the same name.
    :param expose_headers: add ``Access-Control-Expose-Headers`` listing the
        protocol headers, for browser clients on another origin.

    The other keyword arguments are those of :class:`BlockingStream`.

    When the client stops reading for ``send_timeout`` seconds the run is
    stopped, and if the server exposes the client's socket (gunicorn,
    Werkzeug) it is shut down so the server's thread is not left blocked in
    its write.
    """

    def __init__(
        self,
        source: SourceOrFactory,
        encoder: EncoderSpec,
        *,
        status: str = "200 OK",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        expose_headers: bool = False,
        backend: str = "asyncio",
        error_message: ErrorMessage | None = None,
    ) -> None:
        self.stream = BlockingStream(
            source,
            encoder,
            keepalive_interval=keepalive_interval,
            send_timeout=send_timeout,
            backend=backend,
            error_message=error_message,
        )
        self.status = status
        self.headers = response_headers(self.stream.encoder, headers, expose_headers=expose_headers)

    def __call__(
        self, environ: Mapping[str, Any], start_response: Callable[..., Any]
    ) -> BlockingStream:
        """Start the response; return the body iterator (WSGI calls ``close``)."""
        sock = client_socket(environ)
        if sock is not None and self.stream.on_send_timeout is None:
            self.stream.on_send_timeout = functools.partial(shut_down, sock)
        start_response(self.status, self.headers)
        return self.stream
