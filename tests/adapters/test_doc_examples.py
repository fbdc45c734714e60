"""The complete examples of the adapter pages (examples/adapters) work.

Each example app is loaded from its file and served by a real server, except
the Django one, whose view is called the way Django's WSGI handler calls it
(the test session's Django settings are already configured).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import httpx

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, ToolResultChunk
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder

from . import servers

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "adapters"
ANSWER = "Checking the weather… It is 21 °C in Paris."


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"doc_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_answer(chunks: list[Chunk]) -> None:
    text = "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
    assert text == ANSWER
    results = [c.result for c in chunks if isinstance(c, ToolResultChunk)]
    assert results == [{"temp_c": 21}]


def check_data_stream(body: bytes) -> None:
    decoder = DataStreamDecoder()
    check_answer(decoder.feed(body) + decoder.finish())


def test_fastapi_example() -> None:
    app = load("fastapi_app").app
    with servers.uvicorn_server(app) as url, httpx.Client(base_url=url, timeout=5) as client:
        origin = {"Origin": "http://localhost:3000", "Accept-Encoding": "gzip"}
        response = client.post("/chat", headers=origin)
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        assert "x-vercel-ai-data-stream" in response.headers["access-control-expose-headers"]
        check_data_stream(response.content)
        transport = client.post("/transport")
        decoder = AssistantTransportDecoder()
        check_answer(decoder.feed(transport.content) + decoder.finish())


def test_aiohttp_example() -> None:
    app = load("aiohttp_app").app
    with servers.aiohttp_server(app) as url, httpx.Client(base_url=url, timeout=5) as client:
        response = client.post("/chat", headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert "x-vercel-ai-data-stream" in response.headers["access-control-expose-headers"]
        check_data_stream(response.content)
        check_data_stream(client.post("/chat2").content)


def test_flask_example() -> None:
    app = load("flask_app").app
    with servers.werkzeug_server(app) as url, httpx.Client(base_url=url, timeout=5) as client:
        response = client.post("/chat")
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        check_data_stream(response.content)


def test_django_example() -> None:
    from .django_app import configure

    configure()  # the suite's settings; the example configures only if unset
    from django.test import RequestFactory

    example = load("django_project")
    response = example.chat(RequestFactory().post("/chat"))
    try:
        body = b"".join(response)  # what a WSGI server does
    finally:
        response.close()
    check_data_stream(body)


def test_cli_example() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "cli.py")],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert result.stdout == b'0:"Hello from a blocking iterator."\n'
