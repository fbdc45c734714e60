"""AG-UI: golden events, ordering rules, JSON Patch state, decoder errors, round trips."""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from typing import Any

import jsonpatch
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    AnnotationsChunk,
    Chunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    ReasoningPartStartChunk,
    SourceChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
    UpdateStateChunk,
)
from assistant_stream_core.errors import ChunkEncodeError, ProtocolError, StateError
from assistant_stream_core.protocols.ag_ui import (
    AGUIDecoder,
    AGUIEncoder,
    json_pointer,
)
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.state import (
    AppendTextOperation,
    Operation,
    SetOperation,
    apply_operations,
)
from assistant_stream_core.testing.normalize import ag_ui as normalize
from assistant_stream_core.testing.strategies import (
    byte_splits,
    chunk_sequences,
    json_values,
    state_operations,
)
from tests.protocols._util import decode_all, sse_payloads

Event = dict[str, Any]

START = {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "protocolVersion": "1.0"}
FINISHED = {"type": "RUN_FINISHED", "threadId": "t", "runId": "r"}


def encoder(**kwargs: Any) -> AGUIEncoder:
    return AGUIEncoder(thread_id="t", run_id="r", message_id="m", **kwargs)


def events(data: bytes) -> list[Event]:
    """Parse an encoder's output, checking the SSE framing on the way."""
    assert data
    return sse_payloads(data, done=False)


def encode_all(chunks: list[Chunk], **kwargs: Any) -> bytes:
    enc = encoder(**kwargs)
    return enc.encode_many(chunks) + enc.finish()


def encode_run(chunks: list[Chunk], **kwargs: Any) -> bytes:
    """:func:`encode_all` for generated runs, which may go on after an error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "AG-UI stream already ended", RuntimeWarning)
        return encode_all(chunks, **kwargs)


def run_events(chunks: list[Chunk], **kwargs: Any) -> list[Event]:
    """The events between RUN_STARTED and RUN_FINISHED."""
    evs = events(encode_all(chunks, **kwargs))
    assert evs[0] == START
    assert evs[-1]["type"] in ("RUN_FINISHED", "RUN_ERROR")
    return evs[1:-1]


# --- golden events ----------------------------------------------------------

TEXT_START = {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
TEXT_END = {"type": "TEXT_MESSAGE_END", "messageId": "m"}
TOOL_START = {
    "type": "TOOL_CALL_START",
    "toolCallId": "c1",
    "toolCallName": "search",
    "parentMessageId": "m",
}
BEGUN: list[Chunk] = [ToolCallBeginChunk("c1", "search")]


def meta(**fields: Any) -> dict[str, Any]:
    return {"metadata": {"assistantStream": fields}}


def reasoning(n: int, delta: str | None, **ext: Any) -> list[Event]:
    rid = f"m-reasoning-{n}"
    out: list[Event] = [
        {"type": "REASONING_START", "messageId": rid},
        {
            "type": "REASONING_MESSAGE_START",
            "messageId": rid,
            "role": "reasoning",
            **(meta(**ext) if ext else {}),
        },
    ]
    if delta is not None:
        out.append({"type": "REASONING_MESSAGE_CONTENT", "messageId": rid, "delta": delta})
    return [
        *out,
        {"type": "REASONING_MESSAGE_END", "messageId": rid},
        {"type": "REASONING_END", "messageId": rid},
    ]


GOLDEN: list[tuple[str, list[Chunk], list[Event]]] = [
    ("empty run", [], []),
    (
        "text",
        [TextDeltaChunk("Hel"), TextDeltaChunk("lo")],
        [
            TEXT_START,
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "Hel"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "lo"},
            TEXT_END,
        ],
    ),
    ("empty text delta: nothing", [TextDeltaChunk("")], []),
    (
        "text, parent changes",
        [TextDeltaChunk("a", "p1"), TextDeltaChunk("b", "")],
        [
            {**TEXT_START, **meta(parentId="p1")},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "a"},
            TEXT_END,
            TEXT_START,
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "b"},
            TEXT_END,
        ],
    ),
    ("reasoning", [ReasoningDeltaChunk("hmm")], reasoning(1, "hmm", implicit=True)),
    (
        "reasoning part start with summary",
        [ReasoningPartStartChunk("Plan", "p1"), ReasoningDeltaChunk("x", "p1")],
        reasoning(1, "x", parentId="p1", summary="Plan"),
    ),
    (
        "two reasoning parts",
        [ReasoningPartStartChunk(), ReasoningDeltaChunk("a"), ReasoningPartStartChunk()],
        [*reasoning(1, "a"), *reasoning(2, None)],
    ),
    (
        "tool call",
        [*BEGUN, ToolCallDeltaChunk("c1", '{"q":'), ToolCallArgsTextFinishChunk("c1", "1}")],
        [
            TOOL_START,
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"q":'},
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "1}"},
            {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        ],
    ),
    (
        "tool call with parent, no args",
        [ToolCallBeginChunk("c1", "search", "p1"), ToolCallArgsTextFinishChunk("c1")],
        [
            {**TOOL_START, **meta(parentId="p1")},
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{}"},
            {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        ],
    ),
    (
        "tool result before args finish (set_response order), then more text",
        [
            TextDeltaChunk("a"),
            *BEGUN,
            ToolCallDeltaChunk("c1", "{}"),
            ToolResultChunk("c1", {"n": 1}, artifact=[1], is_error=True),
            ToolCallArgsTextFinishChunk("c1"),
            TextDeltaChunk("b"),
        ],
        [
            TEXT_START,
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "a"},
            TEXT_END,
            TOOL_START,
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{}"},
            {"type": "TOOL_CALL_END", "toolCallId": "c1"},
            {
                "type": "TOOL_CALL_RESULT",
                "messageId": "m-result-c1",
                "toolCallId": "c1",
                "content": '{"n":1}',
                "role": "tool",
                **meta(isError=True, json=True, artifact=[1]),
            },
            {**TEXT_START, "messageId": "m-1"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-1", "delta": "b"},
            {**TEXT_END, "messageId": "m-1"},
        ],
    ),
    (
        "string tool result is the content",
        [*BEGUN, ToolResultChunk("c1", "plain")],
        [
            TOOL_START,
            {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{}"},
            {"type": "TOOL_CALL_END", "toolCallId": "c1"},
            {
                "type": "TOOL_CALL_RESULT",
                "messageId": "m-result-c1",
                "toolCallId": "c1",
                "content": "plain",
                "role": "tool",
            },
        ],
    ),
    (
        "custom events",
        [
            DataChunk({"k": None}),
            AnnotationsChunk([1]),
            SourceChunk("s1", "https://x.test", title="T", parent_id=""),
            FileChunk("aGk=", "image/png", "p1"),
        ],
        [
            {"type": "CUSTOM", "name": "assistant-stream/data", "value": {"k": None}},
            {"type": "CUSTOM", "name": "assistant-stream/annotations", "value": [1]},
            {
                "type": "CUSTOM",
                "name": "assistant-stream/source",
                "value": {"id": "s1", "url": "https://x.test", "sourceType": "url", "title": "T"},
            },
            {
                "type": "CUSTOM",
                "name": "assistant-stream/file",
                "value": {"data": "aGk=", "mimeType": "image/png", "parentId": "p1"},
            },
        ],
    ),
    (
        "steps",
        [StepStartChunk("s1"), StepFinishChunk("tool-calls", 1, 2, True)],
        [
            {"type": "STEP_STARTED", "stepName": "s1"},
            {
                "type": "STEP_FINISHED",
                "stepName": "s1",
                **meta(finishReason="tool-calls", inputTokens=1, outputTokens=2, isContinued=True),
            },
        ],
    ),
    (
        "step finish without a start",
        [StepFinishChunk("stop")],
        [
            {"type": "STEP_STARTED", "stepName": "m-step-1", **meta(implicit=True)},
            {"type": "STEP_FINISHED", "stepName": "m-step-1", **meta(finishReason="stop")},
        ],
    ),
    (
        "nested step with a reused name, left open",
        [StepStartChunk("s"), StepStartChunk("s")],
        [
            {"type": "STEP_STARTED", "stepName": "s"},
            {"type": "STEP_STARTED", "stepName": "s#1", **meta(messageId="s")},
            {"type": "STEP_FINISHED", "stepName": "s#1", **meta(implicit=True)},
            {"type": "STEP_FINISHED", "stepName": "s", **meta(implicit=True)},
        ],
    ),
    (
        "state (client state unknown: snapshot first)",
        [
            UpdateStateChunk([SetOperation(("a",), 1)]),
            UpdateStateChunk([SetOperation(("b",), [])]),
        ],
        [
            {"type": "STATE_SNAPSHOT", "snapshot": {"a": 1}},
            {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/b", "value": []}]},
        ],
    ),
]


@pytest.mark.parametrize(
    ("chunks", "expected"), [(c, e) for _, c, e in GOLDEN], ids=[n for n, _, _ in GOLDEN]
)
def test_golden_events(chunks: list[Chunk], expected: list[Event]) -> None:
    assert run_events(chunks) == expected


def test_message_finish_rides_on_run_finished() -> None:
    evs = events(encode_all([MessageFinishChunk("length", 3, 4), TextDeltaChunk("x")]))
    assert evs[-1] == {
        **FINISHED,
        "usage": [{"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}],
        **meta(finishReason="length"),
    }


def test_error_closes_everything_and_ends_the_run() -> None:
    enc = encoder()
    body = enc.encode_many(
        [
            StepStartChunk("s"),
            TextDeltaChunk("partial"),
            *BEGUN,
            MessageFinishChunk("error"),
            ReasoningDeltaChunk("r"),
            ErrorChunk("boom"),
        ]
    )
    with pytest.warns(RuntimeWarning, match="already ended"):
        assert enc.encode(TextDeltaChunk("late")) == b""
    enc.encode(TextDeltaChunk("later"))  # warned once only (pytest errors on a second)
    assert enc.finish() == b""
    evs = events(body)
    assert [e["type"] for e in evs] == [
        "RUN_STARTED",
        "STEP_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",  # the message finish ended the call
        "TOOL_CALL_END",
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",  # the error closes what is open
        "REASONING_END",
        "STEP_FINISHED",
        "RUN_ERROR",
    ]
    assert evs[-1] == {"type": "RUN_ERROR", "message": "boom", **meta(finishReason="error")}
    assert_well_ordered(evs)


def test_args_that_are_not_json_pass_through() -> None:
    # AG-UI carries arguments as text and does not validate them; neither do we.
    chunks: list[Chunk] = [
        *BEGUN,
        ToolCallDeltaChunk("c1", "{bad"),
        ToolCallArgsTextFinishChunk("c1"),
    ]
    assert run_events(chunks)[1:] == [
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": "{bad"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
    ]
    assert decode_all(AGUIDecoder(), encode_all(chunks)) == chunks


def test_args_after_the_call_ended_are_dropped() -> None:
    chunks: list[Chunk] = [
        *BEGUN,
        ToolResultChunk("c1", 1),
        ToolCallDeltaChunk("c1", "late"),
        ToolCallArgsTextFinishChunk("c1", "later"),
    ]
    assert [e["type"] for e in run_events(chunks)] == [
        "TOOL_CALL_START",
        "TOOL_CALL_ARGS",
        "TOOL_CALL_END",
        "TOOL_CALL_RESULT",
    ]


def test_encode_after_finish_raises_as_in_every_protocol() -> None:
    enc = encoder()
    assert events(enc.finish())[-1] == FINISHED
    with pytest.raises(ChunkEncodeError, match="after finish"):
        enc.encode(TextDeltaChunk("x"))
    with pytest.raises(ChunkEncodeError, match="after finish"):
        enc.finish()


def test_encode_after_run_error_is_dropped_with_a_warning() -> None:
    enc = encoder()
    assert events(enc.encode(ErrorChunk("boom")))[-1]["type"] == "RUN_ERROR"
    with pytest.warns(RuntimeWarning, match="already ended"):
        assert enc.encode(TextDeltaChunk("x")) == b""
    assert enc.finish() == b""


def test_interface_headers_keepalive_and_ids() -> None:
    enc = AGUIEncoder()
    assert isinstance(enc, Encoder)
    assert isinstance(AGUIDecoder(), Decoder)
    assert enc.headers["Content-Type"].startswith("text/event-stream")
    assert enc.headers["Cache-Control"] == "no-cache, no-transform"
    assert enc.headers["X-Accel-Buffering"] == "no"
    assert "Connection" not in enc.headers
    assert enc.keepalive is not None
    assert enc.keepalive.startswith(b":")
    assert enc.keepalive.endswith(b"\n\n")
    other = AGUIEncoder()
    assert len({enc.thread_id, enc.run_id, enc.message_id, other.run_id}) == 4
    first = events(enc.finish())
    assert (first[0]["threadId"], first[0]["runId"]) == (enc.thread_id, enc.run_id)


def test_compact_utf8_and_non_finite_floats() -> None:
    body = encode_all([TextDeltaChunk("é😀\u2028"), DataChunk(float("nan"))])
    assert "é😀\u2028".encode() in body
    assert b"NaN" not in body
    (custom,) = [e for e in events(body) if e["type"] == "CUSTOM"]
    assert custom["value"] is None


def test_custom_events_off_drops_with_one_warning() -> None:
    enc = encoder(custom_events=False)
    with pytest.warns(RuntimeWarning, match="custom_events=False") as caught:
        body = enc.encode_many([DataChunk(1), SourceChunk("s", "u"), TextDeltaChunk("x")])
    assert len(caught) == 1
    assert [e["type"] for e in events(body)] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
    ]


class TestEncodeErrors:
    @pytest.mark.parametrize(
        "chunk",
        [
            ToolCallDeltaChunk("nope", "x"),
            ToolCallArgsTextFinishChunk("nope"),
            ToolResultChunk("nope", 1),
        ],
    )
    def test_unknown_tool_call_id(self, chunk: Chunk) -> None:
        with pytest.raises(ChunkEncodeError, match="unknown tool_call_id 'nope'"):
            encoder().encode(chunk)

    def test_duplicate_tool_call_id_keeps_earlier_frames(self) -> None:
        enc = encoder()
        with pytest.raises(ChunkEncodeError, match="already used") as info:
            enc.encode_many([*BEGUN, TextDeltaChunk("a"), *BEGUN])
        assert [e["type"] for e in events(info.value.partial)] == [
            "RUN_STARTED",
            "TOOL_CALL_START",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
        ]

    def test_unserialisable_value_leaves_no_half_frame(self) -> None:
        enc = encoder(state={})
        with pytest.raises(ChunkEncodeError, match="data") as info:
            enc.encode_many([TextDeltaChunk("a"), DataChunk(object())])
        assert events(info.value.partial)[-1]["delta"] == "a"
        with pytest.raises(ChunkEncodeError):
            enc.encode(UpdateStateChunk([SetOperation(("x",), object())]))
        # The state was not advanced by the failed chunk: the next delta is an add.
        evs = events(enc.encode(UpdateStateChunk([SetOperation(("x",), 1)])))
        assert evs[-1]["delta"] == [{"op": "add", "path": "/x", "value": 1}]

    def test_lone_surrogate_in_open_text(self) -> None:
        enc = encoder()
        enc.encode(TextDeltaChunk("a"))
        with pytest.raises(ChunkEncodeError, match="text_delta"):
            enc.encode(TextDeltaChunk("\ud800"))
        assert events(enc.encode(TextDeltaChunk("b")))[0]["delta"] == "b"

    def test_inapplicable_state_operation_warns_once(self) -> None:
        enc = encoder(state={"s": 1})
        bad = UpdateStateChunk([AppendTextOperation(("s",), "x"), SetOperation(("k",), 2)])
        with pytest.warns(RuntimeWarning, match="append-text needs a string"):
            evs = events(enc.encode(bad))
        assert evs[-1]["delta"] == [{"op": "add", "path": "/k", "value": 2}]
        enc.encode(UpdateStateChunk([SetOperation(("s", "__proto__"), 1)]))  # no 2nd warning


# --- ordering rules ---------------------------------------------------------

_OPENERS = {
    "TEXT_MESSAGE_START": ("text", "messageId"),
    "REASONING_MESSAGE_START": ("reasoning", "messageId"),
    "REASONING_START": ("span", "messageId"),
    "TOOL_CALL_START": ("tool", "toolCallId"),
    "STEP_STARTED": ("step", "stepName"),
}
_CONTENT = {
    "TEXT_MESSAGE_CONTENT": ("text", "messageId"),
    "REASONING_MESSAGE_CONTENT": ("reasoning", "messageId"),
    "TOOL_CALL_ARGS": ("tool", "toolCallId"),
}
_CLOSERS = {
    "TEXT_MESSAGE_END": ("text", "messageId"),
    "REASONING_MESSAGE_END": ("reasoning", "messageId"),
    "REASONING_END": ("span", "messageId"),
    "TOOL_CALL_END": ("tool", "toolCallId"),
    "STEP_FINISHED": ("step", "stepName"),
}


def _no_nulls(event: Event) -> None:
    for key, value in event.items():
        # Only CUSTOM.value and STATE_SNAPSHOT.snapshot may be null: they are JSON payloads.
        if key not in ("value", "snapshot"):
            assert value is not None, f"null field {key!r} in {event}"


def assert_well_ordered(evs: list[Event]) -> None:
    """The protocol's ordering rules, as @ag-ui/client's verifier states them."""
    assert evs[0]["type"] == "RUN_STARTED"
    terminal = [i for i, e in enumerate(evs) if e["type"] in ("RUN_FINISHED", "RUN_ERROR")]
    assert terminal == [len(evs) - 1], "exactly one terminal event, last"
    open_: set[tuple[str, str]] = set()
    tool_ids: set[str] = set()
    for event in evs[1:-1]:
        _no_nulls(event)
        kind = event["type"]
        if kind in _OPENERS:
            what, key = _OPENERS[kind]
            assert (what, event[key]) not in open_, f"{kind} for an open {what}"
            open_.add((what, event[key]))
            if what == "tool":
                assert event["toolCallId"] not in tool_ids
                tool_ids.add(event["toolCallId"])
        elif kind in _CONTENT:
            what, key = _CONTENT[kind]
            assert (what, event[key]) in open_, f"{kind} outside its {what}"
            assert event["delta"] != "", f"empty delta in {event}"
        elif kind in _CLOSERS:
            what, key = _CLOSERS[kind]
            assert (what, event[key]) in open_, f"{kind} without a start"
            open_.discard((what, event[key]))
        elif kind == "TOOL_CALL_RESULT":
            assert ("tool", event["toolCallId"]) not in open_, "result before the call ended"
    _no_nulls(evs[-1])
    assert not open_, f"left open at the end: {open_}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk_sequences(max_size=25))
def test_every_run_is_well_ordered(chunks: list[Chunk]) -> None:
    assert_well_ordered(events(encode_run(chunks)))


# --- state: JSON Patch ------------------------------------------------------


def test_json_pointer_escapes() -> None:
    assert json_pointer(()) == ""
    assert json_pointer(("a/b", "c~d", "~1", "")) == "/a~1b/c~0d/~01/"


PATCHES: list[tuple[str, Any, list[Operation], list[Event]]] = [
    ("new key", {}, [SetOperation(("a",), 1)], [{"op": "add", "path": "/a", "value": 1}]),
    (
        "existing key",
        {"a": 0},
        [SetOperation(("a",), 1)],
        [{"op": "replace", "path": "/a", "value": 1}],
    ),
    (
        "missing keys on the way: one add of the built object",
        {},
        [SetOperation(("a", "b", "0"), 1)],
        [{"op": "add", "path": "/a", "value": {"b": {"0": 1}}}],
    ),
    (
        "null on the way is replaced",
        {"a": None},
        [SetOperation(("a", "b"), 1)],
        [{"op": "replace", "path": "/a", "value": {"b": 1}}],
    ),
    (
        "list append uses the index",
        {"l": [1]},
        [SetOperation(("l", "1"), 2)],
        [{"op": "add", "path": "/l/1", "value": 2}],
    ),
    (
        "list item replaced",
        {"l": [1]},
        [SetOperation(("l", "0"), 2)],
        [{"op": "replace", "path": "/l/0", "value": 2}],
    ),
    (
        "append-text: replace with the whole string, merged",
        {"m": [{"t": "a"}]},
        [AppendTextOperation(("m", "0", "t"), "b"), AppendTextOperation(("m", "0", "t"), "c")],
        [{"op": "replace", "path": "/m/0/t", "value": "abc"}],
    ),
    (
        "escaped keys",
        {"a/b": {"~": "x"}},
        [AppendTextOperation(("a/b", "~"), "y")],
        [{"op": "replace", "path": "/a~1b/~0", "value": "xy"}],
    ),
]


@pytest.mark.parametrize(
    ("state", "operations", "patch"),
    [(s, o, p) for _, s, o, p in PATCHES],
    ids=[n for n, _, _, _ in PATCHES],
)
def test_state_patches(state: Any, operations: list[Operation], patch: list[Event]) -> None:
    evs = run_events([UpdateStateChunk(operations)], state=state)
    assert evs == [{"type": "STATE_DELTA", "delta": patch}]
    assert jsonpatch.apply_patch(state, patch) == apply_operations(state, operations)


def test_root_set_is_a_snapshot_of_the_final_state() -> None:
    ops: list[Operation] = [
        SetOperation(("a",), 1),
        SetOperation((), {"b": 1}),
        SetOperation(("c",), 2),
    ]
    evs = run_events([UpdateStateChunk(ops)], state={"z": 0})
    assert evs == [{"type": "STATE_SNAPSHOT", "snapshot": {"b": 1, "c": 2}}]


# Built once: building a recursive strategy per draw is what makes a test slow.
_OPERATIONS = state_operations()
_INITIAL_STATES = st.dictionaries(st.sampled_from(["a", "b/c", "~"]), json_values(), max_size=3)
_COUNTS = st.integers(1, 4)


@st.composite
def state_runs(draw: st.DrawFn) -> tuple[Any, list[list[Operation]]]:
    """An initial state and batches of operations that all apply, in order."""
    state = draw(_INITIAL_STATES)
    initial = state
    batches = []
    for _ in range(draw(_COUNTS)):
        batch = []
        for _ in range(draw(_COUNTS)):
            op = draw(_OPERATIONS)
            try:
                state = apply_operations(state, [op])
            except StateError:  # the strategy draws ops that may not apply
                continue
            batch.append(op)
        batches.append(batch)
    return initial, batches


@settings(max_examples=80, deadline=None)
@given(state_runs())
def test_json_patch_matches_apply_operations(run: tuple[Any, list[list[Operation]]]) -> None:
    initial, batches = run
    enc = encoder(state=initial)
    state = initial
    client = initial
    for batch in batches:
        state = apply_operations(state, batch)
        body = enc.encode(UpdateStateChunk(batch))
        for event in events(body) if body else []:
            if event["type"] == "RUN_STARTED":
                continue
            if event["type"] == "STATE_SNAPSHOT":
                client = event["snapshot"]
            else:
                assert event["type"] == "STATE_DELTA"
                client = jsonpatch.apply_patch(client, event["delta"])
        assert client == msgspec.json.decode(msgspec.json.encode(state))


# --- decoding ---------------------------------------------------------------


def frames(*evs: Event) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in evs)


class TestDecoder:
    def test_foreign_patches_and_events(self) -> None:
        body = frames(
            START,
            {"type": "STATE_SNAPSHOT", "snapshot": {"l": [1, 2], "s": "ab", "o": {"k": 1}}},
            {
                "type": "STATE_DELTA",
                "delta": [
                    {"op": "test", "path": "/s", "value": "ab"},
                    {"op": "add", "path": "/l/-", "value": 3},
                    {"op": "add", "path": "/l/0", "value": 0},
                    {"op": "replace", "path": "/s", "value": "abc"},
                    {"op": "remove", "path": "/o/k"},
                    {"op": "copy", "from": "/s", "path": "/t"},
                ],
            },
            {"type": "RAW", "event": {}},
            {"type": "CUSTOM", "name": "other", "value": 1},
            {"type": "TEXT_MESSAGE_START", "messageId": "u", "role": "user"},
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": "u", "delta": "not ours"},
            {"type": "TEXT_MESSAGE_END", "messageId": "u"},
            {"type": "REASONING_MESSAGE_START", "messageId": "r", "role": "reasoning"},
            {"type": "REASONING_MESSAGE_CONTENT", "messageId": "r", "delta": "x"},
            {"type": "REASONING_MESSAGE_END", "messageId": "r"},
            {"type": "STEP_STARTED", "stepName": "s"},
            {"type": "STEP_FINISHED", "stepName": "s"},
            {**FINISHED, "usage": [{"inputTokens": 1}, {"inputTokens": 2, "outputTokens": 5}]},
        )
        decoder = AGUIDecoder()
        chunks = decoder.feed(body) + decoder.finish()
        snapshot = {"l": [1, 2], "s": "ab", "o": {"k": 1}}
        final = {"l": [0, 1, 2, 3], "s": "abc", "o": {}, "t": "abc"}
        assert chunks == [
            UpdateStateChunk([SetOperation((), snapshot)]),
            UpdateStateChunk(
                [
                    SetOperation(("l", "2"), 3),
                    SetOperation(("l",), [0, 1, 2, 3]),
                    AppendTextOperation(("s",), "c"),
                    SetOperation(("o",), {}),
                    SetOperation((), final),
                ]
            ),
            ReasoningPartStartChunk(),
            ReasoningDeltaChunk("x"),
            StepStartChunk("s"),
            StepFinishChunk("unknown"),
            MessageFinishChunk("unknown", 3, 5),
        ]
        assert decoder.state == final
        assert (decoder.thread_id, decoder.run_id) == ("t", "r")
        assert apply_operations(snapshot, chunks[1].operations) == final  # type: ignore[union-attr]

    def test_chunk_shorthands_expand_like_the_client(self) -> None:
        body = frames(
            START,
            {"type": "TEXT_MESSAGE_CHUNK", "messageId": "m", "delta": "He"},
            {"type": "TEXT_MESSAGE_CHUNK", "delta": "llo"},
            {"type": "REASONING_MESSAGE_CHUNK", "messageId": "r", "delta": "hm"},
            {"type": "TOOL_CALL_CHUNK", "toolCallId": "c", "toolCallName": "f", "delta": "{"},
            {"type": "TOOL_CALL_CHUNK", "delta": "}"},
            {"type": "TOOL_CALL_CHUNK", "toolCallId": "d", "toolCallName": "g"},
            {"type": "TEXT_MESSAGE_CHUNK", "messageId": "u", "role": "user", "delta": "x"},
            {"type": "TOOL_CALL_RESULT", "messageId": "t", "toolCallId": "c", "content": "ok"},
            FINISHED,
        )
        assert decode_all(AGUIDecoder(), body, step=3) == [
            TextDeltaChunk("He"),
            TextDeltaChunk("llo"),
            ReasoningPartStartChunk(),
            ReasoningDeltaChunk("hm"),
            ToolCallBeginChunk("c", "f"),
            ToolCallDeltaChunk("c", "{"),
            ToolCallDeltaChunk("c", "}"),
            ToolCallArgsTextFinishChunk("c"),
            ToolCallBeginChunk("d", "g"),
            ToolCallArgsTextFinishChunk("d"),
            ToolResultChunk("c", "ok"),
        ]

    @pytest.mark.parametrize(
        ("event", "message"),
        [
            ({"type": "TEXT_MESSAGE_CHUNK", "delta": "x"}, "must have a messageId"),
            ({"type": "TOOL_CALL_CHUNK", "toolCallId": "c"}, "must have a toolCallName"),
        ],
    )
    def test_bad_chunk_shorthands(self, event: Event, message: str) -> None:
        with pytest.raises(ProtocolError, match=message):
            AGUIDecoder().feed(frames(START, event))

    def test_keepalives_crlf_and_utf8_split(self) -> None:
        body = (
            b": heartbeat\n\n"
            + frames(START, {"type": "TEXT_MESSAGE_START", "messageId": "m"}).replace(
                b"\n", b"\r\n"
            )
            + 'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":"m","delta":"日本"}\r\r'.encode()
            + frames({"type": "TEXT_MESSAGE_END", "messageId": "m"}, FINISHED)
        )
        assert decode_all(AGUIDecoder(), body, step=1) == [TextDeltaChunk("日本")]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"data: {not json\n\n", "AG-UI event is not valid JSON"),
            (b"data: [1]\n\n", "invalid AG-UI event: Expected `object`"),
            (frames({"type": "NOPE"}), "invalid AG-UI event: Invalid value 'NOPE'"),
            (frames({"runId": "r"}), "missing required field `type`"),
            (
                frames({"type": "RUN_STARTED", "threadId": 1, "runId": "r"}),
                "Expected `str`, got `int` - at `$.threadId`",
            ),
            (frames(FINISHED), "the first event must be RUN_STARTED, not RUN_FINISHED"),
            (frames(START, START), "RUN_STARTED: a run is already active"),
            (frames(START, FINISHED, START), "RUN_STARTED after the run ended"),
            (
                frames(START, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "x", "delta": "a"}),
                "TEXT_MESSAGE_CONTENT: no open text message 'x'",
            ),
            (
                frames(START, {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "n"})
                + frames(FINISHED),
                "RUN_FINISHED: still open: tool call 'c'",
            ),
            (
                frames(START, {"type": "TOOL_CALL_END", "toolCallId": "c"}),
                "TOOL_CALL_END: no open tool call 'c'",
            ),
            (
                frames(START, {"type": "STEP_FINISHED", "stepName": "s"}),
                "STEP_FINISHED: no open step 's'",
            ),
            (
                frames(
                    START,
                    {"type": "STATE_SNAPSHOT", "snapshot": {}},
                    {"type": "STATE_DELTA", "delta": [{"op": "remove", "path": "/x"}]},
                ),
                "STATE_DELTA does not apply: operation 0 (remove '/x'): no member 'x' to remove",
            ),
            (
                frames(
                    START,
                    {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "a", "value": 1}]},
                ),
                "does not start with '/'",
            ),
            (
                frames(
                    START,
                    {
                        "type": "STATE_DELTA",
                        "delta": [{"op": "add", "path": "/__proto__", "value": 1}],
                    },
                ),
                "unsafe path segment '__proto__'",
            ),
            (
                frames(
                    START,
                    {
                        "type": "TOOL_CALL_RESULT",
                        "messageId": "m",
                        "toolCallId": "c",
                        "content": "{",
                    }
                    | meta(json=True),
                ),
                "TOOL_CALL_RESULT: content is marked as JSON but is not valid JSON",
            ),
            (
                frames(START, {"type": "CUSTOM", "name": "assistant-stream/source", "value": 1}),
                "invalid assistant-stream/source value",
            ),
        ],
    )
    def test_malformed_input(self, body: bytes, message: str) -> None:
        decoder = AGUIDecoder()
        with pytest.raises(ProtocolError, match=re.escape(message)):
            decoder.feed(body)
        with pytest.raises(ProtocolError, match="already failed"):
            decoder.feed(b"")

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"", "stream ended before RUN_FINISHED or RUN_ERROR"),
            (frames(START), "stream ended before RUN_FINISHED or RUN_ERROR"),
            (frames(START, FINISHED)[:-1], "stream ended inside an event"),
        ],
    )
    def test_bad_endings(self, body: bytes, message: str) -> None:
        decoder = AGUIDecoder()
        decoder.feed(body)
        with pytest.raises(ProtocolError, match=message):
            decoder.finish()

    def test_offset_points_at_the_bad_event(self) -> None:
        good = frames(START)
        with pytest.raises(ProtocolError) as info:
            decode_all(AGUIDecoder(), good + b"data: {\n\n")
        assert info.value.offset == len(good)

    def test_event_size_limit(self) -> None:
        decoder = AGUIDecoder(max_event_bytes=64)
        with pytest.raises(ProtocolError, match="longer than the limit of 64 bytes"):
            decoder.feed(b"data: " + b"x" * 100)

    def test_run_error_first_is_accepted(self) -> None:
        body = frames({"type": "RUN_ERROR", "message": "no"})
        assert decode_all(AGUIDecoder(), body) == [ErrorChunk("no")]


# --- round trips ------------------------------------------------------------


def without_state(chunks: list[Chunk]) -> list[Chunk]:
    return [c for c in chunks if not isinstance(c, UpdateStateChunk)]


def states(chunks: list[Chunk], initial: Any) -> list[Any]:
    """The state after each state chunk (as JSON gives it back)."""
    out = []
    state = initial
    for chunk in chunks:
        if isinstance(chunk, UpdateStateChunk) and chunk.operations:
            state = apply_operations(state, chunk.operations)
            out.append(msgspec.json.decode(msgspec.json.encode(state)))
    return out


def test_round_trip_byte_by_byte() -> None:
    chunks: list[Chunk] = [
        TextDeltaChunk('Hé "x"\n😀', "p1"),
        ReasoningPartStartChunk("sum", ""),
        ReasoningDeltaChunk("r"),
        ToolCallBeginChunk("t1", "search", "p2"),
        ToolCallDeltaChunk("t1", '{"q":'),
        ToolResultChunk("t1", None, [1], True),
        ToolCallArgsTextFinishChunk("t1"),
        ToolCallBeginChunk("t2", "noargs"),
        UpdateStateChunk([SetOperation(("a",), "x"), AppendTextOperation(("a",), "y")]),
        SourceChunk("s1", "https://x.test", title="T"),
        StepStartChunk("m1"),
        StepFinishChunk("stop", 1, 2, True),
        MessageFinishChunk("stop", 3, 4),
        ErrorChunk("boom"),
        TextDeltaChunk("dropped"),
    ]
    with pytest.warns(RuntimeWarning, match="already ended"):
        body = encode_all(chunks)
    expected = normalize(chunks)
    decoded = decode_all(AGUIDecoder(), body, step=1)
    assert decoded == decode_all(AGUIDecoder(), body)
    assert without_state(decoded) == without_state(expected)
    assert states(decoded, None) == states(expected, None) == [{"a": "xy"}]
    assert expected[-2:] == [ErrorChunk("boom"), MessageFinishChunk("stop", 3, 4)]
    assert ToolCallDeltaChunk("t2", "{}") in expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), chunk_sequences(max_size=25, initial_state={}), st.booleans())
def test_round_trip(data: st.DataObject, chunks: list[Chunk], state_known: bool) -> None:
    initial: dict[str, Any] | None = {} if state_known else None
    body = encode_run(chunks, state=initial)
    decoder = AGUIDecoder(state=initial)
    decoded: list[Chunk] = []
    for piece in data.draw(byte_splits(body, max_pieces=40)):
        decoded += decoder.feed(piece)
    decoded += decoder.finish()
    expected = normalize(chunks)
    assert without_state(decoded) == without_state(expected)
    start = {} if initial is None else initial
    assert states(decoded, initial) == states(expected, start)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200))
def test_decoder_only_raises_protocol_error(body: bytes) -> None:
    decoder = AGUIDecoder()
    with contextlib.suppress(ProtocolError):
        decoder.feed(frames(START) + body)
        decoder.finish()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["TEXT_MESSAGE_END", "TOOL_CALL_END", "RUN_FINISHED"])))
def test_decoder_sequence_errors_are_protocol_errors(kinds: list[str]) -> None:
    fields = {"messageId": "m", "toolCallId": "c", "threadId": "t", "runId": "r"}
    body = frames(START, *({"type": kind, **fields} for kind in kinds))
    with contextlib.suppress(ProtocolError):
        decode_all(AGUIDecoder(), body)
