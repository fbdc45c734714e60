"""A stopped run's awaits are real checkpoints (issue 13, item 1).

After the consumer leaves, the run's cancellation is a timer on the event loop
(the end of the grace period). A callback that loops on ``append_text`` +
``await controller.drain()`` without looking at ``is_cancelled`` gets that
cancellation only if ``drain()`` lets the loop run. Each callback here counts
its turns after the stop and gives up on its own after far more than a grace
period's worth, so a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest

from assistant_stream_core.run import RunController, create_run

pytestmark = pytest.mark.anyio

# Far more turns than fit in the grace period once the loop runs (a turn that
# yields costs microseconds): reaching it means the loop was starved.
SPIN_LIMIT = 300_000

Step = Callable[[RunController, int], Awaitable[object]]


async def drain_step(controller: RunController, i: int) -> object:
    controller.append_text("x" * 1024)
    await controller.drain()
    return None


async def tool_step(controller: RunController, i: int) -> object:
    tool = await controller.add_tool_call("f", f"call_{i}")
    if not controller.is_cancelled:
        # Let the consumer in while the run is open (add_tool_call does not
        # wait); after the stop only add_tool_call itself may yield.
        await anyio.lowlevel.checkpoint()
    return tool


def stubborn(step: Step, outcome: dict[str, str]) -> Callable[[RunController], Awaitable[None]]:
    async def run(controller: RunController) -> None:
        spins = 0
        i = 0
        try:
            while True:
                i += 1
                if controller.is_cancelled:
                    spins += 1
                    if spins > SPIN_LIMIT:
                        outcome["end"] = "spun"
                        return
                await step(controller, i)
        except anyio.get_cancelled_exc_class():
            outcome["end"] = "cancelled"
            raise

    return run


@pytest.mark.parametrize("step", [drain_step, tool_step], ids=["drain", "add_tool_call"])
async def test_a_loop_that_ignores_is_cancelled_is_cancelled_after_the_grace_period(
    step: Step,
) -> None:
    outcome: dict[str, str] = {}
    ticks = 0

    async def ticker() -> None:
        # Another task of the same loop: it must keep running meanwhile.
        nonlocal ticks
        while True:
            await anyio.sleep(0.005)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        run = create_run(stubborn(step, outcome), high_water_mark=4096, grace_period=0.1)
        await run.__anext__()
        start = time.monotonic()
        ticks_before = ticks
        await run.aclose()
        elapsed = time.monotonic() - start
        tg.cancel_scope.cancel()
    assert outcome == {"end": "cancelled"}
    assert 0.1 <= elapsed < 1
    assert ticks > ticks_before, "the event loop was starved during the grace period"


async def test_the_async_with_shape_ends_a_drain_loop_too() -> None:
    outcome: dict[str, str] = {}
    start = 0.0
    with anyio.fail_after(5):
        async with create_run(
            stubborn(drain_step, outcome), high_water_mark=4096, grace_period=0.05
        ) as run:
            async for _ in run.batches():
                start = time.monotonic()
                break
    assert outcome == {"end": "cancelled"}
    assert time.monotonic() - start < 1
