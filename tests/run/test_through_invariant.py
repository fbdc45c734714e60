"""The buffer's write-through flag: armed exactly while a write may go through.

``ChunkBuffer.through`` is read without the lock on every write, so it must
never be armed while anything is pending, while no wait is armed, or once
the run is over: whatever ends one of those conditions clears it. Checked
after every step of random interleavings of writes, the serving loop's polls
and sends, and the run's end; and the chunks that went through plus the
batches taken are exactly the writes, in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    ErrorChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallDeltaChunk,
    UpdateStateChunk,
)
from assistant_stream_core.run._buffer import _ARGS, _OPEN, _REASONING, _TEXT, ChunkBuffer
from assistant_stream_core.run.errors import RunClosedError
from assistant_stream_core.state import SetOperation

from .test_buffer_properties import _normal_form

_WRITES = st.one_of(
    st.tuples(st.just("text"), st.sampled_from([None, "p"]), st.text("ab", max_size=2)),
    st.tuples(st.just("reasoning"), st.none(), st.text("ab", max_size=2)),
    st.tuples(st.just("args"), st.just("t1"), st.text("ab", max_size=2)),
    st.tuples(st.just("data"), st.none(), st.integers(0, 9)),
    st.tuples(st.just("error"), st.none(), st.just("boom")),
    st.tuples(st.just("op"), st.none(), st.integers(0, 9)),
)
_POLL = st.tuples(st.just("poll"), st.none(), st.none())
_SENT = st.tuples(st.just("sent"), st.none(), st.none())
# As many serving-loop steps as writes; the run's end at most once.
_STEPS = st.tuples(
    st.lists(st.one_of(_WRITES, _WRITES, _POLL, _SENT), max_size=60),
    st.none() | st.integers(0, 60),
).map(lambda drawn: _with_end(*drawn))


def _with_end(steps: list[tuple[str, Any, Any]], end: int | None) -> list[tuple[str, Any, Any]]:
    if end is not None and end <= len(steps):
        steps.insert(end, ("end", None, None))
    return steps


_KINDS = {"text": _TEXT, "reasoning": _REASONING, "args": _ARGS}


def _chunk(kind: str, key: Any, value: Any) -> Chunk:
    if kind == "text":
        return TextDeltaChunk(text_delta=value, parent_id=key)
    if kind == "reasoning":
        return ReasoningDeltaChunk(reasoning_delta=value, parent_id=key)
    if kind == "args":
        return ToolCallDeltaChunk(tool_call_id=key, args_text_delta=value)
    if kind == "data":
        return DataChunk(data=value)
    if kind == "error":
        return ErrorChunk(error=value)
    return UpdateStateChunk(operations=[SetOperation(path=("k",), value=value)])


def _check(buffer: ChunkBuffer) -> None:
    """The invariant: armed only with nothing pending, a live wait, an open run."""
    if buffer.through is not None:
        assert buffer.pending_count() == 0
        assert buffer.waiter is not None
        assert not buffer.waiter.done()
        assert buffer._status == _OPEN


async def _interleave(steps: list[tuple[str, Any, Any]], accept: list[bool]) -> None:
    buffer = ChunkBuffer(high_water_mark=1 << 30)
    buffer.bind()
    out: list[Chunk] = []
    written: list[Chunk] = []
    answers = iter(accept * 100)

    def through(chunk: Chunk) -> bool:
        _check(buffer)  # what the write found, and acts on without the lock
        assert not isinstance(chunk, ErrorChunk)
        if next(answers, True):
            out.append(chunk)
            return True
        return False  # declined: buffered as usual

    buffer.set_write_through(through)
    sending: Any = None  # the wait poll armed with the batch being sent
    ended = False
    for kind, key, value in steps:
        if kind == "poll" and sending is None:
            item = buffer.poll()
            if isinstance(item, list):
                out.extend(item)
                sending = buffer.waiter
        elif kind == "sent" and sending is not None:
            buffer.arm_through(sending)  # the send is done: the loop waits
            sending = None
        elif kind == "end":
            buffer.end()
            ended = True
        elif kind in ("poll", "sent"):
            pass
        elif ended:
            with pytest.raises(RunClosedError):
                buffer.add_delta(_TEXT, None, "late")
        else:
            written.append(_chunk(kind, key, value))
            if kind in _KINDS:
                buffer.add_delta(_KINDS[kind], key, value)
            elif kind == "op":
                buffer.add_ops([SetOperation(path=("k",), value=value)])
            else:
                buffer.add(written[-1])
        _check(buffer)
    buffer.finish()
    _check(buffer)
    assert buffer.through is None
    while True:
        chunks, done = buffer.take()
        out.extend(chunks)
        if done:
            break
    assert _normal_form(out) == _normal_form(written)


@settings(max_examples=300, deadline=None)
@given(_STEPS, st.lists(st.booleans(), min_size=1, max_size=5))
def test_through_is_armed_only_while_a_write_may_go_through(
    steps: list[tuple[str, Any, Any]], accept: list[bool]
) -> None:
    asyncio.run(_interleave(steps, accept))


def test_cancel_and_a_write_from_another_thread_disarm_it() -> None:
    async def main() -> None:
        buffer = ChunkBuffer(high_water_mark=1 << 30)
        buffer.bind()
        calls: list[Chunk] = []

        def through(chunk: Chunk) -> bool:
            calls.append(chunk)
            return False  # as the write-through answers another thread

        buffer.set_write_through(through)
        wait = buffer.poll()
        assert buffer.through is through
        await asyncio.to_thread(buffer.add_delta, _TEXT, None, "from a thread")
        assert buffer.through is None  # the write took the wait, so nothing goes through
        assert len(calls) == 1
        await wait  # type: ignore[misc]  # woken through the loop's thread-safe call
        assert buffer.poll() == [TextDeltaChunk(text_delta="from a thread")]
        buffer.poll()  # waits again: armed
        assert buffer.through is through
        buffer.cancel()
        assert buffer.through is None
        buffer.set_write_through(None)

    asyncio.run(main())
