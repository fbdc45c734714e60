"""The apps behind nginx: runs paced like a model, silent runs, endless runs.

Both apps (Starlette under uvicorn, aiohttp's own server) answer:

* ``GET /tokens/{protocol}?n=…&every=…`` appends ``tok0 ``, ``tok1 ``, … one
  every ``every`` seconds (``accel=yes`` replaces ``X-Accel-Buffering: no``
  with ``yes``, the control experiment);
* ``GET /endless/{protocol}?rid=…&every=…`` appends a token every ``every``
  seconds (0.1) until it is cancelled, and records in :data:`RUNS` when that
  happened (``pad=N`` adds N bytes to each token, to fill buffers quickly;
  ``send_timeout=`` is the response's).

The Starlette app also serves ``GET /silent/{protocol}?silence=…&keepalive=…``
(nothing for ``silence`` seconds, then ``done``), ``/gz/…`` (its routes behind
Starlette's ``GZipMiddleware``: the app compresses, not nginx) and
``/resumable/…`` (:mod:`tests.resumable.apps`: start and resume). aiohttp's
``/tokens`` compresses with ``compress=1``. Django (under uvicorn) answers
``/tokens`` and ``/endless`` (:mod:`tests.proxies.django_urls`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio

from assistant_stream_core.resumable import InMemoryStore, ResumableStreams
from assistant_stream_core.run import Run, RunController, create_run
from tests.resumable import apps as resumable_apps


@dataclass
class RunRecord:
    """When an endless run started and when its cancellation reached it."""

    started: float
    cancelled: float | None = None


#: Request id -> what became of its endless run (read by the test thread).
RUNS: dict[str, RunRecord] = {}
RUNS_LOCK = threading.Lock()


def keepalive(query: Mapping[str, str]) -> float | None:
    return float(query.get("keepalive", "15")) or None


def headers(query: Mapping[str, str]) -> dict[str, str]:
    # accel=yes: the app tells nginx it may buffer (the control experiment).
    accel = query.get("accel")
    return {"X-Accel-Buffering": accel} if accel else {}


def tokens_run(query: Mapping[str, str]) -> Run:
    n = int(query.get("n", "6"))
    every = float(query.get("every", "0.2"))

    async def run(controller: RunController) -> None:
        for i in range(n):
            if i:
                await anyio.sleep(every)
            controller.append_text(f"tok{i} ")

    return create_run(run)


def silent_run(query: Mapping[str, str]) -> Run:
    silence = float(query["silence"])

    async def run(controller: RunController) -> None:
        controller.append_text("start ")
        await anyio.sleep(silence)
        controller.append_text("done")

    return create_run(run)


def endless_run(query: Mapping[str, str]) -> Run:
    rid = query["rid"]
    every = float(query.get("every", "0.1"))
    pad = " " + "x" * int(query.get("pad", "0"))

    async def run(controller: RunController) -> None:
        record = RunRecord(started=time.monotonic())
        with RUNS_LOCK:
            RUNS[rid] = record
        try:
            i = 0
            while not controller.is_cancelled:
                controller.append_text(f"tok{i}{pad}")
                i += 1
                await anyio.sleep(every)
        finally:
            record.cancelled = time.monotonic()

    return create_run(run)


def starlette_app() -> Any:
    """The Starlette app the nginx tests put behind the proxy."""
    from assistant_stream_starlette import AssistantStreamResponse
    from starlette.applications import Starlette
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Mount, Route

    async def tokens(request: Request) -> Response:
        query = request.query_params
        return AssistantStreamResponse(
            tokens_run(query),
            request.path_params["protocol"],
            headers=headers(query),
            keepalive_interval=keepalive(query),
        )

    async def silent(request: Request) -> Response:
        query = request.query_params
        return AssistantStreamResponse(
            silent_run(query), request.path_params["protocol"], keepalive_interval=keepalive(query)
        )

    async def endless(request: Request) -> Response:
        query = request.query_params
        return AssistantStreamResponse(
            endless_run(query),
            request.path_params["protocol"],
            send_timeout=float(query.get("send_timeout", "30")),
        )

    routes = [
        Route("/tokens/{protocol}", tokens),
        Route("/silent/{protocol}", silent),
        Route("/endless/{protocol}", endless),
    ]
    compressed = GZipMiddleware(Starlette(routes=routes), minimum_size=0)
    resumable = resumable_apps.starlette_app(ResumableStreams(InMemoryStore(lease_ms=1000)))
    return Starlette(
        routes=[*routes, Mount("/gz", app=compressed), Mount("/resumable", app=resumable)]
    )


def aiohttp_app() -> Any:
    """The aiohttp app the nginx tests put behind the proxy."""
    from aiohttp import web
    from assistant_stream_aiohttp import stream_response

    async def tokens(request: web.Request) -> web.StreamResponse:
        query = request.query
        return await stream_response(
            request,
            tokens_run(query),
            request.match_info["protocol"],
            headers=headers(query),
            keepalive_interval=keepalive(query),
            compress=query.get("compress") == "1",
        )

    async def endless(request: web.Request) -> web.StreamResponse:
        return await stream_response(
            request, endless_run(request.query), request.match_info["protocol"]
        )

    app = web.Application()
    app.router.add_get("/tokens/{protocol}", tokens)
    app.router.add_get("/endless/{protocol}", endless)
    return app


def use_proxy_urls(get_response: Any) -> Any:
    """Django middleware: this request is routed by :mod:`tests.proxies.django_urls`.

    Django's settings are one per process, configured by the adapters' suite
    (:mod:`tests.adapters.django_app`); a per-request urlconf lets this
    handler have its own routes without touching them.
    """
    from asgiref.sync import markcoroutinefunction

    async def middleware(request: Any) -> Any:
        request.urlconf = "tests.proxies.django_urls"
        return await get_response(request)

    markcoroutinefunction(middleware)
    return middleware


use_proxy_urls.async_capable = True  # type: ignore[attr-defined]
use_proxy_urls.sync_capable = False  # type: ignore[attr-defined]


def django_app() -> Any:
    """Django's ASGI handler with the routes the nginx tests put behind the proxy."""
    from tests.adapters import django_app as project

    return project.asgi_app([f"{__name__}.use_proxy_urls"])
