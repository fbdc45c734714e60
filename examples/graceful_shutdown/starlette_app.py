"""Starlette (or FastAPI): live streams end before the worker exits.

Run with ``uvicorn starlette_app:app --timeout-graceful-shutdown 15``.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from assistant_stream_starlette import DataStreamResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.shutdown import drain


async def answer(controller: RunController) -> None:
    for word in ["a", "long", "answer,", "streamed", "one", "word", "at", "a", "time"]:
        controller.append_text(word + " ")
        await anyio.sleep(0.1)  # a model's pace


async def chat(request: Request) -> DataStreamResponse:
    return DataStreamResponse(create_run(answer))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    # uvicorn has waited for the open responses (up to its graceful
    # timeout) and cancelled the rest: let their runs end, and give detached
    # resumable producers 10 s to finish before they are cancelled.
    await drain(grace=10)


app = Starlette(routes=[Route("/chat", chat, methods=["POST"])], lifespan=lifespan)
