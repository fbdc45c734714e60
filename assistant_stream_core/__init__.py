"""assistant-stream-ce core: chunks, state operations, wire protocols, the run layer.

This package imports no web framework. :mod:`~assistant_stream_core.chunks`,
:mod:`~assistant_stream_core.state` and :mod:`~assistant_stream_core.protocols`
are pure (standard library and msgspec only); the run layer adds anyio.
"""

#: The version of the assistant-stream-ce distribution (its one source: the
#: build reads it from here).
__version__ = "0.1.0"

from .chunks import *  # noqa: F403
from .chunks import __all__ as _chunks_all
from .errors import (
    AssistantStreamError,
    ChunkEncodeError,
    ProtocolError,
    RequestError,
    StateError,
)

__all__ = [
    *_chunks_all,
    "AssistantStreamError",
    "ChunkEncodeError",
    "ProtocolError",
    "RequestError",
    "StateError",
]
