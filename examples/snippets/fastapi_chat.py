from fastapi import FastAPI
from assistant_stream_ce import create_run
from assistant_stream_ce.serialization.data_stream import DataStreamResponse

app = FastAPI()


@app.get("/chat")
async def chat():
    async def run(controller):
        controller.append_text("Hello from FastAPI!")

    return DataStreamResponse(create_run(run))
