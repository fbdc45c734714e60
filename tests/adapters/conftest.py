"""Fixtures of the shared scenario suite: one real server per adapter."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from ..conftest import require_tool
from . import servers

#: Protocols every adapter is tested with.
PROTOCOLS = ["data_stream", "assistant_transport", "openai_chat", "ui_message_stream", "ag_ui"]


@pytest.fixture(scope="session")
def starlette_server() -> Iterator[str]:
    with servers.uvicorn_server(servers.starlette_app()) as url:
        yield url


def require_uvloop(*modules: str) -> None:
    """Skip (fail in CI) without uvloop and the other ``modules`` (the test extra has them)."""
    for name in ("uvloop", *modules):
        require_tool(importlib.util.find_spec(name) is not None, f"the module {name!r}")


@pytest.fixture(scope="session")
def starlette_uvloop_server() -> Iterator[str]:
    """Starlette under uvicorn as ``uvicorn[standard]`` runs it: uvloop, httptools."""
    require_uvloop("httptools")
    with servers.uvicorn_server(servers.starlette_app(), loop="uvloop", http="httptools") as url:
        yield url


@pytest.fixture(scope="session")
def aiohttp_server() -> Iterator[str]:
    with servers.aiohttp_server(servers.aiohttp_app()) as url:
        yield url


@pytest.fixture(scope="session")
def aiohttp_uvloop_server() -> Iterator[str]:
    """aiohttp's server on a uvloop event loop."""
    require_uvloop()
    with servers.aiohttp_server(servers.aiohttp_app(), loop="uvloop") as url:
        yield url


@pytest.fixture(scope="session")
def flask_server() -> Iterator[str]:
    with servers.wsgi_server(servers.flask_app()) as url:
        yield url


@pytest.fixture(scope="session")
def django_asgi_server() -> Iterator[str]:
    from . import django_app

    with servers.uvicorn_server(django_app.asgi_app()) as url:
        yield url


@pytest.fixture(scope="session")
def django_asgi_uvloop_server() -> Iterator[str]:
    """Django's ASGI handler under uvicorn on uvloop with httptools."""
    require_uvloop("httptools")
    from . import django_app

    with servers.uvicorn_server(django_app.asgi_app(), loop="uvloop", http="httptools") as url:
        yield url


@pytest.fixture(scope="session")
def django_wsgi_server() -> Iterator[str]:
    from . import django_app

    with servers.wsgi_server(django_app.wsgi_app()) as url:
        yield url


@pytest.fixture
def probe_only() -> bool:
    """Whether the adapter notices a disconnect only through a failed write.

    True for servers that are not async (WSGI); their test modules override it.
    """
    return False


@pytest.fixture
def closes_stuck_connections() -> bool:
    """Whether the server closes a connection whose client stopped reading.

    Starlette and aiohttp do. Django's handlers (ASGI and WSGI) and WSGI
    servers stay blocked in their own write until the client or the server's
    timeout ends it; the run itself is stopped either way.
    """
    return False


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """A protocol name, as understood by ``make_encoder``."""
    return str(request.param)
