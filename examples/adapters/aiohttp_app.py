"""aiohttp: a handler that streams a run, compressed and flushed per write.

Run with ``python aiohttp_app.py``.
"""

from aiohttp import web
from assistant_stream_aiohttp import DataStreamResponse, stream_response

from assistant_stream_core.run import RunController, create_run


async def answer(controller: RunController) -> None:
    controller.append_text("Checking the weather… ")
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.append_text("It is 21 °C in Paris.")


async def chat(request: web.Request) -> web.StreamResponse:
    # Streams while awaited; returns the response once it has been sent.
    return await stream_response(
        request,
        create_run(answer),
        "data_stream",
        compress=True,  # gzip if the client accepts it, one flush per drain
        expose_headers=True,  # Access-Control-Expose-Headers for the protocol header
    )


async def chat_class(request: web.Request) -> web.StreamResponse:
    # The same as a response object; aiohttp streams it when it is returned.
    return DataStreamResponse(create_run(answer), keepalive_interval=15)


app = web.Application()
app.router.add_post("/chat", chat)
app.router.add_post("/chat2", chat_class)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=8000)
