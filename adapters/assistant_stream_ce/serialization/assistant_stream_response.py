"""``AssistantStreamResponse``, at upstream's path.

Upstream: ``assistant_stream.serialization.assistant_stream_response``.

A Starlette response (``pip install "assistant-stream-ce[starlette]"``).
"""

from __future__ import annotations

from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from .heartbeat import HeartbeatOption as HeartbeatOption
from .heartbeat import add_keepalive as add_keepalive
from .heartbeat import resolve_heartbeat_interval as resolve_heartbeat_interval
from .responses import AssistantStreamResponse
from .stream_encoder import StreamEncoder as StreamEncoder

__all__ = ["AssistantStreamResponse"]
