"""Hypercorn, Daphne and Granian: client disconnects and SIGTERM mid-stream.

Each test starts the server by its own command line (as deployed, see
:func:`.procs.asgi_server`) on :mod:`tests.shutdown.env_app`, a Starlette
app or Django's ASGI handler, and talks to it over real sockets. What each
server does is summed up in docs/guides/graceful-shutdown.rst's tables; these
tests are the measurements behind them.
"""

from __future__ import annotations

import importlib.util
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool

from .procs import Server, app_env, asgi_server, read_raw, server
from .test_graceful_shutdown import INTERRUPTED, PROMPT_EXIT, _every_delta, _stream

SERVERS = ["hypercorn", "daphne", "granian"]
APPS = ["starlette", "django"]


def _require(name: str) -> None:
    require_tool(importlib.util.find_spec(name) is not None, f"the ASGI server {name!r}")


def _wait_flag(srv: Server, rid: str, seconds: float) -> str | None:
    """The run's ``finally:`` outcome, waiting up to ``seconds`` for it."""
    deadline = time.monotonic() + seconds
    # "": the file is there, its text not yet (write_text is not atomic).
    while not srv.flag(rid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return srv.flag(rid)


def _leave(srv: Server, path: str) -> None:
    """Request ``path`` on a real socket, read the first body bytes, close."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        head, _ = read_raw(sock)
    assert head.startswith(b"HTTP/1.1 200"), head


@pytest.mark.parametrize(
    ("name", "app"),
    [(name, app) for name in SERVERS for app in APPS] + [("hypercorn-trio", "starlette")],
)
def test_a_client_that_leaves_ends_its_run_and_the_server_serves_on(
    tmp_path: Path, name: str, app: str
) -> None:
    _require(name.removesuffix("-trio"))
    with server(asgi_server(name), tmp_path, env=app_env(app, tmp_path)) as srv:
        # A run 50 s long, and a run that loops on drain() and never looks
        # at is_cancelled: both must end within a second of the client's leaving.
        _leave(srv, "/stream?n=1000&delay=0.05&rid=slow")
        assert _wait_flag(srv, "slow", 1) == "cancelled"
        _leave(srv, "/stream?mode=drain_loop&rid=loop")
        assert _wait_flag(srv, "loop", 1) == "ended"
        response = httpx.get(srv.url + "/ping", timeout=2)
        assert response.text == "pong"


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("name", ["hypercorn", "granian"])
def test_sigterm_lets_a_stream_finish_before_the_worker_exits(
    tmp_path: Path, name: str, app: str
) -> None:
    """Both wait for open responses before the lifespan's shutdown, so a
    drain there (5 s) neither cuts the stream nor holds the exit."""
    _require(name)
    with server(asgi_server(name), tmp_path, env=app_env(app, tmp_path, 5)) as srv:
        body, error = _stream(srv, 12)
        ended = time.monotonic()
        assert error == ""
        assert _every_delta(body, 12)
        srv.process.wait(10)
        assert time.monotonic() - ended < PROMPT_EXIT
        assert srv.process.returncode == 0
        assert srv.flag("r") == "done"


@pytest.mark.parametrize(
    ("name", "app", "drain"),
    [
        ("hypercorn", "starlette", None),
        ("hypercorn", "starlette", 2),
        ("hypercorn", "django", None),
        ("hypercorn", "django", 2),
        ("hypercorn-trio", "starlette", 2),
    ],
)
def test_hypercorn_past_its_graceful_timeout_cancels_and_waits(
    tmp_path: Path, name: str, app: str, drain: float | None
) -> None:
    """Hypercorn cancels what is left after ``--graceful-timeout`` and waits
    for it: Starlette's response ends with its error frame, hook or not, on
    asyncio and trio; Django's only with drain_on_shutdown's wrapper (else
    its body is cut)."""
    _require("hypercorn")
    env = app_env(app, tmp_path, drain)
    with server(asgi_server(name, 1), tmp_path, env=env) as srv:
        body, error = _stream(srv, 100)
        if app == "django" and drain is None:
            assert "incomplete chunked read" in error
            assert INTERRUPTED not in body
        else:
            assert error == ""
            assert body.endswith(INTERRUPTED), body[-120:]
        assert srv.exited_after(10) < 1 + PROMPT_EXIT
        assert srv.flag("r") == "cancelled"


@pytest.mark.parametrize("app", APPS)
def test_daphne_cancels_at_once_and_the_stream_ends_with_an_error_frame(
    tmp_path: Path, app: str
) -> None:
    """Daphne has no graceful timeout and no lifespan: SIGTERM cancels every
    response at once. Django's is stopped by drain_on_shutdown's wrapper,
    which also retrieves the RequestAborted of the disconnect listener
    Django leaves behind (else logged as an error at every shutdown)."""
    _require("daphne")
    with server(asgi_server("daphne"), tmp_path, env=app_env(app, tmp_path, 2)) as srv:
        body, error = _stream(srv, 100)
        assert error == ""
        assert body.endswith(INTERRUPTED), body[-120:]
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") == "cancelled"
        log = srv.log_text()
        assert "Killed 1 pending application instances" in log  # it did cancel
        assert "never retrieved" not in log, log


def test_daphne_without_the_wrapper_cuts_django_and_drops_its_run(tmp_path: Path) -> None:
    """Why Django under Daphne needs drain_on_shutdown: Django's request task
    outlives the handler Daphne cancels, and the process exits under it."""
    _require("daphne")
    with server(asgi_server("daphne"), tmp_path, env=app_env("django", tmp_path)) as srv:
        body, error = _stream(srv, 100)
        assert "incomplete chunked read" in error
        assert INTERRUPTED not in body
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") is None


def test_granian_past_its_kill_timeout_kills_the_worker(tmp_path: Path) -> None:
    """``--workers-kill-timeout`` kills the worker process: nothing of it
    runs any more, as with gunicorn past its graceful timeout."""
    _require("granian")
    env = app_env("starlette", tmp_path, 2)
    with server(asgi_server("granian", 1), tmp_path, env=env) as srv:
        body, error = _stream(srv, 100)
        assert "incomplete chunked read" in error
        assert body.endswith(b'"\n')
        assert srv.exited_after(10) < 1 + PROMPT_EXIT
        assert srv.flag("r") is None
