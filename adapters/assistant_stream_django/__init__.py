"""Django streaming responses for a run, in any protocol, under ASGI or WSGI.

Install with ``pip install "assistant-stream-ce[django]"`` (Django >= 4.2)::

    from assistant_stream_django import DataStreamHttpResponse

    async def chat(request):
        return DataStreamHttpResponse(create_run(my_run))

The same response works whichever way Django is served: under ASGI it gives
Django an async iterator (the run streams on the server's event loop); under
WSGI a blocking iterator that runs the run on a private event loop in a
background thread. Django never has to convert one kind into the other, so it
never warns about it.
"""

from __future__ import annotations

try:
    import django  # type: ignore[import-untyped]  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'assistant_stream_django needs Django: pip install "assistant-stream-ce[django]"'
    ) from exc

from .request import *  # noqa: F403
from .request import __all__ as _request_all
from .responses import *  # noqa: F403
from .responses import __all__ as _responses_all

__all__ = [*_responses_all, *_request_all]
