"""Count what a process holds, and tell which kinds of object grew with N streams.

A per-stream leak of one small object is invisible in a single stream and
fatal after a few million. Served N times, it shows as a type whose live
count grows by about N; everything else a process allocates on the way
(caches, free lists, interned names) is bounded. :func:`census` counts the
objects the garbage collector tracks, by type, plus the interpreter's
allocated memory blocks (which also counts what the collector does not
track: ``bytes``, ``str``, numbers); :func:`grown` compares two censuses
against N.
"""

from __future__ import annotations

import gc
import sys
from collections import Counter

#: The census entry for the interpreter's allocated memory blocks.
BLOCKS = "<allocated blocks>"


def drop_stale_deadlines() -> None:
    """On trio, drop the timer heap's entries for scopes that have left.

    Trio leaves a cancel scope's deadline in its heap when the scope exits
    and prunes the heap only once the stale entries outnumber the live ones
    by a margin (about a thousand): bounded, but as large as a small N's
    leak. Pruned here (what trio itself does then), a census counts only
    the scopes that are still alive.
    """
    try:
        import trio
    except ImportError:
        return
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:  # not on trio
        return
    runner = trio._core._run.GLOBAL_RUN_CONTEXT.runner
    runner.deadlines._prune()


def census() -> Counter[str]:
    """Live objects by type (after a full collection), and allocated blocks."""
    drop_stale_deadlines()
    gc.collect()
    gc.collect()  # what the first one's finalizers let go
    by_type = Counter(map(type, gc.get_objects()))
    counts = Counter({f"{kind.__module__}.{kind.__qualname__}": n for kind, n in by_type.items()})
    counts[BLOCKS] = sys.getallocatedblocks()
    return counts


def grown(before: Counter[str], after: Counter[str], streams: int) -> dict[str, int]:
    """The types whose count grew by at least a quarter of ``streams``.

    A quarter: a leak of one object every four streams still shows, while the
    bounded noise of a process (a cache filling, a free list) stays far below
    it for the N the soak tests use.
    """
    limit = max(1, streams // 4)
    growth = {name: after[name] - before[name] for name in after}
    return {name: delta for name, delta in growth.items() if delta >= limit}


def describe(growth: dict[str, int], streams: int, what: str = "live objects grew") -> str:
    """A failure message: each grown type, by how much, and per stream."""
    lines = [
        f"{name}: +{delta} ({delta / streams:.2f} per stream)"
        for name, delta in sorted(growth.items(), key=lambda item: -item[1])
    ]
    return f"{what} with {streams} streams:\n  " + "\n  ".join(lines)


def collect_garbage() -> Counter[str]:
    """Collect, and return by type what only the cycle collector could free.

    Call with the collector disabled since the objects of interest were made.
    """
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found
