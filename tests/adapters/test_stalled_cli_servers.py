"""Slow and stalled clients on Granian and Hypercorn, started by their CLI.

Both servers hold the adapter's ``send`` back while the client's socket is
full (Granian even though its ``send`` often returns an already complete
awaitable), so a run producing much faster than its client reads waits: the
server's memory stays flat, and a client that stops reading makes a write
outlast ``send_timeout``, which stops the run. What neither server does is
drop the stalled connection afterwards (uvicorn neither: see
:mod:`.test_stalled_clients`): Hypercorn can serve an inherited listening
socket carrying ``TCP_USER_TIMEOUT``; Granian binds its own, so a proxy in
front (docs/security.rst) is what ends those connections.
"""

from __future__ import annotations

import socket
import time
import uuid
from contextlib import ExitStack

import pytest

from .cli_servers import finished, flood, group_rss, serving
from .servers import server_sockets
from .test_stalled_clients import wait_until

CLIENTS = 20
MB = 1 << 20

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_USER_TIMEOUT"), reason="reads sockets and memory from Linux's /proc"
)


@pytest.mark.parametrize("name", ["granian", "hypercorn"])
def test_a_stalled_client_holds_the_run_back(name: str) -> None:
    # No send timeout: only the server's flow control stops the run making
    # 64 KiB deltas; without it the server would buffer hundreds of MiB a second.
    with serving(name) as (port, pgid), ExitStack() as stack:
        before = group_rss(pgid)
        sock = flood(port, uuid.uuid4().hex, "none", rcvbuf=4096)
        stack.callback(sock.close)
        time.sleep(0.7)
        first = group_rss(pgid)
        time.sleep(1)
        last = group_rss(pgid)
        grown = [(rss - before) / MB for rss in (first, last)]
        print(f"{name}: +{grown[0]:.1f} MiB at 0.7 s, +{grown[1]:.1f} MiB at 1.7 s")
        assert last - before < 32 * MB, "the server buffers what the client does not read"
        assert last - first < 8 * MB, "the server's memory keeps growing"


@pytest.mark.parametrize("name", ["granian", "hypercorn"])
def test_send_timeout_stops_runs_of_stalled_clients(name: str) -> None:
    with serving(name) as (port, _), ExitStack() as stack:
        rids = [uuid.uuid4().hex for _ in range(CLIENTS)]
        for rid in rids:
            stack.callback(flood(port, rid, "0.2", rcvbuf=4096).close)
        assert wait_until(lambda: all(finished(port, rid) for rid in rids), 10), (
            "a run was not stopped"
        )
        # ASGI cannot abort a connection, and neither server has a write
        # timeout of its own: each stalled socket stays until its client leaves.
        time.sleep(0.5)
        assert server_sockets(port) >= CLIENTS


def test_hypercorn_with_a_tcp_user_timeout_releases_stalled_connections() -> None:
    with serving("hypercorn", user_timeout=1.0) as (port, _), ExitStack() as stack:
        rids = [uuid.uuid4().hex for _ in range(CLIENTS)]
        for rid in rids:
            stack.callback(flood(port, rid, "0.2", rcvbuf=4096).close)
        assert wait_until(lambda: all(finished(port, rid) for rid in rids), 10), (
            "a run was not stopped"
        )
        # Zero-window probes back off exponentially: allow several intervals.
        assert wait_until(lambda: server_sockets(port) == 0, 12), (
            f"{server_sockets(port)} of {CLIENTS} stalled connections still open"
        )
