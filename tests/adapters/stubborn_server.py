"""A server process for the shutdown tests (issue 13, item 7).

``python -m tests.adapters.stubborn_server ADAPTER PORT`` serves the shared
scenarios (``servers.py``; ``/data_stream/run_stubborn`` is a run that
swallows every cancellation) with ADAPTER — ``starlette``, ``aiohttp`` or
``django_asgi`` — on a server whose own shutdown timeout is
:data:`SHUTDOWN_TIMEOUT`, and prints ``ready`` once it listens.
"""

from __future__ import annotations

import sys
from typing import Any

from . import servers

#: The servers' own shutdown timeout, in seconds.
SHUTDOWN_TIMEOUT = 2.0


def serve_asgi(app: Any, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT,
    )
    server = uvicorn.Server(config)
    startup = server.startup

    async def announce(sockets: Any = None) -> None:
        await startup(sockets)
        print("ready", flush=True)

    server.startup = announce  # type: ignore[method-assign]
    server.run()


def serve_aiohttp(port: int) -> None:
    from aiohttp import web

    async def announce(app: web.Application) -> None:
        print("ready", flush=True)

    app = servers.aiohttp_app()
    app.on_startup.append(announce)
    web.run_app(app, host="127.0.0.1", port=port, shutdown_timeout=SHUTDOWN_TIMEOUT, print=None)


def main(adapter: str, port: int) -> None:
    if adapter == "aiohttp":
        serve_aiohttp(port)
    elif adapter == "starlette":
        serve_asgi(servers.starlette_app(), port)
    else:
        from . import django_app

        serve_asgi(django_app.asgi_app(), port)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
