"""The shared guard's registry never keeps an event loop alive.

A response leaves the registry in its ``finally:``; a loop closed (or a
test's loop dropped) with responses still registered never runs it. The
registry must then let the loop and its guard go, not keep both for the
life of the process.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref
from collections.abc import Callable

import pytest

from assistant_stream_core.run import _guard

from ..conftest import IN_CI


class _Member:
    """A stand-in response that never leaves."""

    tick = _guard.GUARD_TICK

    def check(self, now: float) -> None:
        pass


def _new_loop(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            if IN_CI:
                raise
            pytest.skip("uvloop is missing; ./scripts/test.sh installs it (the test extra)")
        return uvloop.new_event_loop
    return asyncio.new_event_loop


@pytest.mark.parametrize(
    ("kind", "closed"),
    [
        pytest.param("asyncio", True, id="closed-asyncio"),
        pytest.param("uvloop", True, id="closed-uvloop"),
        pytest.param("asyncio", False, id="dropped-asyncio"),
        pytest.param(
            "uvloop",
            False,
            id="dropped-uvloop",
            marks=pytest.mark.allow_leaks(
                reason="uvloop keeps the descriptors of a loop collected unclosed; "
                "dropping one is what this test does"
            ),
        ),
    ],
)
def test_a_loop_left_with_a_watched_member_is_collected(kind: str, closed: bool) -> None:
    member = _Member()
    loop = _new_loop(kind)()
    _guard.watch(loop, member)
    assert _guard.watched(loop) == 1
    entries = len(_guard._guards)
    if closed:
        loop.close()
    gone = weakref.ref(loop)
    del loop
    with warnings.catch_warnings():
        # An unclosed loop says so when it is collected: that is the point.
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert gone() is None
    assert len(_guard._guards) == entries - 1
    assert member.tick == _guard.GUARD_TICK  # the member itself lives on


def test_a_loop_in_use_keeps_its_guard() -> None:
    # Held weakly, the guard must still live while its timer is pending.
    loop = asyncio.new_event_loop()
    try:
        member = _Member()
        _guard.watch(loop, member)
        gc.collect()
        guard = _guard.guard_of(loop)
        assert guard is not None
        assert guard.handle is not None
        assert _guard.watched(loop) == 1
        _guard.unwatch(loop, member)
        assert _guard.guard_of(loop) is None
    finally:
        loop.close()
