"""A callback that swallows its cancellation (issue 13, item 7).

On asyncio it is cancelled again a few times a second until the close
timeout, then its coroutine is closed: nothing of it is left running and the
event loop is idle again. On trio (level-triggered cancellation) it spins
until it returns; the consumer stops waiting for it after the close timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time

import anyio
import pytest

from assistant_stream_core.run import RunController, create_run

pytestmark = pytest.mark.anyio


class Stubborn:
    def __init__(self) -> None:
        self.swallowed = 0
        self.closed = False

    async def __call__(self, controller: RunController) -> None:
        controller.append_text("hi")
        try:
            while True:
                try:
                    await anyio.sleep(0.05)
                except anyio.get_cancelled_exc_class():
                    self.swallowed += 1
        finally:
            self.closed = True


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_closes_a_stubborn_callback_after_the_close_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn = Stubborn()
    run = create_run(stubborn, grace_period=0.05, close_timeout=0.5)
    await run.__anext__()
    baseline = asyncio.all_tasks()
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="assistant_stream_core.run"):
        await run.aclose()
    elapsed = time.monotonic() - start
    assert 0.5 <= elapsed < 1.5
    assert stubborn.closed
    # Cancelled at most every quarter second: no busy loop meanwhile.
    assert 1 <= stubborn.swallowed <= 4
    assert "ignored cancellation" in caplog.text
    await anyio.sleep(0.1)
    # The producer and the callback's task are gone.
    assert asyncio.all_tasks() < baseline


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_consumer_cancelled_in_anext_is_not_held_forever() -> None:
    # The plain shape waits, shielded, for the callback when the consumer is
    # cancelled inside __anext__; a stubborn callback bounds that wait.
    stubborn = Stubborn()
    run = create_run(stubborn, grace_period=0.05, close_timeout=0.5)
    await run.__anext__()
    start = time.monotonic()
    with anyio.move_on_after(0.05):
        await run.__anext__()
    assert time.monotonic() - start < 1.5
    assert stubborn.closed


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_stops_waiting_for_a_stubborn_callback() -> None:
    # Stubborn for 3 s only: trio would wait for it when the test ends.
    ended = anyio.Event()

    async def stubborn(controller: RunController) -> None:
        controller.append_text("hi")
        give_up = time.monotonic() + 3
        try:
            while time.monotonic() < give_up:
                try:
                    await anyio.sleep(0.05)
                except anyio.get_cancelled_exc_class():
                    pass
        finally:
            ended.set()

    run = create_run(stubborn, grace_period=0.05, close_timeout=0.3)
    await run.__anext__()
    start = time.monotonic()
    with anyio.move_on_after(0.05):
        await run.__anext__()
    # grace + close timeout + the producer's margin, not the callback's 3 s
    assert time.monotonic() - start < 2.5
    assert not ended.is_set()
    await ended.wait()
