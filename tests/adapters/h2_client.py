"""A blocking HTTP/2 client on a real socket, for what httpx does not expose.

The ``h2`` library (the protocol state machine Hypercorn and httpx use) over a
plain or TLS socket: a test opens several streams on one connection, resets
one (``RST_STREAM``), or stops crediting one stream's flow-control window
while the connection's window (and so every other stream) keeps moving.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events


class _Connection(h2.connection.H2Connection):
    """h2's connection, still reading after a GOAWAY.

    h2 takes every GOAWAY for the connection's end and fails on any frame
    after it, but a server shutting down gracefully sends one and then
    finishes the streams up to its last stream id (RFC 9113, 6.8), as
    browsers expect.
    """

    def _receive_goaway_frame(self, frame: Any) -> Any:
        result = super()._receive_goaway_frame(frame)
        self.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        return result


@dataclass
class Stream:
    """What one stream has received so far."""

    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    #: Seconds since the request when each DATA frame arrived.
    arrivals: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    ended: bool = False
    reset: int | None = None  # the server's RST_STREAM error code


class H2Client:
    """One HTTP/2 connection: requests, resets, and per-stream window control.

    ``tls``: a client context (ALPN ``h2`` is set here); ``None``: h2c with
    prior knowledge. Each stream's window is h2's default, 65,535 bytes.
    """

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            raw = tls.wrap_socket(raw, server_hostname="127.0.0.1")
            assert raw.selected_alpn_protocol() == "h2", raw.selected_alpn_protocol()
        self.sock = raw
        self.authority = f"127.0.0.1:{port}"
        self.scheme = "https" if tls is not None else "http"
        self.conn = _Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.streams: dict[int, Stream] = {}
        #: Streams whose window the client no longer credits (a reader that stopped).
        self.stalled: set[int] = set()
        #: The last stream id of each GOAWAY received.
        self.goaways: list[int] = []
        self.closed = False
        self._flush()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def get(self, path: str) -> int:
        """Send ``GET path`` on a new stream; return its id."""
        stream_id: int = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":scheme", self.scheme),
            (":authority", self.authority),
            (":path", path),
        ]
        self.conn.send_headers(stream_id, headers, end_stream=True)
        self.streams[stream_id] = Stream()
        self._flush()
        return stream_id

    def reset(self, stream_id: int) -> None:
        """Cancel the stream (``RST_STREAM CANCEL``), as a browser's abort does."""
        self.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        self._flush()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, event: h2.events.Event) -> None:
        match event:
            case h2.events.ResponseReceived(stream_id=sid, headers=headers):
                stream = self.streams[sid]
                stream.headers = dict(headers)
                stream.status = int(stream.headers[b":status"])
            case h2.events.DataReceived(stream_id=sid, data=data, flow_controlled_length=n):
                stream = self.streams[sid]
                stream.body += data
                stream.arrivals.append(time.monotonic() - stream.started)
                if sid in self.stalled:
                    # Credit the connection only: the stream's window runs dry.
                    self.conn.increment_flow_control_window(n)
                elif n:
                    self.conn.acknowledge_received_data(n, sid)
            case h2.events.StreamEnded(stream_id=sid):
                self.streams[sid].ended = True
            case h2.events.StreamReset(stream_id=sid, error_code=code):
                if sid in self.streams:
                    self.streams[sid].reset = int(code)
            case h2.events.ConnectionTerminated(last_stream_id=last):
                self.goaways.append(last)
            case _:
                pass

    def pump(self, timeout: float = 0.05) -> bool:
        """Read what arrives within ``timeout``; ``False`` once the server closed."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except (TimeoutError, ssl.SSLWantReadError):
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        for event in self.conn.receive_data(data):
            self._handle(event)
        self._flush()
        return True

    def until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Pump until ``predicate()`` holds (``True``) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline or not self.pump():
                return predicate()
        return True
