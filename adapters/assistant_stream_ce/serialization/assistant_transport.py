"""Assistant Transport, as upstream's ``assistant_stream.serialization.assistant_transport``.

:class:`AssistantTransportEncoder` delegates to
:class:`assistant_stream_core.protocols.assistant_transport.AssistantTransportEncoder`.
``AssistantTransportResponse`` (a Starlette response; keepalive every 15 s by
default, as upstream) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant_stream_core.protocols import assistant_transport as _core

from ._framed import FramedStreamEncoder

if TYPE_CHECKING:
    from .responses import AssistantTransportResponse

__all__ = ["AssistantTransportEncoder", "AssistantTransportResponse"]


class AssistantTransportEncoder(FramedStreamEncoder):
    """Encodes chunks as Assistant Transport SSE frames, ending with ``[DONE]``."""

    def make_encoder(self) -> _core.AssistantTransportEncoder:
        """Return a fresh core encoder."""
        return _core.AssistantTransportEncoder()

    def get_media_type(self) -> str:
        """``"text/event-stream"``."""
        return "text/event-stream"


def __getattr__(name: str) -> Any:
    if name == "AssistantTransportResponse":
        from .responses import AssistantTransportResponse

        return AssistantTransportResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
