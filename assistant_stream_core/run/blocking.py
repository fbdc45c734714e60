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
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._blocking_pump import Pump, close_source_soon, is_source
from .error_messages import ErrorMessage, check_policy
from .serve import (
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SEND_TIMEOUT,
    EncoderSpec,
    Source,
    StreamResult,
    make_encoder,
    reset_on_close,
    response_headers,
)

__all__ = ["BlockingStream", "WSGIStreamResponse", "client_socket", "shut_down"]

#: A source, or a zero-argument callable that creates one on the event loop.
SourceOrFactory = Source | Callable[[], Source]


class BlockingStream(Iterator[bytes]):
    """A blocking iterator of the encoded bytes of a source.

    :param source: a run, an async iterable of chunks, or a zero-argument
        callable returning one (called on the private event loop; what it
        raises, the first ``next()`` raises).
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
    The options are read when the first ``next()`` starts the stream. A
    stream dropped without ``close()`` is closed on a short-lived thread by
    its finalizer, so the run stops and the background thread ends.
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
        if not (is_source(source) or callable(source)):
            raise TypeError(
                "BlockingStream needs a run, an async iterable of chunks, or a "
                f"zero-argument callable returning one; got a {type(source).__name__}"
            )
        self.encoder = make_encoder(encoder)
        #: Called when the consumer is treated as gone (see the parameter).
        self.on_send_timeout = on_send_timeout
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        check_policy(error_message)
        self.error_message = error_message
        self._source: SourceOrFactory | None = source
        self._pump = Pump(backend, buffer_size)

    @property
    def result(self) -> StreamResult | None:
        """How the stream ended, once it has."""
        return self._pump.result

    def __iter__(self) -> BlockingStream:
        return self

    def __next__(self) -> bytes:
        """Block until bytes are ready; return all of them as one buffer."""
        if self._source is not None:
            self._start()
        return self._pump.next()

    def close(self) -> None:
        """Stop the run (if it is still going) and the background thread."""
        source, self._source = self._source, None
        if source is not None:
            self._pump.shutdown()
            if is_source(source):
                # Never started: close it on a short-lived loop of its own.
                close_source_soon(source, self._pump.backend, wait=True)
            return
        self._pump.close()

    def __enter__(self) -> BlockingStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A server that drops the iterator without close() must not leave a
        # thread and a run behind. Finalizers run on whatever thread the
        # collector runs on (the stream's own loop thread, another event
        # loop): never block there, close on a thread of its own.
        try:
            source, self._source = self._source, None
            if source is None:
                self._pump.close_soon()
            elif is_source(source):
                self._pump.shutdown()
                close_source_soon(source, self._pump.backend, wait=False)
        except AttributeError:  # __init__ raised before setting them
            pass

    def _start(self) -> None:
        source, self._source = self._source, None
        self._pump.start(
            source,
            {
                "encoder": self.encoder,
                "keepalive_interval": self.keepalive_interval,
                "send_timeout": self.send_timeout,
                "error_message": self.error_message,
            },
            self.on_send_timeout,
        )


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
