"""Real servers on 127.0.0.1, one per adapter, each serving the scenarios.

Every app answers ``GET /{protocol}/{scenario}?rid=…&keepalive=…`` with the
scenario streamed through its adapter, and ``GET /tasks`` with the number of
tasks alive in the server's event loop (the leak check).

The async servers run on the standard library's event loop by default, or on
uvloop (``loop="uvloop"``); uvicorn parses HTTP with h11 by default, or with
httptools (``http="httptools"``). uvloop with httptools is what
``pip install "uvicorn[standard]"`` runs in production.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .scenarios import build, encoder_for

HEADERS = {"X-Custom": "yes"}

#: The event loops the async servers run on.
Loop = Literal["asyncio", "uvloop"]
#: uvicorn's HTTP/1.1 implementations.
Http = Literal["h11", "httptools"]


def new_event_loop(loop: Loop) -> asyncio.AbstractEventLoop:
    """A new event loop of the kind ``loop`` names."""
    if loop == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def running_loop_kind() -> str:
    """``"asyncio"`` or ``"uvloop"``: the running event loop's kind (the
    apps' ``GET /loop``, so a test knows what it ran on)."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


def _listening_socket(user_timeout: float | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if user_timeout is not None:
        # Accepted sockets inherit it: the kernel drops a connection whose
        # sent bytes stay unacknowledged (a client that stopped reading).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(user_timeout * 1000))
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def uvicorn_server(
    app: Any,
    *,
    user_timeout: float | None = None,
    loop: Loop = "asyncio",
    http: Http = "h11",
    lifespan: bool = False,
) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yield its base URL.

    ``lifespan`` runs the app's startup and shutdown (an app that closes
    what it opened when the server stops)."""
    import uvicorn

    sock = _listening_socket(user_timeout)
    config = uvicorn.Config(
        app,
        lifespan="on" if lifespan else "off",
        http=http,
        ws="none",
        log_level="warning",
        loop=loop,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def starlette_app() -> Any:
    """A Starlette app streaming every scenario through AssistantStreamResponse."""
    from assistant_stream_starlette import AssistantStreamResponse
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def stream(request: Request) -> Response:
        source, options = build(request.path_params["scenario"], request.query_params)
        return AssistantStreamResponse(
            source,
            encoder_for(request.path_params["protocol"]),
            headers=HEADERS,
            keepalive_interval=options.keepalive,
            send_timeout=options.send_timeout,
            expose_headers=True,
            error_message=options.error_message,
        )

    async def tasks(request: Request) -> Response:
        return PlainTextResponse(str(len(asyncio.all_tasks())))

    async def loop(request: Request) -> Response:
        return PlainTextResponse(running_loop_kind())

    return Starlette(
        routes=[
            Route("/tasks", tasks),
            Route("/loop", loop),
            Route("/{protocol}/{scenario}", stream),
        ],
    )


@contextmanager
def aiohttp_server(
    app: Any, *, user_timeout: float | None = None, loop: Loop = "asyncio"
) -> Iterator[str]:
    """Serve an aiohttp app (AppRunner + a site on a bound socket) in a thread,
    on a new event loop of the kind ``loop`` names (``uvloop``: as
    ``aiohttp.GunicornUVLoopWebWorker`` or ``uvloop.install()`` run it)."""
    from aiohttp import web

    sock = _listening_socket(user_timeout)
    event_loop = new_event_loop(loop)
    thread = threading.Thread(target=event_loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    asyncio.run_coroutine_threadsafe(start(), event_loop).result(10)
    try:
        yield _url(sock)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), event_loop).result(10)
        event_loop.call_soon_threadsafe(event_loop.stop)
        thread.join(10)
        event_loop.close()
        sock.close()


def aiohttp_app() -> Any:
    """An aiohttp app streaming every scenario through ``stream_response``."""
    from aiohttp import web
    from aiohttp.web import ContentCoding
    from assistant_stream_aiohttp import AssistantStreamResponse, stream_response

    async def stream(request: web.Request) -> web.StreamResponse:
        source, options = build(request.match_info["scenario"], request.query)
        compress = request.query.get("compress")
        if compress in ("enable", "deflate", "identity"):
            # aiohttp's own spelling: enable_compression() on the response.
            response = AssistantStreamResponse(
                source, encoder_for(request.match_info["protocol"]), headers=HEADERS
            )
            force = None if compress == "enable" else ContentCoding(compress)
            response.enable_compression(force)
            await response.prepare(request)
            return response
        return await stream_response(
            request,
            source,
            encoder_for(request.match_info["protocol"]),
            headers=HEADERS,
            keepalive_interval=options.keepalive,
            send_timeout=options.send_timeout,
            expose_headers=True,
            compress=request.query.get("compress") == "1",
            error_message=options.error_message,
        )

    async def tasks(request: web.Request) -> web.Response:
        return web.Response(text=str(len(asyncio.all_tasks())))

    async def loop(request: web.Request) -> web.Response:
        return web.Response(text=running_loop_kind())

    app = web.Application()
    app.router.add_get("/tasks", tasks)
    app.router.add_get("/loop", loop)
    app.router.add_get("/{protocol}/{scenario}", stream)
    return app


@contextmanager
def wsgi_server(app: Any) -> Iterator[str]:
    """Serve a WSGI app with the standard library's server, a thread per request."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True
        request_queue_size = 512

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), QuietHandler)
    server.set_app(app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield _url(server.socket)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextmanager
def werkzeug_server(app: Any) -> Iterator[str]:
    """Serve a WSGI app with Werkzeug's threaded server (it exposes the socket)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def flask_app() -> Any:
    """A Flask app streaming every scenario through WSGIStreamResponse."""
    import flask

    from assistant_stream_core.run.blocking import WSGIStreamResponse

    app = flask.Flask(__name__)

    @app.get("/tasks")
    def tasks() -> str:
        # Each stream runs on a portal thread; they must all have ended.
        return str(sum(1 for t in threading.enumerate() if "-portal-" in t.name))

    @app.get("/<protocol>/<scenario>")
    def stream(protocol: str, scenario: str) -> Any:
        query = flask.request.args.to_dict()
        source, options = build(scenario, query)
        return WSGIStreamResponse(
            source,
            encoder_for(protocol),
            headers=HEADERS,
            keepalive_interval=options.keepalive,
            send_timeout=options.send_timeout,
            expose_headers=True,
            error_message=options.error_message,
        )

    return app


def server_sockets(port: int) -> int:
    """Open TCP connections whose local port is ``port`` (the server's side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, _, state = line.split()[1:4]
            # 0A is LISTEN; 06 is TIME_WAIT, the kernel's memory of a closed
            # connection (a readiness probe's, say): neither holds one.
            if int(local.rsplit(":", 1)[1], 16) == port and state not in ("0A", "06"):
                count += 1
    return count
