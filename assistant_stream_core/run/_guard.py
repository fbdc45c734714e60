"""One timer per asyncio event loop for every response's keepalive and send timeout.

A response's keepalive and send-timeout checks need a clock, not a timer of
their own. With a timer per response, an event loop serving a thousand
streams keeps a thousand extra entries in its timer heap, and every timer a
run sets (a model's client waiting on its socket, ``asyncio.sleep``) pays
for them on each push and pop. Here one periodic ``call_later`` per loop
looks at every live response and:

* ends a response whose write has taken longer than its send timeout;
* wakes a response that has been silent for its keepalive interval, whose
  guard task then writes the keepalive.

The price is granularity: a check runs every :data:`GUARD_TICK` seconds, or
more often while a response with a short interval is registered (an eighth
of its shortest interval), so a keepalive comes up to one tick after the
interval and a hung write ends up to one tick after the send timeout.

Responses register with :func:`watch` and leave with :func:`unwatch`; the
timer stops and the loop's entry goes away with the last one. Trio has no
shared timer (see ``_Streamer.guard``).

The registry never keeps a loop alive: it is keyed by the loop's ``id`` and
holds its guard weakly. A guard is kept alive by its own pending timer (the
loop's timer heap holds the timer, the timer its guard), and the guard holds
its loop, so the ``id`` cannot be reused while the entry exists. A loop
closed (which drops its pending timers) or dropped while responses are
still registered then takes its guard with it, instead of both living as
long as the process.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from time import monotonic
from typing import Final, Protocol

__all__ = [
    "GUARD_TICK",
    "GUARD_FRACTION",
    "Guarded",
    "LoopGuard",
    "guard_of",
    "unwatch",
    "watch",
    "watched",
]

#: Seconds between two checks of the live responses, at most.
GUARD_TICK: Final = 1.0
#: A response with a keepalive interval or send timeout shorter than
#: ``GUARD_TICK / GUARD_FRACTION`` is checked every ``1 / GUARD_FRACTION`` of it.
GUARD_FRACTION: Final = 8


class Guarded(Protocol):
    """What the shared timer needs of a response."""

    #: Seconds between two checks this response needs, at most.
    tick: float

    def check(self, now: float) -> None:
        """Look at the response's clock: end a hung write, wake a keepalive."""


class LoopGuard:
    """The live responses of one event loop and the timer that checks them."""

    # __weakref__: the registry holds guards weakly.
    __slots__ = ("__weakref__", "handle", "loop", "members", "tick")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        # A dict, not a set: checked in the order they came.
        self.members: dict[Guarded, None] = {}
        self.handle: asyncio.TimerHandle | None = None
        self.tick = GUARD_TICK

    def add(self, member: Guarded) -> None:
        self.members[member] = None
        if self.handle is None or member.tick < self.tick:
            # The first response, or one that needs looking at more often.
            if self.handle is not None:
                self.handle.cancel()
            self.tick = min(self.tick, member.tick)
            self.handle = self.loop.call_later(self.tick, self.check)

    def remove(self, member: Guarded) -> bool:
        """Forget ``member``; ``True`` when none is left (the timer is stopped)."""
        self.members.pop(member, None)
        if self.members:
            return False
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        return True

    def leave(self, member: Guarded) -> None:
        """Forget ``member``; with the last one, leave the registry too."""
        if self.remove(member):
            key = id(self.loop)
            ref = _guards.get(key)
            if ref is not None and ref() is self:
                del _guards[key]

    def check(self) -> None:
        now = monotonic()
        tick = GUARD_TICK
        try:
            # A copy: a check may end a response, which may leave at once.
            for member in list(self.members):
                member.check(now)
                if member.tick < tick:
                    tick = member.tick
        finally:
            # Re-armed from what is registered now: a short-interval
            # response that left no longer sets the pace.
            self.tick = tick
            self.handle = self.loop.call_later(tick, self.check) if self.members else None


#: ``id(loop)`` -> a weak reference to its guard (see the module's docstring).
#: A plain dict of references, not a ``WeakValueDictionary``: lookups are on
#: every response's path and this is the cheaper of the two.
_guards: dict[int, weakref.ref[LoopGuard]] = {}


def _forget(key: int, ref: weakref.ref[LoopGuard]) -> None:
    # The guard was collected with its loop: drop its entry (if still its).
    if _guards.get(key) is ref:
        del _guards[key]


def guard_of(loop: asyncio.AbstractEventLoop) -> LoopGuard | None:
    """``loop``'s guard, if it has one."""
    ref = _guards.get(id(loop))
    return None if ref is None else ref()


def watch(loop: asyncio.AbstractEventLoop, member: Guarded) -> LoopGuard:
    """Have ``loop``'s shared timer check ``member`` until it leaves.

    Returns the loop's guard: ``guard.leave(member)`` is :func:`unwatch`
    without looking the guard up again.
    """
    guard = guard_of(loop)
    if guard is None:
        key = id(loop)
        guard = LoopGuard(loop)
        _guards[key] = weakref.ref(guard, functools.partial(_forget, key))
    guard.add(member)
    return guard


def unwatch(loop: asyncio.AbstractEventLoop, member: Guarded) -> None:
    """Stop checking ``member``; the loop's timer stops with its last response."""
    guard = guard_of(loop)
    if guard is not None:
        guard.leave(member)


def watched(loop: asyncio.AbstractEventLoop) -> int:
    """How many responses ``loop``'s shared timer checks (for tests)."""
    guard = guard_of(loop)
    return 0 if guard is None else len(guard.members)
