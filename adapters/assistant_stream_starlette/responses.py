"""The ASGI response: headers, the shared serving loop, disconnect detection."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from typing import ClassVar

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from assistant_stream_core.run.error_messages import ErrorMessage, check_policy
from assistant_stream_core.run.http import check_source
from assistant_stream_core.run.serve import (
    DEFAULT_KEEPALIVE_INTERVAL,
    DEFAULT_SEND_TIMEOUT,
    EncoderSpec,
    Source,
    StreamResult,
    make_encoder,
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
]


class AssistantStreamResponse(Response):
    """Stream a run (or any async iterable of chunks) in any protocol.

    :param source: a run from ``create_run``, or an async iterable of chunks.
    :param encoder: an encoder, an encoder class, or a protocol name such as
        ``"data_stream"``; subclasses fix it with :attr:`protocol`.
    :param status_code: the response status.
    :param headers: extra headers; they replace protocol headers of the same name.
    :param keepalive_interval: seconds of silence before the protocol's
        keepalive bytes are sent (``None`` or ``0``: never).
    :param send_timeout: seconds a write may take before the client is
        treated as gone (``None``: wait forever).
    :param expose_headers: add ``Access-Control-Expose-Headers`` listing the
        protocol headers, so a browser client on another origin can read them
        (or list them in ``CORSMiddleware(expose_headers=...)``).
    :param background: a task run after the response, as in Starlette.
    :param error_message: ``error_message(exc) -> str``, what the client is
        told when the run raises (default: the exception's text; see
        :mod:`assistant_stream_core.run.error_messages`).

    After the response has been sent, :attr:`result` says how the stream ended.
    """

    #: The protocol a subclass streams (see :func:`make_encoder`).
    protocol: ClassVar[EncoderSpec | None] = None

    def __init__(
        self,
        source: Source,
        encoder: EncoderSpec | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        send_timeout: float | None = DEFAULT_SEND_TIMEOUT,
        expose_headers: bool = False,
        background: BackgroundTask | None = None,
        error_message: ErrorMessage | None = None,
    ) -> None:
        check_source(source)
        spec = encoder if encoder is not None else type(self).protocol
        if spec is None:
            raise TypeError(f"{type(self).__name__} needs an encoder or a protocol name")
        self.source = source
        self.encoder = make_encoder(spec)
        self.status_code = status_code
        self.media_type = self.encoder.media_type
        self.background = background
        self.keepalive_interval = keepalive_interval
        self.send_timeout = send_timeout
        check_policy(error_message)
        self.error_message = error_message
        self.result: StreamResult | None = None
        # Starlette's ``headers`` property is a view over ``raw_headers``.
        self.raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response_headers(
                self.encoder, headers, expose_headers=expose_headers
            )
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the response: headers, one body message per batch, the end."""

        async def start() -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )

        def send_body(data: bytes) -> Awaitable[None]:
            # Not a coroutine of its own: the ASGI send's is awaited directly
            # (one frame less per write; at a model's pace, per token).
            return send({"type": "http.response.body", "body": data, "more_body": True})

        async def disconnected() -> None:
            # Works on every ASGI server; on spec 2.4 a failed send also tells.
            while (await receive())["type"] != "http.disconnect":
                pass

        async def end_body() -> None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        self.result = await stream_encoded(
            self.source,
            self.encoder,
            send_body,
            start=start,
            disconnected=disconnected,
            keepalive_interval=self.keepalive_interval,
            send_timeout=self.send_timeout,
            error_message=self.error_message,
            end_body=end_body,
        )
        if not self.result.client_gone:
            try:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:
                return
        if self.background is not None:
            await self.background()


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
