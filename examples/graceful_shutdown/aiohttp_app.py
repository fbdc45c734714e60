"""aiohttp: live streams end before the process exits.

Run with ``python aiohttp_app.py`` (``PORT``: the port, 8080 by default).
"""

import anyio
from aiohttp import web
from assistant_stream_aiohttp import stream_response

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.shutdown import drain, interrupt_responses


async def answer(controller: RunController) -> None:
    for word in ["a", "long", "answer,", "streamed", "one", "word", "at", "a", "time"]:
        controller.append_text(word + " ")
        await anyio.sleep(0.1)  # a model's pace


async def chat(request: web.Request) -> web.StreamResponse:
    return await stream_response(request, create_run(answer), "data_stream")


async def interrupt_streams(app: web.Application) -> None:
    # on_shutdown runs before aiohttp waits for its handlers. Past
    # shutdown_timeout aiohttp would cancel a handler and close its
    # connection in one step, cutting the body; a little before that, this
    # ends each stream still running with an error frame its client reads.
    await interrupt_responses(grace=12)


async def drain_streams(app: web.Application) -> None:
    # on_cleanup runs after aiohttp has waited for its handlers (and, past
    # shutdown_timeout, cancelled them); on_shutdown would run before.
    await drain(grace=10)


app = web.Application()
app.router.add_post("/chat", chat)
app.on_shutdown.append(interrupt_streams)
app.on_cleanup.append(drain_streams)

if __name__ == "__main__":
    import os

    port = int(os.environ.get("PORT", "8080"))
    web.run_app(app, host="127.0.0.1", port=port, shutdown_timeout=15)
