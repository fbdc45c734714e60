"""Resume latency over HTTP: reconnect to the first body byte on another worker.

Two uvicorn workers (:mod:`benchmarks.resume_worker`) per contender share one
private ``redis-server``. Worker A serves ``GET /start?n=N``: a run of ``N``
text deltas as a resumable Data Stream, read to its end by the benchmark (the
stream is finished when the resumes begin). Then worker B gets ``tries``
resume requests with the stream's id, each on a fresh connection: from the
start, and (ours only: upstream has no cursor) with an offset 100 bytes short
of the end, and (ours) a UI Message Stream resumed with a ``Last-Event-ID``
a few entries from the end; each row stops after ``BUDGET`` seconds of tries (a slow
contender gets fewer; the count is printed). The time is from ``connect()``
to the first byte after the response's headers; the connection is then dropped, as a client that has
what it needs would. p50 and p99 per stream length; the stream's entries are
counted in Redis (``XLEN``), since a producer may store several deltas per
entry. Target (issue 16): p99 at most 50 ms and flat in the stream's length.
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Deltas per stream, by default.
LENGTHS = (1_000, 10_000, 50_000)
#: Resume requests per stream length and cursor.
TRIES = 100
#: The resume with a cursor asks for the last this many bytes.
TAIL = 100
#: Seconds of resumes per row at most: a slow contender gets fewer tries.
BUDGET = 20.0
#: Seconds a single resume may take to its first byte before the row fails.
TIMEOUT = 30.0

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("a benchmark worker exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("a benchmark worker did not start")


@contextmanager
def _workers(redis_url: str, contender: str) -> Iterator[tuple[int, int]]:
    """Worker A and worker B (their ports), serving ``contender``; stopped at the end."""
    processes: list[subprocess.Popen[bytes]] = []
    ports = (_free_port(), _free_port())
    with tempfile.TemporaryFile() as log:
        try:
            for port in ports:
                processes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "benchmarks.resume_worker",
                            str(port),
                            redis_url,
                            contender,
                        ],
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    )
                )
            for port, process in zip(ports, processes, strict=True):
                _wait_ready(port, process)
            yield ports
        finally:
            for process in processes:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def _request(port: int, target: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _first_byte(port: int, target: str, headers: dict[str, str]) -> float:
    """Seconds from connect to the first body byte; the connection is then dropped."""
    request = _request(port, target, headers)
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError(f"{target}: the connection closed before the body")
            received += data
            head, sep, body = received.partition(b"\r\n\r\n")
            if sep and body:
                elapsed = time.perf_counter() - start
                break
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{target}: {head.splitlines()[0].decode(errors='replace')}")
    return elapsed


def _whole_body(port: int, target: str) -> bytes:
    """Read a chunked response to its end; its decoded body."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(_request(port, target, {}))
        with sock.makefile("rb") as stream:
            status = stream.readline()
            if not status.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{target}: {status.decode(errors='replace').strip()}")
            while stream.readline() not in (b"\r\n", b""):
                pass
            body: list[bytes] = []
            while True:
                length = int(stream.readline().split(b";")[0], 16)
                if length == 0:
                    return b"".join(body)
                body.append(stream.read(length))
                stream.readline()


def _entries(client: Any, stream_id: str) -> int:
    total = 0
    for key in client.scan_iter(match=f"*{stream_id}*", count=1000):
        if client.type(key) in (b"stream", "stream"):
            total += int(client.xlen(key))
    return total


def quantiles(times: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``times`` (seconds, at least two), in milliseconds."""
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return cuts[49] * 1e3, cuts[98] * 1e3


Row = tuple[str, int, int, "list[float] | str"]


def _tries(port: int, target: str, headers: dict[str, str], tries: int) -> list[float] | str:
    """Up to ``tries`` timed resumes within :data:`BUDGET`, or why they failed."""
    try:
        _first_byte(port, target, headers)  # the worker's first resume warms up
        times: list[float] = []
        deadline = time.monotonic() + BUDGET
        while len(times) < tries and time.monotonic() < deadline:
            times.append(_first_byte(port, target, headers))
            # Let the worker notice the dropped connection before the next try.
            time.sleep(0.005)
    except (OSError, RuntimeError) as exc:
        return f"failed: {type(exc).__name__}: {exc}"
    return times


def _contender(redis_url: str, contender: str, lengths: tuple[int, ...], tries: int) -> list[Row]:
    """Rows ``(cursor, deltas, entries, times or failure)`` for one contender."""
    import redis

    rows: list[Row] = []
    client = redis.Redis.from_url(redis_url)
    try:
        with _workers(redis_url, contender) as (a, b):
            for deltas in lengths:
                sid = uuid.uuid4().hex
                size = len(_whole_body(a, f"/start?n={deltas}&id={sid}"))
                cursors: list[tuple[str, str, dict[str, str]]] = [("from the start", sid, {})]
                if contender == "ours":
                    offset = str(max(0, size - TAIL))
                    cursors.append(("near the end", sid, {"x-resumable-stream-offset": offset}))
                    # An SSE stream's cursor names an entry: Last-Event-ID a few from the end.
                    sse = uuid.uuid4().hex
                    body = _whole_body(a, f"/start?n={deltas}&id={sse}&protocol=ui_message_stream")
                    ids = re.findall(rb"^id: (\S+)", body, re.M)
                    cursor = ids[max(0, len(ids) - 5)].decode()
                    cursors.append(("Last-Event-ID near the end", sse, {"last-event-id": cursor}))
                for label, stream_id, extra in cursors:
                    headers = {"x-resumable-stream-id": stream_id, **extra}
                    target = (
                        "/resume?protocol=ui_message_stream"
                        if extra.get("last-event-id")
                        else "/resume"
                    )
                    rows.append(
                        (
                            label,
                            deltas,
                            _entries(client, stream_id),
                            _tries(b, target, headers, tries),
                        )
                    )
    finally:
        client.close()
    return rows


def run(
    redis_url: str,
    *,
    upstream: bool,
    lengths: tuple[int, ...] = LENGTHS,
    tries: int = TRIES,
) -> None:
    """Print p50/p99 of connect → first body byte of a resume on worker B, per stream length."""
    print(
        f"\nResume latency over HTTP: 2 uvicorn workers, one redis-server; stream started on A,"
        f" {tries} resumes on B (connect -> first body byte, ms)"
    )
    print(f"  {'':<58}{'entries':>9}{'tries':>7}{'p50':>9}{'p99':>9}")
    contenders = ([("upstream 0.0.36", "upstream")] if upstream else []) + [("ours", "ours")]
    for label, contender in contenders:
        for cursor, deltas, entries, result in _contender(redis_url, contender, lengths, tries):
            name = f"{label}, {deltas:,} deltas, {cursor}"
            if isinstance(result, str):
                print(f"  {name:<58}{entries:>9,}  {result}")
                continue
            p50, p99 = quantiles(result) if len(result) > 1 else (result[0] * 1e3,) * 2
            print(f"  {name:<58}{entries:>9,}{len(result):>7}{p50:>9.2f}{p99:>9.2f}")
