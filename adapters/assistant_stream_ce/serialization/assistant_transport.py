"""Assistant Transport, as upstream's ``assistant_stream.serialization.assistant_transport``.

:class:`AssistantTransportEncoder` delegates to
:class:`assistant_stream_core.protocols.assistant_transport.AssistantTransportEncoder`.
``AssistantTransportResponse`` (a Starlette response; keepalive every 15 s by
default, as upstream) is imported on first use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from assistant_stream_core.protocols import assistant_transport as _core
from assistant_stream_core.run import StateProxy as StateProxy

# Names upstream's module also exposes (imported there for its own use).
from ..assistant_stream_chunk import AnnotationsChunk as AnnotationsChunk
from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from ..assistant_stream_chunk import FileChunk as FileChunk
from ..assistant_stream_chunk import ReasoningDeltaChunk as ReasoningDeltaChunk
from ..assistant_stream_chunk import SourceChunk as SourceChunk
from ..assistant_stream_chunk import StepFinishChunk as StepFinishChunk
from ..assistant_stream_chunk import StepStartChunk as StepStartChunk
from ..assistant_stream_chunk import TextDeltaChunk as TextDeltaChunk
from ..assistant_stream_chunk import ToolCallBeginChunk as ToolCallBeginChunk
from ..assistant_stream_chunk import ToolCallDeltaChunk as ToolCallDeltaChunk
from ..assistant_stream_chunk import ToolResultChunk as ToolResultChunk
from ._framed import FramedStreamEncoder
from .data_stream import StateProxyJSONEncoder as StateProxyJSONEncoder
from .heartbeat import SSE_HEARTBEAT_LINE as SSE_HEARTBEAT_LINE
from .heartbeat import HeartbeatOption as HeartbeatOption
from .stream_encoder import StreamEncoder as StreamEncoder

if TYPE_CHECKING:
    from .responses import AssistantTransportResponse

__all__ = ["AssistantTransportEncoder", "AssistantTransportResponse"]

logger = logging.getLogger(__name__)


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
    if name == "AssistantStreamResponse":  # upstream's module imports it too
        from .responses import AssistantStreamResponse

        return AssistantStreamResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
