"""One server process for the soak tests: streams that end every way, and a census.

``python -m tests.soak.server KIND PORT``, ``KIND`` one of ``starlette``
(uvicorn), ``aiohttp`` (``web.run_app``) or ``django`` (its ASGI handler in
``drain_on_shutdown``, under uvicorn); one worker, one event loop.

``GET /stream?mode=&protocol=&send_timeout=`` streams a run that
(``mode``): ``complete``\\ s; ``raise``\\ s midway; ``encode``: merges a chunk
no protocol can encode; ``endless``: writes a token every millisecond until
stopped; ``flood``: loops on ``size`` characters of text (8 KB) and
``drain()`` (fills a client that does not read, so its send times out);
``approval``: asks for approval of a tool call and waits for the person.

``GET /census`` collects garbage and answers, as JSON, the live objects by
type, the allocated blocks, the size of the library's registries, the
library's log records counted by message (none is kept) and how many runs
of each mode started and reached their ``finally:``. Test-only: nothing of
this belongs in the library.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import anyio.lowlevel

from assistant_stream_core.chunks import Chunk, TextDeltaChunk, ToolResultChunk
from assistant_stream_core.run import RunController, _guard, _producer, create_run, shutdown

from .leaks import census

STARTED: Counter[str] = Counter()
ENDED: Counter[str] = Counter()


class RecordCounter(logging.Handler):
    """Counts the library's records by their message template; keeps none."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[str(record.msg)] += 1


RECORDS = RecordCounter()


async def _unencodable() -> AsyncIterator[Chunk]:
    yield TextDeltaChunk(text_delta="merged ")
    yield ToolResultChunk(tool_call_id="call_nobody_made", result={"ok": True})


async def _body(mode: str, size: int, controller: RunController) -> None:
    if mode == "complete":
        for word in ("It ", "is ", "sunny."):
            controller.append_text(word)
            await anyio.lowlevel.checkpoint()
        tool = await controller.add_tool_call("get_weather")
        tool.append_args_text('{"city": "Paris"}')
        tool.set_response({"temp_c": 21})
    elif mode == "raise":
        controller.append_text("partial ")
        await anyio.lowlevel.checkpoint()
        raise RuntimeError("the model went away")
    elif mode == "encode":
        controller.append_text("before ")
        controller.add_stream(_unencodable())
        await anyio.sleep_forever()
    elif mode == "endless":
        i = 0
        while True:
            controller.append_text(f"t{i} ")
            i += 1
            await anyio.sleep(0.001)
    elif mode == "flood":
        while True:
            controller.append_text("x" * size)
            await controller.drain()
    elif mode == "approval":
        tool = await controller.add_tool_call("delete_file")
        tool.append_args_text('{"path": "notes.txt"}')
        tool.request_approval("deletes a file")
        await anyio.sleep_forever()  # the person's answer, which never comes
    else:
        raise ValueError(f"unknown mode {mode!r}")


def make_run(query: Mapping[str, str]) -> Any:
    mode = query.get("mode", "complete")
    size = int(query.get("size", "8192"))

    async def callback(controller: RunController) -> None:
        STARTED[mode] += 1
        try:
            await _body(mode, size, controller)
        finally:
            ENDED[mode] += 1

    return create_run(callback)


def options(query: Mapping[str, str]) -> dict[str, Any]:
    return {"send_timeout": float(query.get("send_timeout", "30"))}


def census_json() -> bytes:
    counts = census()
    return json.dumps(
        {
            "counts": counts,
            "registries": {
                "shutdown._RESPONSES": len(shutdown._RESPONSES),
                "shutdown._PRODUCERS": len(shutdown._PRODUCERS),
                "_guard._guards": len(_guard._guards),
                "_producer._DETACHED": len(_producer._DETACHED),
            },
            "records": RECORDS.counts,
            "started": STARTED,
            "ended": ENDED,
        }
    ).encode()


def starlette_app() -> Any:
    from assistant_stream_starlette import AssistantStreamResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def stream(request: Request) -> Response:
        query = request.query_params
        return AssistantStreamResponse(
            make_run(query), query.get("protocol", "data_stream"), **options(query)
        )

    async def objects(request: Request) -> Response:
        return Response(census_json(), media_type="application/json")

    return Starlette(routes=[Route("/stream", stream), Route("/census", objects)])


def aiohttp_app() -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import stream_response

    async def stream(request: web.Request) -> web.StreamResponse:
        query = request.query
        return await stream_response(
            request, make_run(query), query.get("protocol", "data_stream"), **options(query)
        )

    async def objects(request: web.Request) -> web.Response:
        return web.Response(body=census_json(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/census", objects)
    return app


async def _django_stream(request: Any) -> Any:
    from assistant_stream_django import AssistantStreamHttpResponse

    query = request.GET.dict()
    return AssistantStreamHttpResponse(
        make_run(query), query.get("protocol", "data_stream"), **options(query)
    )


async def _django_census(request: Any) -> Any:
    from django.http import HttpResponse  # type: ignore[import-untyped]

    return HttpResponse(census_json(), content_type="application/json")


class DjangoUrls:
    """A urlconf module stand-in (Django reads ``urlpatterns`` from it)."""

    @property
    def urlpatterns(self) -> list[Any]:
        from django.urls import path  # type: ignore[import-untyped]

        return [path("stream", _django_stream), path("census", _django_census)]


DJANGO_URLS = DjangoUrls()


def urlconf_middleware(get_response: Any) -> Any:
    """Route every request through this module's views (async, like the views)."""
    from asgiref.sync import markcoroutinefunction

    async def middleware(request: Any) -> Any:
        request.urlconf = DJANGO_URLS
        return await get_response(request)

    markcoroutinefunction(middleware)
    return middleware


urlconf_middleware.async_capable = True  # type: ignore[attr-defined]
urlconf_middleware.sync_capable = False  # type: ignore[attr-defined]


def django_app() -> Any:
    """Django's ASGI handler in :func:`~assistant_stream_core.run.shutdown.drain_on_shutdown`,
    as deployed (the wrapper notes every connection's responses)."""
    from assistant_stream_core.run.shutdown import drain_on_shutdown
    from tests.adapters import django_app

    return drain_on_shutdown(django_app.asgi_app([f"{__name__}.urlconf_middleware"]))


#: The send buffer of every connection, in bytes (the kernel doubles it). On
#: loopback the kernel would let a connection buffer some 3 MB for a client
#: that does not read, and a few hundred such clients would take seconds of
#: CPU to fill; across a network the peer's closed window stops the sender
#: about as early as this does.
SEND_BUFFER = 65536


def listening_socket(port: int) -> socket.socket:
    """The server's socket; accepted connections inherit its send buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="off", http="h11", ws="none")
    asyncio.run(uvicorn.Server(config).serve(sockets=[listening_socket(port)]))


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    for name in ("assistant_stream_ce", "assistant_stream_core"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(RECORDS)
        logger.propagate = False
    if kind == "starlette":
        _uvicorn(starlette_app(), port)
    elif kind == "django":
        _uvicorn(django_app(), port)
    elif kind == "aiohttp":
        from aiohttp import web

        web.run_app(aiohttp_app(), sock=listening_socket(port), print=None, access_log=None)
    else:
        raise SystemExit(f"unknown server kind {kind!r}")


if __name__ == "__main__":
    main()
