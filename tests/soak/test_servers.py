"""Thousands of streams through real servers, ended every way, leave nothing.

Each server (uvicorn + Starlette, aiohttp, Django's ASGI handler under
uvicorn; one worker) runs in its own process (:mod:`.server`). Clients on
real sockets cycle through :data:`.clients.WAYS`: read to the end (a run
that completes, one that raises, one whose chunk cannot be encoded), leave
mid-stream (a run writing tokens, a run looping on ``drain()``, a tool call
waiting for approval), or stall with a small receive window until the
server's send timeout ends the stream. After a warm-up, two rounds of
:data:`ROUND` streams each: a kind of object whose count grows in both
rounds (by half of what one object per stream of a single way adds) is a
leak, where a cache that fills during the first round is not.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.resumable.workers import ROOT, _free_port, _wait_ready

from . import clients
from .leaks import BLOCKS, describe

pytestmark = pytest.mark.slow

#: Streams before the first census.
WARMUP = 400
#: Streams per round: each of the eight ways 125 times.
ROUND = 1000
#: A type is flagged when it grows by this much in each round: half of what
#: a leak of one object per stream of a single way adds.
LIMIT = ROUND // (2 * len(clients.WAYS))
#: Allocated blocks (which also count what the collector does not track) are
#: flagged from a quarter of ROUND: a server's caches settle over thousands
#: of requests (Django's add some 800 blocks over its first 2,000 streams),
#: and the in-process tests hold the blocks of each way to a tighter limit.
BLOCKS_LIMIT = ROUND // 4


def send_timeouts(census: dict[str, Any]) -> int:
    """The server's records of a stream ended by its send timeout."""
    return sum(n for msg, n in census["records"].items() if "longer than the send timeout" in msg)


@pytest.fixture(params=["starlette", "aiohttp", "django"])
def port(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.soak.server", request.param, str(port)],
            cwd=ROOT,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(port, process)
        yield port
        assert process.poll() is None, log.read_text(errors="replace")
    finally:
        process.kill()
        process.wait(10)


def settled(port: int) -> dict[str, Any]:
    """A census once every response and run of the server has ended."""
    deadline = time.monotonic() + 10
    while True:
        result = clients.census(port)
        open_runs = Counter(result["started"]) - Counter(result["ended"])
        if not open_runs and not any(result["registries"].values()):
            return result
        assert time.monotonic() < deadline, (open_runs, result["registries"])
        time.sleep(0.05)


def test_streams_ended_every_way_leave_nothing_behind(port: int) -> None:
    asyncio.run(clients.soak(port, WARMUP))
    settled(port)  # the census's own first use (imports, caches)
    first = settled(port)
    asyncio.run(clients.soak(port, ROUND))
    second = settled(port)
    asyncio.run(clients.soak(port, ROUND))
    third = settled(port)

    counts = [Counter(census["counts"]) for census in (first, second, third)]
    leaks = {}
    for name in counts[2]:
        limit = BLOCKS_LIMIT if name == BLOCKS else LIMIT
        rounds = [counts[i + 1][name] - counts[i][name] for i in range(2)]
        if min(rounds) >= limit:
            leaks[name] = sum(rounds)
    assert not leaks, describe(leaks, 2 * ROUND)

    # Every run's finally: ran, and the stalled clients' streams really ended
    # by the send timeout (most: on a loaded machine the server may fill a buffer late).
    assert third["started"] == third["ended"]
    assert sum(third["started"].values()) == WARMUP + 2 * ROUND
    stalls = 2 * ROUND // len(clients.WAYS)
    timed_out = send_timeouts(third) - send_timeouts(first)
    assert timed_out >= stalls // 2, (timed_out, stalls)
