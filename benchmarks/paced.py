"""HTTP at a model's pace: many slow streams, and a fast producer behind a slow client.

The bulk workloads of :mod:`benchmarks.http` have a producer far faster than
the client, so deltas merge and one write carries many of them. Production
traffic is mostly the other regime, measured here:

* **paced**: ``N`` concurrent streams of ``T`` tokens, each a run that appends
  one 8-character token and then ``await asyncio.sleep(pace)`` (50 tokens/s
  by default): one small write per token, nothing merges. Reported per
  contender: server CPU per 1,000 tokens, how late the streams finish (p50
  and p99 of completion time minus the ideal ``T * pace``), the server's peak
  RSS, and the RSS each *open* stream costs (``N`` streams held open after
  their first token, less the RSS before them, divided by ``N``).
* **slow**: one run appending 1 KiB deltas (``sleep(0)`` every 64 of them)
  while the client reads 64 KiB every 10 ms. Reported: the server's RSS
  growth (peak RSS less the RSS before the stream) and the largest merged
  frame. Ours runs twice, without and with ``await controller.drain()`` every
  100 KiB, under uvicorn and, on request (``--only ours-granian``,
  ``--only ours-hypercorn``), under Granian and Hypercorn; upstream has no
  ``drain()``.

Contenders, each in its own server process (one worker, asyncio loop):

* **floor** (paced only): a Starlette ``StreamingResponse`` of the pre-encoded
  frame, with the same pacing: one ASGI message per token and nothing else;
* **floor-django** (paced only): the same frames and pacing from a Django
  ``StreamingHttpResponse`` over an async generator, under Django's ASGI
  handler and uvicorn: what Django itself costs per token and per request;
* **ours** under Starlette/uvicorn (h11), aiohttp's own server, and Django's
  ASGI handler under uvicorn;
* **upstream** ``assistant-stream`` 0.0.36 under Starlette/uvicorn;
* on request only (``--only ours-no-write-through``), ours under Starlette
  with ``serve.WRITE_THROUGH`` off: every write made by the serving loop's
  task, for a side-by-side measure of the write-through;
* on request only, the floor and ours (both Starlette apps) under Granian
  (``floor-granian``, ``ours-granian``: its ASGI interface, HTTP in Rust) and
  Hypercorn (``floor-hypercorn``, ``ours-hypercorn``), each started by the
  server's own runner as its command line deploys it: a supervisor process
  and one worker process. Their CPU and memory are read over the process
  tree. "vs own" in the table is ours against the floor on the same server.

The client is this process: one lean :class:`asyncio.Protocol` per
connection, so its own cost per token stays small; it still shares the
machine's CPUs with the server. Server CPU is read from ``/proc`` before and
after each round, so only the server's own work counts. Every response is
checked: it must carry every token.

``--loop uvloop --http httptools`` runs every server on what
``uvicorn[standard]`` runs (see :class:`benchmarks.http.ServerStack`); the
Granian and Hypercorn workers take ``--loop`` (Granian would pick uvloop
itself when installed: it is told the stack's loop, like every contender).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import platform
import socket
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .http import (
    DEFAULT_STACK,
    UPSTREAM_VERSION,
    ServerStack,
    _dechunk,
    _Server,
    _upstream_version,
    available,
    serve_by_runner,
    serve_forever,
)

__all__ = [
    "CONTENDERS",
    "PacedWorkload",
    "SlowWorkload",
    "measure_paced",
    "measure_slow",
    "run",
    "serve",
]

#: The token every paced run appends (8 characters), and its Data Stream frame.
TOKEN: Final = "abcdefg "
FRAME: Final = b'0:"abcdefg "\n'
#: The delta of the slow workload, less its 8-character number (each delta is
#: a new string, as a model's are: one shared string would cost nothing to hold).
SLOW_FILL: Final = "x" * 1016
SLOW_DELTA_SIZE: Final = 1024
#: Deltas between two ``sleep(0)`` of the slow run.
SLOW_SLEEP_EVERY: Final = 64
#: Bytes of deltas between two ``drain()`` of the slow run that drains.
DRAIN_EVERY: Final = 100 * 1024

#: Contender name -> label in the tables.
CONTENDERS: Final = {
    "floor": "floor: StreamingResponse, 1 frame/token",
    "upstream": f"upstream {UPSTREAM_VERSION}: Starlette",
    "ours-starlette": "ours: Starlette",
    "ours-no-write-through": "ours: Starlette, WRITE_THROUGH off",
    "ours-aiohttp": "ours: aiohttp",
    "ours-django": "ours: Django ASGI (uvicorn)",
    "floor-django": "floor: Django StreamingHttpResponse",
    "floor-granian": "floor: StreamingResponse, Granian",
    "ours-granian": "ours: Starlette, Granian",
    "floor-hypercorn": "floor: StreamingResponse, Hypercorn",
    "ours-hypercorn": "ours: Starlette, Hypercorn",
}
#: Run unless ``--only`` says otherwise (the comparison without write-through
#: only on request).
DEFAULT_CONTENDERS: Final = (
    "floor",
    "upstream",
    "ours-starlette",
    "ours-aiohttp",
    "ours-django",
    "floor-django",
)
_UVICORN: Final = (
    "floor",
    "upstream",
    "ours-starlette",
    "ours-django",
    "ours-no-write-through",
    "floor-django",
)
_DJANGO: Final = ("ours-django", "floor-django")
#: Contenders served by Granian's or Hypercorn's own runner -> (runner, the
#: Starlette app's contender).
_BY_RUNNER: Final = {
    "floor-granian": ("granian", "floor"),
    "ours-granian": ("granian", "ours-starlette"),
    "floor-hypercorn": ("hypercorn", "floor"),
    "ours-hypercorn": ("hypercorn", "ours-starlette"),
}
#: Contender -> the floor on the same server and framework ("vs own floor").
_OWN_FLOOR: Final = {
    "upstream": "floor",
    "ours-starlette": "floor",
    "ours-no-write-through": "floor",
    "ours-django": "floor-django",
    "ours-granian": "floor-granian",
    "ours-hypercorn": "floor-hypercorn",
}
#: The environment variable naming the Starlette app :func:`asgi_app` builds
#: in a runner's worker process.
_APP_ENV: Final = "BENCHMARK_PACED_APP"
_TIMEOUT: Final = 600.0
_MODULE: Final = "benchmarks.paced"


# ---------------------------------------------------------------------------
# Server side (runs in the server subprocess)


def _paced_callback(tokens: int, pace: float) -> Callable[[Any], Awaitable[None]]:
    """One token, then a sleep: a model at a fixed pace (upstream's API too)."""

    async def callback(controller: Any) -> None:
        for _ in range(tokens):
            controller.append_text(TOKEN)
            await asyncio.sleep(pace)

    return callback


def _slow_callback(total: int, drain: bool) -> Callable[[Any], Awaitable[None]]:
    """``total`` bytes of 1 KiB deltas, as fast as the loop lets it."""

    async def callback(controller: Any) -> None:
        size = SLOW_DELTA_SIZE
        since_drain = 0
        for i in range(1, total // size + 1):
            controller.append_text(f"{SLOW_FILL}{i:07d} ")
            since_drain += size
            if drain and since_drain >= DRAIN_EVERY:
                since_drain = 0
                await controller.drain()
            elif i % SLOW_SLEEP_EVERY == 0:
                await asyncio.sleep(0)

    return callback


def _callback(path: str, query: Any) -> Callable[[Any], Awaitable[None]]:
    if path.endswith("/slow"):
        return _slow_callback(int(query.get("total")), query.get("drain") == "1")
    return _paced_callback(int(query.get("n", "10")), float(query.get("pace", "0.02")))


async def _floor_frames(tokens: int, pace: float) -> AsyncIterator[bytes]:
    for _ in range(tokens):
        yield FRAME
        await asyncio.sleep(pace)


def _starlette_app(contender: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    if contender == "floor":

        def respond(request: Request) -> Response:
            query = request.query_params
            frames = _floor_frames(int(query.get("n", "10")), float(query.get("pace", "0.02")))
            return StreamingResponse(frames, media_type="text/plain")

    elif contender in ("ours-starlette", "ours-no-write-through"):
        from assistant_stream_starlette import DataStreamResponse

        if contender == "ours-no-write-through":
            import assistant_stream_core.run.serve as serve_module

            serve_module.WRITE_THROUGH = False

        from assistant_stream_core.run import create_run

        def respond(request: Request) -> Response:
            callback = _callback(request.url.path, request.query_params)
            return DataStreamResponse(create_run(callback))

    else:
        upstream = importlib.import_module("assistant_stream")
        serialization = importlib.import_module("assistant_stream.serialization.data_stream")

        def respond(request: Request) -> Response:
            callback = _callback(request.url.path, request.query_params)
            response: Response = serialization.DataStreamResponse(upstream.create_run(callback))
            return response

    async def endpoint(request: Request) -> Response:
        return respond(request)

    return Starlette(routes=[Route("/paced", endpoint), Route("/slow", endpoint)])


def _aiohttp_app() -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import DataStreamResponse

    from assistant_stream_core.run import create_run

    async def endpoint(request: web.Request) -> web.StreamResponse:
        return DataStreamResponse(create_run(_callback(request.path, request.query)))

    app = web.Application()
    app.router.add_get("/paced", endpoint)
    app.router.add_get("/slow", endpoint)
    return app


async def _django_view(request: Any) -> Any:
    from assistant_stream_django import DataStreamHttpResponse

    from assistant_stream_core.run import create_run

    return DataStreamHttpResponse(create_run(_callback(request.path, request.GET)))


async def _django_floor_view(request: Any) -> Any:
    from django.http import StreamingHttpResponse  # type: ignore[import-untyped]

    query = request.GET
    frames = _floor_frames(int(query.get("n", "10")), float(query.get("pace", "0.02")))
    return StreamingHttpResponse(frames, content_type="text/plain")


#: The contender the Django app serves (one app per process: Django is
#: configured once; benchmarks.paced_bytecodes measures both in one process).
_django_contender = "ours-django"


async def _django_dispatch(request: Any) -> Any:
    if _django_contender == "floor-django":
        return await _django_floor_view(request)
    return await _django_view(request)


def _django_app(contender: str = "ours-django") -> Any:
    import django  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]
    from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]
    from django.urls import path  # type: ignore[import-untyped]

    global _django_contender, urlpatterns
    _django_contender = contender
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        django.setup()
        urlpatterns = [path("paced", _django_dispatch), path("slow", _django_dispatch)]
    return get_asgi_application()


urlpatterns: list[Any] = []  # Django's URL configuration (filled by _django_app)


def asgi_app() -> Any:
    """The Starlette app a Granian or Hypercorn worker process serves (the
    runner imports this factory; :func:`serve` names the app in the environment)."""
    return _starlette_app(os.environ[_APP_ENV])


def serve(contender: str, stack: ServerStack = DEFAULT_STACK) -> None:
    """Serve ``contender`` on a free 127.0.0.1 port until killed.

    Prints ``PORT <n>`` on stdout once the server accepts connections.
    """
    if contender in _BY_RUNNER:
        runner, app = _BY_RUNNER[contender]
        os.environ[_APP_ENV] = app  # the worker process inherits it
        target = f"{_MODULE}:asgi_app"
        serve_by_runner(runner, target, ready="/paced?n=1&pace=0", backlog=4096, stack=stack)
    elif contender in _UVICORN:
        app = _django_app(contender) if contender in _DJANGO else _starlette_app(contender)
        serve_forever(app, aiohttp=False, backlog=4096, stack=stack, timeout_keep_alive=1)
    else:
        serve_forever(_aiohttp_app(), aiohttp=True, backlog=4096, stack=stack)


# ---------------------------------------------------------------------------
# Client side (this process)


def _cpu_seconds(server: _Server) -> float:
    """User + system CPU time of the server's processes (Linux ``/proc``):
    a runner's supervisor and worker alike, all their threads included."""
    return _cpu_seconds_of(server.pids())


def _cpu_seconds_of(pids: Sequence[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        # Fields 14 and 15 of stat(5); the split drops the first two.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class _Reader(asyncio.Protocol):
    """One response, read as it arrives, at the lowest cost a client can have."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.first = 0.0
        loop = asyncio.get_running_loop()
        self.started: asyncio.Future[None] = loop.create_future()
        self.done: asyncio.Future[float] = loop.create_future()

    def data_received(self, data: bytes) -> None:
        if not self.first:
            self.first = time.perf_counter()
            self.started.set_result(None)
        self.parts.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(time.perf_counter())


@dataclass
class _Response:
    started: float
    first: float  # first bytes received
    finished: float
    body: bytes  # the body, chunked transfer coding undone


def _request(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


def _response(received: bytes, started: float, first: float, finished: float) -> _Response:
    head_end = received.find(b"\r\n\r\n")
    head = received[:head_end]
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected response: {head[:200]!r}")
    body = received[head_end + 4 :]
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return _Response(started, first, finished, body)


async def _open(port: int, target: str) -> tuple[_Reader, float]:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    transport, reader = await loop.create_connection(_Reader, "127.0.0.1", port)
    transport.write(_request(target))
    return reader, started


async def _finish(reader: _Reader, started: float) -> _Response:
    finished = await reader.done
    return _response(b"".join(reader.parts), started, reader.first, finished)


async def _slow_fetch(port: int, target: str) -> _Response:
    """Read 64 KiB, sleep 10 ms, repeat: a client on a slow link."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A small receive buffer, so the kernel does not absorb megabytes.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    sock.setblocking(False)
    started = time.perf_counter()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, _request(target))
    parts: list[bytes] = []
    first = 0.0
    try:
        while data := await loop.sock_recv(sock, 65536):
            first = first or time.perf_counter()
            parts.append(data)
            await asyncio.sleep(0.01)
    finally:
        sock.close()
    return _response(b"".join(parts), started, first, time.perf_counter())


@dataclass(frozen=True)
class PacedWorkload:
    """``streams`` concurrent streams of ``tokens`` tokens, one per ``pace`` seconds."""

    streams: int = 1000
    tokens: int = 150
    pace: float = 0.020
    #: Seconds the idle streams of the per-stream memory phase stay open.
    hold: float = 8.0

    @property
    def target(self) -> str:
        return f"/paced?n={self.tokens}&pace={self.pace}"


@dataclass
class PacedResult:
    """One contender's figures on the paced workload."""

    contender: str
    cpu_per_1000: list[float] = field(default_factory=list)  # seconds, one per round
    late_p50: list[float] = field(default_factory=list)
    late_p99: list[float] = field(default_factory=list)
    rss_per_stream: float = 0.0
    peak_rss: int = 0
    missing: str | None = None


def _check_tokens(body: bytes, tokens: int, contender: str) -> None:
    count = body.count(TOKEN.encode())
    if count != tokens:
        raise AssertionError(f"{contender}: {count} of {tokens} tokens arrived")


async def _paced_round(server: _Server, workload: PacedWorkload, result: PacedResult) -> None:
    cpu = _cpu_seconds(server)
    opened = await asyncio.gather(
        *(_open(server.port, workload.target) for _ in range(workload.streams))
    )
    responses = await asyncio.wait_for(
        asyncio.gather(*(_finish(reader, started) for reader, started in opened)), _TIMEOUT
    )
    cpu = _cpu_seconds(server) - cpu
    for response in responses:
        _check_tokens(response.body, workload.tokens, server.contender)
    ideal = workload.tokens * workload.pace
    late = sorted(r.finished - r.started - ideal for r in responses)
    result.cpu_per_1000.append(cpu / (workload.streams * workload.tokens / 1000))
    result.late_p50.append(statistics.median(late))
    result.late_p99.append(late[min(len(late) - 1, int(len(late) * 0.99))])


async def _open_stream_cost(server: _Server, streams: int, hold: float) -> float:
    """RSS per stream held open after its first token (a fresh server: RSS is sticky)."""
    before = server.memory("VmRSS")
    target = f"/paced?n=2&pace={hold}"
    opened = await asyncio.gather(*(_open(server.port, target) for _ in range(streams)))
    try:
        await asyncio.wait_for(asyncio.gather(*(r.started for r, _ in opened)), hold - 0.5)
    except TimeoutError:
        raise RuntimeError(f"{server.contender}: streams did not start within {hold} s") from None
    await asyncio.sleep(0.2)
    during = server.memory("VmRSS")
    await asyncio.gather(*(_finish(reader, started) for reader, started in opened))
    return (during - before) / streams


async def measure_paced(
    workload: PacedWorkload,
    contenders: Sequence[str],
    repeat: int,
    stack: ServerStack = DEFAULT_STACK,
) -> list[PacedResult]:
    """Measure ``contenders`` on ``workload``; rounds interleaved, every round kept."""
    results = {name: PacedResult(name) for name in contenders}
    servers: list[_Server] = []
    try:
        for name in contenders:
            if name == "upstream" and _upstream_version() is None:
                results[name].missing = "not installed"
                continue
            if name in _BY_RUNNER and importlib.util.find_spec(_BY_RUNNER[name][0]) is None:
                results[name].missing = f"not installed (pip install {_BY_RUNNER[name][0]})"
                continue
            servers.append(_Server(name, module=_MODULE, stack=stack))
        warm_up = PacedWorkload(streams=10, tokens=20, pace=0.001)
        for server in servers:
            await _paced_round(server, warm_up, PacedResult(server.contender))
            results[server.contender].rss_per_stream = await _open_stream_cost(
                server, workload.streams, workload.hold
            )
        for _ in range(repeat):
            for server in servers:
                await _paced_round(server, workload, results[server.contender])
        for server in servers:
            results[server.contender].peak_rss = server.memory("VmHWM")
    finally:
        for server in servers:
            server.stop()
    return [results[name] for name in contenders]


@dataclass(frozen=True)
class SlowWorkload:
    """One run of ``total`` bytes of 1 KiB deltas, read 64 KiB per 10 ms."""

    total: int = 50 * 2**20


@dataclass
class SlowResult:
    """One contender's figures on the slow-client workload."""

    label: str
    growth: int = 0  # peak RSS less RSS before the stream
    largest_frame: int = 0
    seconds: float = 0.0
    missing: str | None = None


async def measure_slow(
    workload: SlowWorkload, contenders: Sequence[str], stack: ServerStack = DEFAULT_STACK
) -> list[SlowResult]:
    """Each contender in a fresh server: one slow read of the whole stream."""
    results = []
    for name in contenders:
        drain = name.endswith("+drain")
        contender = name.removesuffix("+drain")
        label = CONTENDERS[contender] + (", drain()" if drain else "")
        if contender == "upstream" and _upstream_version() is None:
            results.append(SlowResult(label, missing="not installed"))
            continue
        server = _Server(contender, module=_MODULE, stack=stack)
        try:
            reader, started = await _open(server.port, "/paced?n=2&pace=0")
            await _finish(reader, started)
            rss, peak = server.memory_by_pid("VmRSS"), server.memory_by_pid("VmHWM")
            target = f"/slow?total={workload.total}&drain={int(drain)}"
            response = await asyncio.wait_for(_slow_fetch(server.port, target), _TIMEOUT)
            # Per process, and only where the stream raised the peak: a
            # runner's supervisor may have peaked at its start (compiling
            # modules on a fresh checkout) and freed it since.
            growth = sum(
                after - rss[pid]
                for pid, after in server.memory_by_pid("VmHWM").items()
                if pid in rss and after > peak.get(pid, 0)
            )
        finally:
            server.stop()
        text = response.body
        deltas = workload.total // SLOW_DELTA_SIZE
        if text.count(b"x") != deltas * len(SLOW_FILL) or f"{deltas:07d} ".encode() not in text:
            raise AssertionError(f"{label}: the text did not arrive whole")
        largest = max(len(line) for line in text.split(b"\n"))
        results.append(SlowResult(label, growth, largest, response.finished - started))
    return results


# ---------------------------------------------------------------------------
# Reporting


def _range(values: list[float], scale: float, unit: str) -> str:
    low, high = min(values) * scale, max(values) * scale
    return f"{low:.1f}{unit}" if abs(high - low) < 0.05 else f"{low:.1f}-{high:.1f}{unit}"


def print_paced(workload: PacedWorkload, results: list[PacedResult]) -> None:
    """The paced table: ranges over the rounds, ratios of the best rounds
    ("vs floor": to ``floor`` on uvicorn; "vs own": to the floor on the
    contender's own server and framework)."""
    rate = 1 / workload.pace
    print(
        f"\npaced: {workload.streams:,} streams x {workload.tokens} tokens at {rate:.0f} tokens/s"
        f" (ideal {workload.tokens * workload.pace:.1f} s per stream)"
    )
    head = "  {:<36}{:>17}{:>10}{:>10}{:>10}{:>14}{:>14}{:>10}{:>12}"
    print(
        head.format(
            "",
            "CPU/1k tokens",
            "vs upstr.",
            "vs floor",
            "vs own",
            "late p50",
            "late p99",
            "peak RSS",
            "RSS/stream",
        )
    )
    best = {r.contender: min(r.cpu_per_1000) for r in results if r.cpu_per_1000}
    for result in results:
        label = CONTENDERS[result.contender]
        if result.missing is not None:
            print(f"  {label:<36}{result.missing}")
            continue
        cpu = best[result.contender]
        # CPU time is counted in clock ticks: a tiny run can measure 0.
        upstream = f"{cpu / best['upstream']:.2f}x" if best.get("upstream") else ""
        floor = f"{cpu / best['floor']:.2f}x" if best.get("floor") else ""
        own_floor = best.get(_OWN_FLOOR.get(result.contender, ""))
        own = f"{cpu / own_floor:.2f}x" if own_floor else ""
        print(
            head.format(
                label,
                _range(result.cpu_per_1000, 1e3, " ms"),
                upstream,
                floor,
                own,
                _range(result.late_p50, 1, " s"),
                _range(result.late_p99, 1, " s"),
                f"{result.peak_rss / 1e6:.0f} MB",
                f"{result.rss_per_stream / 1e3:.1f} KB",
            )
        )


def print_slow(workload: SlowWorkload, results: list[SlowResult]) -> None:
    """The slow-client table."""
    print(f"\nslow client: {workload.total / 2**20:.0f} MiB in 1 KiB deltas, read 64 KiB per 10 ms")
    head = "  {:<48}{:>14}{:>16}{:>10}"
    print(head.format("", "RSS growth", "largest frame", "wall"))
    for result in results:
        if result.missing is not None:
            print(f"  {result.label:<48}{result.missing}")
            continue
        print(
            head.format(
                result.label,
                f"+{result.growth / 1e6:.1f} MB",
                f"{result.largest_frame / 1024:.1f} KiB",
                f"{result.seconds:.1f} s",
            )
        )


def run(
    *,
    repeat: int = 2,
    paced: PacedWorkload | None = None,
    slow: SlowWorkload | None = None,
    contenders: Sequence[str] = DEFAULT_CONTENDERS,
    workloads: Sequence[str] = ("paced", "slow"),
    stack: ServerStack = DEFAULT_STACK,
) -> None:
    """Run the paced and slow workloads and print their tables."""
    import uvicorn

    print(
        f"\nHTTP at a model's pace: Python {platform.python_version()}, "
        f"uvicorn {uvicorn.__version__}, servers on: {stack}, {os.cpu_count()} CPUs, "
        f"upstream assistant-stream {_upstream_version() or 'not installed'}; "
        f"{repeat} rounds, ranges over the rounds, ratios of the best"
    )
    if "paced" in workloads:
        workload = paced or PacedWorkload()
        print_paced(workload, asyncio.run(measure_paced(workload, contenders, repeat, stack)))
    if "slow" in workloads:
        slow_workload = slow or SlowWorkload()
        slow_contenders = [
            name
            for name in (
                "upstream",
                "ours-starlette",
                "ours-starlette+drain",
                "ours-granian",
                "ours-granian+drain",
                "ours-hypercorn",
                "ours-hypercorn+drain",
            )
            if name.removesuffix("+drain") in contenders
        ]
        print_slow(slow_workload, asyncio.run(measure_slow(slow_workload, slow_contenders, stack)))


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.paced [--streams N] [--tokens T] [--only NAME] ...``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paced")
    parser.add_argument("--serve", choices=tuple(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=2, help="paced rounds (default 2)")
    parser.add_argument("--streams", type=int, default=1000, help="paced streams (default 1000)")
    parser.add_argument("--tokens", type=int, default=150, help="tokens per stream (default 150)")
    parser.add_argument("--pace", type=float, default=0.020, help="seconds between tokens")
    parser.add_argument("--slow-mib", type=int, default=50, help="slow stream size (default 50)")
    parser.add_argument(
        "--only", choices=tuple(CONTENDERS), action="append", help="run only these contenders"
    )
    parser.add_argument(
        "--workload", choices=("paced", "slow"), action="append", help="default: both"
    )
    ServerStack.add_arguments(parser)
    args = parser.parse_args(argv)
    stack = ServerStack.from_args(args)
    if args.serve:
        serve(args.serve, stack)
        return
    missing = available(stack)
    if missing:
        raise SystemExit(f"the HTTP benchmark needs its servers: {missing}")
    run(
        repeat=args.repeat,
        paced=PacedWorkload(args.streams, args.tokens, args.pace),
        slow=SlowWorkload(args.slow_mib * 2**20),
        contenders=args.only or DEFAULT_CONTENDERS,
        workloads=args.workload or ("paced", "slow"),
        stack=stack,
    )


if __name__ == "__main__":
    main()
