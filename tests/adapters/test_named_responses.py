"""The named response classes, as users write them: FastAPI and aiohttp handlers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from assistant_stream_core.run import RunController, create_run

from . import servers


async def weather(controller: RunController) -> None:
    controller.append_text("Checking the weather")
    tool = await controller.add_tool_call("get_weather", "call_1")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})


def fastapi_app() -> Any:
    from assistant_stream_starlette import AssistantTransportResponse, DataStreamResponse
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/data_stream")
    async def data_stream() -> DataStreamResponse:
        return DataStreamResponse(create_run(weather))

    @app.post("/assistant_transport")
    async def assistant_transport() -> AssistantTransportResponse:
        return AssistantTransportResponse(create_run(weather))

    return app


def aiohttp_app() -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import AssistantTransportResponse, DataStreamResponse

    async def data_stream(request: web.Request) -> web.StreamResponse:
        return DataStreamResponse(create_run(weather))

    async def assistant_transport(request: web.Request) -> web.StreamResponse:
        return AssistantTransportResponse(create_run(weather))

    app = web.Application()
    app.router.add_post("/data_stream", data_stream)
    app.router.add_post("/assistant_transport", assistant_transport)
    return app


@pytest.fixture(scope="module", params=["fastapi", "aiohttp"])
def named_server(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "fastapi":
        with servers.uvicorn_server(fastapi_app()) as url:
            yield url
    else:
        with servers.aiohttp_server(aiohttp_app()) as url:
            yield url


@pytest.mark.parametrize("protocol", ["data_stream", "assistant_transport"])
def test_named_response_streams_the_protocol(named_server: str, protocol: str) -> None:
    with httpx.Client(base_url=named_server, timeout=10) as client:
        response = client.post(f"/{protocol}", json={"id": uuid.uuid4().hex})
    assert response.status_code == 200
    if protocol == "data_stream":
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert b'0:"Checking the weather"' in response.content
    else:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert b"Checking the weather" in response.content
    assert b'"temp_c":21' in response.content


def test_starlette_test_client_status_and_headers() -> None:
    from assistant_stream_starlette import UIMessageStreamResponse
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    app = FastAPI()

    @app.post("/chat")
    async def chat() -> UIMessageStreamResponse:
        return UIMessageStreamResponse(
            create_run(weather), status_code=201, headers={"X-Trace": "7"}, expose_headers=True
        )

    # Not ``with TestClient(app)``: that also runs the app's lifespan, and
    # Starlette 0.37 (our lower bound) never closes the lifespan's two memory
    # object streams; anyio then warns (ResourceWarning) when they are
    # collected, in whichever later test the collector runs.
    client = TestClient(app)
    try:
        response = client.post("/chat")
    finally:
        client.close()
    assert response.status_code == 201
    assert response.headers["x-trace"] == "7"
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert "x-vercel-ai-ui-message-stream" in response.headers["access-control-expose-headers"]
    assert b"Checking the weather" in response.content
