"""Flask (or any WSGI app): the run streams on a private event loop.

Run with ``flask --app flask_app run`` or
``gunicorn -k gthread --threads 8 flask_app:app``.
"""

from flask import Flask

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.blocking import WSGIStreamResponse


async def answer(controller: RunController) -> None:
    controller.append_text("Checking the weather… ")
    tool = await controller.add_tool_call("get_weather")
    tool.append_args_text('{"city": "Paris"}')
    tool.set_response({"temp_c": 21})
    controller.append_text("It is 21 °C in Paris.")


app = Flask(__name__)


@app.post("/chat")
def chat() -> WSGIStreamResponse:
    # A factory: the run is created on the stream's own event loop.
    return WSGIStreamResponse(
        lambda: create_run(answer),
        "data_stream",
        expose_headers=True,
        keepalive_interval=15,  # also how a WSGI server notices a client that left
        send_timeout=30,
    )
