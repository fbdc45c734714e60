"""SIGTERM with a stream in flight: what a rolling deploy does to live streams.

Each test runs a real server process (:mod:`tests.shutdown.server`), starts a
stream over a real socket, sends SIGTERM mid-stream, and checks what the
client received, that the run's ``finally:`` ran (a flag file), and when the
process exited.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest

from assistant_stream_core.resumable import ResumableStreams, new_stream_id
from tests.redis_server import RedisServer

from .procs import ROOT, Server, python_server, server

INTERRUPTED = b'3:"the server stopped this response before the run ended"\n'
#: Seconds from a stream's end (or SIGTERM) to the process's exit that still
#: count as "right after" on a loaded 2-core machine; a worker held by a
#: timer or a task would wait for the 10 s timeout of the wait instead.
PROMPT_EXIT = 3.0


def _every_delta(body: bytes, n: int) -> bool:
    return body == b"".join(f'0:"t{i} "\n'.encode() for i in range(n))


def _stream(
    srv: Server, n: int, path: str = "/stream", method: str = "GET", **params: object
) -> tuple[bytes, str]:
    """Read ``n`` deltas 50 ms apart, SIGTERM after the first bytes; return
    the body and the client's error (``""``: the body ended cleanly)."""
    body, error = b"", ""
    with httpx.Client(timeout=15) as client:
        query = {"n": n, "delay": 0.05, "rid": "r", **params}
        with client.stream(method, srv.url + path, params=query) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            body += next(chunks)
            srv.terminate()
            try:
                for data in chunks:
                    body += data
            except httpx.HTTPError as exc:
                error = repr(exc)
    return body, error


EXAMPLES = ROOT / "examples" / "graceful_shutdown"
ANSWER = ["a", "long", "answer,", "streamed", "one", "word", "at", "a", "time"]


@pytest.mark.parametrize(
    ("example", "documented"),
    [
        ("starlette_app.py", "uvicorn starlette_app:app --timeout-graceful-shutdown 15"),
        ("django_asgi.py", "uvicorn django_asgi:application --timeout-graceful-shutdown 15"),
        ("aiohttp_app.py", "python aiohttp_app.py"),
        # Two workers, one of them idle (it exits at once).
        ("hypercorn_app.py", "hypercorn hypercorn_app:app --workers 2 --graceful-timeout 15"),
    ],
)
def test_the_documented_apps_finish_their_streams_and_exit(
    tmp_path: Path, example: str, documented: str
) -> None:
    """docs/guides/graceful-shutdown.rst's apps, served by their commands:
    without reaching a graceful timeout, a stream in flight at SIGTERM
    finishes whole and the worker exits right after it."""
    assert f"``{documented}``" in (EXAMPLES / example).read_text(encoding="utf-8")
    program, *args = documented.split()
    argv = [sys.executable, *(["-m", program] if program != "python" else []), *args]
    if program == "uvicorn":
        argv += ["--port", "{port}"]
    if program == "hypercorn":
        argv += ["--bind", "127.0.0.1:{port}"]
    with server(argv, tmp_path, cwd=EXAMPLES) as srv:
        body, error = _stream(srv, 0, "/chat", method="POST")
        ended = time.monotonic()
        assert error == ""
        assert b"".join(f'0:"{word} "\n'.encode() for word in ANSWER) == body
        srv.process.wait(10)
        # Nothing of ours (guard timer, keepalive, a thread, the drain) keeps
        # the worker alive once its streams have ended.
        assert time.monotonic() - ended < PROMPT_EXIT


@pytest.mark.parametrize("kind", ["starlette", "aiohttp"])
def test_keepalives_do_not_hold_the_worker_after_the_stream(tmp_path: Path, kind: str) -> None:
    with server(python_server(kind), tmp_path) as srv:
        # SSE with a keepalive every 20 ms, between deltas 50 ms apart.
        body, error = _stream(srv, 12, protocol="assistant_transport", keepalive=0.02)
        ended = time.monotonic()
        assert error == ""
        assert b": " in body  # keepalive comments were sent
        assert body.rstrip().endswith(b"data: [DONE]")
        srv.process.wait(10)
        assert time.monotonic() - ended < PROMPT_EXIT
        assert srv.flag("r") == "done"


def test_starlette_past_the_timeout_ends_with_an_error_frame(tmp_path: Path) -> None:
    with server(python_server("starlette", 0.3, 2), tmp_path) as srv:
        body, error = _stream(srv, 100)
        assert error == ""  # a complete chunked body
        assert body.endswith(INTERRUPTED), body[-120:]
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") == "cancelled"


def test_django_past_the_timeout_ends_with_an_error_frame(tmp_path: Path) -> None:
    with server(python_server("django", 0.3, 10), tmp_path) as srv:
        body, error = _stream(srv, 100)
        # uvicorn cancels Django's handler, whose request task goes on:
        # drain_on_shutdown's wrapper cancels the task serving the response,
        # which writes its error frame, and Django ends the body.
        assert error == ""
        assert body.endswith(INTERRUPTED), body[-120:]
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") == "cancelled"


def test_aiohttp_past_the_timeout_closes_and_cancels_the_run(tmp_path: Path) -> None:
    with server(python_server("aiohttp", 0.3, 2), tmp_path) as srv:
        body, error = _stream(srv, 100)
        assert "incomplete chunked read" in error
        assert body.endswith(b'"\n')
        assert srv.exited_after(10) < PROMPT_EXIT + 1  # aiohttp rounds its timeout up to 1 s
        assert srv.flag("r") == "cancelled"


def test_aiohttp_interrupting_in_on_shutdown_ends_with_an_error_frame(tmp_path: Path) -> None:
    """interrupt_responses in on_shutdown, which aiohttp runs before it waits
    for its handlers: the stream ends with the error frame while the
    connection is still open, instead of being cut at shutdown_timeout."""
    argv = python_server("aiohttp", 5, 2)
    with server(argv, tmp_path, env={"SHUTDOWN_INTERRUPT": "0.5"}) as srv:
        body, error = _stream(srv, 100)
        assert error == ""
        assert body.endswith(INTERRUPTED), body[-120:]
        assert srv.exited_after(10) < 0.5 + PROMPT_EXIT
        assert srv.flag("r") == "cancelled"


def test_aiohttp_drain_in_on_shutdown_cuts_the_stream(tmp_path: Path) -> None:
    """Why drain() belongs in on_cleanup: in on_shutdown it finds every
    stream still open and stops it after RESPONSE_WAIT, as if its client
    had left, and aiohttp resets the connection."""
    argv = python_server("aiohttp", 10, 5)
    with server(argv, tmp_path, env={"SHUTDOWN_HOOK": "on_shutdown"}) as srv:
        body, error = _stream(srv, 40)  # 2 s: well within shutdown_timeout
        assert error != ""
        assert not _every_delta(body, 40)
        assert INTERRUPTED not in body
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") == "cancelled"


def _status(redis_url: str, sid: str) -> tuple[str, bytes]:
    """The stream's status in Redis, and what a client resuming it reads."""
    import redis.asyncio

    from assistant_stream_core.resumable.redis import RedisStore

    async def read() -> tuple[str, bytes]:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            streams = ResumableStreams(RedisStore(client))
            replay = await streams.resume(sid, "data_stream")
            with anyio.fail_after(5):  # a finalized stream: no wait for a lease
                body = b"".join([data async for data in replay.read_bytes()])
            return await streams.status(sid), body
        finally:
            await client.aclose()

    return asyncio.run(read())


@pytest.mark.parametrize(("drain", "status"), [(5, "done"), (0.2, "error")])
def test_a_detached_producer_finalizes_its_stream_before_the_worker_exits(
    tmp_path: Path, redis_srv: RedisServer, drain: float, status: str
) -> None:
    argv = python_server("resumable", 0, drain, redis_srv.url)
    with server(argv, tmp_path) as srv:
        sid = new_stream_id()
        with httpx.Client(timeout=15) as client:
            params = {"n": 16, "delay": 0.05, "rid": "r", "id": sid}
            with client.stream("GET", srv.url + "/resumable", params=params) as response:
                next(response.iter_raw())
        # The client left: nothing holds the server but the producer.
        srv.terminate()
        exited = srv.exited_after(10)
        stored, body = _status(redis_srv.url, sid)
        assert stored == status
        if status == "done":
            assert _every_delta(body, 16)
        else:
            assert body.endswith(b'3:"the producer was cancelled"\n'), body[-80:]
        assert srv.flag("r") == ("done" if status == "done" else "cancelled")
        assert exited < PROMPT_EXIT


def test_a_resumable_stream_past_the_timeout_ends_for_its_client(
    tmp_path: Path, redis_srv: RedisServer
) -> None:
    argv = python_server("resumable", 0.3, 0.2, redis_srv.url)
    with server(argv, tmp_path) as srv:
        sid = new_stream_id()
        body, error = _stream(srv, 100, "/resumable", id=sid)
        assert error == ""
        assert body.endswith(INTERRUPTED), body[-120:]
        srv.process.wait(10)
        assert _status(redis_srv.url, sid)[0] == "error"
        assert srv.flag("r") == "cancelled"


def _gunicorn(graceful_timeout: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        "1",
        "--graceful-timeout",
        str(graceful_timeout),
        "tests.shutdown.server:gunicorn_app()",
    ]


def test_gunicorn_lets_a_blocking_stream_finish_within_its_graceful_timeout(
    tmp_path: Path,
) -> None:
    env = {"SHUTDOWN_FLAGS": str(tmp_path / "flags")}
    with server(_gunicorn(10), tmp_path, env=env) as srv:
        body, error = _stream(srv, 12)
        assert error == ""
        assert _every_delta(body, 12)
        srv.process.wait(10)
        assert srv.process.returncode == 0
        assert srv.flag("r") == "done"


def test_gunicorn_past_its_graceful_timeout_kills_the_worker(tmp_path: Path) -> None:
    env = {"SHUTDOWN_FLAGS": str(tmp_path / "flags")}
    with server(_gunicorn(1), tmp_path, env=env) as srv:
        body, error = _stream(srv, 100)
        # The arbiter SIGKILLs the worker: the body stops between frames,
        # and no code of the worker's runs any more (not even ``finally``).
        assert "incomplete chunked read" in error
        assert body.endswith(b'"\n')
        assert srv.exited_after(10) < PROMPT_EXIT + 1  # gunicorn's timeout is whole seconds
        assert srv.flag("r") is None
