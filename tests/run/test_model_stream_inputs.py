"""Every input of stream_chat_completion reads alike: raw SSE bytes, text, dicts, SDK objects."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import Chunk, ErrorChunk, ReasoningDeltaChunk
from assistant_stream_core.errors import ProtocolError
from assistant_stream_core.limits import MAX_JSON_DEPTH
from assistant_stream_core.message import ToolCallPart, accumulate
from assistant_stream_core.run import (
    ChatCompletionResult,
    RunController,
    create_run,
    stream_chat_completion,
)
from assistant_stream_core.run._model_stream import ModelStreamReader

from ._util import collect, collect_with_error

pytestmark = pytest.mark.anyio


def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": choices, **extra}  # fmt: skip


def sse(chunks: list[dict[str, Any]]) -> bytes:
    frames = (b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return b"".join(frames) + b"data: [DONE]\n\n"


async def _yield(values: list[Any]) -> AsyncIterator[Any]:
    for value in values:
        yield value


def as_bytes(chunks: list[dict[str, Any]]) -> AsyncIterator[Any]:
    body = sse(chunks)
    return _yield([body[i : i + 5] for i in range(0, len(body), 5)])  # split anywhere


def as_text(chunks: list[dict[str, Any]]) -> AsyncIterator[Any]:
    return _yield([sse(chunks).decode()])


def as_dicts(chunks: list[dict[str, Any]]) -> AsyncIterator[Any]:
    return _yield(chunks)


def as_sdk_objects(chunks: list[dict[str, Any]]) -> AsyncIterator[Any]:
    from openai.types.chat import ChatCompletionChunk

    return _yield([ChatCompletionChunk.model_validate(c) for c in chunks])


INPUTS: dict[str, Callable[[list[dict[str, Any]]], AsyncIterator[Any]]] = {
    "bytes": as_bytes,
    "text": as_text,
    "dicts": as_dicts,
    "sdk": as_sdk_objects,
}


async def run_model(stream: Any) -> tuple[list[Chunk], ChatCompletionResult]:
    results: list[ChatCompletionResult] = []

    async def run(controller: RunController) -> None:
        results.append(await stream_chat_completion(controller, stream))

    chunks = await collect(run)
    return chunks, results[0]


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize(
    "delta",
    [
        {"reasoning_content": "Let me think."},  # vLLM, DeepSeek, LM Studio
        {"reasoning": "Let me think."},  # Ollama, OpenRouter
        {"thinking": "Let me think."},
        {"reasoning_details": [{"type": "reasoning.text", "text": "Let me think."}]},  # OpenRouter
        {"reasoning_details": [{"type": "reasoning.summary", "summary": "Let me think."}]},
        {
            "reasoning_details": [
                {"type": "reasoning.encrypted", "data": "opaque"},
                {"type": "reasoning.text", "text": "Let me think."},
            ]
        },
    ],
    ids=["reasoning_content", "reasoning", "thinking", "details-text", "details-summary", "mixed"],
)
async def test_every_input_reads_every_reasoning_variant(kind: str, delta: dict[str, Any]) -> None:
    values = [chunk(delta), chunk({"content": "Hi"}, "stop")]
    chunks, result = await run_model(INPUTS[kind](values))
    assert (result.reasoning, result.text, result.finish_reason) == ("Let me think.", "Hi", "stop")
    assert [c for c in chunks if isinstance(c, ReasoningDeltaChunk)] == [
        ReasoningDeltaChunk("Let me think.")
    ]


@pytest.mark.parametrize("kind", INPUTS)
async def test_every_input_makes_up_a_missing_tool_call_id(kind: str) -> None:
    call = {"index": 0, "type": "function", "function": {"name": "f", "arguments": '{"a":'}}
    values = [
        chunk({"tool_calls": [call]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": " 1}"}}]}),
        chunk({}, "tool_calls"),
    ]
    chunks, result = await run_model(INPUTS[kind](values))
    (made_up,) = result.tool_calls
    assert made_up.id.startswith("call_")
    assert (made_up.name, made_up.arguments, made_up.args) == ("f", '{"a": 1}', {"a": 1})
    (part,) = accumulate(chunks).parts
    assert isinstance(part, ToolCallPart)
    assert part.tool_call_id == made_up.id


@pytest.mark.parametrize("kind", ["bytes", "dicts"])
async def test_a_long_answer_is_whole(kind: str) -> None:
    values = [chunk({"content": f"{n} "}) for n in range(5_000)] + [chunk({}, "stop")]
    _, result = await run_model(INPUTS[kind](values))
    assert result.text == "".join(f"{n} " for n in range(5_000))


async def test_an_error_event_without_a_wrapper() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'event: error\ndata: {"message":"rate limited"}\n\n'
    )
    chunks, result = await run_model(_yield([body]))
    assert ErrorChunk("rate limited") in chunks
    assert (result.text, result.error) == ("Hi", "rate limited")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"event: delta\ndata: {}\n\n", "unexpected SSE event type 'delta'"),
        (b"data: [DONE]\n\ndata: {}\n\n", "data after [DONE]"),
        (b'data: {"choices":[]}\n\ndata: {"cho', "unterminated event"),
        (b'data: {"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}\n\n', "no function name"),
        (b'data: {"choices":[{"delta":{"content":7}}]}\n\n', "malformed chat.completion.chunk"),
        (b"data: " + b"[" * 50_000 + b"\n\n", f"limit of {MAX_JSON_DEPTH} levels"),
        # An ignored field, nested past the limit but below the interpreter's
        # recursion limit (3.11's, then 3.13's): counted, not left to the stack.
        (b'data: {"x":' + b"[" * 600 + b"]" * 600 + b"}\n\n", f"limit of {MAX_JSON_DEPTH} levels"),
        (b'data: {"x":' + b"[" * 5000 + b"]" * 5000 + b"}\n\n", "(found 5001)"),
    ],
    ids=[
        "event",
        "after-done",
        "unterminated",
        "nameless-call",
        "wrong-type",
        "deep",
        "deep-ignored-field",
        "deeper-ignored-field",
    ],
)
async def test_a_malformed_raw_stream_fails_the_run(body: bytes, message: str) -> None:
    async def run(controller: RunController) -> None:
        await stream_chat_completion(controller, _yield([body]))

    chunks, error = await collect_with_error(create_run(run))
    assert isinstance(error, ProtocolError)
    assert message in str(error)
    assert isinstance(chunks[-1], ErrorChunk)


async def test_a_malformed_dict_fails_the_run() -> None:
    async def run(controller: RunController) -> None:
        await stream_chat_completion(controller, _yield([{"choices": [{"delta": []}]}]))

    _, error = await collect_with_error(create_run(run))
    assert isinstance(error, ProtocolError)
    assert "malformed chat.completion.chunk" in str(error)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.binary(max_size=40)
        | st.sampled_from(
            [
                b"data: ",
                b"\n\n",
                b"event: error\n",
                b"data: [DONE]\n\n",
                b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0}]}}]}',
                b'{"choices":[{"delta":{"content":"a","reasoning_details":[1]}}]}',
                b'{"error":{"message":3}}',
            ]
        ),
        max_size=8,
    )
)
def test_any_bytes_raise_only_a_protocol_error(pieces: list[bytes]) -> None:
    reader = ModelStreamReader()
    out: list[Chunk] = []
    try:
        for piece in pieces:
            reader.feed(piece, out)
        reader.finish()
    except ProtocolError:
        return
