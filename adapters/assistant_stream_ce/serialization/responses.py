"""The upstream-compatible Starlette responses, thin names over :mod:`assistant_stream_starlette`.

``AssistantStreamResponse(stream, stream_encoder, heartbeat=True)`` keeps
upstream's signature. Every response streams through the shared serving loop
(:func:`~assistant_stream_core.run.serve.stream_encoded`): keepalives,
disconnect → run cancelled, send timeouts. With a built-in encoder, one write
per batch of chunks, and a raising run ends with the error frame and the
closing frames instead of a cut body. A user's own :class:`StreamEncoder`
writes its frames with its ``encode_stream``; the loop sends them as they
come (through a pass-through encoder), and an exception is logged and the body
ends cleanly.

Keyword-only extras beyond upstream: ``status_code``, ``headers``,
``send_timeout`` and ``expose_headers`` (see
:class:`assistant_stream_starlette.AssistantStreamResponse`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

try:
    from assistant_stream_starlette import AssistantStreamResponse as _StarletteResponse
except ImportError as exc:
    raise ImportError(
        "the assistant_stream_ce response classes need Starlette: "
        'pip install "assistant-stream-ce[starlette]"'
    ) from exc

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.base import STREAMING_HEADERS
from assistant_stream_core.run.error_messages import ErrorMessage
from assistant_stream_core.run.http import check_source
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


class _PassThrough:
    """The core encoder for a user's :class:`StreamEncoder`: its frames are already written.

    The source the serving loop reads is ``encode_stream``'s output
    (:class:`_EncodedFrames`); each item is turned into bytes as it is. Chunks
    (the error chunk the loop adds after a failure) write nothing: the user's
    encoder owns its format, so the body just ends.
    """

    def __init__(self, stream_encoder: StreamEncoder) -> None:
        self.media_type = stream_encoder.get_media_type()
        self.headers = {"Content-Type": self.media_type, **STREAMING_HEADERS}
        token = stream_encoder.get_keepalive_token()
        self.keepalive = token.encode() if token else None

    def encode(self, item: Any) -> bytes:
        if isinstance(item, str):
            return item.encode()
        if isinstance(item, bytes | bytearray | memoryview):
            return bytes(item)
        return b""

    def encode_many(self, items: Iterable[Any]) -> bytes:
        return b"".join(self.encode(item) for item in items)

    def finish(self) -> bytes:
        return b""


class _EncodedFrames:
    """``stream_encoder.encode_stream(chunks)`` as a source: closing it closes the chunks too."""

    def __init__(self, stream_encoder: StreamEncoder, chunks: AsyncIterable[Chunk]) -> None:
        self._chunks = chunks
        self._frames = stream_encoder.encode_stream(chunks)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._frames

    async def aclose(self) -> None:
        await aclose_source(self._chunks, logger=_logger)


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
        if not isinstance(stream_encoder, StreamEncoder) and not hasattr(
            stream_encoder, "encode_stream"
        ):
            # Upstream's signature takes an encoder object; assistant_stream_starlette's
            # response takes a protocol name: point the caller at the one they meant.
            hint = (
                f"; to name a protocol, use assistant_stream_starlette.AssistantStreamResponse"
                f"(stream, {stream_encoder!r})"
                if isinstance(stream_encoder, str)
                else ""
            )
            raise TypeError(
                "stream_encoder must be a StreamEncoder, such as DataStreamEncoder(), "
                f"got {type(stream_encoder).__name__}{hint}"
            )
        check_source(stream)
        interval = resolve_heartbeat_interval(heartbeat)
        if interval is not None and stream_encoder.get_keepalive_token() is None:
            interval = None  # the format has no harmless keepalive
        self.stream_encoder = stream_encoder
        self._chunks = stream
        encoder: Any
        source: Any
        if isinstance(stream_encoder, CoreStreamEncoder):
            encoder, source = stream_encoder.make_encoder(), stream
        else:
            encoder = _PassThrough(stream_encoder)
            source = _EncodedFrames(stream_encoder, stream)
            # The user's encoder writes the run's error chunk: the run gets the policy.
            apply_error_message(stream, error_message)
        super().__init__(
            source,
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
            body = self.stream_encoder.encode_stream(self._chunks)
            token = self.stream_encoder.get_keepalive_token()
            if self.keepalive_interval is not None and token is not None:
                body = add_keepalive(body, self.keepalive_interval, token)
            self.__dict__["_body_iterator"] = body
        return body


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
