"""BlockingStream leaves nothing behind, on every way a stream can end.

Each test checks, after the stream is gone and the garbage collector ran,
that no memory stream was left unclosed (anyio warns with a
``ResourceWarning``), no finalizer raised, no portal thread is left, and the
run's ``finally:`` ran. Before these held, a leaked stream surfaced as a
``ResourceWarning`` in whichever later test the collector happened to run in.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest

from assistant_stream_core.chunks import Chunk, TextDeltaChunk
from assistant_stream_core.run.blocking import BlockingStream
from assistant_stream_core.run.serve import StreamEnd

from .scenarios import build, finished


def portal_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "-portal-" in t.name}


@contextmanager
def no_leaks() -> Iterator[None]:
    """Fail if the block leaves a warning, a failed finalizer or a portal thread."""
    before = portal_threads()
    unraisable: list[Any] = []
    hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            yield
            deadline = time.monotonic() + 10
            while True:
                gc.collect()
                if portal_threads() <= before or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            gc.collect()
    finally:
        sys.unraisablehook = hook
    assert [f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}" for u in unraisable] == []
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert portal_threads() - before == set()


def next_within(stream: BlockingStream, seconds: float) -> bytes | BaseException:
    """``next(stream)`` on a thread: its value, or the exception it raised."""
    outcome: list[bytes | BaseException] = []

    def take() -> None:
        try:
            outcome.append(next(stream))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"next() still blocked after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_factory_that_raises_ends_the_stream_with_its_error(backend: str) -> None:
    def factory() -> AsyncIterator[Chunk]:
        raise ValueError("no such thread")

    with no_leaks():
        stream = BlockingStream(factory, "data_stream", backend=backend)
        outcome = next_within(stream, 5)
        assert isinstance(outcome, ValueError)
        assert str(outcome) == "no such thread"
        assert list(stream) == []
        stream.close()
        del stream, outcome


def test_a_factory_that_returns_no_source_is_named() -> None:
    with no_leaks():
        stream = BlockingStream(lambda: "text", "data_stream")  # type: ignore[arg-type,return-value]
        outcome = next_within(stream, 5)
        assert isinstance(outcome, TypeError)
        assert "returned a str" in str(outcome)
        del stream, outcome


def test_a_source_that_is_neither_is_refused_at_once() -> None:
    with pytest.raises(TypeError, match="zero-argument callable"):
        BlockingStream(42, "data_stream")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_stream_dropped_without_close_stops_the_run(backend: str) -> None:
    rid = uuid.uuid4().hex
    with no_leaks():
        stream = BlockingStream(build("endless", {"rid": rid})[0], "data_stream", backend=backend)
        assert b"tick 0" in next(stream)
        # A server that forgets close(): the run must not go on for the
        # send timeout (30 s) or the 3600 s sleep of this script.
        del stream
        assert finished(rid).wait(5)


def test_a_stream_dropped_before_it_started_closes_its_source() -> None:
    rid = uuid.uuid4().hex
    source = build("text", {"rid": rid})[0]
    source.batches()  # as if a run had been started
    with no_leaks():
        stream = BlockingStream(source, "data_stream")
        del stream, source
        assert finished(rid).wait(5)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_stream_collected_on_its_own_loop_thread(backend: str) -> None:
    # The collector runs finalizers on whichever thread triggers it; a stream
    # in a reference cycle (Django's response is one) can be finalized on
    # its own portal thread, where nothing may block on that loop.
    rid = uuid.uuid4().hex
    dropped = threading.Event()
    collected = threading.Event()

    async def chunks() -> AsyncIterator[Chunk]:
        try:
            yield TextDeltaChunk("first")
            await anyio.to_thread.run_sync(dropped.wait, 5)
            gc.collect()  # here, on the stream's loop thread
            collected.set()
            await anyio.sleep(3600)
            yield TextDeltaChunk("never")
        finally:
            finished(rid).set()

    with no_leaks():
        stream = BlockingStream(chunks, "data_stream", backend=backend)
        assert b"first" in next(stream)
        stream.cycle = stream  # type: ignore[attr-defined]
        del stream
        dropped.set()
        assert collected.wait(5)
        assert finished(rid).wait(5)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_close_from_another_thread_while_next_waits(backend: str) -> None:
    # A WSGI server may close the iterator from one thread while another
    # is blocked in next(): that next() ends the iteration, quietly.
    rid = uuid.uuid4().hex
    with no_leaks():
        stream = BlockingStream(
            build("silent", {"rid": rid, "gap": "3600"})[0], "data_stream", backend=backend
        )
        assert b"before" in next(stream)
        outcome: list[bytes | BaseException] = []

        def waiting() -> None:
            try:
                outcome.extend(stream)
            except BaseException as exc:
                outcome.append(exc)

        consumer = threading.Thread(target=waiting, daemon=True)
        consumer.start()
        time.sleep(0.1)  # the consumer is blocked in next()
        stream.close()
        consumer.join(5)
        assert not consumer.is_alive()
        assert all(isinstance(item, bytes) for item in outcome), outcome
        assert finished(rid).is_set()
        assert stream.result is not None
        assert stream.result.end is StreamEnd.DISCONNECTED


def test_closes_racing_each_other() -> None:
    rid = uuid.uuid4().hex
    with no_leaks():
        stream = BlockingStream(build("endless", {"rid": rid})[0], "data_stream")
        next(stream)
        errors: list[BaseException] = []

        def close() -> None:
            try:
                stream.close()
            except BaseException as exc:
                errors.append(exc)

        closers = [threading.Thread(target=close) for _ in range(4)]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join(10)
        assert errors == []
        assert finished(rid).is_set()


def test_a_send_timeout_then_a_dropped_stream() -> None:
    rid = uuid.uuid4().hex
    calls: list[float] = []
    with no_leaks():
        stream = BlockingStream(
            build("flood", {"rid": rid})[0],
            "data_stream",
            send_timeout=0.2,
            buffer_size=1,
            on_send_timeout=lambda: calls.append(time.monotonic()),
        )
        next(stream)
        assert finished(rid).wait(5)
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(calls) == 1
        del stream  # never read to the end, never closed
