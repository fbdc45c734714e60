"""Starlette and FastAPI responses that stream a run in any protocol.

Install with ``pip install "assistant-stream-ce[starlette]"`` (or
``[fastapi]``)::

    from assistant_stream_starlette import DataStreamResponse

    @app.post("/chat")
    async def chat(request: Request) -> DataStreamResponse:
        return DataStreamResponse(create_run(my_run))

:class:`AssistantStreamResponse` takes any encoder;
the named classes fix the protocol.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'assistant_stream_starlette needs Starlette: pip install "assistant-stream-ce[starlette]"'
    ) from exc

from .request import *  # noqa: F403
from .request import __all__ as _request_all
from .responses import *  # noqa: F403
from .responses import __all__ as _responses_all

__all__ = [*_responses_all, *_request_all]
