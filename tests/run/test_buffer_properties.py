"""Property tests of the run buffer: coalescing never loses, reorders or over-merges."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    ReasoningDeltaChunk,
    TextDeltaChunk,
    ToolCallDeltaChunk,
    UpdateStateChunk,
)
from assistant_stream_core.run._buffer import (
    _ARGS,
    _REASONING,
    _TEXT,
    MERGE_LIMIT,
    TAKE_LIMIT,
    ChunkBuffer,
)
from assistant_stream_core.state import SetOperation

_KEYS = st.sampled_from([None, "p1", "p2"])
# Mostly tiny deltas; now and then one big enough to reach the merge and take
# bounds (a few of them in a row pass both).
_TEXTS = st.one_of(
    st.text(alphabet="ab", max_size=3),
    st.integers(1, 5),  # quarters of MERGE_LIMIT (expanded in the test: a short repr)
)

_ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), _KEYS, _TEXTS),
        st.tuples(st.just("reasoning"), _KEYS, _TEXTS),
        st.tuples(st.just("args"), st.sampled_from(["t1", "t2"]), _TEXTS),
        st.tuples(st.just("data"), st.none(), st.integers(0, 9)),
        st.tuples(st.just("op"), st.none(), st.integers(0, 9)),
        st.tuples(st.just("seal"), st.none(), st.none()),
        st.tuples(st.just("take"), st.none(), st.none()),
    ),
    max_size=60,
)


def _reference(action: tuple[str, Any, Any]) -> Chunk | None:
    kind, key, value = action
    if kind == "text":
        return TextDeltaChunk(text_delta=value, parent_id=key)
    if kind == "reasoning":
        return ReasoningDeltaChunk(reasoning_delta=value, parent_id=key)
    if kind == "args":
        return ToolCallDeltaChunk(tool_call_id=key, args_text_delta=value)
    if kind == "data":
        return DataChunk(data=value)
    if kind == "op":
        return UpdateStateChunk(operations=[SetOperation(path=("k",), value=value)])
    return None


def _mergeable(a: Chunk, b: Chunk) -> bool:
    match a, b:
        case TextDeltaChunk(), TextDeltaChunk():
            return a.parent_id == b.parent_id
        case ReasoningDeltaChunk(), ReasoningDeltaChunk():
            return a.parent_id == b.parent_id
        case ToolCallDeltaChunk(), ToolCallDeltaChunk():
            return a.tool_call_id == b.tool_call_id
        case UpdateStateChunk(), UpdateStateChunk():
            return True
    return False


def _merge(a: Chunk, b: Chunk) -> Chunk:
    match a, b:
        case TextDeltaChunk(), TextDeltaChunk():
            return TextDeltaChunk(text_delta=a.text_delta + b.text_delta, parent_id=a.parent_id)
        case ReasoningDeltaChunk(), ReasoningDeltaChunk():
            return ReasoningDeltaChunk(
                reasoning_delta=a.reasoning_delta + b.reasoning_delta, parent_id=a.parent_id
            )
        case ToolCallDeltaChunk(), ToolCallDeltaChunk():
            return ToolCallDeltaChunk(
                tool_call_id=a.tool_call_id, args_text_delta=a.args_text_delta + b.args_text_delta
            )
        case UpdateStateChunk(), UpdateStateChunk():
            return UpdateStateChunk(operations=[*a.operations, *b.operations])
    raise AssertionError((a, b))


def _delta_size(chunk: Chunk) -> int:
    match chunk:
        case TextDeltaChunk(text_delta=text) | ReasoningDeltaChunk(reasoning_delta=text):
            return len(text)
        case ToolCallDeltaChunk(args_text_delta=text):
            return len(text)
    raise AssertionError(chunk)


def _size(chunk: Chunk) -> int:
    if isinstance(chunk, UpdateStateChunk):
        return 64 * len(chunk.operations)
    if isinstance(chunk, (TextDeltaChunk, ReasoningDeltaChunk, ToolCallDeltaChunk)):
        return _delta_size(chunk)
    return 64


def _normal_form(chunks: list[Chunk]) -> list[Chunk]:
    out: list[Chunk] = []
    for chunk in chunks:
        if out and _mergeable(out[-1], chunk):
            out[-1] = _merge(out[-1], chunk)
        else:
            out.append(chunk)
    return out


@settings(max_examples=300, deadline=None)
@given(_ACTIONS)
def test_batches_are_the_calls_coalesced_and_nothing_else(
    actions: list[tuple[str, Any, Any]],
) -> None:
    buffer = ChunkBuffer(high_water_mark=1 << 30)
    batches: list[list[Chunk]] = []
    reference: list[Chunk] = []
    kinds = {"text": _TEXT, "reasoning": _REASONING, "args": _ARGS}
    for action in actions:
        kind, key, value = action
        if kind in kinds and isinstance(value, int):
            value = "c" * (value * MERGE_LIMIT // 4)
            action = (kind, key, value)
        if kind in kinds:
            buffer.add_delta(kinds[kind], key, value)
        elif kind == "data":
            buffer.add(DataChunk(data=value))
        elif kind == "op":
            buffer.add_ops([SetOperation(path=("k",), value=value)])
        elif kind == "seal":
            buffer.seal_ops()
        else:
            batches.append(buffer.take()[0])
        chunk = _reference(action)
        if chunk is not None:
            reference.append(chunk)
    buffer.finish()
    while True:
        last, done = buffer.take()
        batches.append(last)
        if done:
            break
        assert last, "a take that is not the last hands over something"
    produced = [chunk for batch in batches for chunk in batch]
    # Nothing lost, nothing reordered: same normal form as one chunk per call.
    assert _normal_form(produced) == _normal_form(reference)
    # Only deltas and state operations merge, and never across a take.
    merged_away = len(reference) - len(produced)
    assert merged_away >= 0
    # Within a batch, adjacent mergeable chunks only come from an explicit seal
    # (state ops) or the merge bound — deltas are otherwise always merged while
    # the consumer is behind.
    for batch in batches:
        for a, b in pairwise(batch):
            if _mergeable(a, b) and not isinstance(a, UpdateStateChunk):
                assert _delta_size(a) + _delta_size(b) > MERGE_LIMIT
    # A take holds TAKE_LIMIT at most, or stops at the chunk that takes it past.
    for batch in batches:
        sizes = [_size(chunk) for chunk in batch]
        assert sum(sizes) <= TAKE_LIMIT or sum(sizes[:-1]) < TAKE_LIMIT
    assert buffer.pending_count() == 0
