"""aiohttp responses that stream a run in any protocol.

Install with ``pip install "assistant-stream-ce[aiohttp]"``::

    from assistant_stream_aiohttp import stream_response

    async def chat(request: web.Request) -> web.StreamResponse:
        return await stream_response(request, create_run(my_run), "data_stream")

or return an :class:`AssistantStreamResponse` (or a named subclass such as
:class:`DataStreamResponse`) from the handler; it streams when aiohttp
prepares it.

Do not enable aiohttp's compression on these responses: its compressor does
not flush per write, so frames would be held back.
"""

from __future__ import annotations

try:
    import aiohttp  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        'assistant_stream_aiohttp needs aiohttp: pip install "assistant-stream-ce[aiohttp]"'
    ) from exc

from .request import *  # noqa: F403
from .request import __all__ as _request_all
from .responses import *  # noqa: F403
from .responses import __all__ as _responses_all

__all__ = [*_responses_all, *_request_all]
