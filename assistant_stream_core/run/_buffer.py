"""The buffer between a run's producer (the controller) and its consumer.

Why a plain list behind a :class:`threading.Lock`: controller methods are
synchronous (as upstream's are) and may be called from worker threads
(``anyio.to_thread.run_sync`` inside the callback). A lock-guarded list makes
``append_text`` one lock round trip and one ``list.append`` — no event-loop
call per chunk, no queue, no task switch. The consumer takes *everything*
pending at once, so an adapter writes one buffer per take.

Why coalescing: while the consumer is behind, a delta that continues the last
buffered delta (text or reasoning with the same ``parent_id``, tool-call args
with the same ``tool_call_id``) joins it instead of becoming a new chunk. The
pieces are kept in a list and joined once, when the tail is sealed, so 200,000
``append_text`` calls cost 200,000 ``list.append`` calls and a few
``str.join`` — not a quadratic chain of concatenations. State operations
coalesce the same way into one ``update-state`` chunk, which is also what
keeps them ahead of the next non-state chunk.

Why bounds: behind a slow client a producer that never calls ``drain()`` can
buffer megabytes. A merged delta stops growing at :data:`MERGE_LIMIT`
characters (the tail is sealed and a new one starts), and a take hands over
about :data:`TAKE_LIMIT` characters at a time, leaving the rest pending. So the
buffer holds the producer's strings about once, and the consumer never holds a
multi-megabyte string, its JSON and its bytes at the same time. A single delta
larger than the bounds is never split: it is the caller's own string.

The consumer is woken only when it is actually waiting (one wake per wait, not
per chunk). At a model's pace every token is a wait and a wake, so the waiter
is the cheapest the backend has: on asyncio a bare future of the loop (an
:class:`anyio.Event` costs several times more to make, set and await), on trio
an :class:`anyio.Event`. From another thread the wake goes through the loop's
own thread-safe call, with the loop captured when iteration starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from threading import get_ident
from typing import Any, Final

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..chunks import (
    Chunk,
    ErrorChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallDeltaChunk,
    UpdateStateChunk,
)
from ..state import Operation
from .errors import RunClosedError

__all__ = ["CHUNK_COST", "MERGE_LIMIT", "TAKE_LIMIT", "ChunkBuffer"]

#: Size charged for a chunk that is not a text delta (and for each state
#: operation) when comparing the buffer with the high-water mark. Deltas are
#: charged their length in characters.
CHUNK_COST: Final = 64
#: Characters after which a merged delta stops growing (a delta that would
#: take it past this starts the next chunk).
MERGE_LIMIT: Final = 32 * 1024
#: Size (as charged above) after which one take stops: the rest stays pending
#: for the next take, which does not wait.
TAKE_LIMIT: Final = 64 * 1024

# Kinds of the open "tail" (the last, still growing, buffered item).
_NONE: Final = 0
_TEXT: Final = 1
_REASONING: Final = 2
_ARGS: Final = 3
_OPS: Final = 4

# Buffer life cycle.
_OPEN: Final = 0
_CANCELLED: Final = 1  # the consumer left: writes are dropped quietly
_ENDED: Final = 2  # the run is over: writes raise RunClosedError


class ChunkBuffer:
    """Pending chunks, a coalescing tail, and the consumer's wake-up.

    Not public: :class:`~assistant_stream_core.run.RunController` writes to it,
    :class:`~assistant_stream_core.run.Run` reads from it.
    """

    __slots__ = (
        "_chunks",
        "_done",
        "_drain_event",
        "_high_water_mark",
        "_lock",
        "_loop",
        "_loop_thread",
        "_new_future",
        "_size",
        "_start",
        "_status",
        "_tail_items",
        "_tail_key",
        "_tail_kind",
        "_tail_size",
        "_token",
        "_write_through",
        "through",
        "waiter",
    )

    def __init__(self, high_water_mark: int) -> None:
        self._lock = threading.Lock()
        self._chunks: list[Chunk] = []
        self._start = 0  # chunks before this index were taken
        self._tail_kind = _NONE
        self._tail_key: str | None = None
        self._tail_items: list[str] | list[Operation] = []
        self._tail_size = 0  # characters in a delta tail
        self._size = 0
        self._high_water_mark = high_water_mark
        self._status = _OPEN
        self._done = False
        #: The consumer's armed waiter (a future on asyncio, an anyio.Event on
        #: trio) until a write wakes it, else None. Read by the serving loop:
        #: on asyncio a take that empties the buffer arms it at once.
        self.waiter: Any = None
        #: The serving loop's write-through, armed (see :meth:`poll`) exactly
        #: while a write may go through: nothing is pending, the waiter is
        #: armed and the run is open. A write that finds it armed hands its
        #: chunk to ``through(chunk)`` instead of buffering it, and buffers
        #: it as usual if that returns ``False`` (it does for a write from
        #: another thread than the loop's). The check takes no lock: one load
        #: per token. Whatever ends one of those conditions clears it, under
        #: the lock; a write from another thread that does so overlaps the
        #: write that found it armed, which may then come first.
        self.through: Callable[[Chunk], bool] | None = None
        # What poll() arms ``through`` with (None: no write-through).
        self._write_through: Callable[[Chunk], bool] | None = None
        self._new_future: Callable[[], asyncio.Future[None]] | None = None
        self._drain_event: anyio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._token: anyio.lowlevel.EventLoopToken | None = None

    # -- binding -----------------------------------------------------------

    def bind(self) -> anyio.lowlevel.EventLoopToken:
        """Remember the event loop's thread and token (call from the loop); return the token."""
        self._loop_thread = threading.get_ident()
        self._token = token = anyio.lowlevel.current_token()
        native = token.native_token
        self._loop = loop = native if isinstance(native, asyncio.AbstractEventLoop) else None
        if loop is not None:
            # asyncio's own create_future() is Future(loop=loop): made
            # directly, one Python frame less per wait. Other loops (uvloop)
            # keep their own.
            if type(loop).create_future is asyncio.BaseEventLoop.create_future:
                self._new_future = partial(asyncio.Future, loop=loop)
            else:
                self._new_future = loop.create_future
        return token

    @property
    def cancelled(self) -> bool:
        """True once the consumer has left early."""
        return self._status == _CANCELLED

    # -- producer side -----------------------------------------------------

    def _closed_error(self) -> RunClosedError:
        return RunClosedError("this run has ended; its controller can no longer emit chunks")

    def _seal(self) -> None:
        """Turn the open tail into a chunk (lock held)."""
        kind = self._tail_kind
        if kind == _NONE:
            return
        items = self._tail_items
        chunk: Chunk
        if kind == _TEXT:
            chunk = TextDeltaChunk(text_delta="".join(items), parent_id=self._tail_key)  # type: ignore[arg-type]
        elif kind == _REASONING:
            chunk = ReasoningDeltaChunk(
                reasoning_delta="".join(items),  # type: ignore[arg-type]
                parent_id=self._tail_key,
            )
        elif kind == _ARGS:
            assert self._tail_key is not None
            chunk = ToolCallDeltaChunk(
                tool_call_id=self._tail_key,
                args_text_delta="".join(items),  # type: ignore[arg-type]
            )
        else:
            chunk = UpdateStateChunk(operations=items)  # type: ignore[arg-type]
        self._chunks.append(chunk)
        self._tail_kind = _NONE
        self._tail_key = None
        self._tail_items = []

    def add_delta(self, kind: int, key: str | None, text: str) -> None:
        """Append a text/reasoning/args delta, joining the tail when it continues it."""
        through = self.through
        if through is not None and through(_delta_chunk(kind, key, text)):
            return
        self.buffer_delta(kind, key, text)

    def buffer_delta(self, kind: int, key: str | None, text: str) -> None:
        """:meth:`add_delta` without the write-through (the caller looked at it)."""
        with self._lock:
            if self._status != _OPEN:
                if self._status == _ENDED:
                    raise self._closed_error()
                return
            size = len(text)
            if (
                self._tail_kind == kind
                and self._tail_key == key
                and self._tail_size + size <= MERGE_LIMIT
            ):
                self._tail_items.append(text)  # type: ignore[arg-type]
                self._tail_size += size
            else:
                if self._tail_kind != _NONE:
                    self._seal()
                self._tail_kind = kind
                self._tail_key = key
                self._tail_items = [text]
                self._tail_size = size
            self._size += size
            event = self.waiter
            if event is None:
                return
            self.waiter = self.through = None
        # _wake(), inlined for the common case (a consumer's future, written
        # from the loop's thread): without write-through, per token.
        if event.__class__ is _FUTURE and get_ident() == self._loop_thread:
            if not event.done():  # a cancelled wait leaves its future done
                event.set_result(None)
            return
        self._wake(event)

    def add_ops(self, operations: list[Operation]) -> None:
        """Append state operations; consecutive ones share one ``update-state`` chunk."""
        with self._lock:
            if self._status != _OPEN:
                if self._status == _ENDED:
                    raise self._closed_error()
                return
            if self._tail_kind != _OPS:
                self._seal()
                self._tail_kind = _OPS
                self._tail_items = []
            self._tail_items.extend(operations)  # type: ignore[arg-type]
            self._size += CHUNK_COST * len(operations)
            event = self.waiter
            if event is None:
                return
            self.waiter = self.through = None
        self._wake(event)

    def add(self, chunk: Chunk) -> None:
        """Append any other chunk (pending state operations go out first)."""
        through = self.through
        # An error chunk always goes to the serving loop, which keeps track
        # of whether the stream's last chunk was one.
        if through is not None and chunk.__class__ is not ErrorChunk and through(chunk):
            return
        with self._lock:
            if self._status != _OPEN:
                if self._status == _ENDED:
                    raise self._closed_error()
                return
            self._seal()
            self._chunks.append(chunk)
            self._size += CHUNK_COST
            event = self.waiter
            if event is None:
                return
            self.waiter = self.through = None
        self._wake(event)

    def wake_waiter(self) -> None:
        """Wake the armed waiter (a write-through handed its send to the serving loop)."""
        with self._lock:
            event, self.waiter = self.waiter, None
            self.through = None
        self._wake(event)

    def arm_through(self, wait: object) -> None:
        """Arm :attr:`through` for the serving loop, about to wait on ``wait``
        (armed by :meth:`poll`), unless a write has come since."""
        with self._lock:
            if self.waiter is wait and self._status == _OPEN:
                self.through = self._write_through

    def set_write_through(self, through: Callable[[Chunk], bool] | None) -> None:
        """Have :meth:`poll` arm :attr:`through` with ``through`` (``None``: never)."""
        with self._lock:
            self._write_through = through
            self.through = None

    def add_any(self, chunk: Chunk) -> None:
        """Append a chunk from a merged stream, coalescing deltas like the controller."""
        match chunk:
            case TextDeltaChunk(text_delta=text, parent_id=parent_id):
                self.add_delta(_TEXT, parent_id, text)
            case ReasoningDeltaChunk(reasoning_delta=text, parent_id=parent_id):
                self.add_delta(_REASONING, parent_id, text)
            case ToolCallDeltaChunk(tool_call_id=tool_call_id, args_text_delta=text):
                self.add_delta(_ARGS, tool_call_id, text)
            case UpdateStateChunk(operations=operations):
                self.add_ops(list(operations))
            case _:
                self.add(chunk)

    def seal_ops(self) -> None:
        """End the pending batch of state operations: the next one starts a new chunk."""
        with self._lock:
            if self._tail_kind == _OPS:
                self._seal()

    def check_open(self) -> None:
        """Raise :class:`RunClosedError` if the run has ended."""
        if self._status == _ENDED:
            raise self._closed_error()

    def finish(self) -> None:
        """The producer is done: no more writes; wake the consumer."""
        with self._lock:
            self._seal()
            self._done = True
            if self._status == _OPEN:
                self._status = _ENDED
            event, self.waiter = self.waiter, None
            self.through = None
        if event is not None:
            self._wake(event)

    def cancel(self) -> None:
        """The consumer left early: drop later writes, release ``drain()`` waiters."""
        with self._lock:
            if self._status == _OPEN:
                self._status = _CANCELLED
            self.through = None
            self._chunks = []
            self._start = 0
            self._tail_kind = _NONE
            self._tail_items = []
            self._size = 0
            drain_event, self._drain_event = self._drain_event, None
        if drain_event is not None:
            self._wake(drain_event)

    def end(self) -> None:
        """Every later write raises :class:`RunClosedError`."""
        with self._lock:
            self._status = _ENDED
            self.through = None

    def _wake(self, event: Any) -> None:
        """Wake the waiter ``event`` (a consumer's future or any anyio.Event)."""
        if event is None:
            return
        in_loop = threading.get_ident() == self._loop_thread
        if isinstance(event, asyncio.Future):
            if in_loop:
                if not event.done():  # a cancelled wait leaves its future done
                    event.set_result(None)
                return
            assert self._loop is not None
            # RuntimeError: the loop is closed, so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(_resolve, event)
            return
        if in_loop:
            event.set()
            return
        # RuntimeError: the loop is gone (the run was torn down while this
        # thread ran), so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            anyio.from_thread.run_sync(event.set, token=self._token)

    # -- consumer side -----------------------------------------------------

    def take(self) -> tuple[list[Chunk], bool]:
        """What is pending (tail sealed; about :data:`TAKE_LIMIT` at most) and
        whether the producer is done and nothing is left."""
        with self._lock:
            chunks, done, drain_event = self._take()
        if drain_event is not None:
            drain_event.set()
        return chunks, done

    def _take(self) -> tuple[list[Chunk], bool, anyio.Event | None]:
        # Lock held.
        chunks = self._chunks
        start = self._start
        end = len(chunks)
        if self._size > TAKE_LIMIT and end > start:
            end, taken = _cut(chunks, start)
            if end < len(chunks) or taken >= TAKE_LIMIT:
                # A part: the open tail stays open (it may keep merging), and
                # so does the rest.
                self._size -= taken
                part = chunks[start:end]
                if end == len(chunks):
                    self._chunks = []
                    end = 0
                elif end * 2 > len(chunks):
                    # Drop the taken references, so what was sent can be freed.
                    del chunks[:end]
                    end = 0
                self._start = end
                return part, False, self._release_drain()
        # Everything.
        if self._tail_kind != _NONE:
            self._seal()
        if start:
            chunks = chunks[start:]
            self._start = 0
        if chunks:
            self._chunks = []
            self._size = 0
        else:
            chunks = []  # never hand out the live list
        return chunks, self._done, self._release_drain()

    def _release_drain(self) -> anyio.Event | None:
        # Lock held: the drain() waiters to wake, if the buffer is below the mark.
        drain_event = self._drain_event
        if drain_event is not None and self._size < self._high_water_mark:
            self._drain_event = None
            return drain_event
        return None

    def arm(self) -> Awaitable[object] | None:
        """Prepare to wait: what to await until the next write, or ``None`` if there is work.

        The awaitable must be awaited (on trio it is a coroutine).
        """
        with self._lock:
            if len(self._chunks) > self._start or self._tail_kind != _NONE or self._done:
                return None
            return self._arm()

    def _arm(self) -> Awaitable[object]:
        # Lock held. Only poll() arms the write-through.
        self.through = None
        new_future = self._new_future
        if new_future is not None:
            self.waiter = future = new_future()
            return future
        self.waiter = event = anyio.Event()
        return event.wait()

    def take_or_arm(self) -> tuple[list[Chunk], bool, Awaitable[object] | None]:
        """:meth:`take`, and when nothing is pending and the producer is not done,
        :meth:`arm` under the same lock (one lock round trip for an empty take)."""
        with self._lock:
            if len(self._chunks) == self._start and self._tail_kind == _NONE and not self._done:
                return _EMPTY, False, self._arm()
            chunks, done, drain_event = self._take()
        if drain_event is not None:
            drain_event.set()
        return chunks, done, None

    def poll(self) -> list[Chunk] | Awaitable[object] | None:
        """The serving loop's take: a non-empty batch; or, when nothing is
        pending, what to await until the next write (armed, as :meth:`arm`);
        or ``None`` once the producer is done or the consumer has left, and
        nothing is left.

        One lock round trip, and no tuple, per call. A lone text delta, the
        common batch at a model's pace, is sealed here directly, and on
        asyncio the wait for the next write is armed in the same round trip:
        :attr:`waiter` is the future to await after sending the batch (it is
        done already if the producer wrote meanwhile), so the serving loop
        polls once per token. A wait returned here, the serving loop awaits at
        once: :attr:`through` is armed with it (with what
        :meth:`set_write_through` gave). After sending a batch, the serving
        loop arms it with :meth:`arm_through`.
        """
        with self._lock:
            if len(self._chunks) == self._start:
                kind = self._tail_kind
                if kind == _NONE:
                    if self._done or self._status != _OPEN:
                        return None
                    new_future = self._new_future
                    if new_future is not None:  # _arm(), inlined
                        future = self.waiter
                        # Armed by the take, or a wait that was cancelled.
                        if future is None or future.done():
                            self.waiter = future = new_future()
                        self.through = self._write_through
                        return future  # type: ignore[no-any-return]
                    return self._arm()
                if kind == _TEXT and self._drain_event is None:
                    items = self._tail_items
                    chunk = TextDeltaChunk(
                        text_delta=items[0] if len(items) == 1 else "".join(items),  # type: ignore[arg-type]
                        parent_id=self._tail_key,
                    )
                    self._tail_kind = _NONE
                    self._tail_key = None
                    self._tail_items = []
                    self._size = 0
                    new_future = self._new_future
                    if new_future is not None:
                        self.waiter = new_future()
                    return [chunk]
            chunks, _done, drain_event = self._take()
        if drain_event is not None:
            drain_event.set()
        return chunks or None

    async def drain(self) -> None:
        """Wait until the consumer has taken the buffer below the high-water mark."""
        with self._lock:
            if self._status != _OPEN:
                event = None
            elif self._size < self._high_water_mark:
                # The fast path: no task switch while the consumer keeps up.
                event = None
            else:
                event = self._drain_event
                if event is None:
                    self._drain_event = event = anyio.Event()
        if event is not None:
            await event.wait()
        elif self._status != _OPEN:
            await self.checkpoint()
        else:
            await anyio.lowlevel.checkpoint_if_cancelled()

    async def checkpoint(self) -> None:
        """Yield to the event loop once the consumer has left.

        After a stop, the run's cancellation is a timer on the event loop
        (the end of the grace period). A callback that loops on
        ``append_text`` + ``await drain()`` must let the loop run, or the
        timer never fires: ``checkpoint_if_cancelled`` only looks at a
        cancellation already delivered, so it would spin forever and starve
        every other task of the loop.
        """
        if self._status != _OPEN:
            await anyio.lowlevel.checkpoint()

    def pending_count(self) -> int:
        """How many chunks a take would return now (for tests and metrics)."""
        with self._lock:
            return len(self._chunks) - self._start + (self._tail_kind != _NONE)

    def pending_size(self) -> int:
        """The buffer's size as compared with the high-water mark."""
        return self._size


def _delta_chunk(kind: int, key: str | None, text: str) -> Chunk:
    """The chunk of one delta (as a tail of one item seals into)."""
    if kind == _TEXT:
        return TextDeltaChunk(text_delta=text, parent_id=key)
    if kind == _REASONING:
        return ReasoningDeltaChunk(reasoning_delta=text, parent_id=key)
    assert key is not None
    return ToolCallDeltaChunk(tool_call_id=key, args_text_delta=text)


def _cost(chunk: Chunk) -> int:
    """What a chunk was charged when it was buffered."""
    match chunk:
        case TextDeltaChunk(text_delta=text):
            return len(text)
        case ReasoningDeltaChunk(reasoning_delta=text):
            return len(text)
        case ToolCallDeltaChunk(args_text_delta=text):
            return len(text)
        case UpdateStateChunk(operations=operations):
            return CHUNK_COST * len(operations)
        case _:
            return CHUNK_COST


def _cut(chunks: list[Chunk], start: int) -> tuple[int, int]:
    """The end of a take from ``start`` of about :data:`TAKE_LIMIT`, and its size."""
    taken = 0
    end = start
    count = len(chunks)
    while end < count and taken < TAKE_LIMIT:
        taken += _cost(chunks[end])
        end += 1
    return end, taken


_EMPTY: Final[list[Chunk]] = []  # never mutated: an empty take that armed a wait
# The class of the futures asyncio's loops create (the C one when available).
_FUTURE: Final = asyncio.Future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
