"""The client side of ``examples/resumable``: a dropped connection the decoder never notices.

``examples/resumable/server.py`` runs under uvicorn behind a TCP proxy that
cuts the chat response's connection after a few hundred bytes (a real
socket closed mid-body). ``tests/resumable/npm/resume_client.mjs`` reads the
answer through ``examples/resumable/resumable-fetch.mjs`` and assistant-stream's
decoder and accumulator (npm 0.3.57): the message it builds equals the one an
uninterrupted client builds, and it resumed (with the offset, or the
Last-Event-ID) to get there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adapters import servers
from tests.conftest import require_executable, require_tool

ROOT = Path(__file__).parents[2]
NPM = Path(__file__).parent / "npm"

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def node() -> str:
    path = require_executable("node")
    require_tool(
        (NPM / "node_modules" / "assistant-stream").is_dir(),
        "the npm packages of tests/resumable/npm (scripts/install-node-deps.sh)",
    )
    return path


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    spec = importlib.util.spec_from_file_location(
        "resumable_example", ROOT / "examples/resumable/server.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with servers.uvicorn_server(module.app) as url:
        yield url


class CuttingProxy:
    """Forwards TCP to ``target``; closes each POST's connection after ``cut`` response bytes.

    ``close`` ends every connection and joins every thread it started.
    """

    def __init__(self, target: tuple[str, int], cut: int) -> None:
        self.target = target
        self.cut = cut
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # the listener was shut down
                return
            self._sockets.append(client)
            self._start(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        self._sockets.append(upstream)
        first = client.recv(65536)
        upstream.sendall(first)
        self._start(self._pipe, client, upstream)
        limit = self.cut if first.startswith(b"POST ") else None
        sent = 0
        try:
            while data := upstream.recv(65536):
                if limit is not None and sent + len(data) >= limit:
                    client.sendall(data[: limit - sent])
                    self.cuts += 1
                    break  # the connection drops mid-body
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            # The client is done: pass its half-close on, so that the server
            # ends a kept-alive connection now rather than at its idle timeout.
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        # Only a shutdown wakes a thread blocked in accept() or recv().
        for sock in (self._listener, *self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)
        self._listener.close()


def _client(node: str, base: str, route: str, protocol: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            node,
            str(NPM / "resume_client.mjs"),
            f"{base}/{route}",
            f"{base}/{route}/resume",
            protocol,
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(
    ("route", "protocol", "cursor", "cut"),
    [
        ("chat", "data-stream", "x-resumable-stream-offset", 700),
        # Past the first id event (the tool call's frames come first).
        ("transport", "assistant-transport", "last-event-id", 2000),
    ],
)
def test_a_dropped_connection_resumes_into_the_same_message(
    node: str, server_url: str, route: str, protocol: str, cursor: str, cut: int
) -> None:
    host, port = server_url.removeprefix("http://").split(":")
    proxy = CuttingProxy((host, int(port)), cut=cut)
    try:
        dropped = _client(node, f"http://127.0.0.1:{proxy.port}", route, protocol)
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert len(dropped["resumes"]) == 1
    assert cursor in dropped["resumes"][0], dropped["resumes"]
    # The message built across the drop equals the stream's, read whole afterwards.
    assert _without_timing(dropped["message"]) == _without_timing(dropped["replay"])
    parts = dropped["message"]["parts"]
    assert [p["type"] for p in parts] == ["tool-call", "text"]
    assert parts[0]["result"] == {"temp_c": 21}
    assert parts[1]["text"] == "".join(f"word{i} " for i in range(40))
    uninterrupted = _client(node, server_url, route, protocol)
    assert uninterrupted["resumes"] == []
    assert _without_timing(uninterrupted["message"]) == _without_timing(uninterrupted["replay"])


def _without_timing(value: Any) -> Any:
    """``value`` without the accumulator's client-side timestamps."""
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k != "timing"}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value
