"""Real-socket clients that end a stream every way, against a :mod:`.server` process.

Each client opens its own connection and sends one ``GET``: it reads to the
end, leaves once it has seen a given marker, or stalls (a small receive
window, nothing read) until the server's send timeout has ended the stream.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.request import urlopen

#: The server's send timeout for a stalled client's stream, in seconds.
STALL_SEND_TIMEOUT = 0.3
#: How long a stalled client holds its connection: past the send timeout
#: and the guard's tick (an eighth of it), with a margin for a loaded
#: machine (the server's send buffer is small: see server.SEND_BUFFER).
STALL_HOLD = 2.5


@dataclass(frozen=True)
class Way:
    """One way a client ends a stream: the run's mode, the protocol, what the
    client does, and the marker it reads up to (to the end: what the body holds)."""

    mode: str
    protocol: str
    client: str  # "read" (to the end), "leave" (at the marker), "stall"
    marker: bytes


#: Every way, in the order the soak cycles through them.
WAYS = [
    Way("complete", "data_stream", "read", b"sunny."),
    Way("complete", "ui_message_stream", "read", b"[DONE]"),
    Way("raise", "assistant_transport", "read", b"the model went away"),
    Way("encode", "ag_ui", "read", b"could not be encoded"),
    Way("endless", "openai_chat", "leave", b"t3 "),
    Way("flood", "data_stream", "leave", b"x" * 9000),
    Way("flood", "data_stream", "stall", b""),
    Way("approval", "ui_message_stream", "leave", b"tool-approval-request"),
]


def census(port: int) -> dict[str, Any]:
    with urlopen(f"http://127.0.0.1:{port}/census", timeout=30) as response:
        result: dict[str, Any] = json.load(response)
    return result


async def _connect(port: int, *, small_window: bool) -> socket.socket:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_window:
        # Before connecting: the window the server may fill is set then.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    return sock


async def one(port: int, way: Way) -> None:
    """Serve one stream ``way``; fail if the server did not answer as it should."""
    loop = asyncio.get_running_loop()
    query = f"mode={way.mode}&protocol={way.protocol}"
    if way.client == "stall":
        # Large writes: the server fills the socket's buffers in few steps.
        query += f"&send_timeout={STALL_SEND_TIMEOUT}&size=65536"
    sock = await _connect(port, small_window=way.client == "stall")
    try:
        request = f"GET /stream?{query} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n"
        await loop.sock_sendall(sock, request.encode())
        if way.client == "stall":
            await asyncio.sleep(STALL_HOLD)  # reads nothing
            return
        data = b""
        while True:
            piece = await loop.sock_recv(sock, 65536)
            if not piece:
                break
            data += piece
            if way.client == "leave" and way.marker in data:
                return
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
        assert way.marker in data, (way, data[-300:])
        assert way.client == "read", f"the server ended the stream before {way.marker!r}"
    finally:
        sock.close()


async def soak(port: int, streams: int, concurrent: int = 64) -> Counter[Way]:
    """Serve ``streams`` streams, cycling through :data:`WAYS`, ``concurrent``
    at a time (and as many stalled ones, which only wait); count each way."""
    busy = asyncio.Semaphore(concurrent)
    stalled = asyncio.Semaphore(concurrent)
    served: Counter[Way] = Counter()

    async def serve(way: Way) -> None:
        async with stalled if way.client == "stall" else busy:
            await asyncio.wait_for(one(port, way), 30)
        served[way] += 1

    async with asyncio.TaskGroup() if hasattr(asyncio, "TaskGroup") else _Gather() as tg:
        for i in range(streams):
            tg.create_task(serve(WAYS[i % len(WAYS)]))
    return served


class _Gather:
    """``asyncio.TaskGroup`` for Python 3.10: gathers the tasks at the end."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []

    def create_task(self, coro: Any) -> None:
        self.tasks.append(asyncio.ensure_future(coro))

    async def __aenter__(self) -> _Gather:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*self.tasks)
