"""End to end: a run callback in, encoded bytes out, side by side with upstream.

Workloads (each timed best-of-N, interleaved with upstream's):

* **appends**: 200,000 ``append_text`` calls without awaiting, to Data Stream bytes;
* **appends + sleep(0)**: the same with ``await anyio.sleep(0)`` every 100 calls;
* **mixed**: 2,000 iterations of text, a tool call with 5 args deltas and a
  result, and two state mutations, to Assistant Transport bytes.

*Ours* consumes ``create_run(...).batches()`` and encodes each batch with one
``encode_many`` (what every adapter does); *ours via encode_stream* goes
through the upstream-shaped API (``DataStreamEncoder().encode_stream(run)``).
*Upstream* is ``assistant-stream`` 0.0.36's ``encode_stream(create_run(...))``,
when it is installed. Peak memory is ``tracemalloc``'s peak during one run
(``asyncio.run`` included); *growth* is that peak minus the peak of the same
contender running an empty callback: what the workload itself adds on top of
the fixed cost of a run (event loop, tasks, cancel scopes).

Then **flow control**: a producer that pipes tokens with
:func:`~assistant_stream_core.run.stream_text` into a consumer that reads
slowly; the buffer's peak is reported for growing response sizes, to show it
stays near the high-water mark whatever the size.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import anyio
from assistant_stream_ce.serialization.data_stream import DataStreamEncoder as FacadeDataStream

from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.base import Encoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.run import RunController, create_run, stream_text

Callback = Callable[[Any], Awaitable[None]]
APPENDS = 200_000
MIXED_ITERATIONS = 2_000


def appends(count: int, *, sleep_every: int = 0) -> Callback:
    """A callback that appends ``count`` small deltas."""

    async def run(controller: Any) -> None:
        for i in range(count):
            controller.append_text("tok ")
            if sleep_every and i % sleep_every == 0:
                await asyncio.sleep(0)

    return run


def mixed(iterations: int) -> Callback:
    """Text, a tool call with 5 args deltas and a result, two state mutations."""

    async def run(controller: Any) -> None:
        controller.state = {"count": 0, "log": "start"}
        for i in range(iterations):
            controller.append_text(f"Step {i}: looking it up. ")
            tool = await controller.add_tool_call("lookup")
            for piece in ('{"q": ', '"item ', f"{i}", '"', "}"):
                tool.append_args_text(piece)
            tool.set_response({"found": i})
            controller.state["count"] = i
            controller.state["log"] += "."
            await asyncio.sleep(0)

    return run


async def _ours(callback: Callback, make_encoder: Callable[[], Encoder], state: Any) -> int:
    encoder = make_encoder()
    size = 0
    async with create_run(callback, state=state) as run:
        async for batch in run.batches():
            size += len(encoder.encode_many(batch))
    return size + len(encoder.finish())


async def _ours_encode_stream(callback: Callback, state: Any) -> int:
    size = 0
    async for piece in FacadeDataStream().encode_stream(create_run(callback, state=state)):
        size += len(piece)
    return size


def _upstream_module() -> Any | None:
    try:
        return importlib.import_module("assistant_stream")
    except ImportError:
        return None


async def _upstream(upstream: Any, callback: Callback, encoder_path: str, state: Any) -> int:
    module_name, class_name = encoder_path.rsplit(":", 1)
    encoder = getattr(importlib.import_module(module_name), class_name)()
    size = 0
    async for piece in encoder.encode_stream(upstream.create_run(callback, state=state)):
        size += len(piece)
    return size


Measured = tuple[float, int, int]  # best seconds, peak bytes, growth bytes


def _peak(produce: Callable[[], Awaitable[int]]) -> int:
    gc.collect()
    tracemalloc.start()
    asyncio.run(produce())  # type: ignore[arg-type]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def _measure(
    produce: Callable[[], Awaitable[int]], empty: Callable[[], Awaitable[int]], repeat: int
) -> Measured:
    """Best time of ``repeat`` runs; the peak of one more, and its growth over ``empty``."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        asyncio.run(produce())  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - start)
    asyncio.run(empty())  # type: ignore[arg-type]  # warm, as the workload is
    peak = _peak(produce)
    return best, peak, max(peak - _peak(empty), 0)


def _row(label: str, count: int, measured: Measured, base: Measured | None) -> None:
    seconds, peak, growth = measured
    rate = count / seconds
    text = f"  {label:<34}{rate / 1e3:>10.0f}k/s{peak / 2**10:>10.0f} KiB{growth / 2**10:>8.0f} KiB"
    if base is not None:
        text += f"{base[0] / seconds:>9.1f}x{peak / base[1]:>10.2f}"
        text += f"{growth / base[2]:>10.2f}" if base[2] else f"{'-':>10}"
    print(text)


def run(
    repeat: int = 3, *, append_count: int = APPENDS, mixed_iterations: int = MIXED_ITERATIONS
) -> None:
    """Print the end-to-end table and the flow-control figures."""
    upstream = _upstream_module()
    workloads: list[tuple[str, int, Callback, Callback, Any, str]] = [
        (
            f"{append_count:,} append_text, no await",
            append_count,
            appends(append_count),
            appends(0),
            None,
            "data_stream",
        ),
        (
            f"{append_count:,} append_text, sleep(0) every 100",
            append_count,
            appends(append_count, sleep_every=100),
            appends(0),
            None,
            "data_stream",
        ),
        (
            f"mixed, {mixed_iterations:,} iterations",
            mixed_iterations,
            mixed(mixed_iterations),
            mixed(0),
            {},
            "assistant_transport",
        ),
    ]
    print(f"\nRun layer end to end, best of {repeat} (rate: deltas or iterations per second)")
    print(
        f"  {'':<34}{'rate':>12}{'peak mem':>14}{'growth':>12}"
        f"{'vs upstr.':>10}{'mem ratio':>10}{'growth r.':>10}"
    )
    for title, count, callback, empty, state, protocol in workloads:
        print(f"{title}")
        encoder_cls = DataStreamEncoder if protocol == "data_stream" else AssistantTransportEncoder
        base: Measured | None = None
        if upstream is not None:
            path = (
                "assistant_stream.serialization.data_stream:DataStreamEncoder"
                if protocol == "data_stream"
                else "assistant_stream.serialization.assistant_transport:AssistantTransportEncoder"
            )
            base = _measure(
                partial(_upstream, upstream, callback, path, state),
                partial(_upstream, upstream, empty, path, state),
                repeat,
            )
            _row("upstream 0.0.36 encode_stream", count, base, None)
        ours = _measure(
            partial(_ours, callback, encoder_cls, state),
            partial(_ours, empty, encoder_cls, state),
            repeat,
        )
        _row("ours: batches() + encode_many", count, ours, base)
        if protocol == "data_stream":
            via = _measure(
                partial(_ours_encode_stream, callback, state),
                partial(_ours_encode_stream, empty, state),
                repeat,
            )
            _row("ours: facade encode_stream()", count, via, base)
    if upstream is None:
        print("  (upstream not installed: pip install assistant-stream==0.0.36)")
    anyio.run(_flow_control, append_count)


async def _flow_control(append_count: int) -> None:
    print("\nFlow control: stream_text() into a consumer that reads 16 KiB every 1 ms")
    print(f"  {'tokens':>10}{'response':>12}{'peak buffered':>16}")
    # 20k, 80k and 320k tokens at the default size.
    for tokens in (append_count // 10, append_count * 2 // 5, append_count * 8 // 5):
        peak = await _slow_consumer(tokens)
        print(f"  {tokens:>10,}{tokens * 8 / 2**20:>10.1f} MiB{peak / 1024:>13.0f} KiB")


async def _slow_consumer(tokens: int) -> int:
    async def token_source() -> AsyncIterator[str]:
        for _ in range(tokens):
            yield "token.. "

    async def callback(controller: RunController) -> None:
        await stream_text(controller, token_source())

    peak = 0
    encoder = DataStreamEncoder()
    async with create_run(callback, high_water_mark=64 * 1024) as run:
        async for batch in run.batches():
            size = len(encoder.encode_many(batch))
            peak = max(peak, size)
            await anyio.sleep(0.001 * max(1, size // 16384))
    return peak
