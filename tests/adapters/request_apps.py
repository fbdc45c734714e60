"""One app per framework whose only route reads a chat request and echoes the conversation.

``POST /read/{protocol}`` answers the stored form of the conversation
(``msgspec.json.encode(conversation)``); ``?max_bytes=`` lowers the size limit.
Each app uses its adapter's one-line reader; errors are the adapter's.
"""

# No ``from __future__ import annotations``: FastAPI reads the route's annotations
# at runtime, and they name classes imported inside the factory.

from typing import Any

import msgspec

URLCONF = __name__


def _limit(query: Any) -> dict[str, int]:
    value = query.get("max_bytes")
    return {"max_bytes": int(value)} if value else {}


def starlette_app(*, json_errors: bool = True) -> Any:
    from assistant_stream_starlette import REQUEST_ERROR_HANDLERS, read_conversation
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def read(request: Request) -> Response:
        protocol = request.path_params["protocol"]
        conversation = await read_conversation(request, protocol, **_limit(request.query_params))
        return Response(msgspec.json.encode(conversation), media_type="application/json")

    handlers = REQUEST_ERROR_HANDLERS if json_errors else {}
    return Starlette(
        routes=[Route("/read/{protocol}", read, methods=["POST"])], exception_handlers=handlers
    )


def fastapi_app() -> Any:
    from assistant_stream_starlette import read_conversation
    from fastapi import FastAPI, Request, Response

    app = FastAPI()

    @app.post("/read/{protocol}")
    async def read(request: Request, protocol: str) -> Response:
        conversation = await read_conversation(request, protocol, **_limit(request.query_params))
        return Response(msgspec.json.encode(conversation), media_type="application/json")

    return app


def aiohttp_app() -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import read_conversation

    async def read(request: web.Request) -> web.Response:
        protocol = request.match_info["protocol"]
        conversation = await read_conversation(request, protocol, **_limit(request.query))
        return web.Response(body=msgspec.json.encode(conversation), content_type="application/json")

    app = web.Application()
    app.router.add_post("/read/{protocol}", read)
    return app


# -- Django: this module is the URLconf of the requests a middleware routes here.


async def _django_read(request: Any, protocol: str) -> Any:
    from assistant_stream_django import read_conversation
    from django.http import HttpResponse  # type: ignore[import-untyped]

    conversation = read_conversation(request, protocol, **_limit(request.GET))
    return HttpResponse(msgspec.json.encode(conversation), content_type="application/json")


def _urlpatterns() -> list[Any]:
    from django.urls import path  # type: ignore[import-untyped]

    return [
        path("read/<str:protocol>", _django_read),
        path("example/chat", read_requests_example().django_chat),
    ]


def read_requests_example() -> Any:
    """``examples/read_requests.py``, loaded from its file (``examples`` is no package)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "example_read_requests"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "examples" / "read_requests.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def route_here(get_response: Any) -> Any:
    """Middleware: resolve this request with this module's URLconf."""
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction

    if iscoroutinefunction(get_response):

        async def amiddleware(request: Any) -> Any:
            request.urlconf = URLCONF
            return await get_response(request)

        markcoroutinefunction(amiddleware)
        return amiddleware

    def middleware(request: Any) -> Any:
        request.urlconf = URLCONF
        return get_response(request)

    return middleware


route_here.async_capable = True  # type: ignore[attr-defined]
route_here.sync_capable = True  # type: ignore[attr-defined]

MIDDLEWARE = [
    f"{__name__}.route_here",
    "assistant_stream_django.request.RequestErrorMiddleware",
]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":  # built lazily: Django is configured by then
        return _urlpatterns()
    raise AttributeError(name)


def django_asgi_app() -> Any:
    from . import django_app

    return django_app.asgi_app(MIDDLEWARE)


def django_wsgi_app() -> Any:
    from . import django_app

    return django_app.wsgi_app(MIDDLEWARE)
