"""stream_chat_completion: an OpenAI-compatible model stream written to a run."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant_stream_core.chunks import (
    Chunk,
    ErrorChunk,
    MessageFinishChunk,
    ReasoningDeltaChunk,
    StepFinishChunk,
    TextDeltaChunk,
)
from assistant_stream_core.errors import ProtocolError
from assistant_stream_core.limits import MAX_JSON_DEPTH
from assistant_stream_core.message import ReasoningPart, TextPart, ToolCallPart, accumulate
from assistant_stream_core.run import (
    ChatCompletionResult,
    RunController,
    create_run,
    stream_chat_completion,
)
from assistant_stream_core.run.openai_model import _ThinkTags

from ._util import collect, collect_with_error

pytestmark = pytest.mark.anyio


def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": choices,
        **extra,
    }


CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "Let me "}),
    chunk({"reasoning_content": "think."}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    chunk({}, "tool_calls"),
    chunk(None, usage={"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}),
]
BODY = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in CHUNKS) + b"data: [DONE]\n\n"


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def items(values: list[Any]) -> AsyncIterator[Any]:
    for value in values:
        yield value


async def run_model(stream: Any, **kwargs: Any) -> tuple[list[Chunk], ChatCompletionResult]:
    results: list[ChatCompletionResult] = []

    async def run(controller: RunController) -> None:
        results.append(await stream_chat_completion(controller, stream, **kwargs))

    chunks = await collect(run)
    return chunks, results[0]


def check_answer(chunks: list[Chunk], result: ChatCompletionResult) -> None:
    message = accumulate(chunks)
    reasoning, text, call = message.parts
    assert isinstance(reasoning, ReasoningPart)
    assert reasoning.text == "Let me think."
    assert isinstance(text, TextPart)
    assert text.text == "Hello"
    assert isinstance(call, ToolCallPart)
    assert (call.tool_call_id, call.tool_name, call.args) == (
        "call_1",
        "get_weather",
        {"city": "Paris"},
    )
    assert call.args_text == '{"city": "Paris"}'
    assert chunks[-1] == MessageFinishChunk("tool-calls", input_tokens=11, output_tokens=5)
    assert result.text == "Hello"
    assert result.reasoning == "Let me think."
    assert [(c.id, c.name, c.arguments, c.args) for c in result.tool_calls] == [
        ("call_1", "get_weather", '{"city": "Paris"}', {"city": "Paris"})
    ]
    assert (result.finish_reason, result.input_tokens, result.output_tokens) == (
        "tool-calls",
        11,
        5,
    )
    assert result.error is None
    assert not result.cancelled


@pytest.mark.parametrize("size", [1, 7, len(BODY)])
async def test_raw_sse_bytes_split_anywhere(size: int) -> None:
    check_answer(*await run_model(pieces(BODY, size)))


async def test_text_and_dicts() -> None:
    check_answer(*await run_model(pieces(BODY, 13)))  # bytes
    check_answer(*await run_model(items([BODY.decode()])))  # str
    check_answer(*await run_model(items(CHUNKS)))  # dicts: the SDK consumed [DONE]


async def test_openai_sdk_chunk_objects() -> None:
    from openai.types.chat import ChatCompletionChunk

    objects = [ChatCompletionChunk.model_validate(c) for c in CHUNKS]
    check_answer(*await run_model(items(objects)))


@pytest.mark.parametrize(
    "delta",
    [
        {"reasoning": "Let me think."},
        {"thinking": "Let me think."},
        {"reasoning_details": [{"type": "reasoning.text", "text": "Let me think."}]},
    ],
)
async def test_reasoning_variants(delta: dict[str, Any]) -> None:
    chunks, result = await run_model(items([chunk(delta), chunk({"content": "Hi"}, "stop")]))
    assert result.reasoning == "Let me think."
    assert [c for c in chunks if isinstance(c, ReasoningDeltaChunk)] == [
        ReasoningDeltaChunk("Let me think.")
    ]


async def test_think_tags_in_content() -> None:
    deltas = ["<thi", "nk>Let me", " think.</th", "ink>Hel", "lo"]
    values = [chunk({"content": d}) for d in deltas] + [chunk({}, "stop")]
    chunks, result = await run_model(items(values), think_tags=True)
    assert (result.reasoning, result.text) == ("Let me think.", "Hello")
    assert [type(p) for p in accumulate(chunks).parts] == [ReasoningPart, TextPart]
    _, plain = await run_model(items(values))
    assert plain.text == "<think>Let me think.</think>Hello"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["<think>", "</think>", "<", ">", "a", "think", "</", "b c"]), max_size=12
    ),
    st.data(),
)
def test_think_tag_splitter_is_split_independent(tokens: list[str], data: st.DataObject) -> None:
    text = "".join(tokens)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    splitter = _ThinkTags()
    whole = _ThinkTags()
    pieces_out: list[tuple[bool, str]] = []
    for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
        pieces_out += splitter.feed(text[a:b])
    pieces_out += splitter.flush()
    expected = whole.feed(text) + whole.flush()

    def joined(out: list[tuple[bool, str]], kind: bool) -> str:
        return "".join(t for k, t in out if k is kind)

    for kind in (True, False):
        assert joined(pieces_out, kind) == joined(expected, kind)
    assert "<think>" not in joined(expected, False) or "</think>" in text


async def test_error_frame_becomes_an_error_chunk() -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"error":{"message":"model overloaded","type":"server_error"}}\n\n'
        b"data: [DONE]\n\n"
    )
    chunks, result = await run_model(pieces(body, 5))
    assert ErrorChunk("model overloaded") in chunks
    assert result.error == "model overloaded"
    assert result.text == "Hi"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'data: {"choices": 3}\n\n', "malformed chat.completion.chunk"),
        (b"data: {not json\n\n", "not valid JSON"),
        (b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n', "without data: [DONE]"),
    ],
)
async def test_malformed_streams_fail_the_run(body: bytes, message: str) -> None:
    async def run(controller: RunController) -> None:
        await stream_chat_completion(controller, pieces(body, 4))

    chunks, error = await collect_with_error(create_run(run))
    assert isinstance(error, ProtocolError)
    assert message in str(error)
    assert isinstance(chunks[-1], ErrorChunk)


async def test_finish_as_step_or_nothing() -> None:
    chunks, _ = await run_model(items(CHUNKS), finish="step")
    assert StepFinishChunk("tool-calls", input_tokens=11, output_tokens=5) in chunks
    assert not any(isinstance(c, MessageFinishChunk) for c in chunks)
    chunks, result = await run_model(items(CHUNKS), finish=None)
    assert not any(isinstance(c, (MessageFinishChunk, StepFinishChunk)) for c in chunks)
    assert result.finish_reason == "tool-calls"


async def test_rejects_what_is_not_a_model_stream() -> None:
    async def run(controller: RunController) -> None:
        with pytest.raises(TypeError, match="async iterable"):
            await stream_chat_completion(controller, [b"data: [DONE]\n\n"])
        with pytest.raises(TypeError, match="ChatCompletionChunk"):
            await stream_chat_completion(controller, items([42]))
        with pytest.raises(ValueError, match="finish"):
            await stream_chat_completion(controller, items([]), finish="run")  # type: ignore[arg-type]

    await collect(run)


async def test_a_slow_client_slows_the_model_read() -> None:
    """The model stream is read no faster than the client takes the answer."""
    high_water_mark = 200
    token = "x" * 10
    produced = 0

    async def model() -> AsyncIterator[dict[str, Any]]:
        nonlocal produced
        for _ in range(300):
            produced += len(token)
            yield chunk({"content": token})

    async def run(controller: RunController) -> None:
        await stream_chat_completion(controller, model())

    consumed = 0
    ahead = []
    async for batch in create_run(run, high_water_mark=high_water_mark).batches():
        ahead.append(produced - consumed)
        consumed += sum(len(c.text_delta) for c in batch if isinstance(c, TextDeltaChunk))
        await anyio.sleep(0.001)
    assert consumed == produced == 3000
    assert len(ahead) > 10
    assert max(ahead) <= high_water_mark + 2 * len(token)


async def test_client_leaving_closes_the_model_stream_at_once() -> None:
    """Even while the model is silent, the read stops and the stream is closed."""
    closed = anyio.Event()
    results: list[ChatCompletionResult] = []

    async def model() -> AsyncIterator[dict[str, Any]]:
        try:
            yield chunk({"content": "Hi"})
            yield chunk(
                {
                    "tool_calls": [
                        {"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a"'}}
                    ]
                }
            )
            await anyio.sleep_forever()
            yield chunk({})  # pragma: no cover
        finally:
            closed.set()

    async def run(controller: RunController) -> None:
        results.append(await stream_chat_completion(controller, model()))

    run_ = create_run(run, grace_period=30)
    seen = []
    async for chunk_ in run_:
        seen.append(chunk_)
        if len(seen) == 2:
            break
    start = time.monotonic()
    await run_.aclose()
    with anyio.fail_after(2):
        await closed.wait()
    assert time.monotonic() - start < 2  # not the grace period
    (result,) = results
    assert result.cancelled
    assert result.text == "Hi"
    assert result.tool_calls[0].arguments == '{"a"'
    assert result.tool_calls[0].args is None


class _Response:
    """What the function reads from an httpx.Response: ``aiter_bytes`` and ``aclose``."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        async for piece in pieces(self.body, 9):
            yield piece

    async def aclose(self) -> None:
        self.closed = True


async def test_an_httpx_style_response_is_read_and_closed() -> None:
    response = _Response(BODY)
    check_answer(*await run_model(response))
    assert response.closed


async def test_tool_ids_missing_or_taken_are_made_up() -> None:
    """A server that sends no id, or a second model call reusing an id, still works."""
    first = [
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    again = [
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "call_1", "function": {"name": "g", "arguments": "{}"}}
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    results: list[ChatCompletionResult] = []

    async def run(controller: RunController) -> None:
        results.append(await stream_chat_completion(controller, items(first), finish="step"))
        results.append(await stream_chat_completion(controller, items(again), finish="step"))
        results.append(await stream_chat_completion(controller, items(again), finish="step"))

    chunks = await collect(run)
    ids = [r.tool_calls[0].id for r in results]
    assert ids[0].startswith("call_")
    assert ids[1] == "call_1"
    assert len(set(ids)) == 3
    calls = [p for p in accumulate(chunks).parts if isinstance(p, ToolCallPart)]
    assert [(c.tool_call_id, c.tool_name) for c in calls] == list(
        zip(ids, ["f", "g", "g"], strict=True)
    )


async def test_the_answer_as_the_next_calls_history() -> None:
    from assistant_stream_core.conversation import Conversation
    from assistant_stream_core.conversation.openai_chat import chat_request

    _, result = await run_model(items(CHUNKS))
    message = result.to_message({"call_1": {"temp_c": 21}})
    assert chat_request(Conversation(messages=(message,)))["messages"] == [
        {
            "role": "assistant",
            "content": "Hello",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":21}'},
    ]
    unanswered = result.to_message()
    assert [type(p).__name__ for p in unanswered.parts] == [
        "ReasoningPart",
        "TextPart",
        "ToolCallPart",
    ]
    assert unanswered.parts[2].result is None  # type: ignore[union-attr]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000])
async def test_arguments_nested_past_the_limit_parse_to_none(depth: int) -> None:
    # Counted: the parser's guard (the interpreter's recursion limit) raised
    # RecursionError out of the call on 3.11 and parsed 5,000 levels on 3.13.
    arguments = "[" * depth + "]" * depth
    call = {"index": 0, "id": "call_1", "type": "function"}
    stream = items(
        [
            chunk({"tool_calls": [{**call, "function": {"name": "f", "arguments": arguments}}]}),
            chunk({}, "tool_calls"),
        ]
    )
    _, result = await run_model(stream)
    (made,) = result.tool_calls
    assert (made.arguments, made.args) == (arguments, None)
