"""Read a chat request in each framework, in one line (docs/guides/requests.rst).

Each endpoint reads an AG-UI ``RunAgentInput`` and answers what it found:
``{"messages": <count>, "last_user_text": ..., "tools": [<names>]}``. A
malformed body gets a 400 and a body over the limit (8 MiB) a 413, with a JSON
error that names the field.
"""

from typing import Any

import assistant_stream_aiohttp
import assistant_stream_django
import assistant_stream_starlette
from aiohttp import web
from django.http import HttpRequest, JsonResponse  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistant_stream_core.conversation import Conversation


def summary(conversation: Conversation) -> dict[str, Any]:
    return {
        "messages": len(conversation.messages),
        "last_user_text": conversation.last_user_text,
        "tools": [tool.name for tool in conversation.tools],
    }


# Starlette and FastAPI: REQUEST_ERROR_HANDLERS answers errors in JSON.
async def starlette_chat(request: Request) -> JSONResponse:
    conversation = await assistant_stream_starlette.read_conversation(request, "ag_ui")
    return JSONResponse(summary(conversation))


starlette_app = Starlette(
    routes=[Route("/chat", starlette_chat, methods=["POST"])],
    exception_handlers=assistant_stream_starlette.REQUEST_ERROR_HANDLERS,
)


# aiohttp: errors are aiohttp HTTP exceptions with the JSON body.
async def aiohttp_chat(request: web.Request) -> web.Response:
    conversation = await assistant_stream_aiohttp.read_conversation(request, "ag_ui")
    return web.json_response(summary(conversation))


aiohttp_app = web.Application()
aiohttp_app.router.add_post("/chat", aiohttp_chat)


# Django (sync or async view): add "assistant_stream_django.request.RequestErrorMiddleware"
# to MIDDLEWARE for the JSON errors.
async def django_chat(request: HttpRequest) -> JsonResponse:
    conversation = assistant_stream_django.read_conversation(request, "ag_ui")
    return JsonResponse(summary(conversation))
