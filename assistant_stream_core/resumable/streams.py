"""``ResumableStreams``: start runs as resumable streams, resume, stop, delete.

One object per application (per store). :meth:`ResumableStreams.start` elects
this process as the stream's producer (or joins the running stream), spawns
the producer task and returns a :class:`~.replay.Replay` for the response;
:meth:`~ResumableStreams.resume` returns one for a reconnecting client, on
any worker that reaches the same store.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import anyio.abc

from ..protocols.base import Encoder
from ..run import create_run
from ..run.runner import RunCallback
from ..run.serve import EncoderSpec, RunSource, make_encoder
from ..run.shutdown import run_producer
from .errors import ResumableStreamError, new_stream_id, validate_stream_id
from .memory import InMemoryStore
from .offsets import check_offset, open_read_at
from .producer import LocalLog, produce
from .replay import Replay, event_cursor, uses_event_ids
from .store import ResumableStore, StreamStatus

__all__ = ["ResumableStreams", "parse_offset"]

logger = logging.getLogger("assistant_stream_ce.resumable")

# Strong references to detached producer tasks (asyncio keeps weak ones).
_TASKS: set[asyncio.Task[None]] = set()


def _spawn(
    fn: Callable[[], Coroutine[Any, Any, None]], task_group: anyio.abc.TaskGroup | None
) -> None:
    if task_group is not None:
        task_group.start_soon(fn)
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio  # the only other anyio backend

        trio.lowlevel.spawn_system_task(fn, context=contextvars.copy_context())
        return
    task = loop.create_task(fn())
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


def parse_offset(value: str | None) -> int:
    """Parse a byte-offset cursor (a decimal ``int`` ≥ 0); ``None``/empty is 0.

    :raises ResumableStreamError: ``invalid-cursor``.
    """
    if value is None or value == "":
        return 0
    if not (value.isascii() and value.isdecimal()) or len(value) > 18:
        raise ResumableStreamError(
            "invalid-cursor", f"invalid offset {value[:40]!r}: expected a number of bytes"
        )
    return int(value)


def _protocol_factory(spec: EncoderSpec) -> Callable[[], Encoder]:
    if isinstance(spec, (str, type)) or not isinstance(spec, Encoder):
        return lambda: make_encoder(spec)
    # An instance: the producer uses it; replays get fresh ones of its class.
    return type(spec)


class ResumableStreams:
    """Resumable streams over one store (in-memory by default).

    :param store: where streams live; share a Redis store between workers.
    :param ttl_ms: how long a stream is kept after its last write (default:
        the store's, 24 hours).
    :param task_group: where producer tasks run; by default they are
        detached tasks (asyncio tasks, or trio system tasks) that outlive
        the request that started them.
    """

    def __init__(
        self,
        store: ResumableStore | None = None,
        *,
        ttl_ms: int | None = None,
        task_group: anyio.abc.TaskGroup | None = None,
    ) -> None:
        self.store: ResumableStore = store if store is not None else InMemoryStore()
        self.ttl_ms = ttl_ms
        self.task_group = task_group

    async def start(
        self,
        run: RunSource | RunCallback,
        protocol: EncoderSpec,
        *,
        stream_id: str | None = None,
        event_ids: bool | None = None,
    ) -> Replay:
        """Start ``run`` as a resumable stream; return the starting client's :class:`Replay`.

        :param run: a run from ``create_run`` (not yet iterated) or a run callback.
        :param protocol: the wire protocol (a name such as ``"data_stream"``,
            an encoder class, or a fresh encoder).
        :param stream_id: the id (validated); a fresh one from
            :func:`~.errors.new_stream_id` if not given. If a stream with this
            id exists, the run is not started and the replay reads that
            stream (``replay.role == "consumer"``), as upstream does.
        :param event_ids: write SSE ``id:`` lines (default: for the SSE
            protocols except OpenAI chat).
        :raises ResumableStreamError: ``invalid-id``; ``full``; ``unavailable``.
        """
        if stream_id is None:
            stream_id = new_stream_id()
        validate_stream_id(stream_id)
        factory = _protocol_factory(protocol)
        encoder = make_encoder(protocol)
        source = run if isinstance(run, RunSource) else create_run(run)
        try:
            lease = await self.store.acquire_lease(stream_id, ttl_ms=self.ttl_ms)
        except ResumableStreamError:
            await source.aclose()
            raise
        except Exception as exc:
            await source.aclose()
            raise _unavailable(exc) from exc
        if lease is None:
            await source.aclose()
            return await self.resume(stream_id, factory(), event_ids=event_ids, role="consumer")
        log = LocalLog()
        store = self.store

        async def producer() -> None:
            try:
                await produce(store, lease, source, encoder, log)
            except anyio.get_cancelled_exc_class():
                pass  # the event loop shuts down; produce() finalized the stream
            except BaseException:  # a detached task must not raise (trio)
                logger.exception(
                    "resumable stream %s (run %s): the producer failed",
                    stream_id,
                    getattr(source, "run_id", None),
                    extra={"stream_id": stream_id, "run_id": getattr(source, "run_id", None)},
                )

        # Tracked, so that the server's shutdown hook can let it finish, or
        # cancel it so that it finalizes its stream (run.shutdown.drain).
        _spawn(partial(run_producer, producer), self.task_group)
        fresh = factory()
        ids = uses_event_ids(fresh) if event_ids is None else event_ids
        return Replay(stream_id, "producer", log.read(store, stream_id), fresh, event_ids=ids)

    async def resume(
        self,
        stream_id: str,
        protocol: EncoderSpec,
        *,
        cursor: str | None = None,
        offset: int = 0,
        event_ids: bool | None = None,
        role: str = "consumer",
    ) -> Replay:
        """Return a :class:`Replay` of the stream: from the start, after ``cursor``,
        or from byte ``offset``.

        :param cursor: an SSE ``Last-Event-ID``, as the replay's ``id:``
            lines write it (:func:`~.replay.event_id`).
        :param offset: the number of bytes the client already received
            (Data Stream, OpenAI chat), counted from the start. The store
            finds its entry without reading what precedes it when it is an
            :class:`~.store.OffsetReader` (see :mod:`.offsets`).
        :raises ResumableStreamError: ``invalid-id``; ``missing`` (unknown or
            expired); ``invalid-cursor`` (also for a cursor and an offset
            together, and an offset past the stored bytes); ``unavailable``.
        """
        validate_stream_id(stream_id)
        encoder = make_encoder(protocol)
        check_offset(offset)
        if cursor and offset:
            raise ResumableStreamError("invalid-cursor", "give a cursor or an offset, not both")
        try:
            if cursor:
                entries = await self.store.open_read(stream_id, event_cursor(stream_id, cursor))
            else:
                entries = await open_read_at(self.store, stream_id, offset)
        except ResumableStreamError:
            raise
        except Exception as exc:
            raise _unavailable(exc) from exc
        ids = uses_event_ids(encoder) if event_ids is None else event_ids
        return Replay(stream_id, role, entries, encoder, event_ids=ids)

    async def stop(self, stream_id: str) -> bool:
        """Ask the stream's producer (on any worker) to stop; ``False`` if it is not running."""
        validate_stream_id(stream_id)
        return await self.store.request_stop(stream_id)

    async def status(self, stream_id: str) -> StreamStatus:
        """``"streaming"``, ``"done"``, ``"error"`` or ``"missing"``."""
        return await self.store.status(stream_id)

    async def delete(self, stream_id: str) -> None:
        """Forget the stream; a running producer stops at its next write."""
        await self.store.delete(stream_id)


def _unavailable(exc: Exception) -> ResumableStreamError:
    return ResumableStreamError("unavailable", f"the resumable stream store failed: {exc}")
