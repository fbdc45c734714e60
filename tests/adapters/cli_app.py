"""The scenario app for servers started by their own command line.

Granian and Hypercorn import an ASGI application by name
(``tests.adapters.cli_app:app``) in a process of their own, so a test cannot
wait on :func:`tests.adapters.scenarios.finished` directly: ``/finished/RID``
answers ``1`` once the run ``RID`` has ended (``0`` before).
"""

from __future__ import annotations

from typing import Any

from .scenarios import finished
from .servers import starlette_app

_scenarios = starlette_app()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope.get("path", "")
    if scope["type"] == "http" and path.startswith("/finished/"):
        body = b"1" if finished(path.removeprefix("/finished/")).is_set() else b"0"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await _scenarios(scope, receive, send)
