"""Start worker processes (:mod:`tests.resumable.worker`) for the cross-worker tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-write, without cleanup."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the worker exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the worker did not start")


@contextmanager
def workers(redis_url: str, count: int, *, lease_ms: int = 4000) -> Iterator[list[Worker]]:
    """``count`` worker processes on one Redis; stopped at the end of the block."""
    started: list[Worker] = []
    with tempfile.TemporaryDirectory() as directory:
        try:
            for i in range(count):
                port = _free_port()
                log = Path(directory) / f"worker{i}.log"
                handle = log.open("wb")
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.resumable.worker",
                        str(port),
                        redis_url,
                        str(lease_ms),
                    ],
                    cwd=ROOT,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                handle.close()
                started.append(Worker(process, f"http://127.0.0.1:{port}", log))
            for worker in started:
                _wait_ready(int(worker.url.rsplit(":", 1)[1]), worker.process)
            yield started
        finally:
            for worker in started:
                if worker.process.poll() is None:
                    worker.process.terminate()
                    try:
                        worker.process.wait(10)
                    except subprocess.TimeoutExpired:
                        worker.kill()
