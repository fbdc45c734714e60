"""The app behind nginx: runs paced like a model, silent runs, endless runs.

``GET /tokens/{protocol}?n=…&every=…`` appends ``tok0 ``, ``tok1 ``, … one
every ``every`` seconds; ``GET /silent/{protocol}?silence=…&keepalive=…`` says
nothing for ``silence`` seconds, then ``done``; ``GET /endless/{protocol}?rid=…``
appends a token every ``every`` seconds (0.1) until it is cancelled, and records in
:data:`RUNS` when that happened. ``/gz/…`` serves the same routes behind
Starlette's ``GZipMiddleware`` (the app compresses, not nginx);
``/resumable/…`` serves :mod:`tests.resumable.apps` (start and resume).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import anyio
from assistant_stream_starlette import AssistantStreamResponse
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from assistant_stream_core.resumable import InMemoryStore, ResumableStreams
from assistant_stream_core.run import RunController, create_run
from tests.resumable import apps as resumable_apps


@dataclass
class RunRecord:
    """When an endless run started and when its cancellation reached it."""

    started: float
    cancelled: float | None = None


#: Request id -> what became of its endless run (read by the test thread).
RUNS: dict[str, RunRecord] = {}
RUNS_LOCK = threading.Lock()


def _keepalive(request: Request) -> float | None:
    value = float(request.query_params.get("keepalive", "15"))
    return value or None


def _headers(request: Request) -> dict[str, str]:
    # ?accel=yes: the app tells nginx it may buffer (the control experiment).
    accel = request.query_params.get("accel")
    return {"X-Accel-Buffering": accel} if accel else {}


async def tokens(request: Request) -> Response:
    n = int(request.query_params.get("n", "6"))
    every = float(request.query_params.get("every", "0.2"))

    async def run(controller: RunController) -> None:
        for i in range(n):
            if i:
                await anyio.sleep(every)
            controller.append_text(f"tok{i} ")

    return AssistantStreamResponse(
        create_run(run),
        request.path_params["protocol"],
        headers=_headers(request),
        keepalive_interval=_keepalive(request),
    )


async def silent(request: Request) -> Response:
    silence = float(request.query_params["silence"])

    async def run(controller: RunController) -> None:
        controller.append_text("start ")
        await anyio.sleep(silence)
        controller.append_text("done")

    return AssistantStreamResponse(
        create_run(run), request.path_params["protocol"], keepalive_interval=_keepalive(request)
    )


async def endless(request: Request) -> Response:
    rid = request.query_params["rid"]
    every = float(request.query_params.get("every", "0.1"))

    async def run(controller: RunController) -> None:
        record = RunRecord(started=time.monotonic())
        with RUNS_LOCK:
            RUNS[rid] = record
        try:
            i = 0
            while not controller.is_cancelled:
                controller.append_text(f"tok{i} ")
                i += 1
                await anyio.sleep(every)
        finally:
            record.cancelled = time.monotonic()

    return AssistantStreamResponse(create_run(run), request.path_params["protocol"])


def proxied_app() -> Any:
    """The Starlette app the nginx tests put behind the proxy."""
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
