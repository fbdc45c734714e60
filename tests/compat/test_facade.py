"""The upstream-compatible names: encoders, heartbeat options, custom encoders, chunks."""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from assistant_stream_ce import AssistantStreamResponse, RunController, create_run
from assistant_stream_ce.assistant_stream_chunk import (
    ObjectStreamOperation,
    TextDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_ce.serialization import (
    AssistantTransportEncoder,
    DataStreamEncoder,
    OpenAIStreamEncoder,
)
from assistant_stream_ce.serialization.heartbeat import resolve_heartbeat_interval
from assistant_stream_ce.serialization.stream_encoder import StreamEncoder
from starlette.applications import Starlette
from starlette.routing import Route

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols import assistant_transport, data_stream
from tests.adapters.servers import uvicorn_server


async def feed(chunks: list[Chunk]) -> AsyncIterator[Chunk]:
    for chunk in chunks:
        yield chunk


CHUNKS: list[Chunk] = [TextDeltaChunk("a"), TextDeltaChunk("b", parent_id="p")]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("facade", "core"),
    [
        (DataStreamEncoder, data_stream.DataStreamEncoder),
        (AssistantTransportEncoder, assistant_transport.AssistantTransportEncoder),
    ],
)
async def test_encode_stream_writes_the_core_bytes(
    anyio_backend: str, facade: Any, core: Any
) -> None:
    pieces = [piece async for piece in facade().encode_stream(feed(CHUNKS))]
    assert all(isinstance(piece, str) for piece in pieces)
    encoder = core()
    assert "".join(pieces).encode() == encoder.encode_many(CHUNKS) + encoder.finish()


def test_media_types_and_keepalive_tokens_as_upstream() -> None:
    assert DataStreamEncoder().get_media_type() == "text/plain"
    assert DataStreamEncoder().get_keepalive_token() == "\n"
    assert AssistantTransportEncoder().get_keepalive_token() == ": heartbeat\n\n"
    assert OpenAIStreamEncoder(model="m").make_encoder().media_type.startswith("text/event-stream")


@pytest.mark.parametrize(
    ("option", "seconds"),
    [(True, 15.0), (False, None), (None, None), (0, None), (2, 2.0), (0.5, 0.5)],
)
def test_heartbeat_option(option: Any, seconds: float | None) -> None:
    assert resolve_heartbeat_interval(option) == seconds


@pytest.mark.parametrize("option", [-1, math.inf, math.nan])
def test_bad_heartbeat_option(option: float) -> None:
    with pytest.raises(ValueError, match="positive finite number"):
        resolve_heartbeat_interval(option)


async def _empty(controller: RunController) -> None:
    pass


def test_a_protocol_name_for_the_encoder_is_pointed_at_the_adapter() -> None:
    """Upstream's response takes an encoder; the adapter's takes a protocol name.

    Passing the name here failed later with "'str' object has no attribute
    'get_keepalive_token'".
    """
    expected = (
        r"stream_encoder must be a StreamEncoder, such as DataStreamEncoder\(\), got str; "
        r"to name a protocol, use assistant_stream_starlette.AssistantStreamResponse"
        r"\(stream, 'data_stream'\)"
    )
    with pytest.raises(TypeError, match=expected):
        AssistantStreamResponse(create_run(_empty), "data_stream")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got NoneType$"):
        AssistantStreamResponse(create_run(_empty), None)  # type: ignore[arg-type]


def test_upstream_chunk_constructors() -> None:
    assert TextDeltaChunk("hi") == TextDeltaChunk(text_delta="hi")
    assert TextDeltaChunk("hi").type == "text-delta"
    result = ToolResultChunk(tool_call_id="t", result=1, artifact={"a": 1}, is_error=True)
    assert (result.tool_call_id, result.artifact, result.is_error) == ("t", {"a": 1}, True)
    assert ObjectStreamOperation is not None


class ShoutEncoder(StreamEncoder):
    """A user's own encoder, written against upstream's base class."""

    def get_media_type(self) -> str:
        return "text/event-stream"

    async def encode_stream(self, stream: AsyncIterable[Chunk]) -> AsyncIterator[str]:
        async for chunk in stream:
            if isinstance(chunk, TextDeltaChunk):
                yield f"data: {chunk.text_delta.upper()}\n\n"
        yield "data: END\n\n"


async def slow_run(controller: RunController) -> None:
    controller.append_text("hello")
    await anyio.sleep(0.35)
    controller.append_text("world")


async def shout(request: Any) -> AssistantStreamResponse:
    return AssistantStreamResponse(create_run(slow_run), ShoutEncoder(), heartbeat=0.1)


def test_custom_stream_encoder_with_keepalive() -> None:
    app = Starlette(routes=[Route("/shout", shout)])
    with uvicorn_server(app) as url:
        response = httpx.get(url + "/shout", timeout=10)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-accel-buffering"] == "no"
    body = response.text
    assert body.startswith("data: HELLO\n\n")
    assert body.endswith("data: WORLD\n\ndata: END\n\n")
    assert body.count(": heartbeat\n\n") >= 2  # 350 ms of silence, 100 ms interval


async def agent_run(controller: RunController) -> None:
    controller.append_reasoning("The user wants weather.")
    tool = await controller.add_tool_call("get_weather", "call_1")
    tool.append_args_text('{"city": ')
    tool.append_args_text('"Paris"}')
    controller.add_step_finish("tool-calls", input_tokens=10, output_tokens=5)


async def openai_route(request: Any) -> Any:
    from assistant_stream_ce.serialization.openai_stream import (
        OpenAIStreamEncoder,
        OpenAIStreamResponse,
    )

    encoder = OpenAIStreamEncoder(model="demo", include_usage=True)
    return OpenAIStreamResponse(create_run(agent_run), stream_encoder=encoder)


def test_openai_stream_response_carries_tool_calls_reasoning_and_usage() -> None:
    openai = pytest.importorskip("openai")
    app = Starlette(routes=[Route("/v1/chat/completions", openai_route, methods=["POST"])])
    with uvicorn_server(app) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="demo", messages=[{"role": "user", "content": "weather?"}], stream=True
        )
        chunks = list(stream)
    arguments = "".join(
        call.function.arguments or ""
        for chunk in chunks
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
    )
    names = [
        call.function.name
        for chunk in chunks
        for choice in chunk.choices
        for call in choice.delta.tool_calls or []
        if call.function and call.function.name
    ]
    reasoning = "".join(
        getattr(choice.delta, "reasoning_content", None) or ""
        for chunk in chunks
        for choice in chunk.choices
    )
    finish = [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]
    usage = [chunk.usage for chunk in chunks if chunk.usage]
    assert names == ["get_weather"]
    assert arguments == '{"city": "Paris"}'
    assert reasoning == "The user wants weather."
    assert finish == ["tool_calls"]
    assert usage
    assert (usage[-1].prompt_tokens, usage[-1].completion_tokens) == (10, 5)
    assert {chunk.model for chunk in chunks} == {"demo"}


class BrokenEncoder(ShoutEncoder):
    """A user's encoder that fails after its first frame."""

    async def encode_stream(self, stream: AsyncIterable[Chunk]) -> AsyncIterator[str]:
        async for chunk in stream:
            if isinstance(chunk, TextDeltaChunk):
                yield f"data: {chunk.text_delta}\n\n"
                raise RuntimeError("encoder bug")
        yield "data: never\n\n"  # pragma: no cover


async def broken(request: Any) -> AssistantStreamResponse:
    return AssistantStreamResponse(create_run(slow_run), BrokenEncoder(), heartbeat=False)


def test_custom_stream_encoder_failure_ends_the_body_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The user's frames go through the one serving loop (a pass-through
    # encoder): what was written stays, the run is closed, the body ends.
    app = Starlette(routes=[Route("/broken", broken)])
    with caplog.at_level("ERROR", logger="assistant_stream_ce"), uvicorn_server(app) as url:
        response = httpx.get(url + "/broken", timeout=10)
    assert response.status_code == 200
    assert response.text == "data: hello\n\n"
    assert any("encoder bug" in record.getMessage() for record in caplog.records)
