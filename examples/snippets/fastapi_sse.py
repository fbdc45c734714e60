from fastapi import FastAPI
from assistant_stream_ce import create_run
from assistant_stream_ce.serialization.assistant_transport import AssistantTransportResponse

app = FastAPI()


@app.get("/chat-sse")
async def chat_sse():
    async def run(controller):
        controller.append_text("Streaming over SSE...")

    return AssistantTransportResponse(create_run(run))
