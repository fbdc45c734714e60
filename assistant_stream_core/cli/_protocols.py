"""The protocols the command line knows, and how it tells them apart.

Detection reads what a client would: the response's headers first (the
protocol markers ``x-vercel-ai-data-stream`` and ``x-vercel-ai-ui-message-stream``,
then the content type), and otherwise the first bytes of the body. A Data
Stream starts with a ``code:`` line; the four Server-Sent-Event protocols
differ in their first JSON event.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from ..protocols.base import Decoder, Encoder

__all__ = ["PROTOCOLS", "decoder_for", "detect", "encoder_for"]

#: Protocol name -> (module, encoder class, decoder class).
PROTOCOLS: dict[str, tuple[str, str, str]] = {
    "data_stream": ("data_stream", "DataStreamEncoder", "DataStreamDecoder"),
    "assistant_transport": (
        "assistant_transport",
        "AssistantTransportEncoder",
        "AssistantTransportDecoder",
    ),
    "openai_chat": ("openai_chat", "OpenAIChatEncoder", "OpenAIChatDecoder"),
    "ui_message_stream": ("ui_message_stream", "UIMessageStreamEncoder", "UIMessageStreamDecoder"),
    "ag_ui": ("ag_ui", "AGUIEncoder", "AGUIDecoder"),
}

# A Data Stream line: one code character (or ``aui-…``), then a colon.
_DATA_STREAM_LINE = re.compile(rb"(?:[0-9a-z]|aui-[a-z-]+):")
_SSE_FIELD = re.compile(rb"(?:data|event|id|retry)?:")
# Event types only the Assistant Transport sends (it also puts a path on parts).
_TRANSPORT_ONLY = frozenset(
    {"part-start", "part-finish", "update-state", "result", "tool-call-args-text-finish"}
)
_JSON = msgspec.json.Decoder()


def _class(name: str, index: int) -> Any:
    module_name = PROTOCOLS[name][0]
    module = importlib.import_module(f"assistant_stream_core.protocols.{module_name}")
    return getattr(module, PROTOCOLS[name][index])


def encoder_for(name: str) -> Encoder:
    """A fresh encoder of protocol ``name``."""
    encoder: Encoder = _class(name, 1)()
    return encoder


def decoder_for(name: str) -> Decoder:
    """A fresh decoder of protocol ``name``."""
    decoder: Decoder = _class(name, 2)()
    return decoder


def from_headers(headers: Mapping[str, str]) -> str | None:
    """The protocol that response headers name, if they name one."""
    lowered = {key.lower(): value for key, value in headers.items()}
    if "x-vercel-ai-data-stream" in lowered:
        return "data_stream"
    if "x-vercel-ai-ui-message-stream" in lowered:
        return "ui_message_stream"
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/plain":
        return "data_stream"
    return None


def _from_event(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    if event.get("object") == "chat.completion.chunk":
        return "openai_chat"
    kind = event.get("type")
    if not isinstance(kind, str):
        return None
    if kind.isupper():
        return "ag_ui"
    if "path" in event or kind in _TRANSPORT_ONLY:
        return "assistant_transport"
    if kind == "error" and "errorText" not in event:
        return None  # both send one; the next event tells
    return "ui_message_stream"


def from_body(head: bytes, *, complete: bool) -> str | None:
    """The protocol of a body that starts with ``head``, or ``None`` if unknown yet.

    :param complete: ``head`` is the whole body, so an event cut off at its
        end will not be completed.
    :raises ValueError: if ``head`` is none of the protocols.
    """
    text = head.lstrip(b"\xef\xbb\xbf\r\n ")
    if not text:
        if complete:
            raise ValueError("the stream is empty")
        return None
    if _DATA_STREAM_LINE.match(text):
        return "data_stream"
    if not _SSE_FIELD.match(text):
        raise ValueError(f"not a stream of any known protocol: starts with {text[:40]!r}")
    events = re.split(rb"\r?\n\r?\n", text)
    if not complete:
        events = events[:-1]  # the last one may be cut short
    for event in events:
        data = b"\n".join(
            line[5:].removeprefix(b" ") for line in event.splitlines() if line.startswith(b"data:")
        )
        if not data or data == b"[DONE]":
            continue
        try:
            found = _from_event(_JSON.decode(data))
        except msgspec.DecodeError:
            raise ValueError(f"an event's data is not JSON: {data[:40]!r}") from None
        if found is not None:
            return found
    if complete:
        raise ValueError("no event in the stream tells its protocol; name it with --protocol")
    return None


def detect(headers: Mapping[str, str], head: bytes, *, complete: bool) -> str | None:
    """:func:`from_headers`, else :func:`from_body`."""
    return from_headers(headers) or from_body(head, complete=complete)
