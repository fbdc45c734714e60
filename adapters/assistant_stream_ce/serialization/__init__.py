"""Encoders and response classes, as upstream's ``assistant_stream.serialization``.

The encoders import without any web framework; the ``*Response`` names are
Starlette responses, imported on first use (``ImportError`` naming the
``starlette`` extra when Starlette is missing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .assistant_transport import AssistantTransportEncoder
from .data_stream import DataStreamEncoder
from .openai_stream import OpenAIStreamEncoder

if TYPE_CHECKING:
    from .responses import AssistantTransportResponse, DataStreamResponse, OpenAIStreamResponse

__all__ = [
    "AssistantTransportEncoder",
    "AssistantTransportResponse",
    "DataStreamEncoder",
    "DataStreamResponse",
    "OpenAIStreamEncoder",
    "OpenAIStreamResponse",
]

_RESPONSES = frozenset({"AssistantTransportResponse", "DataStreamResponse", "OpenAIStreamResponse"})


def __getattr__(name: str) -> Any:
    if name in _RESPONSES:
        from . import responses

        return getattr(responses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
