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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .create_run import RunController, create_run

if TYPE_CHECKING:
    from .serialization.assistant_stream_response import AssistantStreamResponse

__all__ = ["AssistantStreamResponse", "RunController", "create_run"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the package imports without Starlette.
    if name == "AssistantStreamResponse":
        from .serialization.assistant_stream_response import AssistantStreamResponse

        return AssistantStreamResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
