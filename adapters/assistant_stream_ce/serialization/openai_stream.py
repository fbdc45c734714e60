"""OpenAI chat completion chunks, as upstream's ``assistant_stream.serialization.openai_stream``.

Upstream streams text deltas only. :class:`OpenAIStreamEncoder` keeps its
constructor and delegates to
:class:`assistant_stream_core.protocols.openai_chat.OpenAIChatEncoder`, so a
text-only run gives the same frames (plus the first ``role`` delta OpenAI's
clients expect) and a run with reasoning, tool calls, finish reasons and
usage gives those too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant_stream_core.protocols import openai_chat as _core
from assistant_stream_core.run._ids import random_id

from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from ._framed import FramedStreamEncoder
from .heartbeat import SSE_HEARTBEAT_LINE as SSE_HEARTBEAT_LINE
from .heartbeat import HeartbeatOption as HeartbeatOption
from .stream_encoder import StreamEncoder as StreamEncoder

if TYPE_CHECKING:
    from .responses import OpenAIStreamResponse

__all__ = ["OpenAIStreamEncoder", "OpenAIStreamResponse", "generate_openai_style_id"]


def generate_openai_style_id() -> str:
    """A completion id: ``"chatcmpl-"`` and 24 random letters and digits."""
    return "chatcmpl-" + random_id(24)


class OpenAIStreamEncoder(FramedStreamEncoder):
    """Encodes chunks as ``chat.completion.chunk`` SSE frames, ending with ``[DONE]``.

    :param model: the ``model`` field of every frame.
    :param system_fingerprint: the ``system_fingerprint`` field of every frame.
    :param options: further :class:`~assistant_stream_core.protocols.openai_chat.OpenAIChatEncoder`
        options (``include_usage``, ``reasoning_field``, ``tool_results`` …).
    """

    def __init__(
        self,
        model: str = "assistant_stream",
        system_fingerprint: str = "fp_0000000000",
        **options: Any,
    ) -> None:
        self.model = model
        self.system_fingerprint = system_fingerprint
        self.options = options

    def make_encoder(self) -> _core.OpenAIChatEncoder:
        """Return a fresh core encoder with this encoder's settings."""
        return _core.OpenAIChatEncoder(
            model=self.model, system_fingerprint=self.system_fingerprint, **self.options
        )

    def get_media_type(self) -> str:
        """``"text/event-stream"``."""
        return "text/event-stream"


def __getattr__(name: str) -> Any:
    if name == "OpenAIStreamResponse":
        from .responses import OpenAIStreamResponse

        return OpenAIStreamResponse
    if name == "AssistantStreamResponse":  # upstream's module imports it too
        from .responses import AssistantStreamResponse

        return AssistantStreamResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
