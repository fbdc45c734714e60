"""``AssistantStreamResponse``, at upstream's path.

Upstream: ``assistant_stream.serialization.assistant_stream_response``.

A Starlette response (``pip install "assistant-stream-ce[starlette]"``).
"""

from __future__ import annotations

from .responses import AssistantStreamResponse

__all__ = ["AssistantStreamResponse"]
