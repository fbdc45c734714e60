"""Hypothesis strategies for chunks, valid runs and byte splits.

Needs `Hypothesis <https://hypothesis.readthedocs.io>`_, which is not a
dependency of this library (``pip install hypothesis``). Use them in your own
conformance tests, for example of a custom encoder/decoder pair::

    from hypothesis import given
    from assistant_stream_core.message import accumulate
    from assistant_stream_core.testing.strategies import byte_splits, chunk_sequences
    from hypothesis import strategies as st

    @given(st.data(), chunk_sequences())
    def test_round_trip(data, chunks):
        encoder = MyEncoder()
        body = encoder.encode_many(chunks) + encoder.finish()
        decoder = MyDecoder()
        decoded = [c for piece in data.draw(byte_splits(body)) for c in decoder.feed(piece)]
        decoded += decoder.finish()
        assert accumulate(decoded) == accumulate(chunks)

Every value drawn is one the wire can carry and the TypeScript client accepts:
finite floats, integers within JavaScript's safe range, text without lone
surrogates, object keys other than ``__proto__`` and ``constructor`` (the
client's JSON parser drops frames with those).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from typing import Any

import msgspec

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "assistant_stream_core.testing.strategies needs Hypothesis: pip install hypothesis"
    ) from exc

from ..chunks import (
    AbortChunk,
    AnnotationsChunk,
    AppendTextOperation,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    MessageMetadataChunk,
    PreliminaryToolResultChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SetOperation,
    SourceChunk,
    SourceDocumentChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolCallResumeChunk,
    ToolOutputDeniedChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from ..errors import StateError
from ..state import UNSAFE_SEGMENTS, Operation, apply_operation

__all__ = [
    "FINISH_REASONS",
    "byte_splits",
    "chunk_sequences",
    "chunks",
    "client_turn_sequences",
    "json_values",
    "state_operations",
    "texts",
]

#: The finish reasons assistant-ui knows.
FINISH_REASONS = ("stop", "length", "content-filter", "tool-calls", "error", "other", "unknown")

# JavaScript numbers hold integers exactly up to 2**53 - 1.
_MAX_SAFE_INT = 2**53 - 1
_PARENTS = (None, "", "p1", "p2")
_JSON = msgspec.json.Encoder()
# Kinds of chunk in a run, weighted by repetition; the ones that settle open
# tool calls come last, so that shrinking removes them first.
_KINDS = (
    *("text",) * 3,
    "reasoning",
    *("tool-call-begin",) * 2,
    *("tool-call-delta",) * 4,
    "tool-call-args-text-finish",
    *("tool-result",) * 2,
    "reasoning-part-start",
    "data",
    "update-state",
    "source",
    "file",
    "annotations",
    "message-metadata",
    "abort",
    "source-document",
    "preliminary-tool-result",
    "step-start",
    "error",
    "step-finish",
    "message-finish",
)


def texts(*, min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Any Unicode text that UTF-8 can carry (no lone surrogates).

    Favours the characters that break naive line splitting and JSON escaping:
    ``\\n``, ``\\r``, U+2028, U+2029, U+0085, NUL, quotes and backslashes.
    """
    specials = st.sampled_from(["\n", "\r", "\u2028", "\u2029", "\x85", "\x00", '"', "\\", "😀"])
    alphabet = st.one_of(st.characters(codec="utf-8"), specials)
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def _keys() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["a", "b", "text", "0", ""]), texts(max_size=6)).filter(
        lambda key: key not in UNSAFE_SEGMENTS
    )


def json_values(*, max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON values as msgspec decodes them: ``None``, bools, ints, floats, str, lists, dicts.

    Floats are finite; integers stay in JavaScript's safe range, so a value
    survives a trip through the TypeScript client unchanged.
    """
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-_MAX_SAFE_INT, _MAX_SAFE_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(_keys(), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _ids() -> st.SearchStrategy[str]:
    return st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)


def _paths() -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(_keys(), max_size=3).map(tuple)


def state_operations() -> st.SearchStrategy[Operation]:
    """Any single state operation (not necessarily applicable to a state)."""
    return st.one_of(
        st.builds(SetOperation, path=_paths(), value=json_values()),
        st.builds(AppendTextOperation, path=_paths(), value=texts()),
    )


def chunks() -> st.SearchStrategy[Chunk]:
    """Any single chunk, of every kind, with arbitrary (valid JSON) fields.

    A chunk drawn alone need not make sense in a run (a tool call delta for an
    id never begun): use :func:`chunk_sequences` for whole runs.
    """
    parents = st.sampled_from(_PARENTS)
    return st.one_of(
        st.builds(TextDeltaChunk, texts(), parents),
        st.builds(ReasoningDeltaChunk, texts(), parents),
        st.builds(ReasoningPartStartChunk, st.none() | texts(), parents),
        st.builds(ToolCallBeginChunk, _ids(), texts(min_size=1), parents),
        st.builds(ToolCallDeltaChunk, _ids(), texts()),
        st.builds(ToolCallArgsTextFinishChunk, _ids(), texts()),
        st.builds(ToolResultChunk, _ids(), json_values(), st.none() | json_values(), st.booleans()),
        st.builds(DataChunk, json_values()),
        st.builds(ErrorChunk, texts()),
        st.builds(UpdateStateChunk, st.lists(state_operations(), max_size=3)),
        st.builds(
            SourceChunk, _ids(), texts(min_size=1), st.just("url"), st.none() | texts(), parents
        ),
        st.builds(FileChunk, st.binary(max_size=12).map(_base64), _mime_types(), parents),
        st.builds(AnnotationsChunk, st.lists(json_values(), max_size=3)),
        st.builds(StepStartChunk, _ids()),
        st.builds(StepFinishChunk, *_step_finish_args()),
        st.builds(MessageFinishChunk, st.sampled_from(FINISH_REASONS), _tokens(), _tokens()),
        st.builds(MessageMetadataChunk, _metadata()),
        st.builds(AbortChunk, st.none() | texts()),
        st.builds(
            SourceDocumentChunk,
            _ids(),
            _mime_types(),
            texts(),
            st.none() | texts(max_size=8),
            parents,
        ),
        st.builds(PreliminaryToolResultChunk, _ids(), json_values()),
        st.builds(ToolApprovalRequestChunk, _ids(), _ids(), st.none() | texts()),
        st.builds(ToolCallResumeChunk, _ids()),
        st.builds(ToolOutputDeniedChunk, _ids()),
    )


def _metadata() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(_keys(), json_values(max_leaves=4), max_size=3)


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _mime_types() -> st.SearchStrategy[str]:
    return st.sampled_from(["image/png", "text/plain", "application/pdf"])


def _tokens() -> st.SearchStrategy[int]:
    return st.integers(0, 100_000)


def _step_finish_args() -> tuple[st.SearchStrategy[Any], ...]:
    return (st.sampled_from(FINISH_REASONS), _tokens(), _tokens(), st.booleans())


def _leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, value) in a JSON value, the root included."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, child in value.items():
            if key not in UNSAFE_SEGMENTS:
                found.extend(_leaves(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_leaves(child, (*path, str(index))))
    return found


@st.composite
def _valid_operation(draw: st.DrawFn, state: Any) -> Operation:
    """An operation the strict client applies to ``state`` without error."""
    places = _leaves(state)
    strings = [(path, value) for path, value in places if isinstance(value, str)]
    append = draw(st.booleans())
    if strings and append:
        string_path, _ = draw(st.sampled_from(strings))
        return AppendTextOperation(path=string_path, value=draw(texts(max_size=8)))
    path, target = draw(st.sampled_from(places))
    value = draw(json_values(max_leaves=4))
    if isinstance(target, dict) or target is None:
        # Existing key, or a new one (a missing key on the way becomes {}).
        keys = [k for k in (target or {}) if k not in UNSAFE_SEGMENTS]
        key = draw(st.sampled_from(keys) | _keys()) if keys else draw(_keys())
        return SetOperation(path=(*path, key), value=value)
    if isinstance(target, list):
        index = draw(st.integers(0, len(target)))  # len appends
        return SetOperation(path=(*path, str(index)), value=value)
    return SetOperation(path=path, value=value)  # replace a scalar where it is


def _args_objects() -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(_keys(), json_values(max_leaves=4), max_size=3)


@st.composite
def _args_piece(draw: st.DrawFn, args: dict[str, str], tool_call_id: str) -> str:
    """The next slice of a call's args JSON (cut anywhere), or arbitrary text."""
    rest = args.get(tool_call_id, "")
    if rest and draw(st.integers(0, 4)):
        size = draw(st.integers(1, len(rest)))
        args[tool_call_id] = rest[size:]
        return rest[:size]
    return draw(texts(max_size=8))


@st.composite
def _runs(draw: st.DrawFn, max_size: int, initial_state: Any) -> list[Chunk]:
    out: list[Chunk] = []
    # Tool call id -> [settled, has_result].
    tools: dict[str, list[bool]] = {}
    state = initial_state
    # Tool call id -> the part of its args JSON not streamed yet.
    args: dict[str, str] = {}
    parents = st.sampled_from(_PARENTS)
    size = draw(st.integers(0, max_size))

    def settle_open() -> None:
        # The Data Stream closes open args before these chunks; settling
        # explicitly keeps every protocol's reading of the run the same.
        for tool_call_id, (settled, _) in tools.items():
            if not settled:
                out.append(ToolCallArgsTextFinishChunk(tool_call_id))
                tools[tool_call_id][0] = True

    for _ in range(size):
        open_ids = [i for i, (settled, _) in tools.items() if not settled]
        unanswered = [i for i, (_, has_result) in tools.items() if not has_result]
        # A tool reports progress once its arguments are complete.
        running = [i for i, (settled, has_result) in tools.items() if settled and not has_result]
        kinds = [
            k
            for k in _KINDS
            if not (k in ("tool-call-delta", "tool-call-args-text-finish") and not open_ids)
            and not (k == "tool-result" and not unanswered)
            and not (k == "preliminary-tool-result" and not running)
        ]
        kind = draw(st.sampled_from(kinds))
        if kind == "text":
            out.append(TextDeltaChunk(draw(texts()), draw(parents)))
        elif kind == "reasoning":
            out.append(ReasoningDeltaChunk(draw(texts()), draw(parents)))
        elif kind == "reasoning-part-start":
            out.append(ReasoningPartStartChunk(draw(st.none() | texts(max_size=8)), draw(parents)))
        elif kind == "tool-call-begin":
            tool_call_id = draw(_ids().filter(lambda i: i not in tools))
            tools[tool_call_id] = [False, False]
            args[tool_call_id] = _JSON.encode(draw(_args_objects())).decode()
            out.append(ToolCallBeginChunk(tool_call_id, draw(texts(min_size=1)), draw(parents)))
        elif kind == "tool-call-delta":
            tool_call_id = draw(st.sampled_from(open_ids))
            out.append(ToolCallDeltaChunk(tool_call_id, draw(_args_piece(args, tool_call_id))))
        elif kind == "tool-call-args-text-finish":
            tool_call_id = draw(st.sampled_from(open_ids))
            tools[tool_call_id][0] = True
            # Usually the rest of the args JSON, sometimes nothing or noise.
            rest = args.pop(tool_call_id, "")
            trailing = draw(st.sampled_from([rest, rest, ""]) | texts(max_size=6))
            out.append(ToolCallArgsTextFinishChunk(tool_call_id, trailing))
        elif kind == "tool-result":
            tool_call_id = draw(st.sampled_from(unanswered))
            tools[tool_call_id] = [True, True]
            artifact = draw(st.none() | json_values(max_leaves=3))
            result = ToolResultChunk(
                tool_call_id, draw(json_values()), artifact, draw(st.booleans())
            )
            out.append(result)
            if draw(st.booleans()):
                # Upstream's set_response: the result, then an empty args finish.
                out.append(ToolCallArgsTextFinishChunk(tool_call_id))
        elif kind == "data":
            out.append(DataChunk(draw(json_values())))
        elif kind == "error":
            settle_open()
            out.append(ErrorChunk(draw(texts())))
        elif kind == "update-state":
            operations: list[Operation] = []
            for _ in range(draw(st.integers(1, 3))):
                operation = draw(_valid_operation(state))
                try:
                    state = apply_operation(state, operation)
                except StateError:  # pragma: no cover - _valid_operation avoids these
                    continue
                operations.append(operation)
            out.append(UpdateStateChunk(operations))
        elif kind == "source":
            title = draw(st.none() | texts(max_size=8))
            url = "https://example.com/" + draw(_ids())
            out.append(SourceChunk(draw(_ids()), url, "url", title, draw(parents)))
        elif kind == "file":
            data = _base64(draw(st.binary(max_size=12)))
            out.append(FileChunk(data, draw(_mime_types()), draw(parents)))
        elif kind == "annotations":
            out.append(AnnotationsChunk(draw(st.lists(json_values(max_leaves=3), max_size=3))))
        elif kind == "message-metadata":
            out.append(MessageMetadataChunk(draw(_metadata())))
        elif kind == "abort":
            out.append(AbortChunk(draw(st.none() | texts(max_size=8))))
        elif kind == "source-document":
            filename = draw(st.none() | texts(max_size=8))
            title = draw(texts(max_size=8))
            out.append(
                SourceDocumentChunk(
                    draw(_ids()), draw(_mime_types()), title, filename, draw(parents)
                )
            )
        elif kind == "preliminary-tool-result":
            out.append(
                PreliminaryToolResultChunk(draw(st.sampled_from(running)), draw(json_values()))
            )
        elif kind == "step-start":
            out.append(StepStartChunk(draw(_ids())))
        elif kind == "step-finish":
            settle_open()
            out.append(StepFinishChunk(*(draw(s) for s in _step_finish_args())))
        else:
            settle_open()
            reason = draw(st.sampled_from(FINISH_REASONS))
            out.append(MessageFinishChunk(reason, draw(_tokens()), draw(_tokens())))
    return out


def chunk_sequences(
    *, max_size: int = 30, initial_state: Any = None
) -> st.SearchStrategy[list[Chunk]]:
    """Valid runs: chunk lists a well-behaved run could produce.

    * tool call ids are unique; deltas and args finishes only for calls begun
      and not yet settled (settled by an args finish or a result), except the
      empty args finish upstream's ``set_response`` sends after a result; at
      most one result per call (the Data Stream client drops a second one);
      preliminary results only for calls whose args are settled and that
      have no result yet;
      args text is usually the call's JSON arguments cut at random points;
    * tool calls still open are settled (an args finish) before a step finish,
      a message finish or an error, since the Data Stream closes them there;
    * state operations apply cleanly, in order, to the state that
      ``initial_state`` evolves into (the client's strict rules, see
      :func:`~assistant_stream_core.state.apply_operations`);
    * every kind of chunk appears, with parents drawn from ``None``, ``""``,
      ``"p1"``, ``"p2"`` so that part boundaries are exercised.

    Calls left open at the end are the encoders' job to settle.
    """
    return _runs(max_size, initial_state)


def byte_splits(data: bytes, *, max_pieces: int | None = None) -> st.SearchStrategy[list[bytes]]:
    """``data`` cut into pieces at arbitrary points (inside lines, UTF-8 sequences).

    The pieces concatenate to ``data``; feed them to a decoder one by one.
    Shrinks towards fewer cuts.
    """
    if len(data) < 2:
        return st.just([data] if data else [])
    limit = len(data) - 1 if max_pieces is None else max(0, min(max_pieces - 1, len(data) - 1))
    cuts = st.lists(st.integers(1, len(data) - 1), unique=True, max_size=limit).map(sorted)
    return cuts.map(lambda points: _cut(data, points))


def _cut(data: bytes, points: Sequence[int]) -> list[bytes]:
    bounds = [0, *points, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


@st.composite
def _client_turns(draw: st.DrawFn, max_size: int) -> list[Chunk]:
    out: list[Chunk] = []
    # Calls of an earlier response ("r-" cannot clash with a run's ids).
    for call_id in draw(st.lists(_ids(), unique=True, max_size=3)):
        out.append(ToolCallResumeChunk(f"r-{call_id}"))
        answer = draw(st.sampled_from(["result", "denied", "none"]))
        if answer == "result":
            out.append(
                ToolResultChunk(f"r-{call_id}", draw(json_values()), None, draw(st.booleans()))
            )
        elif answer == "denied":
            out.append(ToolOutputDeniedChunk(f"r-{call_id}"))
    run = draw(_runs(max_size, None))
    out.extend(run)
    if any(isinstance(chunk, ErrorChunk) for chunk in run):
        return out
    answered = {c.tool_call_id for c in run if isinstance(c, ToolResultChunk)}
    for chunk in run:
        if not isinstance(chunk, ToolCallBeginChunk) or chunk.tool_call_id in answered:
            continue
        if draw(st.booleans()):
            reason = draw(st.none() | texts(max_size=8))
            call_id = chunk.tool_call_id
            out.append(ToolApprovalRequestChunk(call_id, f"approval-{call_id}", reason))
            if draw(st.booleans()):
                out.append(ToolOutputDeniedChunk(call_id))
    return out


def client_turn_sequences(*, max_size: int = 20) -> st.SearchStrategy[list[Chunk]]:
    """Runs that continue calls of an earlier response and stop for approvals.

    A few calls of an earlier response are resumed
    (:class:`~assistant_stream_core.chunks.ToolCallResumeChunk`) and answered
    with a result, a denial or not at all; then a valid run
    (:func:`chunk_sequences`); then, unless the run ended in an error, an
    approval request for some of its calls without a result, some of them
    denied at once.
    """
    return _client_turns(max_size)
