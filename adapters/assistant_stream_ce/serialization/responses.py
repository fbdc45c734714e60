"""The upstream-compatible Starlette responses, thin names over :mod:`assistant_stream_starlette`.

``AssistantStreamResponse(stream, stream_encoder, heartbeat=True)`` keeps
upstream's signature. With a built-in encoder it streams through the shared
serving loop: one write per batch of chunks, keepalives, disconnect →
run cancelled, and a raising run ends with the error frame and the closing
frames instead of a cut body. A user's own :class:`StreamEncoder` is streamed
through its ``encode_stream``, with the same keepalive and disconnect
handling; an exception is logged and the body ends cleanly.

Keyword-only extras beyond upstream: ``status_code``, ``headers``,
``send_timeout`` and ``expose_headers`` (see
:class:`assistant_stream_starlette.AssistantStreamResponse`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

import anyio

try:
    from assistant_stream_starlette import AssistantStreamResponse as _StarletteResponse
except ImportError as exc:
    raise ImportError(
        "the assistant_stream_ce response classes need Starlette: "
        'pip install "assistant-stream-ce[starlette]"'
    ) from exc
from starlette.types import Receive, Scope, Send

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import STREAMING_HEADERS
from assistant_stream_core.run.error_messages import ErrorMessage
from assistant_stream_core.run.errors import was_logged
from assistant_stream_core.run.serve import (
    DEFAULT_SEND_TIMEOUT,
    LOGGER_NAME,
    aclose_source,
    apply_error_message,
)

from .assistant_transport import AssistantTransportEncoder
from .data_stream import DataStreamEncoder
from .heartbeat import HeartbeatOption, add_keepalive, resolve_heartbeat_interval
from .openai_stream import OpenAIStreamEncoder
from .stream_encoder import CoreStreamEncoder, StreamEncoder

__all__ = [
    "AssistantStreamResponse",
    "AssistantTransportResponse",
    "DataStreamResponse",
    "OpenAIStreamResponse",
]

_logger = logging.getLogger(LOGGER_NAME)


class _CustomEncoderHeaders:
    """The header side of a user's :class:`StreamEncoder`, in the core's encoder shape."""

    def __init__(self, stream_encoder: StreamEncoder) -> None:
        self.media_type = stream_encoder.get_media_type()
        self.headers = {"Content-Type": self.media_type, **STREAMING_HEADERS}
        token = stream_encoder.get_keepalive_token()
        self.keepalive = token.encode() if token else None

    def encode(self, chunk: Chunk) -> bytes:
        raise NotImplementedError  # the response streams encode_stream() instead

    def encode_many(self, chunks: Iterable[Chunk]) -> bytes:
        raise NotImplementedError

    def finish(self) -> bytes:
        raise NotImplementedError


class AssistantStreamResponse(_StarletteResponse):
    """Stream ``stream`` (a run, or any async iterable of chunks) with ``stream_encoder``.

    :param stream: the chunks, usually ``create_run(callback)``.
    :param stream_encoder: a :class:`StreamEncoder`, built-in or your own.
    :param heartbeat: ``True`` (15 s), seconds, or ``False``/``None``/``0``.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the run raises; by default the exception's text, as
        upstream. ``assistant_stream_ce.internal_error`` sends a fixed
        sentence (the exception is logged either way).
    """

    def __init__(
        self,
        stream: AsyncIterable[Chunk],
        stream_encoder: StreamEncoder,
        heartbeat: HeartbeatOption = True,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        expose_headers: bool = False,
        error_message: ErrorMessage | None = None,
    ) -> None:
        interval = resolve_heartbeat_interval(heartbeat)
        if interval is not None and stream_encoder.get_keepalive_token() is None:
            interval = None  # the format has no harmless keepalive
        self.stream_encoder = stream_encoder
        if isinstance(stream_encoder, CoreStreamEncoder):
            encoder: Any = stream_encoder.make_encoder()
            self._custom = False
        else:
            encoder = _CustomEncoderHeaders(stream_encoder)
            self._custom = True
        super().__init__(
            stream,
            encoder,
            status_code=status_code,
            headers=headers,
            keepalive_interval=interval,
            send_timeout=send_timeout,
            expose_headers=expose_headers,
            error_message=error_message,
        )

    @property
    def body_iterator(self) -> AsyncIterator[str]:
        """The body as text frames, as upstream's ``StreamingResponse`` exposed it.

        For code that reads a response without serving it (upstream's tests
        do): the encoder's ``encode_stream`` over the stream, with keepalives
        while it is idle (on asyncio, see
        :func:`~assistant_stream_ce.serialization.heartbeat.add_keepalive`).
        Serving the response over ASGI does not use it. One iterator per
        response: the stream can be read once.
        """
        body = self.__dict__.get("_body_iterator")
        if body is None:
            source: Any = self.source  # an async iterable of chunks, as upstream
            body = self.stream_encoder.encode_stream(source)
            token = self.stream_encoder.get_keepalive_token()
            if self.keepalive_interval is not None and token is not None:
                body = add_keepalive(body, self.keepalive_interval, token)
            self.__dict__["_body_iterator"] = body
        return body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response (see the class documentation)."""
        if not self._custom:
            await super().__call__(scope, receive, send)
            return
        apply_error_message(self.source, self.error_message)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            finished = await self._stream_custom(receive, send)
            if finished:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client left while we wrote
        finally:
            await aclose_source(self.source, logger=_logger)
        if self.background is not None:
            await self.background()

    async def _stream_custom(self, receive: Receive, send: Send) -> bool:
        """Stream a user's encoder; return ``False`` if the client left."""
        keepalive = self.encoder.keepalive
        interval = self.keepalive_interval or math.inf
        if keepalive is None:
            interval = math.inf
        pieces_in, pieces_out = anyio.create_memory_object_stream[bytes](0)
        client_gone = False
        source: Any = self.source  # an async iterable of chunks, as upstream
        body = self.stream_encoder.encode_stream(source)

        async def produce() -> None:
            async with pieces_in:
                try:
                    async for piece in body:
                        data = piece.encode() if isinstance(piece, str) else bytes(piece)
                        if data:
                            await pieces_in.send(data)
                except Exception as exc:
                    if not was_logged(exc):  # a failed run has logged itself
                        _logger.exception("the run or its encoder raised; ending the response")

        async def watch_disconnect() -> None:
            nonlocal client_gone
            while (await receive())["type"] != "http.disconnect":
                pass
            client_gone = True
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(produce)
            tg.start_soon(watch_disconnect)
            async with pieces_out:
                while True:
                    with anyio.move_on_after(interval) as idle:
                        try:
                            data = await pieces_out.receive()
                        except anyio.EndOfStream:
                            break
                    if idle.cancelled_caught:
                        assert keepalive is not None
                        data = keepalive
                    await send({"type": "http.response.body", "body": data, "more_body": True})
            tg.cancel_scope.cancel()
        return not client_gone


class DataStreamResponse(AssistantStreamResponse):
    """The assistant-ui Data Stream. Keepalives are off by default, as upstream."""

    def __init__(
        self,
        stream: AsyncIterable[Chunk],
        heartbeat: HeartbeatOption = False,
        **options: Any,
    ) -> None:
        super().__init__(stream, DataStreamEncoder(), heartbeat, **options)


class AssistantTransportResponse(AssistantStreamResponse):
    """Assistant Transport (SSE, ``[DONE]``); keepalive every 15 s by default."""

    def __init__(
        self,
        stream: AsyncIterable[Chunk],
        heartbeat: HeartbeatOption = True,
        **options: Any,
    ) -> None:
        super().__init__(stream, AssistantTransportEncoder(), heartbeat, **options)


class OpenAIStreamResponse(AssistantStreamResponse):
    """OpenAI ``chat.completion.chunk`` SSE; keepalive every 15 s by default.

    Pass ``stream_encoder=OpenAIStreamEncoder(model=..., include_usage=True)``
    to set the encoder's options.
    """

    def __init__(
        self,
        stream: AsyncIterable[Chunk],
        heartbeat: HeartbeatOption = True,
        *,
        stream_encoder: OpenAIStreamEncoder | None = None,
        **options: Any,
    ) -> None:
        super().__init__(stream, stream_encoder or OpenAIStreamEncoder(), heartbeat, **options)
