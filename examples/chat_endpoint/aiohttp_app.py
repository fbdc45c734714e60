"""A chat endpoint for assistant-ui, ``useChat`` and AG-UI, in aiohttp.

Run from the repository's root, with an OpenAI-compatible server at ``OPENAI_BASE_URL``::

    OPENAI_BASE_URL=http://127.0.0.1:8001/v1 MODEL=fake-model \\
        python -m examples.chat_endpoint.aiohttp_app   # PORT=8000 by default
"""

import os

from aiohttp import web
from assistant_stream_aiohttp import read_conversation, stream_response

from assistant_stream_core.conversation import response_encoder
from examples.chat_endpoint.agent import FRONT_ENDS, answer


async def chat(request: web.Request) -> web.StreamResponse:
    protocol = FRONT_ENDS.get(request.match_info["front_end"])
    if protocol is None:
        raise web.HTTPNotFound()
    # A malformed body raises aiohttp's HTTPBadRequest with a JSON error naming the field.
    conversation = await read_conversation(request, protocol)
    return await stream_response(
        request, answer(conversation), response_encoder(protocol, conversation)
    )


app = web.Application()
app.router.add_post("/api/{front_end}", chat)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
