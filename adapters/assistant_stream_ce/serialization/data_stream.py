"""The assistant-ui Data Stream, as upstream's ``assistant_stream.serialization.data_stream``.

:class:`DataStreamEncoder` delegates to
:class:`assistant_stream_core.protocols.data_stream.DataStreamEncoder`.
``DataStreamResponse`` (a Starlette response; keepalives off by default, as
upstream) is imported on first use, so this module imports without Starlette.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from assistant_stream_core.protocols import data_stream as _core
from assistant_stream_core.run import StateProxy

from ..assistant_stream_chunk import AssistantStreamChunk as AssistantStreamChunk
from ._framed import FramedStreamEncoder
from .heartbeat import DATA_STREAM_KEEPALIVE_LINE
from .heartbeat import HeartbeatOption as HeartbeatOption
from .stream_encoder import StreamEncoder as StreamEncoder

if TYPE_CHECKING:
    from .responses import DataStreamResponse

__all__ = ["DataStreamEncoder", "DataStreamResponse", "StateProxyJSONEncoder"]


class StateProxyJSONEncoder(json.JSONEncoder):
    """A :class:`json.JSONEncoder` that writes a state proxy as the value it views.

    For ``json.dumps(value, cls=StateProxyJSONEncoder)`` on values that may hold
    ``controller.state[...]`` proxies (the encoders here need no such help).
    """

    def default(self, o: Any) -> Any:
        """Return a proxy's value as plain JSON types; defer anything else."""
        if isinstance(o, StateProxy):
            return o.to_value()
        return super().default(o)


class DataStreamEncoder(FramedStreamEncoder):
    """Encodes chunks as assistant-ui Data Stream lines."""

    frame_end = "\n"

    def make_encoder(self) -> _core.DataStreamEncoder:
        """Return a fresh core encoder."""
        return _core.DataStreamEncoder()

    def get_media_type(self) -> str:
        """``"text/plain"`` (the response adds ``; charset=utf-8``)."""
        return "text/plain"

    def get_keepalive_token(self) -> str:
        """A blank line, which assistant-ui's decoder skips."""
        return DATA_STREAM_KEEPALIVE_LINE


def __getattr__(name: str) -> Any:
    if name == "DataStreamResponse":
        from .responses import DataStreamResponse

        return DataStreamResponse
    if name == "AssistantStreamResponse":  # upstream's module imports it too
        from .responses import AssistantStreamResponse

        return AssistantStreamResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
