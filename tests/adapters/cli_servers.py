"""ASGI servers started by their own command line, serving :mod:`.cli_app`.

Granian and Hypercorn run as deployed (their CLI, a process group of their
own), so what a test measures of them -- resident memory, sockets -- is the
process group's, read from ``/proc``. With :class:`Certs` they serve TLS and
offer HTTP/2 by ALPN; without, both also take HTTP/2 with prior knowledge (h2c).
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.resumable.workers import ROOT, _free_port, _wait_ready

APP = "tests.adapters.cli_app:app"
TCP_USER_TIMEOUT = getattr(socket, "TCP_USER_TIMEOUT", 18)  # Linux
#: Servers that can serve an inherited listening socket (``fd``).
INHERIT_SOCKETS = ("uvicorn", "hypercorn")


@dataclass(frozen=True)
class Certs:
    """A server certificate for 127.0.0.1 and the CA a client trusts it by."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def make(cls, directory: Path) -> Certs:
        """A fresh CA and certificate (``trustme``), written to ``directory``."""
        import trustme

        ca = trustme.CA()
        issued = ca.issue_cert("127.0.0.1", "localhost")
        certs = cls(directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
        issued.cert_chain_pems[0].write_to_path(str(certs.cert))
        issued.private_key_pem.write_to_path(str(certs.key))
        ca.cert_pem.write_to_path(str(certs.ca))
        return certs

    def client(self) -> ssl.SSLContext:
        """A client context that trusts this certificate."""
        return ssl.create_default_context(cafile=str(self.ca))

    def argv(self, name: str) -> list[str]:
        """The options that make ``name`` serve TLS with this certificate."""
        if name.startswith("hypercorn"):
            return ["--certfile", str(self.cert), "--keyfile", str(self.key)]
        if name == "granian":
            return ["--ssl-certificate", str(self.cert), "--ssl-keyfile", str(self.key)]
        raise ValueError(f"no TLS options known for {name!r}")

    def endpoint(self, port: int | str) -> str:
        """Daphne's ``-e`` endpoint (Twisted's syntax) for TLS on ``port``; it
        speaks HTTP/2 there when Twisted's HTTP/2 support is installed."""
        return f"ssl:{port}:interface=127.0.0.1:privateKey={self.key}:certKey={self.cert}"


def argv(name: str, port: int, fd: int | None = None) -> list[str]:
    """``name``'s command line; ``fd``: serve this inherited listening socket."""
    py = sys.executable
    if name == "uvicorn":
        bind = ["--fd", str(fd)] if fd is not None else ["--port", str(port)]
        return [py, "-m", "uvicorn", APP, *bind, "--log-level", "warning"]
    if name == "hypercorn":
        where = f"fd://{fd}" if fd is not None else f"127.0.0.1:{port}"
        return [py, "-m", "hypercorn", APP, "--bind", where]
    if name == "granian":
        # Granian binds its own socket: it has no option to inherit one.
        assert fd is None, "granian cannot serve an inherited socket"
        return [py, "-m", "granian", "--interface", "asgi", "--port", str(port), APP]
    if name == "daphne":
        assert fd is None, "the tests do not hand daphne a socket"
        return [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), APP]
    raise ValueError(f"unknown server {name!r}")


def tls_argv(name: str, port: int, certs: Certs) -> list[str]:
    """``name``'s command line serving TLS (and HTTP/2 by ALPN) on ``port``."""
    if name == "daphne":
        return [sys.executable, "-m", "daphne", "-e", certs.endpoint(port), APP]
    return argv(name, port) + certs.argv(name)


def _listener(port: int, user_timeout: float) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    # Accepted sockets inherit it: the kernel resets a connection whose
    # unacknowledged data (or zero window) outlasts it.
    sock.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, int(user_timeout * 1000))
    sock.set_inheritable(True)
    return sock


@contextmanager
def serving(
    name: str, user_timeout: float | None = None, certs: Certs | None = None
) -> Iterator[tuple[int, int]]:
    """Run ``name`` until the block ends; yield its port and process group id.

    ``user_timeout``: the listening socket's ``TCP_USER_TIMEOUT`` in seconds
    (the socket is made here and inherited; see :data:`INHERIT_SOCKETS`).
    ``certs``: serve TLS (HTTP/2 or HTTP/1.1 by ALPN).
    """
    port = _free_port()
    listener = None if user_timeout is None else _listener(port, user_timeout)
    fds = () if listener is None else (listener.fileno(),)
    if certs is None:
        command = argv(name, port, fds[0] if fds else None)
    else:
        assert not fds, "a socket with TCP_USER_TIMEOUT and TLS are not combined"
        command = tls_argv(name, port, certs)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        pass_fds=fds,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own group: Granian's worker goes with it, and RSS is summed over it.
        start_new_session=True,
    )
    try:
        _wait_ready(port, process)
        yield port, process.pid
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        if listener is not None:
            listener.close()


def group_rss(pgid: int) -> int:
    """Resident bytes of every process in group ``pgid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue  # the process exited meanwhile
    return total


def flood(port: int, rid: str, send_timeout: str, rcvbuf: int | None = None) -> socket.socket:
    """Ask for the endless ``flood`` stream; ``rcvbuf``: the client's receive buffer."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    path = f"/data_stream/flood?rid={rid}&send_timeout={send_timeout}&keepalive=none"
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def finished(port: int, rid: str, certs: Certs | None = None) -> bool:
    """Whether the run ``rid`` has ended, asked of the server's process
    (over HTTP/1.1; ``certs``: the server serves TLS)."""
    scheme, context = ("http", None) if certs is None else ("https", certs.client())
    url = f"{scheme}://127.0.0.1:{port}/finished/{rid}"
    with urllib.request.urlopen(url, timeout=5, context=context) as r:
        return bool(r.read() == b"1")
