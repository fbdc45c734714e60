"""Serve any OpenAI-compatible model (vLLM, Ollama, LM Studio, llama.cpp, OpenAI) to every UI.

POST /api/{protocol}: data_stream, assistant_transport, ui_message_stream, ag_ui, openai_chat;
POST /v1/chat/completions: openai_chat, for OpenAI clients pointed at this server.
Run: OPENAI_BASE_URL=http://127.0.0.1:8001/v1 MODEL=fake-model uvicorn examples.openai_proxy:app
"""

import os

from assistant_stream_starlette import (
    REQUEST_ERROR_HANDLERS,
    AssistantStreamResponse,
    read_conversation,
)
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from assistant_stream_core.conversation import REQUEST_PROTOCOLS, response_encoder
from assistant_stream_core.conversation.openai_chat import chat_request
from assistant_stream_core.run import RunController, create_run, stream_chat_completion

client = AsyncOpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY", "-")
)
MODEL = os.environ.get("MODEL", "gpt-4o-mini")


async def chat(request: Request) -> AssistantStreamResponse:
    protocol = request.path_params.get("protocol", "openai_chat")
    if protocol not in REQUEST_PROTOCOLS:
        raise HTTPException(404, f"no protocol {protocol!r}; one of {', '.join(REQUEST_PROTOCOLS)}")
    conversation = await read_conversation(request, protocol)

    async def run(controller: RunController) -> None:
        stream = await client.chat.completions.create(
            model=MODEL,
            stream=True,
            stream_options={"include_usage": True},
            **chat_request(conversation),
        )
        await stream_chat_completion(controller, stream)

    return AssistantStreamResponse(
        create_run(run, state=conversation.state), response_encoder(protocol, conversation)
    )


app = Starlette(
    routes=[
        Route("/api/{protocol}", chat, methods=["POST"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
    ],
    exception_handlers=REQUEST_ERROR_HANDLERS,
)
