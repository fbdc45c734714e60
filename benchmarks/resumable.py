"""Resumable streams: the in-memory store against a plain stream, and the Redis
store side by side with upstream's (``assistant-stream`` 0.0.36).

* **In-memory**: 100,000 deltas (``sleep(0)`` every 100) through
  ``ResumableStreams.start`` read by the starting client, against the same run
  streamed plainly (``batches()`` + ``encode_many``). Target: at most 1.5x.
* **Redis, appends**: 1,000 and 10,000 deltas (``sleep(0)`` after each) as a
  resumable Data Stream, produced and read to the end by one client; Redis
  commands are counted with ``INFO commandstats`` (every command the server
  ran for the run: the producer's appends, heartbeats and finalize, the
  reader's reads; upstream's reader polls every 100 ms). Upstream: its
  context and ``create_resumable_assistant_stream_response``'s stream
  (``encode_stream``, one append per frame). Target: at most 600 commands per
  1,000 deltas.
* **Redis, one append**: 2,000 ``RedisStore.append`` calls one after the
  other, leased (the producer's plain ``XADD``) and unleased (upstream's
  API: one script), 100-byte and 16 KiB chunks: microseconds per call, best
  of ``--repeat`` (the cost of one drained batch, a round trip included).
* **Redis, resume latency**: from a second client (as another worker would):
  open the finished stream and take its first entry, for streams of 1,000,
  10,000 and 50,000 entries; p50 and p99 of 100 tries (fewer if they take
  over 20 s). Ours also from a byte offset 100 bytes short of the end
  (``open_read_at``, the Data Stream's cursor). Over HTTP, two workers: see
  :mod:`benchmarks.resume_http`. Target: p99 at most 50 ms and flat in the
  stream's length.

A private ``redis-server`` (127.0.0.1, a free port, no persistence) is
started for the Redis part; without ``redis-server`` on PATH it is skipped.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.resumable import InMemoryStore, ResumableStreams, new_stream_id
from assistant_stream_core.run import create_run

from . import resume_http
from .run import appends

IN_MEMORY_DELTAS = 100_000


async def _plain(count: int) -> int:
    encoder = DataStreamEncoder()
    size = 0
    async for batch in create_run(appends(count, sleep_every=100)).batches():
        size += len(encoder.encode_many(batch))
    return size + len(encoder.finish())


async def _resumable(count: int) -> int:
    streams = ResumableStreams(InMemoryStore(max_bytes=256 * 2**20))
    replay = await streams.start(appends(count, sleep_every=100), "data_stream")
    size = 0
    async for data in replay.read_bytes():
        size += len(data)
    return size


def _best(make: Callable[[], Awaitable[int]], repeat: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        size = asyncio.run(make())  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    return best, size


def in_memory(repeat: int, count: int = IN_MEMORY_DELTAS) -> None:
    """Print the in-memory store's cost over a plain stream."""
    print(f"\nResumable, in-memory store: {count:,} deltas, best of {repeat}")
    plain, plain_size = _best(lambda: _plain(count), repeat)
    ours, size = _best(lambda: _resumable(count), repeat)
    assert size == plain_size, (size, plain_size)
    print(f"  {'plain stream (batches + encode_many)':<44}{plain * 1e3:>9.1f} ms")
    print(f"  {'resumable (in-memory store, starting client)':<44}{ours * 1e3:>9.1f} ms")
    print(f"  resumable / plain: {ours / plain:.2f}x (target <= 1.5x)")


@contextmanager
def _redis_server() -> Iterator[str]:
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not on PATH")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [
                executable,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


async def _commands(client: Any) -> int:
    stats = await client.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_flushall")
    )


def _text_run(count: int) -> Any:
    async def run(controller: Any) -> None:
        for _ in range(count):
            controller.append_text("tok ")
            await asyncio.sleep(0)

    return run


async def _ours_redis(url: str, count: int) -> tuple[float, int, int]:
    import redis.asyncio

    from assistant_stream_core.resumable.redis import RedisStore

    client = redis.asyncio.Redis.from_url(url)
    try:
        streams = ResumableStreams(RedisStore(client))
        before = await _commands(client)
        start = time.perf_counter()
        replay = await streams.start(_text_run(count), "data_stream")
        size = 0
        async for data in replay.read_bytes():
            size += len(data)
        while await streams.status(replay.stream_id) == "streaming":  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        return elapsed, await _commands(client) - before, size
    finally:
        await client.aclose()


async def _upstream_redis(url: str, count: int) -> tuple[float, int, int]:
    import redis.asyncio

    upstream_run = _upstream("assistant_stream.create_run").create_run
    resumable = _upstream("assistant_stream.resumable")
    create_redis_resumable_stream_store = resumable.create_redis_resumable_stream_store
    create_resumable_stream_context = resumable.create_resumable_stream_context
    upstream_encoder = _upstream("assistant_stream.serialization.data_stream").DataStreamEncoder

    client = redis.asyncio.Redis.from_url(url)
    try:
        context = create_resumable_stream_context(store=create_redis_resumable_stream_store(client))

        async def make() -> Any:
            async for frame in upstream_encoder().encode_stream(upstream_run(_text_run(count))):
                yield frame.encode()

        before = await _commands(client)
        start = time.perf_counter()
        sid = new_stream_id()
        size = 0
        async for data in await context.run(sid, make):
            size += len(data)
        elapsed = time.perf_counter() - start
        return elapsed, await _commands(client) - before, size
    finally:
        await client.aclose()


async def _append_cost(url: str, size: int, count: int = 2_000, *, leased: bool = True) -> float:
    """Microseconds per append of ``size`` bytes, one after the other.

    ``leased=False``: upstream's ``append`` without a lease (one script).
    """
    import redis.asyncio

    from assistant_stream_core.resumable.redis import RedisStore

    client = redis.asyncio.Redis.from_url(url)
    try:
        store = RedisStore(client)
        sid = new_stream_id()
        lease = await store.acquire_lease(sid)
        assert lease is not None
        use = lease if leased else None
        chunk = b"x" * size
        await store.append(sid, chunk, use)  # the first creates the key (and loads the script)
        start = time.perf_counter()
        for _ in range(count):
            await store.append(sid, chunk, use)
        elapsed = time.perf_counter() - start
        await store.finalize(sid, "done", lease=lease)
        return elapsed / count * 1e6
    finally:
        await client.aclose()


async def _fill(url: str, entries: int, *, upstream: bool) -> str:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    sid = new_stream_id()
    try:
        if upstream:
            resumable = _upstream("assistant_stream.resumable")
            store: Any = resumable.create_redis_resumable_stream_store(client)
            await store.acquire(sid)
            for i in range(entries):
                await store.append(sid, _entry(i))
            await store.finalize(sid, "done")
        else:
            from assistant_stream_core.resumable.redis import RedisStore

            ours = RedisStore(client)
            lease = await ours.acquire_lease(sid)
            assert lease is not None
            for i in range(entries):
                await ours.append(sid, _entry(i), lease)
            await ours.finalize(sid, "done", lease=lease)
    finally:
        await client.aclose()
    return sid


def _size(entries: int) -> int:
    """The bytes :func:`_fill` stores for ``entries`` entries."""
    return sum(len(_entry(i)) for i in range(entries))


def _entry(i: int) -> bytes:
    return b'0:"tok %d "\n' % i


async def _first_entry_latency(
    url: str, sid: str, tries: int, *, upstream: bool, offset: int | None = None
) -> list[float]:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    times: list[float] = []
    try:
        if upstream:
            resumable = _upstream("assistant_stream.resumable")
            store: Any = resumable.create_redis_resumable_stream_store(client)
        else:
            from assistant_stream_core.resumable.redis import RedisStore

            ours = RedisStore(client)
        await client.ping()
        deadline = time.monotonic() + resume_http.BUDGET
        while len(times) < tries and time.monotonic() < deadline:
            start = time.perf_counter()
            if upstream:
                signal = asyncio.Event()
                reader = store.read(sid, "", signal)
                await reader.__anext__()
                signal.set()
                await reader.aclose()
            else:
                if offset is None:
                    entries = await ours.open_read(sid)
                else:
                    entries = await ours.open_read_at(sid, offset)
                await entries.__anext__()
                await entries.aclose()  # type: ignore[attr-defined]
            times.append(time.perf_counter() - start)
    finally:
        await client.aclose()
    return times


def _upstream(name: str) -> Any:
    return importlib.import_module(name)


def _upstream_available() -> bool:
    try:
        _upstream("assistant_stream.resumable")
    except ImportError:
        return False
    return True


def redis_suite(
    repeat: int,
    *,
    lengths: tuple[int, ...] = resume_http.LENGTHS,
    tries: int = resume_http.TRIES,
) -> None:
    """Print commands per 1,000 deltas, append rates and resume latencies.

    ``lengths`` and ``tries`` size the resume-latency measurements (in the
    store and over HTTP).
    """
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        print("\nResumable, Redis: skipped (pip install 'assistant-stream-ce[redis]')")
        return
    if shutil.which("redis-server") is None:
        print("\nResumable, Redis: skipped (redis-server is not on PATH)")
        return
    upstream = _upstream_available()
    with _redis_server() as url:
        print(f"\nResumable, Redis store: a Data Stream run, sleep(0) per delta, best of {repeat}")
        print(f"  {'':<34}{'deltas/s':>10}{'commands':>10}{'per 1,000':>11}")
        for count in (1_000, 10_000):
            rows = [("ours", _ours_redis)]
            if upstream:
                rows.insert(0, ("upstream 0.0.36", _upstream_redis))
            for label, contender in rows:
                best: tuple[float, int, int] | None = None
                for _ in range(repeat):
                    result = asyncio.run(contender(url, count))
                    if best is None or result[0] < best[0]:
                        best = result
                assert best is not None
                seconds, commands, _ = best
                name = f"{label}, {count:,} deltas"
                print(
                    f"  {name:<34}{count / seconds:>10.0f}{commands:>10}"
                    f"{commands * 1000 / count:>11.0f}"
                )
        print(f"\nRedis store, one append (us per call, 2,000 calls, best of {repeat})")
        for leased in (True, False):
            for size in (100, 16_384):
                costs = [asyncio.run(_append_cost(url, size, leased=leased)) for _ in range(repeat)]
                runs = " ".join(f"{cost:.0f}" for cost in costs)
                name = f"{'leased' if leased else 'unleased'}, {size:,}-byte chunks"
                print(f"  {name:<34}{min(costs):>10.0f}   (runs: {runs})")
        print(f"\nResume latency: open a finished stream, first entry (ms, {tries} tries)")
        print(f"  {'':<44}{'tries':>7}{'p50':>8}{'p99':>8}")
        for entries in lengths:
            readers: list[tuple[str, bool, int | None]] = [
                ("ours", False, None),
                ("ours, offset near the end", False, _size(entries) - 100),
            ]
            if upstream:
                readers.insert(0, ("upstream 0.0.36", True, None))
            for label, is_upstream, offset in readers:
                name = f"{label}, {entries:,} entries"
                sid = asyncio.run(_fill(url, entries, upstream=is_upstream))
                try:
                    times = asyncio.run(
                        _first_entry_latency(url, sid, tries, upstream=is_upstream, offset=offset)
                    )
                except Exception as exc:  # upstream reads the whole stream at once
                    print(f"  {name:<44}  failed: {type(exc).__name__}: {exc}")
                    continue
                p50, p99 = resume_http.quantiles(times) if len(times) > 1 else (times[0] * 1e3,) * 2
                print(f"  {name:<44}{len(times):>7}{p50:>8.2f}{p99:>8.2f}")
        resume_http.run(url, upstream=upstream, lengths=lengths, tries=tries)


def run(repeat: int = 3, *, quick: bool = False) -> None:
    """Every part; ``quick``: one small stream length and few tries (a smoke test)."""
    in_memory(repeat, count=10_000 if quick else IN_MEMORY_DELTAS)
    if quick:
        redis_suite(repeat, lengths=(1_000,), tries=20)
    else:
        redis_suite(repeat)
