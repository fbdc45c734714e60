"""One app per framework serving resumable streams, for the HTTP tests and the workers.

Routes (every framework):

* ``GET /start/{protocol}?n=&delay=&id=&fail=`` starts a run of ``n`` text
  deltas ``"t{i} "``, ``delay`` seconds apart, as a resumable stream;
* ``GET /resume/{protocol}`` serves a resume request;
* ``GET /stop/{id}`` asks the stream's producer to stop (``{"stopped": bool}``);
* ``GET /status/{id}`` returns the stream's status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from assistant_stream_core.resumable import ResumableStreams
from assistant_stream_core.run import RunController

StreamsFactory = Callable[[], ResumableStreams]


def make_callback(query: Mapping[str, str]) -> Any:
    n = int(query.get("n", "20"))
    delay = float(query.get("delay", "0"))
    fail = query.get("fail") == "1"

    async def run(controller: RunController) -> None:
        for i in range(n):
            controller.append_text(f"t{i} ")
            if delay:
                await anyio.sleep(delay)
        if fail:
            raise RuntimeError("the run failed on purpose")

    return run


def starlette_app(streams: ResumableStreams) -> Any:
    from assistant_stream_starlette.resumable import resume_response, start_resumable
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def start(request: Request) -> Response:
        query = request.query_params
        return await start_resumable(
            streams,
            make_callback(query),
            request.path_params["protocol"],
            stream_id=query.get("id"),
        )

    async def resume(request: Request) -> Response:
        return await resume_response(request, streams, request.path_params["protocol"])

    async def stop(request: Request) -> Response:
        return JSONResponse({"stopped": await streams.stop(request.path_params["id"])})

    async def status(request: Request) -> Response:
        return JSONResponse({"status": await streams.status(request.path_params["id"])})

    return Starlette(
        routes=[
            Route("/start/{protocol}", start),
            Route("/resume/{protocol}", resume),
            Route("/stop/{id}", stop),
            Route("/status/{id}", status),
        ]
    )


def aiohttp_app(streams: ResumableStreams) -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp.resumable import resume_response, start_resumable

    async def start(request: web.Request) -> web.StreamResponse:
        return await start_resumable(
            streams,
            make_callback(request.query),
            request.match_info["protocol"],
            stream_id=request.query.get("id"),
        )

    async def resume(request: web.Request) -> web.StreamResponse:
        return await resume_response(request, streams, request.match_info["protocol"])

    async def stop(request: web.Request) -> web.Response:
        return web.json_response({"stopped": await streams.stop(request.match_info["id"])})

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"status": await streams.status(request.match_info["id"])})

    app = web.Application()
    app.router.add_get("/start/{protocol}", start)
    app.router.add_get("/resume/{protocol}", resume)
    app.router.add_get("/stop/{id}", stop)
    app.router.add_get("/status/{id}", status)
    return app


# Django: the views read the streams object from this module (one per process).
DJANGO_STREAMS: list[ResumableStreams] = []


async def _django_start(request: Any, protocol: str) -> Any:
    from assistant_stream_django.resumable import start_resumable

    return await start_resumable(
        DJANGO_STREAMS[0],
        make_callback(request.GET.dict()),
        protocol,
        stream_id=request.GET.get("id"),
    )


async def _django_resume(request: Any, protocol: str) -> Any:
    from assistant_stream_django.resumable import resume_response

    return await resume_response(request, DJANGO_STREAMS[0], protocol)


async def _django_stop(request: Any, id: str) -> Any:
    from django.http import HttpResponse

    stopped = await DJANGO_STREAMS[0].stop(id)
    return HttpResponse(json.dumps({"stopped": stopped}), content_type="application/json")


async def _django_status(request: Any, id: str) -> Any:
    from django.http import HttpResponse

    status = await DJANGO_STREAMS[0].status(id)
    return HttpResponse(json.dumps({"status": status}), content_type="application/json")


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [
        path("start/<str:protocol>", _django_start),
        path("resume/<str:protocol>", _django_resume),
        path("stop/<str:id>", _django_stop),
        path("status/<str:id>", _django_status),
    ]


class DjangoUrls:
    """A urlconf module stand-in (Django reads ``urlpatterns`` from it)."""

    @property
    def urlpatterns(self) -> list[Any]:
        return _urlpatterns()


DJANGO_URLS = DjangoUrls()


def urlconf_middleware(get_response: Any) -> Any:
    """Route requests through this module's views (the shared test project has its own)."""
    from asgiref.sync import markcoroutinefunction

    async def middleware(request: Any) -> Any:
        request.urlconf = DJANGO_URLS
        return await get_response(request)

    markcoroutinefunction(middleware)
    return middleware


urlconf_middleware.async_capable = True  # type: ignore[attr-defined]
urlconf_middleware.sync_capable = False  # type: ignore[attr-defined]


def django_asgi_app(streams: ResumableStreams) -> Any:
    from tests.adapters import django_app

    DJANGO_STREAMS[:] = [streams]
    return django_app.asgi_app([f"{__name__}.urlconf_middleware"])


# Django under WSGI: sync views over a BlockingStreams (one background loop).
DJANGO_BLOCKING: list[Any] = []


def _wsgi_start(request: Any, protocol: str) -> Any:
    from assistant_stream_django.resumable import start_resumable_wsgi

    return start_resumable_wsgi(
        DJANGO_BLOCKING[0],
        make_callback(request.GET.dict()),
        protocol,
        stream_id=request.GET.get("id"),
    )


def _wsgi_resume(request: Any, protocol: str) -> Any:
    from assistant_stream_django.resumable import resume_response_wsgi

    return resume_response_wsgi(request, DJANGO_BLOCKING[0], protocol)


def _wsgi_stop(request: Any, id: str) -> Any:
    from django.http import HttpResponse

    stopped = DJANGO_BLOCKING[0].stop(id)
    return HttpResponse(json.dumps({"stopped": stopped}), content_type="application/json")


def _wsgi_status(request: Any, id: str) -> Any:
    from django.http import HttpResponse

    status = DJANGO_BLOCKING[0].status(id)
    return HttpResponse(json.dumps({"status": status}), content_type="application/json")


class DjangoWsgiUrls:
    """The urlconf of the WSGI views."""

    @property
    def urlpatterns(self) -> list[Any]:
        from django.urls import path

        return [
            path("start/<str:protocol>", _wsgi_start),
            path("resume/<str:protocol>", _wsgi_resume),
            path("stop/<str:id>", _wsgi_stop),
            path("status/<str:id>", _wsgi_status),
        ]


DJANGO_WSGI_URLS = DjangoWsgiUrls()


def urlconf_middleware_wsgi(get_response: Any) -> Any:
    def middleware(request: Any) -> Any:
        request.urlconf = DJANGO_WSGI_URLS
        return get_response(request)

    return middleware


def django_wsgi_app(streams: Any) -> Any:
    """``streams``: a BlockingStreams."""
    from tests.adapters import django_app

    DJANGO_BLOCKING[:] = [streams]
    return django_app.wsgi_app([f"{__name__}.urlconf_middleware_wsgi"])
