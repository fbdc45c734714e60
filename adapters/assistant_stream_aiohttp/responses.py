"""The aiohttp response: headers, the shared serving loop, disconnect detection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import ClassVar

import anyio
from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web import ContentCoding
from multidict import CIMultiDict

from assistant_stream_core.run.error_messages import ErrorMessage, check_policy
from assistant_stream_core.run.http import check_source
from assistant_stream_core.run.serve import (
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SEND_TIMEOUT,
    EncoderSpec,
    FlushingCompressor,
    SendBytes,
    Source,
    StreamResult,
    accepted_coding,
    make_encoder,
    reset_on_close,
    response_headers,
    stream_encoded,
)

__all__ = [
    "AGUIResponse",
    "AssistantStreamResponse",
    "AssistantTransportResponse",
    "DataStreamResponse",
    "OpenAIChatResponse",
    "UIMessageStreamResponse",
    "stream_response",
]

#: How often the connection is checked while the run is silent, in seconds.
DEFAULT_DISCONNECT_POLL_INTERVAL = 0.1


class AssistantStreamResponse(web.StreamResponse):
    """Stream a run (or any async iterable of chunks) in any protocol.

    Return it from a handler, or use :func:`stream_response`. The body is
    streamed when aiohttp prepares the response.

    :param source: a run from ``create_run``, or an async iterable of chunks.
    :param encoder: an encoder, an encoder class, or a protocol name such as
        ``"data_stream"``; subclasses fix it with :attr:`protocol`.
    :param status: the response status.
    :param headers: extra headers; they replace protocol headers of the same name.
    :param keepalive_interval: seconds of silence before the protocol's
        keepalive bytes are sent (``None`` or ``0``: never).
    :param send_timeout: seconds a write may take before the client is
        treated as gone and the connection is closed (``None``: wait forever).
    :param expose_headers: add ``Access-Control-Expose-Headers`` listing the
        protocol headers, for browser clients on another origin.
    :param disconnect_poll_interval: aiohttp has no disconnect event for a
        handler, so the connection is checked this often (seconds).
    :param compress: compress the body (gzip or deflate, as the request's
        ``Accept-Encoding`` allows), flushed after every write; the same as
        calling :meth:`enable_compression`.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the run raises (default: the exception's text; see
        :mod:`assistant_stream_core.run.error_messages`).

    Compression: aiohttp's own compressor (``enable_compression()`` on a
    plain ``StreamResponse``) holds writes back until its buffer fills. This
    class overrides :meth:`enable_compression` so that every drain of the run
    is compressed and flushed on its own: frames arrive as they are written.

    After streaming, :attr:`result` says how the stream ended.
    """

    #: The protocol a subclass streams (see ``make_encoder``).
    protocol: ClassVar[EncoderSpec | None] = None

    def __init__(
        self,
        source: Source,
        encoder: EncoderSpec | None = None,
        *,
        status: int = 200,
        reason: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        expose_headers: bool = False,
        disconnect_poll_interval: float = DEFAULT_DISCONNECT_POLL_INTERVAL,
        compress: bool = False,
        error_message: ErrorMessage | None = None,
    ) -> None:
        check_source(source)
        spec = encoder if encoder is not None else type(self).protocol
        if spec is None:
            raise TypeError(f"{type(self).__name__} needs an encoder or a protocol name")
        self.encoder = make_encoder(spec)
        merged = response_headers(self.encoder, headers, expose_headers=expose_headers)
        super().__init__(status=status, reason=reason, headers=CIMultiDict(merged))
        self.source = source
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        self.disconnect_poll_interval = disconnect_poll_interval
        check_policy(error_message)
        self.error_message = error_message
        self.result: StreamResult | None = None
        self._streaming_started = False
        # ``None``: no compression; otherwise the forced coding, or "" to
        # negotiate it from the request.
        self._flushing_coding: str | None = "" if compress else None
        if compress:
            self.enable_compression()

    def enable_compression(
        self, force: ContentCoding | bool | None = None, strategy: int | None = None
    ) -> None:
        """Compress the body, flushing after every write so no frame waits.

        :param force: a :class:`~aiohttp.web.ContentCoding` to use whatever the
            client says (``identity`` disables compression); by default gzip or
            deflate as the request's ``Accept-Encoding`` allows.
        :param strategy: ignored (kept for aiohttp's signature).
        """
        if isinstance(force, bool):  # aiohttp's old spelling
            force = ContentCoding.deflate if force else ContentCoding.identity
        self._flushing_coding = force.value if force is not None else ""

    @property
    def compression(self) -> bool:
        """Whether compression was asked for (negotiated when the response starts)."""
        return self._flushing_coding not in (None, "identity")

    def _start_flushing_compression(self, request: web.BaseRequest) -> FlushingCompressor | None:
        # aiohttp's compressor is not enabled at all: the payload writer would
        # hold writes back. Negotiate here and compress in ``send``.
        if self._flushing_coding is None:
            return None
        coding: str | None = self._flushing_coding or accepted_coding(
            request.headers.get(hdrs.ACCEPT_ENCODING)
        )
        if not self._flushing_coding:
            vary = self.headers.get(hdrs.VARY)
            if vary is None or "accept-encoding" not in vary.lower():
                self.headers[hdrs.VARY] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
        if coding not in ("gzip", "deflate"):
            return None
        self.headers[hdrs.CONTENT_ENCODING] = coding
        self.headers.popall(hdrs.CONTENT_LENGTH, None)
        return FlushingCompressor(coding)

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        """Send the headers and stream the whole body (once)."""
        if self._streaming_started:
            # aiohttp prepares a returned response again; it is already sent.
            return await super().prepare(request)
        self._streaming_started = True
        writer: AbstractStreamWriter | None = None
        compressor = self._start_flushing_compression(request)

        async def send_compressed(data: bytes) -> None:
            assert compressor is not None
            await self.write(compressor.compress(data))

        send: SendBytes = self.write if compressor is None else send_compressed

        async def start() -> None:
            nonlocal writer
            writer = await super(AssistantStreamResponse, self).prepare(request)

        async def disconnected() -> None:
            # No event to wait on: aiohttp only tells a handler by failing a write.
            while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
                await anyio.sleep(self.disconnect_poll_interval)

        async def end_body() -> None:
            await self.write_eof(compressor.finish() if compressor is not None else b"")

        self.result = await stream_encoded(
            self.source,
            self.encoder,
            send,
            start=start,
            disconnected=disconnected,
            keepalive_interval=self.keepalive_interval,
            send_timeout=self.send_timeout,
            error_message=self.error_message,
            end_body=end_body,
        )
        if self.result.client_gone:
            # A client that stopped reading would block write_eof forever, and
            # transport.close() waits to flush to it (then the kernel does):
            # a reset drops the unsent bytes and releases the socket now.
            self.force_close()
            transport = request.transport
            if transport is not None:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    reset_on_close(sock)
                transport.abort()
        else:
            with contextlib.suppress(ConnectionError):
                await self.write_eof(compressor.finish() if compressor is not None else b"")
        return writer


async def stream_response(
    request: web.BaseRequest,
    source: Source,
    encoder: EncoderSpec,
    *,
    status: int = 200,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
    send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
    expose_headers: bool = False,
    compress: bool = False,
    error_message: ErrorMessage | None = None,
) -> web.StreamResponse:
    """Stream ``source`` to the client of ``request``; return the sent response.

    The arguments are those of :class:`AssistantStreamResponse`.
    """
    response = AssistantStreamResponse(
        source,
        encoder,
        status=status,
        headers=headers,
        keepalive_interval=keepalive_interval,
        send_timeout=send_timeout,
        expose_headers=expose_headers,
        compress=compress,
        error_message=error_message,
    )
    await response.prepare(request)
    return response


class DataStreamResponse(AssistantStreamResponse):
    """assistant-ui's Data Stream (``text/plain``, ``x-vercel-ai-data-stream: v1``)."""

    protocol = "data_stream"


class AssistantTransportResponse(AssistantStreamResponse):
    """assistant-ui's Assistant Transport (SSE JSON events)."""

    protocol = "assistant_transport"


class OpenAIChatResponse(AssistantStreamResponse):
    """OpenAI ``chat.completion.chunk`` server-sent events, ending in ``[DONE]``."""

    protocol = "openai_chat"


class UIMessageStreamResponse(AssistantStreamResponse):
    """The Vercel AI SDK's UI Message Stream v1."""

    protocol = "ui_message_stream"


class AGUIResponse(AssistantStreamResponse):
    """AG-UI protocol events."""

    protocol = "ag_ui"
