"""A chunk that cannot be encoded, anywhere in a run, in every protocol.

All or nothing: the error must name the chunk, its ``partial`` must hold
exactly the frames of the chunks before it, and the encoder must go on as if
the bad chunk had never been given (no bytes, no state).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    AbortChunk,
    Chunk,
    ErrorChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    ReasoningDeltaChunk,
    SourceChunk,
    SourceDocumentChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.errors import ChunkEncodeError
from assistant_stream_core.protocols._encoder import EncoderBase, every_kind
from assistant_stream_core.state import SetOperation
from assistant_stream_core.testing.strategies import chunk_sequences
from tests.protocols._util import ENCODERS, EVERY_ENCODER, EncoderEntry

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BAD = object()  # not JSON

#: Bad chunks of each kind the encoders write on a path of their own; each
#: takes the ids of the calls begun so far (None: not applicable).
BAD_CHUNKS: dict[str, Callable[[list[str]], Chunk | None]] = {
    "text": lambda ids: TextDeltaChunk("\udc00"),  # a lone surrogate
    "text, parent": lambda ids: TextDeltaChunk(BAD, parent_id="p"),  # type: ignore[arg-type]
    "reasoning": lambda ids: ReasoningDeltaChunk(BAD),  # type: ignore[arg-type]
    "args": lambda ids: ToolCallDeltaChunk(ids[-1], BAD) if ids else None,  # type: ignore[arg-type]
    "begin": lambda ids: ToolCallBeginChunk("fresh-id", BAD),  # type: ignore[arg-type]
    "result": lambda ids: ToolResultChunk(ids[-1], BAD) if ids else None,
    "result, error flag": lambda ids: ToolResultChunk(ids[-1], BAD, is_error=True) if ids else None,
    "step start": lambda ids: StepStartChunk(BAD),  # type: ignore[arg-type]
    "step finish": lambda ids: StepFinishChunk(BAD),  # type: ignore[arg-type]
    "state": lambda ids: UpdateStateChunk([SetOperation(("a",), BAD)]),
    "source": lambda ids: SourceChunk("url", "s1", "https://x", title=BAD),  # type: ignore[arg-type]
    "metadata": lambda ids: MessageMetadataChunk({"a": BAD}),
    "abort": lambda ids: AbortChunk("\udc00"),
    "document": lambda ids: SourceDocumentChunk("d", "text/plain", BAD),  # type: ignore[arg-type]
    "preliminary": lambda ids: PreliminaryToolResultChunk(ids[-1], BAD) if ids else None,
    "preliminary, unknown id": lambda ids: PreliminaryToolResultChunk("no-such-call", 1),
}


#: Kinds a protocol drops without reading the bad field: no error to check.
DROPPED: dict[str, set[str]] = {
    "openai_chat": {
        "state",
        "source",
        "step start",
        "step finish",
        "result",
        "result, error flag",
        "metadata",
        "abort",
        "document",
        "preliminary",
    },
}


@EVERY_ENCODER
@FAST
@given(run=chunk_sequences(), data=st.data())
def test_a_bad_chunk_anywhere_changes_nothing(
    protocol: EncoderEntry, run: list[Chunk], data: st.DataObject
) -> None:
    encoder_class = protocol.make
    kind = data.draw(st.sampled_from(sorted(BAD_CHUNKS)), label="kind")
    if kind in DROPPED.get(protocol.name, set()):
        return
    # AG-UI drops every chunk after RUN_ERROR unread (with a warning).
    run = [chunk for chunk in protocol.playable(run) if not isinstance(chunk, ErrorChunk)]
    cut = data.draw(st.integers(0, len(run)), label="cut")
    before, after = run[:cut], run[cut:]
    ids = [chunk.tool_call_id for chunk in before if isinstance(chunk, ToolCallBeginChunk)]
    bad = BAD_CHUNKS[kind](ids)
    if bad is None:
        return
    reference, encoder = encoder_class(), encoder_class()
    expected = reference.encode_many(before)
    if kind == "args":
        probe = encoder_class()
        probe.encode_many(before)
        if not probe.encode(msgspec.structs.replace(bad, args_text_delta="x")):
            return  # args text for a settled call is dropped unread
    with pytest.raises(ChunkEncodeError) as info:
        encoder.encode_many([*before, bad, *after])
    assert info.value.partial == expected
    assert info.value.chunk_type == bad.type
    # The encoder goes on exactly as one that never saw the bad chunk.
    assert encoder.encode_many(after) + encoder.finish() == (
        reference.encode_many(after) + reference.finish()
    )


@EVERY_ENCODER
def test_parts_past_the_prebuilt_paths(protocol: EncoderEntry) -> None:
    encoder_class = protocol.make
    # Part indices from 256 on are formatted on demand: same bytes as the
    # general path, and the paths go on counting.
    run: list[Chunk] = []
    for n in range(300):
        run += [TextDeltaChunk(f"t{n}"), ReasoningDeltaChunk(f"r{n}")]
    run += [ToolCallBeginChunk("late", "f"), ToolCallDeltaChunk("late", "{}")]
    run += [ToolResultChunk("late", 1)]
    batch, single = encoder_class(), encoder_class()
    body = batch.encode_many(run) + batch.finish()
    assert body == b"".join(single.encode(chunk) for chunk in run) + single.finish()
    if protocol.name == "assistant_transport":
        assert b'"result":1,"isError":false,"path":[600]}' in body
        assert b'{"type":"text-delta","textDelta":"r299","path":[599]}' in body


@pytest.mark.parametrize(
    "protocol",
    [entry for entry in ENCODERS if "result" not in DROPPED.get(entry.name, set())],
    ids=str,
)
def test_a_value_deeper_than_the_stack_is_a_chunk_encode_error(protocol: EncoderEntry) -> None:
    # The controller bounds depth (MAX_STATE_DEPTH); a chunk built by hand is
    # not, and msgspec raises RecursionError past the interpreter's stack.
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    encoder = protocol.make()
    twin = protocol.make()
    for same in (encoder, twin):
        same.encode(ToolCallBeginChunk("call-1", "f"))
    with pytest.raises(ChunkEncodeError) as info:
        encoder.encode_many([TextDeltaChunk("a"), ToolResultChunk("call-1", deep)])
    assert isinstance(info.value.__cause__, RecursionError)
    assert info.value.field == "result"
    # All or nothing: the stream goes on as if the bad chunk had not been given.
    assert info.value.partial == twin.encode(TextDeltaChunk("a"))
    assert encoder.finish() == twin.finish()


class _NotAChunk(TextDeltaChunk, frozen=True):
    """A subclass is not one of the chunk classes: the writers are found by class."""


@EVERY_ENCODER
@pytest.mark.parametrize("item", [None, {"type": "text-delta"}, _NotAChunk("x")], ids=repr)
def test_an_item_that_is_not_a_chunk_changes_nothing(protocol: EncoderEntry, item: object) -> None:
    encoder, reference = protocol.make(), protocol.make()
    before = [StepStartChunk("m"), TextDeltaChunk("a")]
    expected = reference.encode_many(before)
    with pytest.raises(
        ChunkEncodeError, match=f"cannot encode {type(item).__name__}: not a chunk"
    ) as info:
        encoder.encode_many([*before, item])  # type: ignore[list-item]
    assert info.value.partial == expected
    after = [TextDeltaChunk("b")]
    assert encoder.encode_many(after) + encoder.finish() == (
        reference.encode_many(after) + reference.finish()
    )


class _OnceFailing(EncoderBase):
    """Breaks the writers' contract: it counts a chunk before its frame, and fails once."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def _write(self, out: bytearray, chunk: Chunk) -> None:
        self.seen += 1  # state changed before the frame is out
        out += b"x"
        if self.seen == 1:
            raise ValueError("the first time only")

    def _close(self, out: bytearray) -> None:
        pass

    _writers = every_kind(_write)


@pytest.mark.parametrize("method", ["encode_many", "encode"])
def test_a_writer_that_changes_state_before_failing_is_reported(method: str) -> None:
    # The base finds where a failed chunk started by writing it again into an
    # empty buffer; a writer that breaks "encode first, then commit" shows here.
    encoder = _OnceFailing()
    chunk = TextDeltaChunk("a")
    with pytest.raises(RuntimeError, match="on a second try: a writer must encode first"):
        encoder.encode_many([chunk]) if method == "encode_many" else encoder.encode(chunk)


class _BuggyWriter(_OnceFailing):
    __slots__ = ()

    def _write(self, out: bytearray, chunk: Chunk) -> None:
        out += b"x"
        {}["missing"]  # a bug inside the writer, not the chunk's fault

    _writers = every_kind(_write)


def test_a_key_error_inside_a_writer_is_not_taken_for_a_bad_item() -> None:
    with pytest.raises(KeyError, match="missing"):
        _BuggyWriter().encode_many([TextDeltaChunk("a")])
