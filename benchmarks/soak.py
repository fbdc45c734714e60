"""Memory over a long soak: ``python -m benchmarks.soak --streams N [--backend B] [--every K]``.

Serves ``N`` streams through ``stream_encoded`` in this process, 250 at a
time, cycling through the ways a stream ends (completed, the run raised,
the client left, a write outlived the send timeout, the response was
cancelled, a ``drain()`` loop abandoned), and prints every ``K`` streams the
process's resident memory, its live objects and its allocated blocks. After
the first report (a warm-up) none of the three should keep rising: a
leak shows as a steady climb, where the allocator's and the caches'
settling stops early.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Callable

import anyio
import anyio.lowlevel

from assistant_stream_core.run import RunController, create_run
from assistant_stream_core.run.serve import PROTOCOL_ENCODERS, make_encoder, stream_encoded

PROTOCOLS = list(PROTOCOL_ENCODERS)
CONCURRENT = 250


def rss_mb() -> float:
    """Resident memory in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


async def _words(controller: RunController) -> None:
    for word in ("It ", "is ", "sunny."):
        controller.append_text(word)
        await anyio.lowlevel.checkpoint()


async def _fails(controller: RunController) -> None:
    controller.append_text("partial ")
    await anyio.lowlevel.checkpoint()
    raise RuntimeError("the model went away")


async def _endless(controller: RunController) -> None:
    while True:
        controller.append_text("token ")
        await anyio.sleep(0.001)


async def _drain_loop(controller: RunController) -> None:
    while True:
        controller.append_text("x" * 1024)
        await controller.drain()


class _Client:
    """A response body: ``fail_after`` writes then the connection is reset;
    ``hang_after`` writes then a write never returns."""

    def __init__(self, fail_after: int | None = None, hang_after: int | None = None) -> None:
        self.writes = 0
        self.fail_after = fail_after
        self.hang_after = hang_after

    async def __call__(self, data: bytes) -> None:
        if self.fail_after is not None and self.writes >= self.fail_after:
            raise ConnectionResetError("the client left")
        if self.hang_after is not None and self.writes >= self.hang_after:
            await anyio.sleep_forever()
        self.writes += 1


async def _serve(i: int) -> None:
    encoder = make_encoder(PROTOCOLS[i % len(PROTOCOLS)])
    way = i % 6
    if way == 0:
        await stream_encoded(create_run(_words), encoder, _Client())
    elif way == 1:
        await stream_encoded(create_run(_fails), encoder, _Client())
    elif way == 2:
        await stream_encoded(create_run(_endless), encoder, _Client(fail_after=3))
    elif way == 3:
        await stream_encoded(
            create_run(_endless), encoder, _Client(hang_after=2), send_timeout=0.02
        )
    elif way == 4:
        with anyio.move_on_after(0.005):
            await stream_encoded(create_run(_endless), encoder, _Client())
    else:
        await stream_encoded(create_run(_drain_loop, grace_period=0.01), encoder, _Client(3))


async def soak(streams: int, every: int, report: Callable[[str], object] = print) -> list[float]:
    """Serve ``streams`` streams; report every ``every``; return the RSS readings."""
    readings: list[float] = []
    report(f"{'streams':>9} {'RSS MB':>8} {'objects':>9} {'blocks':>9}")
    done = 0
    while done < streams:
        batch = min(every, streams - done)
        for first in range(done, done + batch, CONCURRENT):
            async with anyio.create_task_group() as tg:
                for i in range(first, min(first + CONCURRENT, done + batch)):
                    tg.start_soon(_serve, i)
        done += batch
        gc.collect()
        readings.append(rss_mb())
        objects = len(gc.get_objects())
        report(f"{done:>9,} {readings[-1]:>8.1f} {objects:>9,} {sys.getallocatedblocks():>9,}")
    return readings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the soak."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--streams", type=int, default=100_000, help="streams to serve")
    parser.add_argument("--every", type=int, default=10_000, help="streams between reports")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args(argv)
    # The streams' records (a run that raised, a client that left) are not the point.
    loggers = [logging.getLogger(name) for name in ("assistant_stream_ce", "assistant_stream_core")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        readings = anyio.run(soak, args.streams, args.every, backend=args.backend)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    if len(readings) > 1:
        print(f"RSS after the first report: {readings[-1] - readings[0]:+.1f} MB")


if __name__ == "__main__":
    main()
