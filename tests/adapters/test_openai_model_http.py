"""stream_chat_completion over real HTTP: an httpx response from a local fake model server."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from assistant_stream_core.chunks import ErrorChunk
from assistant_stream_core.message import accumulate
from assistant_stream_core.run import (
    ChatCompletionResult,
    RunController,
    create_run,
    stream_chat_completion,
)

from . import servers

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, Any]]:
    spec = importlib.util.spec_from_file_location(
        "fake_openai_server_http", ROOT / "examples/fake_openai_server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.FakeModel()
    with servers.uvicorn_server(module.create_app(model)) as url:
        yield url, model


def _body(text: str) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": text}],
    }


async def test_an_httpx_response_is_read_as_raw_sse(fake: tuple[str, Any]) -> None:
    results: list[ChatCompletionResult] = []

    async def run(controller: RunController) -> None:
        async with (
            httpx.AsyncClient() as http,
            http.stream("POST", f"{fake[0]}/v1/chat/completions", json=_body("Hi")) as response,
        ):
            results.append(await stream_chat_completion(controller, response))

    chunks = [chunk async for chunk in create_run(run)]
    (result,) = results
    assert (result.text, result.reasoning) == ("Echo: Hi", "Thinking it over.")
    assert (result.finish_reason, result.input_tokens, result.output_tokens) == ("stop", 12, 7)
    assert accumulate(chunks).status.type == "complete"


async def test_an_error_frame_ends_the_answer_with_an_error(fake: tuple[str, Any]) -> None:
    async def run(controller: RunController) -> None:
        async with (
            httpx.AsyncClient() as http,
            http.stream("POST", f"{fake[0]}/v1/chat/completions", json=_body("fail")) as response,
        ):
            result = await stream_chat_completion(controller, response)
        assert result.error == "model overloaded"

    chunks = [chunk async for chunk in create_run(run)]
    assert ErrorChunk("model overloaded") in chunks


async def test_leaving_closes_the_model_connection(fake: tuple[str, Any]) -> None:
    model = fake[1]
    before = model.disconnects

    async def run(controller: RunController) -> None:
        async with (
            httpx.AsyncClient() as http,
            http.stream("POST", f"{fake[0]}/v1/chat/completions", json=_body("slow")) as response,
        ):
            await stream_chat_completion(controller, response)

    run_ = create_run(run, grace_period=30)
    seen = 0
    async for _ in run_:
        seen += 1
        if seen == 3:
            break
    await run_.aclose()
    with anyio.fail_after(5):
        while model.disconnects == before:  # noqa: ASYNC110 - a counter of the server's thread
            await anyio.sleep(0.02)
    assert model.disconnects == before + 1
