"""One server process for the graceful-shutdown tests.

``python -m tests.shutdown.server KIND PORT FLAGS GRACE DRAIN [REDIS_URL]``

``KIND`` is ``starlette`` or ``django`` (both under uvicorn), ``aiohttp``
(``web.run_app``), ``resumable`` (Starlette under uvicorn, resumable streams
on Redis) or ``gunicorn`` (a WSGI app under gunicorn's sync worker). ``GRACE``
is the server's graceful-shutdown timeout in seconds (``0``: the server's
default). ``DRAIN`` is the grace of the app's shutdown hook,
:func:`assistant_stream_core.run.shutdown.drain` (``-``: no hook). Every
server answers ``GET /stream?n=&delay=&rid=`` with a Data Stream run of
``n`` text deltas ``"t{i} "``, ``delay`` seconds apart (Starlette and aiohttp
also take ``protocol=`` and ``keepalive=`` seconds); the run
writes ``FLAGS/{rid}`` from its ``finally:`` ("cancelled" when it was
cancelled, else "done"), which is how a test knows the run's cleanup ran in a
process it cannot look into. ``GET /ping`` answers ``pong``. The Starlette
app also serves ``GET /resumable?id=&protocol=`` (the same run as a resumable
stream) and ``GET /resume?protocol=`` (a resume request) when it has
resumable streams, and names its process in an ``x-worker-pid`` header.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from assistant_stream_core.run import RunController


def make_run(query: Mapping[str, str], flags: Path) -> Any:
    n = int(query.get("n", "20"))
    delay = float(query.get("delay", "0.05"))
    rid = query.get("rid", "run")

    async def drain_loop(controller: RunController) -> None:
        # The documented flow control in a loop that never looks at
        # is_cancelled: once the client has gone only drain() can end it.
        try:
            while True:
                controller.append_text("x" * 1024)
                await controller.drain()
        finally:
            (flags / rid).write_text("ended")

    if query.get("mode") == "drain_loop":
        return drain_loop

    async def run(controller: RunController) -> None:
        outcome = "done"
        try:
            for i in range(n):
                controller.append_text(f"t{i} ")
                await anyio.sleep(delay)
        except anyio.get_cancelled_exc_class():
            outcome = "cancelled"
            raise
        finally:
            (flags / rid).write_text(outcome)

    return run


def starlette_app(flags: Path, drain: float | None, streams: Any = None) -> Any:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from assistant_stream_starlette import AssistantStreamResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from assistant_stream_core.run import create_run

    async def stream(request: Request) -> Response:
        query = request.query_params
        return AssistantStreamResponse(
            create_run(make_run(query, flags)),
            query.get("protocol", "data_stream"),
            keepalive_interval=float(query.get("keepalive", "15")),
        )

    async def resumable(request: Request) -> Response:
        from assistant_stream_starlette.resumable import start_resumable

        query = request.query_params
        protocol = query.get("protocol", "data_stream")
        return await start_resumable(
            streams, make_run(query, flags), protocol, stream_id=query.get("id")
        )

    async def resume(request: Request) -> Response:
        from assistant_stream_starlette.resumable import resume_response

        protocol = request.query_params.get("protocol", "data_stream")
        return await resume_response(request, streams, protocol)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if drain is not None:
            from assistant_stream_core.run.shutdown import drain as drain_streams

            await drain_streams(drain)

    routes = [Route("/stream", stream), Route("/resumable", resumable), Route("/ping", ping)]
    routes.append(Route("/resume", resume))
    return with_pid(Starlette(routes=routes, lifespan=lifespan))


def with_pid(app: Any) -> Any:
    """Answer every request with the serving process's pid in ``x-worker-pid``:
    under a supervisor, how a client knows which worker serves its stream."""
    pid = str(os.getpid()).encode()

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def send_with_pid(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-worker-pid", pid)]
            await send(message)

        await app(scope, receive, send_with_pid if scope["type"] == "http" else send)

    return wrapped


# Django: the view reads the flag directory from here (one per process).
FLAGS: list[Path] = []


def _django_stream(request: Any) -> Any:
    from assistant_stream_django import DataStreamHttpResponse

    from assistant_stream_core.run import create_run

    return DataStreamHttpResponse(create_run(make_run(request.GET.dict(), FLAGS[0])))


def _django_ping(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("pong")


class DjangoUrls:
    """A urlconf module stand-in (Django reads ``urlpatterns`` from it)."""

    @property
    def urlpatterns(self) -> list[Any]:
        from django.urls import path

        return [path("stream", _django_stream), path("ping", _django_ping)]


DJANGO_URLS = DjangoUrls()


def urlconf_middleware(get_response: Any) -> Any:
    """Route every request through this module's views."""

    def middleware(request: Any) -> Any:
        request.urlconf = DJANGO_URLS
        return get_response(request)

    return middleware


def django_app(flags: Path, drain: float | None) -> Any:
    from assistant_stream_core.run.shutdown import drain_on_shutdown
    from tests.adapters import django_app

    FLAGS[:] = [flags]
    app = django_app.asgi_app([f"{__name__}.urlconf_middleware"])
    return app if drain is None else drain_on_shutdown(app, drain)


def aiohttp_app(flags: Path, drain: float | None) -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import stream_response

    from assistant_stream_core.run import create_run

    async def stream(request: web.Request) -> web.StreamResponse:
        query = request.query
        return await stream_response(
            request,
            create_run(make_run(query, flags)),
            query.get("protocol", "data_stream"),
            keepalive_interval=float(query.get("keepalive", "15")),
        )

    async def ping(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    async def on_cleanup(app: web.Application) -> None:
        from assistant_stream_core.run.shutdown import drain as drain_streams

        assert drain is not None
        await drain_streams(drain)

    app = web.Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/ping", ping)

    async def on_shutdown(app: web.Application) -> None:
        from assistant_stream_core.run.shutdown import interrupt_responses

        await interrupt_responses(float(os.environ["SHUTDOWN_INTERRUPT"]))

    if drain is not None:
        # SHUTDOWN_HOOK=on_shutdown: the drain runs before aiohttp waits for
        # its handlers (on_cleanup: after).
        getattr(app, os.environ.get("SHUTDOWN_HOOK", "on_cleanup")).append(on_cleanup)
    if "SHUTDOWN_INTERRUPT" in os.environ:  # interrupt_responses(seconds) in on_shutdown
        app.on_shutdown.append(on_shutdown)
    return app


def wsgi_app(flags: Path) -> Any:
    from urllib.parse import parse_qsl

    from assistant_stream_core.run import create_run
    from assistant_stream_core.run.blocking import WSGIStreamResponse

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/ping":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"pong"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        response = WSGIStreamResponse(create_run(make_run(query, flags)), "data_stream")
        return response(environ, start_response)

    return app


def resumable_streams(redis_url: str, lease_ms: int = 4000) -> Any:
    """Resumable streams on the Redis at ``redis_url``."""
    import redis.asyncio

    from assistant_stream_core.resumable import ResumableStreams
    from assistant_stream_core.resumable.redis import RedisStore

    client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=10)
    return ResumableStreams(RedisStore(client, lease_ms=lease_ms))


def _uvicorn(app: Any, port: int, grace: float, lifespan: bool) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on" if lifespan else "off",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=grace or None,
    )


def main() -> None:
    kind, port, flags = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    grace = float(sys.argv[4])
    drain = None if sys.argv[5] == "-" else float(sys.argv[5])
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    if kind == "starlette":
        _uvicorn(starlette_app(flags, drain), port, grace, drain is not None)
    elif kind == "django":
        _uvicorn(django_app(flags, drain), port, grace, drain is not None)
    elif kind == "resumable":
        streams = resumable_streams(sys.argv[6])
        _uvicorn(starlette_app(flags, drain, streams), port, grace, drain is not None)
    elif kind == "aiohttp":
        from aiohttp import web

        web.run_app(
            aiohttp_app(flags, drain),
            host="127.0.0.1",
            port=port,
            print=None,
            access_log=None,
            shutdown_timeout=grace or 60.0,
        )
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main()


def gunicorn_app() -> Any:
    """The WSGI app for gunicorn (``tests.shutdown.server:gunicorn_app()``);
    the flag directory comes from ``SHUTDOWN_FLAGS``."""
    import os

    return wsgi_app(Path(os.environ["SHUTDOWN_FLAGS"]))
