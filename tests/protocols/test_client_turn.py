"""Tool calls that wait for the client: approvals, denials, resumed calls, in every protocol."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    Chunk,
    MessageFinishChunk,
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
from assistant_stream_core.errors import ChunkEncodeError, ProtocolError
from assistant_stream_core.message import accumulate
from assistant_stream_core.protocols.ag_ui import DENIED_CONTENT, AGUIDecoder, AGUIEncoder
from assistant_stream_core.protocols.assistant_transport import (
    AssistantTransportDecoder,
    AssistantTransportEncoder,
)
from assistant_stream_core.protocols.base import Decoder, Encoder
from assistant_stream_core.protocols.data_stream import DataStreamDecoder, DataStreamEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatDecoder, OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import (
    UIMessageStreamDecoder,
    UIMessageStreamEncoder,
)
from assistant_stream_core.testing import normalize
from assistant_stream_core.testing.strategies import byte_splits, client_turn_sequences

Expect = Callable[[list[Chunk], Any], list[Chunk]]
Case = tuple[Callable[[], Encoder], Callable[[], Decoder], Expect]

CASES: dict[str, Case] = {
    "data_stream": (DataStreamEncoder, DataStreamDecoder, lambda c, e: normalize.data_stream(c)),
    "assistant_transport": (
        AssistantTransportEncoder,
        AssistantTransportDecoder,
        lambda c, e: normalize.assistant_transport(c),
    ),
    "ui_message_stream": (
        UIMessageStreamEncoder,
        UIMessageStreamDecoder,
        lambda c, e: normalize.ui_message_stream(c, message_id=e.message_id),
    ),
    "ag_ui": (AGUIEncoder, AGUIDecoder, lambda c, e: normalize.ag_ui(c)),
    "openai_chat": (OpenAIChatEncoder, OpenAIChatDecoder, lambda c, e: normalize.openai_chat(c)),
}

# The first response: a call whose arguments stream in, then a request for approval.
ASK = [
    TextDeltaChunk("Deleting it needs your approval."),
    ToolCallBeginChunk("call_1", "delete_file"),
    ToolCallDeltaChunk("call_1", '{"path": "a.txt"}'),
    ToolCallArgsTextFinishChunk("call_1"),
    ToolApprovalRequestChunk("call_1", "approval-call_1", "deletes a file"),
    MessageFinishChunk("tool-calls"),
]
# The second: the approved call's result, then the answer; and a denied one.
APPROVED = [
    ToolCallResumeChunk("call_1"),
    ToolResultChunk("call_1", {"deleted": True}),
    TextDeltaChunk("Done."),
]
DENIED = [ToolCallResumeChunk("call_1"), ToolOutputDeniedChunk("call_1"), TextDeltaChunk("OK.")]


def _frames(body: bytes) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:]) for line in body.decode().split("\n\n") if line.startswith("data: {")
    ]


def _encode(encoder: Encoder, chunks: list[Chunk]) -> bytes:
    return encoder.encode_many(chunks) + encoder.finish()


class TestUIMessageStream:
    def test_an_approval_request_follows_the_settled_input(self) -> None:
        frames = _frames(_encode(UIMessageStreamEncoder(message_id="m"), ASK))
        kinds = [f["type"] for f in frames]
        assert kinds[-4:] == [
            "tool-input-delta",
            "tool-input-available",
            "tool-approval-request",
            "finish",
        ]
        assert frames[-2] == {
            "type": "tool-approval-request",
            "approvalId": "approval-call_1",
            "toolCallId": "call_1",
            "reason": "deletes a file",
        }
        assert frames[-1] == {"type": "finish", "finishReason": "tool-calls"}

    def test_a_reason_is_written_only_when_given(self) -> None:
        chunks = [*ASK[1:4], ToolApprovalRequestChunk("call_1", "a1")]
        frames = _frames(_encode(UIMessageStreamEncoder(), chunks))
        assert frames[-2] == {
            "type": "tool-approval-request",
            "approvalId": "a1",
            "toolCallId": "call_1",
        }

    def test_a_continuation_answers_the_earlier_call(self) -> None:
        frames = _frames(_encode(UIMessageStreamEncoder(message_id="m"), APPROVED))
        assert frames[1] == {
            "type": "tool-output-available",
            "toolCallId": "call_1",
            "output": {"deleted": True},
        }
        assert frames[-1] == {"type": "finish", "finishReason": "stop"}
        denied = _frames(_encode(UIMessageStreamEncoder(), DENIED))
        assert denied[1] == {"type": "tool-output-denied", "toolCallId": "call_1"}

    def test_the_decoder_reads_them_back(self) -> None:
        for run in (ASK, APPROVED, DENIED):
            encoder = UIMessageStreamEncoder()
            decoded = UIMessageStreamDecoder().feed(_encode(encoder, run))
            expected = normalize.ui_message_stream(run, message_id=encoder.message_id)
            assert decoded == expected
        decoded = UIMessageStreamDecoder().feed(_encode(UIMessageStreamEncoder(), APPROVED))
        assert decoded[:2] == [ToolCallResumeChunk("call_1"), APPROVED[1]]

    def test_an_approval_request_for_a_call_never_begun_is_a_protocol_error(self) -> None:
        body = b'data: {"type":"start"}\n\ndata: {"type":"tool-approval-request",'
        body += b'"approvalId":"a","toolCallId":"nope"}\n\n'
        with pytest.raises(ProtocolError, match="tool-approval-request for 'nope'"):
            UIMessageStreamDecoder().feed(body)


def test_ag_ui_ends_the_run_with_an_interrupt() -> None:
    frames = _frames(_encode(_fixed("ag_ui"), ASK))
    assert [f["type"] for f in frames[-3:]] == ["TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED"]
    assert frames[-1]["outcome"] == {
        "type": "interrupt",
        "interrupts": [
            {
                "id": "approval-call_1",
                "reason": "tool_approval",
                "message": "deletes a file",
                "toolCallId": "call_1",
            }
        ],
    }
    decoded = AGUIDecoder().feed(_encode(_fixed("ag_ui"), ASK))
    assert decoded[-2:] == [ASK[4], MessageFinishChunk("tool-calls")]
    # Without approvals the run finishes plainly.
    assert "outcome" not in _frames(_encode(_fixed("ag_ui"), ASK[:4]))[-1]


@pytest.mark.parametrize("protocol", sorted(set(CASES) - {"ui_message_stream", "ag_ui"}))
def test_other_protocols_write_nothing_for_them(protocol: str) -> None:
    """The call without a result already says the client acts next; nothing else is sent."""
    plain = [c for c in ASK if not isinstance(c, ToolApprovalRequestChunk)]
    assert _encode(_fixed(protocol), ASK) == _encode(_fixed(protocol), plain)


def test_ag_ui_answers_an_earlier_call_with_a_tool_message() -> None:
    """After an interrupt the client holds no answer: the tool message carries the outcome."""
    frames = _frames(_encode(_fixed("ag_ui"), APPROVED))
    (result,) = [f for f in frames if f["type"] == "TOOL_CALL_RESULT"]
    assert (result["toolCallId"], result["content"]) == ("call_1", '{"deleted":true}')
    frames = _frames(_encode(_fixed("ag_ui"), DENIED))
    (result,) = [f for f in frames if f["type"] == "TOOL_CALL_RESULT"]
    assert (result["toolCallId"], result["content"]) == ("call_1", DENIED_CONTENT)
    for run in (APPROVED, DENIED):
        decoded = AGUIDecoder().feed(_encode(_fixed("ag_ui"), run))
        assert decoded[:2] == run[:2]


@pytest.mark.parametrize("protocol", sorted(set(CASES) - {"ui_message_stream", "ag_ui"}))
def test_answers_to_earlier_calls_write_nothing(protocol: str) -> None:
    """The client sent its own answer (a human tool call's result): nothing to repeat."""
    assert _encode(_fixed(protocol), APPROVED) == _encode(_fixed(protocol), [APPROVED[-1]])
    assert _encode(_fixed(protocol), DENIED) == _encode(_fixed(protocol), [DENIED[-1]])


def _fixed(protocol: str) -> Encoder:
    # Fixed ids: random ones would make equal streams look different.
    if protocol == "ag_ui":
        return AGUIEncoder(thread_id="t", run_id="r", message_id="m")
    if protocol == "openai_chat":
        return OpenAIChatEncoder(completion_id="c")
    return CASES[protocol][0]()


def test_openai_finish_reason_says_the_client_acts_next() -> None:
    body = _encode(OpenAIChatEncoder(), [*ASK[1:5]])
    finish = [f for f in _frames(body) if f["choices"] and f["choices"][0]["finish_reason"]]
    assert finish[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("protocol", sorted(CASES))
@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        (ToolApprovalRequestChunk("nope", "a"), "tool-approval-request chunk: unknown"),
        (ToolOutputDeniedChunk("nope"), "tool-output-denied chunk: unknown"),
        (ToolResultChunk("nope", 1), "tool-result chunk: unknown"),
    ],
)
def test_unknown_ids_raise_in_every_protocol(protocol: str, chunk: Chunk, message: str) -> None:
    encoder = CASES[protocol][0]()
    with pytest.raises(ChunkEncodeError, match=message):
        encoder.encode(chunk)
    encoder.encode(ToolCallResumeChunk("c"))
    with pytest.raises(ChunkEncodeError, match="already used"):
        encoder.encode(ToolCallResumeChunk("c"))


@pytest.mark.parametrize("protocol", sorted(CASES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), run=client_turn_sequences(max_size=15))
def test_round_trip(protocol: str, data: st.DataObject, run: list[Chunk]) -> None:
    # State has its own round-trip tests (AG-UI sends it as snapshots and patches).
    run = [c for c in run if not isinstance(c, UpdateStateChunk)]
    make_encoder, make_decoder, expect = CASES[protocol]
    encoder = make_encoder()
    with warnings.catch_warnings():
        # AG-UI warns once when it drops what follows an error (the run ended).
        warnings.simplefilter("ignore", RuntimeWarning)
        body = _encode(encoder, run)
    decoder = make_decoder()
    decoded: list[Chunk] = []
    for piece in data.draw(byte_splits(body, max_pieces=30)):
        decoded += decoder.feed(piece)
    decoded += decoder.finish()
    assert decoded == expect(run, encoder)
    assert accumulate(decoded, strict=True) == accumulate(expect(run, encoder), strict=True)


def test_a_continued_message_starts_a_new_step() -> None:
    """ai's lastAssistantMessageIsCompleteWithToolCalls looks at the last step only."""
    from assistant_stream_core.conversation import decode_request, response_encoder

    body = {
        "messages": [
            {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Where am I?"}]},
            {
                "id": "a1",
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool-get_location",
                        "toolCallId": "c1",
                        "state": "output-available",
                        "input": {},
                        "output": "Lyon",
                    }
                ],
            },
        ]
    }
    encoder = response_encoder("ui_message_stream", decode_request("ui_message_stream", body))
    assert isinstance(encoder, UIMessageStreamEncoder)
    frames = _frames(_encode(encoder, [TextDeltaChunk("Lyon.")]))
    assert frames[:2] == [{"type": "start", "messageId": "a1"}, {"type": "start-step"}]
    assert _frames(_encode(UIMessageStreamEncoder(start_step=True), []))[1] == {
        "type": "start-step"
    }
    # A new turn (the last message is the user's) gets a new message.
    body["messages"].append({**body["messages"][0], "id": "u2"})
    assert response_encoder("ui_message_stream", decode_request("ui_message_stream", body)) == (
        "ui_message_stream"
    )
