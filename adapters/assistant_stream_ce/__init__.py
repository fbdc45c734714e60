"""The upstream-compatible API: ``assistant_stream`` code runs after changing the import.

This package keeps the module paths and names of the ``assistant-stream``
Python package from the assistant-ui monorepo (version 0.0.36), backed by the
framework-free core (:mod:`assistant_stream_core`)::

    from assistant_stream_ce import create_run
    from assistant_stream_ce.serialization.data_stream import DataStreamResponse

:func:`create_run` and :class:`RunController` need only the core.
:class:`AssistantStreamResponse` and the other response classes are Starlette
responses: importing them without Starlette raises an :class:`ImportError`
that names the ``starlette`` extra, while the encoders stay importable.

With the ``langgraph`` extra installed, :func:`append_langgraph_event` and
:func:`get_tool_call_subgraph_state` are exported here too, as upstream does;
they are imported on first use, so the package imports without LangGraph.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from assistant_stream_core.run.error_messages import INTERNAL_ERROR_MESSAGE, internal_error

from .create_run import RunController, create_run

if TYPE_CHECKING:
    from .modules.langgraph import append_langgraph_event as append_langgraph_event
    from .modules.langgraph import (
        get_tool_call_subgraph_state as get_tool_call_subgraph_state,
    )
    from .serialization.assistant_stream_response import AssistantStreamResponse

_LANGGRAPH_NAMES = ("append_langgraph_event", "get_tool_call_subgraph_state")

__all__ = [
    "INTERNAL_ERROR_MESSAGE",
    "AssistantStreamResponse",
    "RunController",
    "create_run",
    "internal_error",
]


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # an import hook that refuses the package
        return False


# As upstream: listed only when the extra is installed (find_spec imports nothing).
if _installed("langgraph") and _installed("langchain_core"):
    __all__ += _LANGGRAPH_NAMES


def __getattr__(name: str) -> Any:
    # Lazy, so that the package imports without Starlette.
    if name == "AssistantStreamResponse":
        from .serialization.assistant_stream_response import AssistantStreamResponse

        return AssistantStreamResponse
    if name in _LANGGRAPH_NAMES:
        from .modules import langgraph

        return getattr(langgraph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
