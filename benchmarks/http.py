"""HTTP end to end: a run callback on a real server, read by a client over TCP.

Two workloads, each a run that appends ``"tok "`` deltas to the Data Stream
(``await asyncio.sleep(0)`` every 50 deltas, as a model streaming tokens does):

* **single**: one stream of 100,000 deltas;
* **concurrent**: 200 streams of 2,000 deltas, all requested at once.

Contenders, each in its own server process (one worker, asyncio loop):

* **floor**: a plain Starlette ``StreamingResponse`` under uvicorn (h11)
  yielding the pre-encoded frame ``0:"tok "\\n`` once per delta, with the same
  ``sleep(0)`` every 50. No run layer and no encoder: the cost of one ASGI
  message per frame.
* **ours, Starlette**: ``assistant_stream_starlette.DataStreamResponse(create_run(...))``
  under uvicorn (h11);
* **ours, aiohttp**: ``assistant_stream_aiohttp.DataStreamResponse(create_run(...))``
  under aiohttp's own server;
* **upstream**: ``assistant-stream`` 0.0.36's
  ``assistant_stream.serialization.data_stream.DataStreamResponse(create_run(...))``
  under uvicorn (h11), when it is installed.

The client is this process (raw asyncio sockets, HTTP/1.1, ``Connection:
close``), so each server process is measured alone. Reported per contender:
deltas per second (all streams), wall time, time to first byte (the first body
byte; median and worst over the streams), and the server's memory: its RSS
once warmed up and idle, and its peak RSS (``VmHWM``) over the workload. Every
response is checked: it must carry every delta, whatever the framing.

Rounds are interleaved (every contender once per round, best round counts), so
drifts of a shared machine spread over all contenders. The client shares the
machine's CPUs with the server: on a small machine it caps the figures of the
fastest contenders.

``--loop uvloop`` runs every server process on uvloop's event loop, and
``--http httptools`` has uvicorn parse HTTP with httptools (both together:
what ``pip install "uvicorn[standard]"`` runs); every contender alike. The
client stays on the standard library's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

__all__ = [
    "CONTENDERS",
    "DEFAULT_STACK",
    "UPSTREAM_VERSION",
    "ServerStack",
    "Workload",
    "WORKLOADS",
    "RUNNERS",
    "available",
    "run",
    "serve",
    "serve_by_runner",
]

#: The upstream release the comparison is pinned to.
UPSTREAM_VERSION: Final = "0.0.36"
#: The delta every run appends, and its Data Stream frame.
TOKEN: Final = "tok "
FRAME: Final = b'0:"tok "\n'
#: Deltas between two ``sleep(0)`` of a run.
SLEEP_EVERY: Final = 50

#: Contender name -> label in the table.
CONTENDERS: Final = {
    "floor": "floor: StreamingResponse, 1 frame/delta",
    "ours-starlette": "ours: Starlette DataStreamResponse",
    "ours-aiohttp": "ours: aiohttp DataStreamResponse",
    "upstream": f"upstream {UPSTREAM_VERSION}: DataStreamResponse",
}
_UVICORN: Final = ("floor", "ours-starlette", "upstream")
_ROOT: Final = Path(__file__).resolve().parent.parent
_START_TIMEOUT: Final = 30.0
_REQUEST_TIMEOUT: Final = 300.0


@dataclass(frozen=True)
class ServerStack:
    """What every server process runs on: the event loop (every contender)
    and uvicorn's HTTP/1.1 implementation (the uvicorn contenders)."""

    #: ``"asyncio"`` (the standard library's loop) or ``"uvloop"``.
    loop: str = "asyncio"
    #: ``"h11"`` or ``"httptools"``.
    http: str = "h11"

    #: The choices of the two options.
    LOOPS: ClassVar[tuple[str, ...]] = ("asyncio", "uvloop")
    HTTPS: ClassVar[tuple[str, ...]] = ("h11", "httptools")

    def args(self) -> list[str]:
        """The server subprocess's command-line options that select it."""
        return ["--loop", self.loop, "--http", self.http]

    def __str__(self) -> str:
        return f"{self.loop} loop, uvicorn on {self.http}"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Add ``--loop`` and ``--http`` to a benchmark's command line."""
        parser.add_argument(
            "--loop",
            choices=ServerStack.LOOPS,
            default="asyncio",
            help="the servers' event loop (default asyncio)",
        )
        parser.add_argument(
            "--http",
            choices=ServerStack.HTTPS,
            default="h11",
            help="uvicorn's HTTP implementation (default h11)",
        )

    @staticmethod
    def from_args(args: argparse.Namespace) -> ServerStack:
        """The stack ``--loop`` and ``--http`` chose."""
        return ServerStack(args.loop, args.http)


#: The standard library's loop and h11: what the benchmarks run on by default.
DEFAULT_STACK: Final = ServerStack()


@dataclass(frozen=True)
class Workload:
    """``streams`` concurrent streams of ``deltas`` deltas each."""

    name: str
    streams: int
    deltas: int


#: The workloads of the benchmark, in order.
WORKLOADS: Final = (
    Workload("single stream: 1 x 100,000 deltas", 1, 100_000),
    Workload("concurrent: 200 x 2,000 deltas", 200, 2_000),
)


# ---------------------------------------------------------------------------
# Server side (runs in the server subprocess)


def _run_callback(deltas: int) -> Callable[[Any], Awaitable[None]]:
    """The run every contender streams (upstream's controller has the same API)."""

    async def callback(controller: Any) -> None:
        for i in range(1, deltas + 1):
            controller.append_text(TOKEN)
            if i % SLEEP_EVERY == 0:
                await asyncio.sleep(0)

    return callback


async def _floor_frames(deltas: int) -> AsyncIterator[bytes]:
    for i in range(1, deltas + 1):
        yield FRAME
        if i % SLEEP_EVERY == 0:
            await asyncio.sleep(0)


def _deltas(query: Any) -> int:
    return int(query.get("n", "1000"))


def _starlette_app(contender: str) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    if contender == "floor":

        def respond(deltas: int) -> Response:
            return StreamingResponse(_floor_frames(deltas), media_type="text/plain")

    elif contender == "ours-starlette":
        from assistant_stream_starlette import DataStreamResponse

        from assistant_stream_core.run import create_run

        def respond(deltas: int) -> Response:
            return DataStreamResponse(create_run(_run_callback(deltas)))

    else:
        upstream = importlib.import_module("assistant_stream")
        serialization = importlib.import_module("assistant_stream.serialization.data_stream")

        def respond(deltas: int) -> Response:
            response: Response = serialization.DataStreamResponse(
                upstream.create_run(_run_callback(deltas))
            )
            return response

    async def stream(request: Request) -> Response:
        return respond(_deltas(request.query_params))

    return Starlette(routes=[Route("/stream", stream)])


def _aiohttp_app() -> Any:
    from aiohttp import web
    from assistant_stream_aiohttp import DataStreamResponse

    from assistant_stream_core.run import create_run

    async def stream(request: web.Request) -> web.StreamResponse:
        return DataStreamResponse(create_run(_run_callback(_deltas(request.query))))

    app = web.Application()
    app.router.add_get("/stream", stream)
    return app


def serve(contender: str, stack: ServerStack = DEFAULT_STACK) -> None:
    """Serve ``contender`` on a free 127.0.0.1 port until killed.

    Prints ``PORT <n>`` on stdout once the server accepts connections.
    """
    if contender in _UVICORN:
        serve_forever(_starlette_app(contender), aiohttp=False, backlog=1024, stack=stack)
    else:
        serve_forever(_aiohttp_app(), aiohttp=True, backlog=1024, stack=stack)


def _run_loop(main: Coroutine[Any, Any, None], loop: str) -> None:
    """Run ``main`` to its end on a new event loop of the kind ``loop`` names."""
    if loop == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


def serve_forever(
    app: Any,
    *,
    aiohttp: bool,
    backlog: int,
    stack: ServerStack = DEFAULT_STACK,
    **uvicorn_options: Any,
) -> None:
    """Serve ``app`` (ASGI under uvicorn, or an aiohttp application) until killed.

    Binds a free 127.0.0.1 port and prints ``PORT <n>`` on stdout once the
    server accepts connections. ``stack``: the event loop (and uvicorn's
    HTTP implementation). ``uvicorn_options`` go to ``uvicorn.Config``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    port = sock.getsockname()[1]
    if not aiohttp:
        import uvicorn

        config = uvicorn.Config(
            app,
            http=stack.http,
            loop=stack.loop,  # for the record: the loop is _run_loop's
            lifespan="off",
            ws="none",
            log_level="warning",
            access_log=False,
            backlog=backlog,
            **uvicorn_options,
        )
        server = uvicorn.Server(config)

        async def main() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                if task.done():
                    await task  # raises why it did not start
                    return
                await asyncio.sleep(0.01)
            print(f"PORT {port}", flush=True)
            await task

        _run_loop(main(), stack.loop)
    else:
        from aiohttp import web

        async def main() -> None:
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            await runner.setup()
            await web.SockSite(runner, sock, backlog=backlog).start()
            print(f"PORT {port}", flush=True)
            await asyncio.Event().wait()

        _run_loop(main(), stack.loop)


#: The servers :func:`serve_by_runner` starts: each by its own runner, as
#: its command line deploys it (a supervisor process and one worker process).
RUNNERS: Final = ("granian", "hypercorn")


def serve_by_runner(
    runner: str, target: str, *, ready: str, backlog: int, stack: ServerStack = DEFAULT_STACK
) -> None:
    """Serve the ASGI app factory ``target`` (``module:function``) by Granian's
    or Hypercorn's own runner, until SIGTERM.

    The runner is what ``granian --interface asgi`` or ``hypercorn`` runs: this
    process supervises one worker process, which imports ``target`` and serves
    it (so a benchmark reads CPU and memory over the process tree, see
    :meth:`_Server.pids`). Prints ``PORT <n>`` once a ``GET`` of ``ready`` is
    answered with 200. ``stack.loop`` is the worker's event loop; ``stack.http``
    is uvicorn's only (Granian parses HTTP in Rust, Hypercorn with h11).
    """
    with socket.socket() as probe:  # a free port: both runners bind by number
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    threading.Thread(target=_announce_when_ready, args=(port, ready), daemon=True).start()
    if runner == "granian":
        from granian.constants import Interfaces, Loops
        from granian.log import LogLevels
        from granian.server import Server

        Server(
            target,
            address="127.0.0.1",
            port=port,
            interface=Interfaces.ASGI,
            workers=1,
            # Granian's default loop is uvloop when installed: name it, so
            # the stack is the same as every other contender's.
            loop=Loops(stack.loop),
            backlog=backlog,
            factory=True,
            log_level=LogLevels.warning,
        ).serve()
    elif runner == "hypercorn":
        from hypercorn.config import Config
        from hypercorn.run import run as run_hypercorn

        config = Config()
        config.application_path = f"{target}()"  # Hypercorn calls what the path evaluates to
        config.bind = [f"127.0.0.1:{port}"]
        config.workers = 1
        config.worker_class = stack.loop
        config.backlog = backlog
        config.loglevel = "WARNING"
        run_hypercorn(config)
    else:
        raise ValueError(f"unknown runner {runner!r}: one of {RUNNERS}")


def _announce_when_ready(port: int, path: str) -> None:
    """Print ``PORT <port>`` once ``GET path`` is answered with 200."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request.encode())
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    print(f"PORT {port}", flush=True)
                    return
        except OSError:
            pass
        time.sleep(0.05)
    print(f"NOT READY after {_START_TIMEOUT} s", flush=True)


# ---------------------------------------------------------------------------
# Client side (this process)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
        if ppid == pid:
            found.append(int(entry))
    return found


class _Server:
    """A contender's server subprocess."""

    def __init__(
        self,
        contender: str,
        *,
        module: str = "benchmarks.http",
        stack: ServerStack = DEFAULT_STACK,
    ) -> None:
        self.contender = contender
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--serve", contender, *stack.args()],
            cwd=_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            # Its own process group: a runner's worker process goes with it.
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"the {contender} server did not start")
        self.port = int(line.split()[1])

    def pids(self) -> list[int]:
        """The server process and its descendants (a runner's supervisor and
        worker, and any helper process such as multiprocessing's)."""
        tree = [self.process.pid]
        for pid in tree:  # grows while it is walked: breadth first
            tree.extend(_children(pid))
        return tree

    def memory_by_pid(self, field: str) -> dict[int, int]:
        """``VmRSS`` or ``VmHWM`` of each of :meth:`pids`, in bytes (Linux)."""
        found: dict[int, int] = {}
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status", encoding="ascii") as status:
                    found[pid] = next(
                        int(line.split()[1]) * 1024
                        for line in status
                        if line.startswith(field + ":")
                    )
            except (OSError, StopIteration):
                continue  # exited meanwhile, or a zombie (no memory fields)
        return found

    def memory(self, field: str) -> int:
        """``VmRSS`` or ``VmHWM`` of the server, in bytes, summed over
        :meth:`pids` (Linux): what the deployment holds, not only its worker."""
        total = sum(self.memory_by_pid(field).values())
        if not total:
            raise LookupError(field)
        return total

    def stop(self) -> None:
        """Terminate the server (SIGTERM: a runner stops its worker) and wait."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # nothing of the group is left
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class _Fetch:
    ttfb: float  # seconds from connect to the first body byte
    body: bytes  # the raw body (chunked transfer coding)


async def _fetch(port: int, deltas: int) -> _Fetch:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET /stream?n={deltas} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    writer.write(request.encode())
    received = bytearray()
    header_end = -1
    ttfb = 0.0
    while data := await reader.read(1 << 16):
        received += data
        if header_end < 0:
            header_end = received.find(b"\r\n\r\n")
            if header_end >= 0:
                header_end += 4
        if not ttfb and header_end >= 0 and len(received) > header_end:
            ttfb = time.perf_counter() - start
    writer.close()
    await writer.wait_closed()
    head = bytes(received[:header_end])
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected response: {head[:200]!r}")
    return _Fetch(ttfb, bytes(received[header_end:]))


def _dechunk(body: bytes) -> bytes:
    """Undo the chunked transfer coding of ``body``."""
    out = bytearray()
    position = 0
    while True:
        line_end = body.index(b"\r\n", position)
        size = int(body[position:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        start = line_end + 2
        out += body[start : start + size]
        position = start + size + 2


def _check(fetch: _Fetch, deltas: int, contender: str) -> None:
    text = _dechunk(fetch.body)
    # Merged frames carry several deltas each; count the deltas, not frames.
    count = text.count(TOKEN.encode())
    if count != deltas or not text.startswith(b'0:"tok '):
        raise AssertionError(f"{contender}: {count} of {deltas} deltas arrived")


@dataclass
class _Round:
    wall: float
    ttfbs: list[float]


@dataclass
class _Result:
    contender: str
    rounds: list[_Round] = field(default_factory=list)
    idle_rss: int = 0
    peak_rss: int = 0
    missing: str | None = None

    @property
    def best(self) -> _Round:
        return min(self.rounds, key=lambda r: r.wall)


async def _round(server: _Server, workload: Workload) -> _Round:
    start = time.perf_counter()
    fetches = await asyncio.wait_for(
        asyncio.gather(*(_fetch(server.port, workload.deltas) for _ in range(workload.streams))),
        _REQUEST_TIMEOUT,
    )
    wall = time.perf_counter() - start
    for fetch in fetches:
        _check(fetch, workload.deltas, server.contender)
    return _Round(wall, [fetch.ttfb for fetch in fetches])


async def _measure(
    contenders: Sequence[str], workload: Workload, repeat: int, stack: ServerStack
) -> list[_Result]:
    results = {name: _Result(name) for name in contenders}
    servers: list[_Server] = []
    try:
        for name in contenders:
            if name == "upstream" and _upstream_version() is None:
                results[
                    name
                ].missing = f"not installed (pip install assistant-stream=={UPSTREAM_VERSION})"
                continue
            servers.append(_Server(name, stack=stack))
        for server in servers:
            # Warm up: imports, first-request paths, allocator pools.
            await _round(server, Workload("warm-up", 2, 2_000))
            results[server.contender].idle_rss = server.memory("VmRSS")
        for _ in range(repeat):
            for server in servers:
                results[server.contender].rounds.append(await _round(server, workload))
        for server in servers:
            results[server.contender].peak_rss = server.memory("VmHWM")
    finally:
        for server in servers:
            server.stop()
    return [results[name] for name in contenders]


# ---------------------------------------------------------------------------
# Reporting


def _upstream_version() -> str | None:
    if importlib.util.find_spec("assistant_stream") is None:
        return None
    try:
        return importlib.metadata.version("assistant-stream")
    except importlib.metadata.PackageNotFoundError:
        return None


def available(stack: ServerStack = DEFAULT_STACK) -> str | None:
    """``None`` if the servers can run here on ``stack``, else what to install."""
    needed = {
        "starlette": "starlette",
        "uvicorn": "uvicorn",
        "aiohttp": "aiohttp",
        stack.http: stack.http,
    }
    if stack.loop == "uvloop":
        needed["uvloop"] = "uvloop"
    missing = [pip for module, pip in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        return "pip install " + " ".join(missing)
    return None


def _rate(per_second: float) -> str:
    return f"{per_second / 1e6:.2f}M" if per_second >= 1e6 else f"{per_second / 1e3:.0f}k"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


_HEAD = "  {:<40}{:>10}{:>9}{:>11}{:>11}{:>11}{:>11}{:>11}{:>10}"


def _print_table(workload: Workload, results: list[_Result]) -> None:
    total = workload.streams * workload.deltas
    print(f"\n{workload.name} ({total:,} deltas)")
    print(
        _HEAD.format(
            "",
            "deltas/s",
            "of floor",
            "vs upstr.",
            "wall",
            "TTFB med",
            "TTFB max",
            "idle RSS",
            "peak RSS",
        )
    )
    floor = next((r for r in results if r.contender == "floor" and r.rounds), None)
    upstream = next((r for r in results if r.contender == "upstream" and r.rounds), None)
    for result in results:
        label = CONTENDERS[result.contender]
        if result.missing is not None:
            print(f"  {label:<40}{result.missing}")
            continue
        best = result.best
        of_floor = f"{floor.best.wall / best.wall:.0%}" if floor else ""
        versus = ""
        if upstream is not None and result.contender.startswith("ours"):
            versus = f"{upstream.best.wall / best.wall:.1f}x"
        print(
            _HEAD.format(
                label,
                _rate(total / best.wall),
                of_floor,
                versus,
                _ms(best.wall),
                _ms(statistics.median(best.ttfbs)),
                _ms(max(best.ttfbs)),
                _mib(result.idle_rss),
                _mib(result.peak_rss),
            )
        )


def run(
    *,
    repeat: int = 3,
    contenders: Sequence[str] = tuple(CONTENDERS),
    workloads: Sequence[Workload] = WORKLOADS,
    stack: ServerStack = DEFAULT_STACK,
) -> None:
    """Run both workloads against every contender and print the tables."""
    import aiohttp
    import starlette
    import uvicorn

    version = _upstream_version()
    print(
        f"\nHTTP end to end, best of {repeat} rounds: Python {platform.python_version()}, "
        f"uvicorn {uvicorn.__version__}, starlette {starlette.__version__}, "
        f"aiohttp {aiohttp.__version__}, {os.cpu_count()} CPUs, "
        f"upstream assistant-stream {version or 'not installed'}"
    )
    print(
        f"  one server process per contender (one worker; {stack}); the client runs in this process"
    )
    print("  'of floor' and 'vs upstr.': wall-time ratios; TTFB: first body byte")
    for workload in workloads:
        results = asyncio.run(_measure(contenders, workload, repeat, stack))
        _print_table(workload, results)


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.http [--serve CONTENDER | --repeat N] [--loop L] [--http H]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http")
    parser.add_argument("--serve", choices=tuple(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--only", choices=tuple(CONTENDERS), action="append", help="run only these contenders"
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
    run(repeat=args.repeat, contenders=args.only or tuple(CONTENDERS), stack=stack)


if __name__ == "__main__":
    main()
