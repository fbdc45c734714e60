"""A fast run behind a slow or stalled client, per ASGI server.

Each server is started by its own command line (as deployed) serving
``tests.adapters.cli_app:app`` (the Starlette adapter), and streams the
``flood`` scenario: 64 KiB text deltas as fast as the run can make them.

* ``slow``: one client reads 64 KiB every 10 ms for ``--seconds``.
* ``stall``: one client with a 4 KiB receive buffer never reads, no send
  timeout, for ``--seconds``.
* ``timeout``: ``--clients`` such clients with ``send_timeout=0.5``: how many
  runs were stopped, how many server sockets remain.

RSS is the server's process group's (Granian runs its app in a worker).

    .venv/bin/python benchmarks/slow_servers.py --servers uvicorn,hypercorn,granian
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository, not benchmarks/ (whose http.py shadows the standard library's).
sys.path[0] = str(ROOT)

from tests.adapters.cli_servers import (  # noqa: E402
    INHERIT_SOCKETS,
    finished,
    group_rss,
    serving,
)
from tests.adapters.cli_servers import flood as request  # noqa: E402
from tests.adapters.servers import server_sockets  # noqa: E402

MB = 1 << 20


def slow(name: str, seconds: float) -> str:
    with serving(name) as (port, pgid):
        before = group_rss(pgid)
        sock = request(port, uuid.uuid4().hex, "none", None)
        got = 0
        end = time.monotonic() + seconds
        samples: list[int] = []
        while time.monotonic() < end:
            got += len(sock.recv(65536))
            time.sleep(0.01)
            if len(samples) < int(seconds - (end - time.monotonic())):
                samples.append(group_rss(pgid) - before)
        sock.close()
        growth = " ".join(f"{s / MB:.0f}" for s in samples)
        return f"slow    {name:10} read {got / MB:6.1f} MiB; RSS growth per s (MiB): {growth}"


def stall(name: str, seconds: float) -> str:
    with serving(name) as (port, pgid):
        before = group_rss(pgid)
        sock = request(port, uuid.uuid4().hex, "none", 4096)
        samples: list[int] = []
        for _ in range(int(seconds)):
            time.sleep(1)
            samples.append(group_rss(pgid) - before)
        sock.close()
        growth = " ".join(f"{s / MB:.0f}" for s in samples)
        return f"stall   {name:10} RSS growth per s (MiB): {growth}"


def timeout(name: str, clients: int, user_timeout: float | None = None) -> str:
    with serving(name, user_timeout) as (port, pgid):
        before = group_rss(pgid)
        rids = [uuid.uuid4().hex for _ in range(clients)]
        socks = [request(port, rid, "0.5", 4096) for rid in rids]
        start = time.monotonic()
        stopped = 0
        while time.monotonic() - start < 10:
            stopped = sum(finished(port, rid) for rid in rids)
            if stopped == clients:
                break
            time.sleep(0.1)
        took = time.monotonic() - start
        grown = (group_rss(pgid) - before) / MB
        held = []
        for wait in (2, 10, 20):
            time.sleep(wait - (time.monotonic() - start - took))
            held.append(f"{server_sockets(port)} at {wait} s")
        for sock in socks:
            sock.close()
        label = name if user_timeout is None else f"{name}+UT{user_timeout:g}"
        return (
            f"timeout {label:10} {stopped}/{clients} runs stopped in {took:.1f} s "
            f"(RSS +{grown:.0f} MiB); server sockets after: {', '.join(held)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="uvicorn,hypercorn,granian")
    parser.add_argument("--workloads", default="slow,stall,timeout,user_timeout")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    for workload in args.workloads.split(","):
        for name in args.servers.split(","):
            if workload == "slow":
                print(slow(name, args.seconds), flush=True)
            elif workload == "stall":
                print(stall(name, args.seconds), flush=True)
            elif workload == "timeout":
                print(timeout(name, args.clients), flush=True)
            elif name in INHERIT_SOCKETS:  # user_timeout: needs an inherited socket
                print(timeout(name, args.clients, user_timeout=1.0), flush=True)


if __name__ == "__main__":
    main()
