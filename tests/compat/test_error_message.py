"""The facade's error-message option: ``create_run`` and every response class."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import httpx
import pytest
from assistant_stream_ce import (
    INTERNAL_ERROR_MESSAGE,
    AssistantStreamResponse,
    RunController,
    create_run,
    internal_error,
)
from assistant_stream_ce.serialization import (
    AssistantTransportResponse,
    DataStreamResponse,
    OpenAIStreamResponse,
)
from assistant_stream_ce.serialization.stream_encoder import StreamEncoder
from starlette.applications import Starlette
from starlette.routing import Route

from tests.adapters.servers import uvicorn_server

SECRET = "postgresql://admin:hunter2@db.internal/app"


async def leaky(controller: RunController) -> None:
    controller.append_text("partial")
    raise RuntimeError(f"db connect failed: {SECRET}")


class ErrorsOnly(StreamEncoder):
    """A user's encoder: writes the error chunk's text and nothing else."""

    def get_media_type(self) -> str:
        return "text/plain"

    async def encode_stream(self, stream: AsyncIterable[Any]) -> AsyncIterator[str]:
        async for chunk in stream:
            error = getattr(chunk, "error", None)
            if isinstance(error, str):
                yield f"error: {error}\n"


RESPONSES: dict[str, Any] = {
    "data_stream": lambda run, **kw: DataStreamResponse(run, **kw),
    "assistant_transport": lambda run, **kw: AssistantTransportResponse(run, **kw),
    "openai": lambda run, **kw: OpenAIStreamResponse(run, **kw),
    "custom_encoder": lambda run, **kw: AssistantStreamResponse(run, ErrorsOnly(), **kw),
}


async def route(request: Any) -> Any:
    make = RESPONSES[request.path_params["kind"]]
    where = request.query_params.get("where")
    if where == "run":
        return make(create_run(leaky, error_message=internal_error))
    if where == "response":
        return make(create_run(leaky), error_message=internal_error)
    return make(create_run(leaky))


@pytest.fixture(scope="module")
def url() -> Any:
    app = Starlette(routes=[Route("/{kind}", route)])
    with uvicorn_server(app) as url:
        yield url


@pytest.mark.parametrize("kind", list(RESPONSES))
@pytest.mark.parametrize("where", ["run", "response"])
def test_internal_error_on_the_run_or_the_response_hides_the_exception(
    url: str, kind: str, where: str
) -> None:
    body = httpx.get(f"{url}/{kind}", params={"where": where}, timeout=10).text
    assert "hunter2" not in body
    assert INTERNAL_ERROR_MESSAGE in body


@pytest.mark.parametrize("kind", list(RESPONSES))
def test_by_default_the_exception_text_is_sent_as_upstream(url: str, kind: str) -> None:
    body = httpx.get(f"{url}/{kind}", timeout=10).text
    assert SECRET in body
