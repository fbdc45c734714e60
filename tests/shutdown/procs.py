"""Start a :mod:`tests.shutdown.server` process, stream from it, SIGTERM it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.resumable.workers import ROOT, _free_port, _wait_ready


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    flags: Path
    log: Path
    terminated: float = field(default=0.0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> None:
        """SIGTERM, as a rolling deploy or an autoscaler sends it."""
        self.terminated = time.monotonic()
        self.process.send_signal(signal.SIGTERM)

    def exited_after(self, timeout: float) -> float:
        """Seconds from SIGTERM to the process's exit (waits up to ``timeout``)."""
        self.process.wait(timeout)
        return time.monotonic() - self.terminated

    def flag(self, rid: str) -> str | None:
        """What the run ``rid`` wrote in its ``finally:`` (``None``: nothing)."""
        path = self.flags / rid
        return path.read_text() if path.exists() else None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def server(
    argv: Sequence[str], tmp: Path, *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[Server]:
    """Run ``argv`` (``{port}`` and ``{flags}`` filled in) until it is ready."""
    port = _free_port()
    flags = tmp / "flags"
    flags.mkdir(exist_ok=True)
    log = tmp / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [a.format(port=port, flags=flags) for a in argv],
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port), **(env or {})},
            # Its own process group: servers that fork workers (Hypercorn,
            # Granian) leave none behind when a failed test kills the group.
            start_new_session=True,
        )
    started = Server(process, port, flags, log)
    try:
        _wait_ready(port, process)
        yield started
    finally:
        with suppress(ProcessLookupError):  # the group's processes have all exited
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def python_server(
    kind: str, grace: float = 0, drain: float | None = None, *extra: str
) -> list[str]:
    """The argv of a :mod:`tests.shutdown.server` process."""
    hook = "-" if drain is None else str(drain)
    module = "tests.shutdown.server"
    return [sys.executable, "-m", module, kind, "{port}", "{flags}", str(grace), hook, *extra]


def asgi_server(name: str, timeout: int = 0) -> list[str]:
    """The argv of ``name`` (``hypercorn``, ``hypercorn-trio``: its trio
    worker, ``daphne``, ``granian``) serving
    :mod:`tests.shutdown.env_app` by its own command line, as deployed;
    ``timeout``: its graceful-shutdown timeout in whole seconds (``0``: the
    server's default; Daphne has none)."""
    app = "tests.shutdown.env_app:app"
    if name in ("hypercorn", "hypercorn-trio"):
        argv = [sys.executable, "-m", "hypercorn", app, "--bind", "127.0.0.1:{port}"]
        argv += ["--worker-class", "trio"] if name == "hypercorn-trio" else []
        return argv + (["--graceful-timeout", str(timeout)] if timeout else [])
    if name == "daphne":
        assert not timeout, "Daphne has no graceful-shutdown timeout"
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}", app]
    if name == "granian":
        argv = [sys.executable, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
        argv += ["--port", "{port}", app]
        return argv + (["--workers-kill-timeout", str(timeout)] if timeout else [])
    raise ValueError(f"unknown server {name!r}")


def app_env(app: str, tmp: Path, drain: float | None = None) -> dict[str, str]:
    """The environment :mod:`tests.shutdown.env_app` builds ``app`` from."""
    env = {"SHUTDOWN_APP": app, "SHUTDOWN_FLAGS": str(tmp / "flags")}
    if drain is not None:
        env["SHUTDOWN_DRAIN"] = str(drain)
    return env


def read_raw(sock: socket.socket, first: int = 1) -> tuple[bytes, bytes]:
    """Read a response's head and the first ``first`` body bytes' worth."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    while len(body) < first:
        body += sock.recv(65536)
    return head, body


#: The supervisors :func:`supervised` starts, each as deployed.
SUPERVISORS = ["uvicorn", "gunicorn", "gunicorn-conf", "hypercorn", "granian"]
GUNICORN_CONF = ROOT / "examples" / "graceful_shutdown" / "gunicorn_conf.py"


def supervised(name: str, workers: int, timeout: int) -> list[str]:
    """The argv of the supervisor ``name`` (one of :data:`SUPERVISORS`)
    serving :mod:`tests.shutdown.env_app` from ``workers`` worker processes;
    ``timeout``: its graceful-shutdown timeout in whole seconds. ``gunicorn``
    runs uvicorn's worker class as it comes; ``gunicorn-conf`` runs it with
    the documented config file (examples/graceful_shutdown/gunicorn_conf.py)."""
    app = "tests.shutdown.env_app:app"
    n, t = str(workers), str(timeout)
    if name == "uvicorn":
        argv = ["uvicorn", app, "--host", "127.0.0.1", "--port", "{port}", "--workers", n]
        argv += ["--timeout-graceful-shutdown", t]
    elif name in ("gunicorn", "gunicorn-conf"):
        argv = ["gunicorn", "-c", str(GUNICORN_CONF)] if name == "gunicorn-conf" else ["gunicorn"]
        argv += ["-k", "uvicorn_worker.UvicornWorker", "-w", n]
        argv += ["--bind", "127.0.0.1:{port}", "--graceful-timeout", t, app]
    elif name == "hypercorn":
        argv = ["hypercorn", app, "--bind", "127.0.0.1:{port}", "-w", n, "--graceful-timeout", t]
    elif name == "granian":
        argv = ["granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}"]
        argv += ["--workers", n, "--workers-kill-timeout", t, app]
    else:
        raise ValueError(f"unknown supervisor {name!r}")
    return [sys.executable, "-m", *argv]
