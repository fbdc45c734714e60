"""A chat endpoint for assistant-ui, ``useChat`` and AG-UI, in FastAPI (or Starlette).

Run from the repository's root, with an OpenAI-compatible server at ``OPENAI_BASE_URL``::

    OPENAI_BASE_URL=http://127.0.0.1:8001/v1 MODEL=fake-model \\
        uvicorn examples.chat_endpoint.fastapi_app:app
"""

from assistant_stream_starlette import (
    REQUEST_ERROR_HANDLERS,
    AssistantStreamResponse,
    read_conversation,
)
from fastapi import FastAPI, HTTPException, Request

from assistant_stream_core.conversation import response_encoder
from examples.chat_endpoint.agent import FRONT_ENDS, answer

# REQUEST_ERROR_HANDLERS: a malformed body gets a 400 with a JSON error naming the field.
app = FastAPI(exception_handlers=REQUEST_ERROR_HANDLERS)


@app.post("/api/{front_end}")
async def chat(front_end: str, request: Request) -> AssistantStreamResponse:
    protocol = FRONT_ENDS.get(front_end)
    if protocol is None:
        raise HTTPException(404, f"no front end {front_end!r}")
    conversation = await read_conversation(request, protocol)
    return AssistantStreamResponse(answer(conversation), response_encoder(protocol, conversation))
