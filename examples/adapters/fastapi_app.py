"""FastAPI: one run function served in two protocols.

Run with ``uvicorn fastapi_app:app``.
"""

from assistant_stream_starlette import AssistantTransportResponse, DataStreamResponse
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from assistant_stream_core.run import RunController, create_run


async def answer(controller: RunController) -> None:
    controller.append_text("Checking the weather… ")
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.append_text("It is 21 °C in Paris.")


app = FastAPI()
# Flushes after every body message: frames are not held back.
app.add_middleware(GZipMiddleware, minimum_size=500)
# Lets a browser app on another origin read the protocol headers.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["http://localhost:3000"],
    allow_methods=["*"],
    allow_headers=["*"],
    expose_headers=["x-vercel-ai-data-stream"],
)


@app.post("/chat")
async def chat() -> DataStreamResponse:
    return DataStreamResponse(create_run(answer), keepalive_interval=15, send_timeout=30)


@app.post("/transport")
async def transport() -> AssistantTransportResponse:
    return AssistantTransportResponse(create_run(answer, state={}))
