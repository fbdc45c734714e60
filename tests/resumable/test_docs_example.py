"""The FastAPI app at the top of ``docs/resumable.rst`` runs as written.

The page's block is executed with its Redis URL pointed at a real
``redis-server``, served by uvicorn, and driven over HTTP as its routes say:
a chat answered with the stream id in ``x-resumable-stream-id``, the same
stream sent again by the resume route (whole, and after a ``Last-Event-ID``),
and the stop route. Its lifespan closes the Redis client's connections
when the server stops.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import httpx

from assistant_stream_core.chunks import TextDeltaChunk
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from tests.adapters.servers import uvicorn_server
from tests.redis_server import RedisServer

PAGE = Path(__file__).resolve().parents[2] / "docs" / "resumable.rst"
URL = "redis://localhost:6379"


def page_app(redis_url: str) -> Any:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"are the same\)::\n\n((?:    .*\n|\n)+)", text)
    assert match is not None, "the FastAPI block of docs/resumable.rst moved"
    block = textwrap.dedent(match[1])
    assert URL in block
    namespace: dict[str, Any] = {"__name__": "resumable_page"}
    exec(compile(block.replace(URL, redis_url), str(PAGE), "exec"), namespace)
    return namespace["app"]


def text_of(body: bytes) -> str:
    decoder = AssistantTransportDecoder()
    chunks = decoder.feed(body) + decoder.finish()
    return "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))


def test_the_page_app_starts_resumes_and_stops(redis_srv: RedisServer) -> None:
    with uvicorn_server(page_app(redis_srv.url), lifespan=True) as url:
        started = httpx.post(f"{url}/api/chat", timeout=10)
        assert started.status_code == 200
        stream_id = started.headers["x-resumable-stream-id"]
        assert text_of(started.content) == "Hello"

        header = {"x-resumable-stream-id": stream_id}
        resumed = httpx.get(f"{url}/api/chat/resume", headers=header, timeout=10)
        assert resumed.status_code == 200
        assert text_of(resumed.content) == "Hello"
        first_id = re.search(rb"^id: (\S+)$", resumed.content, re.M)
        assert first_id is not None
        after = {**header, "Last-Event-ID": first_id[1].decode()}
        rest = httpx.get(f"{url}/api/chat/resume", headers=after, timeout=10)
        assert rest.status_code == 200
        assert b"Hello" not in rest.content
        assert b"[DONE]" in rest.content

        stopped = httpx.post(f"{url}/api/chat/{stream_id}/stop", timeout=10)
        assert stopped.json() == {"stopped": False}  # it had already ended
        missing = httpx.get(f"{url}/api/chat/resume", timeout=10)
        assert missing.status_code == 400
