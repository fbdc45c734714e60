"""The examples of the documentation this project continues, run for real.

Each example of the ``assistant-stream-ce`` 0.0.2 PyPI page and its FastAPI
docs page is served by FastAPI under uvicorn on a real socket (or iterated
directly, for the framework-free ones), and the client decodes the bytes with
our decoders.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from assistant_stream_ce import RunController, create_run
from assistant_stream_ce.assistant_stream_chunk import (
    ErrorChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_ce.serialization.assistant_transport import AssistantTransportResponse
from assistant_stream_ce.serialization.data_stream import DataStreamResponse
from assistant_stream_ce.serialization.openai_stream import OpenAIStreamResponse
from fastapi import FastAPI

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from tests.adapters.servers import uvicorn_server


def decode_data_stream(body: bytes) -> list[Chunk]:
    decoder = DataStreamDecoder()
    return decoder.feed(body) + decoder.finish()


def decode_transport(body: bytes) -> list[Chunk]:
    decoder = AssistantTransportDecoder()
    return decoder.feed(body) + decoder.finish()


async def tool_call_run(controller: RunController) -> None:
    tool = await controller.add_tool_call("search")
    tool.append_args_text(json.dumps({"q": "fastapi streaming"}))
    tool.set_response({"results": ["..."]})


async def state_run(controller: RunController) -> None:
    controller.state = {"draft": "", "messages": []}
    controller.state["draft"] += "Hello"
    controller.state["messages"].append({"role": "assistant", "content": "Hello"})


async def friendly_error_run(controller: RunController) -> None:
    try:
        raise ValueError("no city given")
    except ValueError as e:
        controller.add_error(f"Bad input: {e}")
        return


async def raising_run(controller: RunController) -> None:
    controller.append_text("partial")
    raise RuntimeError("model exploded")


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/chat")
    async def chat() -> DataStreamResponse:
        async def run(controller: RunController) -> None:
            controller.append_text("Hello from FastAPI!")

        return DataStreamResponse(create_run(run))

    @app.get("/chat-sse")
    async def chat_sse() -> AssistantTransportResponse:
        async def run(controller: RunController) -> None:
            controller.append_text("Streaming over SSE...")

        return AssistantTransportResponse(create_run(run))

    @app.get("/tool")
    async def tool() -> DataStreamResponse:
        return DataStreamResponse(create_run(tool_call_run))

    @app.get("/state")
    async def state() -> AssistantTransportResponse:
        return AssistantTransportResponse(create_run(state_run, state={}))

    @app.get("/friendly-error")
    async def friendly_error() -> DataStreamResponse:
        return DataStreamResponse(create_run(friendly_error_run))

    @app.get("/raise/{protocol}")
    async def raising(protocol: str) -> Any:
        if protocol == "data-stream":
            return DataStreamResponse(create_run(raising_run))
        return AssistantTransportResponse(create_run(raising_run))

    @app.get("/openai")
    async def openai() -> OpenAIStreamResponse:
        async def run(controller: RunController) -> None:
            controller.append_text("Hi ")
            controller.append_text("there")

        return OpenAIStreamResponse(create_run(run))

    return app


@pytest.fixture(scope="module")
def server() -> Any:
    with uvicorn_server(make_app()) as url:
        yield url


def get(server: str, path: str) -> httpx.Response:
    return httpx.get(server + path, timeout=10)


def test_data_stream_response(server: str) -> None:
    response = get(server, "/chat")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-vercel-ai-data-stream"] == "v1"
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.content == b'0:"Hello from FastAPI!"\n'


def test_assistant_transport_response(server: str) -> None:
    response = get(server, "/chat-sse")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert decode_transport(response.content) == [TextDeltaChunk("Streaming over SSE...")]
    assert response.content.endswith(b"data: [DONE]\n\n")


def test_tool_call_example(server: str) -> None:
    chunks = decode_data_stream(get(server, "/tool").content)
    assert isinstance(chunks[0], ToolCallBeginChunk)
    tool_call_id = chunks[0].tool_call_id
    assert tool_call_id.startswith("call_")
    assert len(tool_call_id) == len("call_") + 24
    assert chunks[1:] == [
        ToolCallDeltaChunk(tool_call_id, '{"q": "fastapi streaming"}'),
        ToolResultChunk(tool_call_id, {"results": ["..."]}),
    ]


def test_state_syncing_example(server: str) -> None:
    chunks = decode_transport(get(server, "/state").content)
    assert len(chunks) == 1
    assert isinstance(chunks[0], UpdateStateChunk)
    assert [op.to_dict() for op in chunks[0].operations] == [
        {"type": "set", "path": [], "value": {"draft": "", "messages": []}},
        # Upstream's proxy: extending an *empty* string is a set, not an append.
        {"type": "set", "path": ["draft"], "value": "Hello"},
        {
            "type": "set",
            "path": ["messages", "0"],
            "value": {"role": "assistant", "content": "Hello"},
        },
    ]


def test_error_handling_with_add_error(server: str) -> None:
    assert decode_data_stream(get(server, "/friendly-error").content) == [
        ErrorChunk("Bad input: no city given")
    ]


@pytest.mark.parametrize("protocol", ["data-stream", "assistant-transport"])
def test_raising_callback_ends_cleanly(
    server: str, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant_stream_ce"):
        response = get(server, f"/raise/{protocol}")
    assert response.status_code == 200
    decode = decode_data_stream if protocol == "data-stream" else decode_transport
    # A complete stream carrying the error; the transport's [DONE] is checked by decode.
    assert decode(response.content) == [TextDeltaChunk("partial"), ErrorChunk("model exploded")]
    logged = [r for r in caplog.records if r.exc_info]
    assert logged
    assert "model exploded" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_openai_stream_text(server: str) -> None:
    body = get(server, "/openai").text
    frames = [json.loads(line[6:]) for line in body.split("\n\n") if line.startswith("data: {")]
    content = "".join(f["choices"][0]["delta"].get("content") or "" for f in frames if f["choices"])
    assert content == "Hi there"
    assert frames[-1]["choices"][0]["finish_reason"] == "stop"
    assert body.endswith("data: [DONE]\n\n")


@pytest.mark.anyio
async def test_minimal_usage_and_reraise(anyio_backend: str) -> None:
    async def run(controller: RunController) -> None:
        controller.append_text("Hello ")
        controller.append_text("world!")

    chunks = [chunk async for chunk in create_run(run)]
    assert "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk)) == "Hello world!"

    seen: list[Chunk] = []

    async def consume() -> None:
        async for chunk in create_run(raising_run):
            seen.append(chunk)

    with pytest.raises(RuntimeError, match="model exploded"):
        await consume()
    assert seen[-1] == ErrorChunk("model exploded")


def test_responses_need_starlette_but_encoders_do_not() -> None:
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import importlib.abc, sys
        class Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("starlette", "fastapi"):
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Refuse())
        from assistant_stream_ce import create_run
        from assistant_stream_ce.serialization.data_stream import DataStreamEncoder
        try:
            from assistant_stream_ce.serialization.data_stream import DataStreamResponse
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert 'pip install "assistant-stream-ce[starlette]"' in result.stdout
