"""Callbacks that swallow their cancellation (issue 13, item 7).

A run whose callback catches every ``CancelledError`` is abandoned after its
close timeout: the server answers other requests meanwhile, uses no CPU for
it afterwards, and — in a real server process — still exits on SIGTERM
within its own shutdown timeout (plus the run's close timeout).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .stubborn_server import SHUTDOWN_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ["starlette", "aiohttp", "django_asgi"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=ADAPTERS)
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.adapters.stubborn_server", request.param, str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.stderr.read()  # type: ignore[union-attr]
        # aiohttp announces on startup, just before its site listens.
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def leave_after_first_bytes(url: str, path: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        data = b""
        while b"hello" not in data:
            piece = sock.recv(4096)
            assert piece, "the server closed before the run wrote"
            data += piece


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads CPU time from /proc")
def test_a_stubborn_callback_is_abandoned_and_the_server_exits_on_sigterm(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    url, process = server
    # Two stubborn runs whose clients left.
    for _ in range(2):
        leave_after_first_bytes(url, f"/data_stream/run_stubborn?rid={uuid.uuid4().hex}")
    with httpx.Client(base_url=url, timeout=1) as client:
        assert client.get("/data_stream/text").status_code == 200
    # Close timeout (1 s) passed: the callbacks are abandoned, not spun.
    time.sleep(1.5)
    before = cpu_seconds(process.pid)
    time.sleep(1.0)
    assert cpu_seconds(process.pid) - before < 0.3, "the server is busy with abandoned callbacks"
    process.send_signal(signal.SIGTERM)
    start = time.monotonic()
    try:
        process.wait(SHUTDOWN_TIMEOUT + 3)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not exit within {SHUTDOWN_TIMEOUT + 3} s of SIGTERM")
    print(f"exited {time.monotonic() - start:.2f} s after SIGTERM")
