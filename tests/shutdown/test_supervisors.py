"""Several workers under one supervisor, as deployed.

Each test starts a supervisor by its own command line
(:func:`.procs.supervised`: ``uvicorn --workers 2``, gunicorn with uvicorn's
worker class, ``hypercorn -w 2``, ``granian --workers 2``) on the Starlette app
of :mod:`tests.shutdown.env_app`, whose lifespan awaits ``drain()``. The app
names the worker serving each response (``x-worker-pid``), so a test can
place a stream on every worker, then ``SIGTERM`` the supervisor or
``SIGKILL`` one worker. docs/guides/graceful-shutdown.rst ("Several
workers") sums up what these tests measure.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from assistant_stream_core.resumable import new_stream_id
from tests.conftest import require_tool
from tests.redis_server import RedisServer

from .procs import Server, app_env, server, supervised
from .test_graceful_shutdown import INTERRUPTED, PROMPT_EXIT, _every_delta

#: Every supervisor's graceful-shutdown timeout (whole seconds: gunicorn's).
TIMEOUT = 3
#: A stream that ends within it (deltas 50 ms apart: 1.5 s) and one that does not (20 s).
SHORT, LONG = 30, 400
#: The resumable store's lease in these tests, and its heartbeat interval.
LEASE, HEARTBEAT = 1.0, 0.25
#: What a resume request reads at the end of a stream whose producer was killed.
LOST = b'{"type":"error","error":"producer lost: no heartbeat for 1000 ms (its worker stopped)"}'


@dataclass
class Live:
    """A response being read: the worker serving it, and what arrived."""

    rid: str
    response: httpx.Response
    chunks: Iterator[bytes]
    body: bytes = b""
    error: str = ""
    #: Seconds from the signal (``read_to_end``'s ``since``) to the end of the body.
    ended: float = field(default=0.0)

    @property
    def pid(self) -> str:
        return self.response.headers["x-worker-pid"]

    def read_to_end(self, since: float = 0.0) -> None:
        try:
            for data in self.chunks:
                self.body += data
        except httpx.HTTPError as exc:
            self.error = repr(exc)
        self.ended = time.monotonic() - since


def _require(name: str) -> None:
    module = {"gunicorn": "uvicorn_worker", "gunicorn-conf": "uvicorn_worker"}.get(name, name)
    require_tool(importlib.util.find_spec(module) is not None, f"the server package {module!r}")


def _pid(client: httpx.Client, srv: Server) -> str:
    # A new connection each time: the kernel hands it to whichever worker accepts first.
    response = client.get(srv.url + "/ping", headers={"connection": "close"})
    assert response.text == "pong"
    return response.headers["x-worker-pid"]


def _worker_pids(client: httpx.Client, srv: Server, count: int = 2) -> set[str]:
    """The pids of ``count`` workers, once each has answered (they boot one by one)."""
    pids: set[str] = set()
    deadline = time.monotonic() + 20
    while len(pids) < count:
        assert time.monotonic() < deadline, f"only workers {pids} answered"
        pids.add(_pid(client, srv))
    return pids


@contextmanager
def _client() -> Iterator[tuple[httpx.Client, list[Live]]]:
    """A client, and the responses opened with it (closed at the end)."""
    opened: list[Live] = []
    with httpx.Client(timeout=15) as client:
        try:
            yield client, opened
        finally:
            for live in opened:
                live.response.close()


def _open(client: httpx.Client, opened: list[Live], url: str, **params: object) -> Live:
    """Start a response and read its first bytes."""
    request = client.build_request("GET", url, params={"delay": 0.05, **params})
    response = client.send(request, stream=True)
    live = Live(str(params["rid"]), response, response.iter_raw())
    opened.append(live)
    assert response.status_code == 200
    live.body = next(live.chunks)
    return live


def _on_workers(
    client: httpx.Client, opened: list[Live], srv: Server, pids: set[str], rid: str, n: int
) -> dict[str, Live]:
    """A stream of ``n`` deltas on each worker of ``pids`` (run ids
    ``{rid}{attempt}``): streams are started until each worker serves one; a
    surplus one is left at once (its client closes it)."""
    placed: dict[str, Live] = {}
    for attempt in range(100):
        live = _open(client, opened, srv.url + "/stream", rid=f"{rid}{attempt}", n=n)
        if live.pid in placed:
            live.response.close()
        else:
            placed[live.pid] = live
            if set(placed) == pids:
                return placed
    raise AssertionError(f"no stream reached every worker of {pids}")


#: Past the graceful timeout, per supervisor: whether the client gets the
#: error frame (else the body is cut and the worker's runs end unfinished).
ERROR_FRAME = {
    "uvicorn": True,
    "gunicorn": False,
    "gunicorn-conf": True,
    "hypercorn": True,
    "granian": False,
}


@pytest.mark.parametrize("name", list(ERROR_FRAME))
def test_sigterm_to_the_supervisor_with_streams_on_every_worker(tmp_path: Path, name: str) -> None:
    _require(name)
    env = app_env("starlette", tmp_path, drain=5)
    if name == "hypercorn":  # as hypercorn_app.py: else the first worker to exit kills the other
        env["SHUTDOWN_IGNORE_TERM"] = "1"
    with server(supervised(name, 2, TIMEOUT), tmp_path, env=env) as srv, _client() as (c, opened):
        pids = _worker_pids(c, srv)
        # The long streams first: the short ones must still run at SIGTERM.
        long = _on_workers(c, opened, srv, pids, "long", LONG)
        short = _on_workers(c, opened, srv, pids, "short", SHORT)
        srv.terminate()
        assert not any(srv.flag(live.rid) for live in short.values())
        readers = [
            threading.Thread(target=live.read_to_end, args=(srv.terminated,))
            for live in [*long.values(), *short.values()]
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(15)
        exited = srv.exited_after(10)
        assert srv.process.returncode == 0
        assert exited < TIMEOUT + PROMPT_EXIT, exited
        for live in short.values():  # ended within the timeout: whole, on every worker
            assert live.error == ""
            assert _every_delta(live.body, SHORT)
            assert srv.flag(live.rid) == "done"
        # gunicorn-conf: uvicorn's own timeout is a second shorter than gunicorn's.
        timeout = TIMEOUT - (name == "gunicorn-conf")
        for live in long.values():
            assert live.ended > timeout - 0.2, live.ended  # the supervisor gave it the timeout
            if ERROR_FRAME[name]:
                assert live.error == ""
                assert live.body.endswith(INTERRUPTED), live.body[-120:]
                assert srv.flag(live.rid) == "cancelled"
            else:  # SIGKILLed: cut between two frames, and nothing of the run ran on
                assert "incomplete chunked read" in live.error
                assert live.body.endswith(b'"\n')
                assert srv.flag(live.rid) is None


@pytest.mark.parametrize("name", ["uvicorn", "gunicorn"])
def test_a_worker_killed_mid_stream_is_replaced_and_its_resumable_stream_ends_lost(
    tmp_path: Path, redis_srv: RedisServer, name: str
) -> None:
    _require(name)
    env = app_env("resumable", tmp_path, drain=5)
    env.update(SHUTDOWN_REDIS=redis_srv.url, SHUTDOWN_LEASE_MS=str(int(LEASE * 1000)))
    with server(supervised(name, 2, TIMEOUT), tmp_path, env=env) as srv, _client() as (c, opened):
        pids = _worker_pids(c, srv)
        sid = new_stream_id()
        params = {"n": LONG, "id": sid, "protocol": "assistant_transport"}
        resumable = _open(c, opened, srv.url + "/resumable", rid="resumable", **params)
        victim = resumable.pid
        plain = _open(c, opened, srv.url + "/stream", n=LONG, rid="plain")
        while plain.pid != victim:  # a Data Stream on the same worker
            plain.response.close()
            plain = _open(c, opened, srv.url + "/stream", n=LONG, rid="plain")
        spared = _on_other_worker(c, opened, srv, victim)
        os.kill(int(victim), signal.SIGKILL)
        killed = time.monotonic()
        plain.read_to_end()
        resumable.read_to_end()
        # Both bodies stop between two frames, without the protocol's end.
        assert "incomplete chunked read" in plain.error
        assert plain.body.endswith(b'"\n')
        assert b'\n3:"' not in plain.body
        assert "incomplete chunked read" in resumable.error
        assert resumable.body.endswith(b"\n\n")
        assert b"[DONE]" not in resumable.body
        # A resume request (served by the worker left) waits for the lease to
        # expire, then reads what was stored and the error "producer lost".
        resumed = c.get(
            srv.url + "/resume",
            params={"protocol": "assistant_transport"},
            headers={"x-resumable-stream-id": sid},
        )
        lost_after = time.monotonic() - killed
        assert resumed.status_code == 200
        assert resumed.content.startswith(resumable.body)
        assert resumed.content.endswith(b"data: " + LOST + b"\n\ndata: [DONE]\n\n")
        # Within the documented bound (the lease plus a heartbeat interval
        # after the last heartbeat); not at once: the reader waited for the lease.
        assert LEASE / 2 < lost_after < LEASE + HEARTBEAT + 1.5, lost_after
        # The supervisor starts a new worker; the one left answers meanwhile.
        deadline = time.monotonic() + 15
        while (pid := _pid(c, srv)) in pids:
            assert time.monotonic() < deadline, "no worker replaced the one killed"
        assert pid != victim
        # Any worker now answers the resume at once, with the same bytes.
        again = c.get(
            srv.url + "/resume",
            params={"protocol": "assistant_transport"},
            headers={"x-resumable-stream-id": sid},
        )
        assert again.content == resumed.content
        assert again.elapsed.total_seconds() < 0.5
        assert srv.flag("resumable") is None  # its run died with its worker
        spared.read_to_end()  # the other worker's stream went on, whole
        assert spared.error == ""
        assert _every_delta(spared.body, SHORT)
        assert srv.flag(spared.rid) == "done"


def _on_other_worker(client: httpx.Client, opened: list[Live], srv: Server, victim: str) -> Live:
    """A stream of :data:`SHORT` deltas on a worker other than ``victim``."""
    live = _open(client, opened, srv.url + "/stream", n=SHORT, rid="spared")
    while live.pid == victim:
        live.response.close()
        live = _open(client, opened, srv.url + "/stream", n=SHORT, rid="spared")
    return live


@pytest.mark.parametrize("name", ["hypercorn-recipe", "granian", "granian-respawn"])
def test_a_worker_killed_under_hypercorn_or_granian(tmp_path: Path, name: str) -> None:
    """Neither replaces a worker by default. Hypercorn stops the others:
    gracefully when they ignore SIGTERM (hypercorn_app.py's recipe; without
    it they die at once, as in the next test). Granian shuts down
    gracefully, or with ``--respawn-failed-workers`` replaces the worker."""
    server_name = name.partition("-")[0]
    _require(server_name)
    argv = supervised(server_name, 2, TIMEOUT)
    argv += ["--respawn-failed-workers"] if name == "granian-respawn" else []
    env = app_env("starlette", tmp_path, drain=5)
    if name == "hypercorn-recipe":
        env["SHUTDOWN_IGNORE_TERM"] = "1"
    with server(argv, tmp_path, env=env) as srv, _client() as (c, opened):
        pids = _worker_pids(c, srv)
        victim = min(pids)
        spared = _on_other_worker(c, opened, srv, victim)
        os.kill(int(victim), signal.SIGKILL)
        killed = time.monotonic()
        spared.read_to_end(killed)
        assert spared.error == ""
        assert _every_delta(spared.body, SHORT)
        assert srv.flag(spared.rid) == "done"
        if name == "granian-respawn":
            deadline = time.monotonic() + 15
            while _pid(c, srv) in pids:
                assert time.monotonic() < deadline, "no worker replaced the one killed"
            assert srv.process.poll() is None
        else:
            srv.process.wait(TIMEOUT + PROMPT_EXIT)
            assert srv.process.returncode == (1 if name == "granian" else 0)
            with pytest.raises(httpx.ConnectError):
                _pid(c, srv)


def test_hypercorn_kills_a_streaming_worker_once_an_idle_one_has_exited(tmp_path: Path) -> None:
    """Hypercorn sends SIGTERM to the workers left as soon as one has
    exited, and its workers die on it: a stream within the graceful timeout
    is cut when the other worker is idle. (The documented hypercorn_app.py,
    whose workers ignore SIGTERM, finishes it: test_graceful_shutdown.py.)"""
    _require("hypercorn")
    env = app_env("starlette", tmp_path, drain=5)
    with (
        server(supervised("hypercorn", 2, TIMEOUT), tmp_path, env=env) as srv,
        _client() as (c, opened),
    ):
        _worker_pids(c, srv)
        live = _open(c, opened, srv.url + "/stream", n=SHORT, rid="r")
        srv.terminate()
        live.read_to_end(srv.terminated)
        assert "incomplete chunked read" in live.error
        assert live.ended < 1
        assert srv.exited_after(10) < PROMPT_EXIT
        assert srv.flag("r") is None
