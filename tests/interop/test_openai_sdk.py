"""The official ``openai`` Python SDK reads what OpenAIChatEncoder writes.

A tiny raw ASGI app under a real uvicorn server streams a scripted chunk list
through the encoder, one write per chunk with a keepalive comment between
frames (as an idle adapter would send); the SDK's ``chat.completions.create(...,
stream=True)`` reassembles it. No web framework or adapter is involved.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from assistant_stream_core.chunks import (
    Chunk,
    DataChunk,
    ErrorChunk,
    ReasoningDeltaChunk,
    StepFinishChunk,
    StepStartChunk,
    TextDeltaChunk,
    ToolCallArgsTextFinishChunk,
    ToolCallBeginChunk,
    ToolCallDeltaChunk,
    ToolResultChunk,
)
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder
from assistant_stream_core.testing.normalize import openai_chat as normalize
from tests.protocols.test_openai_chat import chunk_sequences

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")

SCRIPTS: dict[str, list[Chunk]] = {
    "text": [
        StepStartChunk("m1"),
        ReasoningDeltaChunk("Let me think. "),
        TextDeltaChunk("Hello, "),
        TextDeltaChunk("wörld 🌍"),
        DataChunk({"ignored": True}),
        StepFinishChunk("stop", input_tokens=11, output_tokens=7),
    ],
    "tools": [
        TextDeltaChunk("Checking."),
        ToolCallBeginChunk("call_a", "get_weather"),
        ToolCallDeltaChunk("call_a", '{"city": '),
        ToolCallBeginChunk("call_b", "get_time"),
        ToolCallDeltaChunk("call_a", '"Paris"}'),
        ToolCallArgsTextFinishChunk("call_a"),
        ToolCallArgsTextFinishChunk("call_b", '{"tz": "CET"}'),
        ToolCallBeginChunk("call_c", "noop"),
        StepFinishChunk("tool-calls", input_tokens=5, output_tokens=9),
    ],
    "answered": [
        ToolCallBeginChunk("call_a", "lookup"),
        ToolResultChunk("call_a", {"found": 1}),
        TextDeltaChunk("Found one."),
    ],
    "length": [TextDeltaChunk("cut"), StepFinishChunk("length")],
    "error": [TextDeltaChunk("partial"), ErrorChunk("the model exploded")],
}


#: Bodies registered by tests, served at ``/<key>/chat/completions``.
BODIES: dict[str, bytes] = {}


def make_app(requests: list[dict[str, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = json.loads(body)
        requests.append(request)
        key = scope["path"].strip("/").split("/")[0]
        if key in BODIES:
            headers = [
                (k.lower().encode(), v.encode()) for k, v in OpenAIChatEncoder.headers.items()
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": BODIES.pop(key)})
            return
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        encoder = OpenAIChatEncoder(
            model=request["model"],
            completion_id="chatcmpl-test",
            created=1_700_000_000,
            include_usage=include_usage,
        )
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.lower().encode(), v.encode()) for k, v in encoder.headers.items()],
            }
        )
        assert encoder.keepalive is not None
        for chunk in SCRIPTS[scope["path"].strip("/").split("/")[0]]:
            frames = encoder.encode(chunk)
            await send({"type": "http.response.body", "body": frames, "more_body": True})
            # The hazard docs/protocols/openai-chat.rst names: keepalives must not break it.
            await send({"type": "http.response.body", "body": encoder.keepalive, "more_body": True})
        await send({"type": "http.response.body", "body": encoder.finish(), "more_body": False})

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A uvicorn server on 127.0.0.1, a free port, for this module."""
    requests: list[dict[str, Any]] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    config = uvicorn.Config(
        make_app(requests), lifespan="off", http="h11", ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn died"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    host, port = sock.getsockname()[:2]
    try:
        yield f"http://{host}:{port}", requests
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def base_url(server: tuple[str, list[dict[str, Any]]], script: str) -> str:
    # The SDK posts to <base_url>/chat/completions; the first path segment picks the script.
    return f"{server[0]}/{script}"


def reassemble(chunks: list[Any]) -> dict[str, Any]:
    """What an SDK user builds from the stream: text, reasoning, tool calls, finish, usage."""
    content, reasoning, finish, usage, ids = "", "", [], None, set()
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        ids.add((chunk.id, chunk.created, chunk.model, chunk.object))
        if chunk.usage is not None:
            usage = chunk.usage.model_dump(
                include={"prompt_tokens", "completion_tokens", "total_tokens"}
            )
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
            for call in delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            if choice.finish_reason is not None:
                finish.append(choice.finish_reason)
    return {
        "content": content,
        "reasoning": reasoning,
        "tool_calls": [calls[i] for i in sorted(calls)],
        "finish": finish,
        "usage": usage,
        "ids": ids,
    }


EXPECTED: dict[str, dict[str, Any]] = {
    "text": {
        "content": "Hello, wörld 🌍",
        "reasoning": "Let me think. ",
        "tool_calls": [],
        "finish": ["stop"],
    },
    "tools": {
        "content": "Checking.",
        "reasoning": "",
        "tool_calls": [
            {"id": "call_a", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"id": "call_b", "name": "get_time", "arguments": '{"tz": "CET"}'},
            {"id": "call_c", "name": "noop", "arguments": "{}"},
        ],
        "finish": ["tool_calls"],
    },
    "answered": {
        "content": "Found one.",
        "reasoning": "",
        "tool_calls": [{"id": "call_a", "name": "lookup", "arguments": "{}"}],
        "finish": ["stop"],
    },
    "length": {"content": "cut", "reasoning": "", "tool_calls": [], "finish": ["length"]},
}
USAGE = {
    "text": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    "tools": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
    "answered": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    "length": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
}
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("script", sorted(EXPECTED))
@pytest.mark.parametrize("include_usage", [False, True])
def test_sync_client(
    server: tuple[str, list[dict[str, Any]]], script: str, include_usage: bool
) -> None:
    client = openai.OpenAI(base_url=base_url(server, script), api_key="x", max_retries=0)
    with client:
        stream = client.chat.completions.create(
            model="test-model",
            messages=MESSAGES,
            stream=True,
            **({"stream_options": {"include_usage": True}} if include_usage else {}),
        )
        got = reassemble(list(stream))
    assert server[1][-1]["stream"] is True
    assert got.pop("ids") == {
        ("chatcmpl-test", 1_700_000_000, "test-model", "chat.completion.chunk")
    }
    assert got.pop("usage") == (USAGE[script] if include_usage else None)
    assert got == EXPECTED[script]
    # The SDK parses the arguments the way its users do.
    for call in got["tool_calls"]:
        assert isinstance(json.loads(call["arguments"]), dict)


@pytest.fixture
def anyio_backend() -> str:
    # AsyncOpenAI runs on httpx's asyncio transport here.
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("script", sorted(EXPECTED))
async def test_async_client(server: tuple[str, list[dict[str, Any]]], script: str) -> None:
    client = openai.AsyncOpenAI(base_url=base_url(server, script), api_key="x", max_retries=0)
    async with client:
        stream = await client.chat.completions.create(
            model="test-model",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        got = reassemble([chunk async for chunk in stream])
    got.pop("ids")
    assert got.pop("usage") == USAGE[script]
    assert got == EXPECTED[script]


def test_error_frame_raises_api_error(server: tuple[str, list[dict[str, Any]]]) -> None:
    client = openai.OpenAI(base_url=base_url(server, "error"), api_key="x", max_retries=0)
    seen: list[str] = []

    def consume(stream: Any) -> None:
        for chunk in stream:
            seen.extend(choice.delta.content or "" for choice in chunk.choices)

    with client:
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError, match="the model exploded") as info:
            consume(stream)
    # Text before the error reached the user; the error is not an HTTP status error.
    assert "".join(seen) == "partial"
    assert not isinstance(info.value, openai.APIStatusError)
    assert info.value.body == {
        "message": "the model exploded",
        "type": "server_error",
        "code": None,
    }


async def drain(stream: Any) -> None:
    async for _ in stream:
        pass


@pytest.mark.anyio
async def test_async_error_frame(server: tuple[str, list[dict[str, Any]]]) -> None:
    client = openai.AsyncOpenAI(base_url=base_url(server, "error"), api_key="x", max_retries=0)
    async with client:
        stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        with pytest.raises(openai.APIError, match="the model exploded"):
            await drain(stream)


@settings(max_examples=30, deadline=None)
@given(chunks=chunk_sequences().map(lambda cs: [c for c in cs if not isinstance(c, ErrorChunk)]))
def test_random_runs(server: tuple[str, list[dict[str, Any]]], chunks: list[Chunk]) -> None:
    """Whatever the run does, the SDK reassembles exactly what the chunks meant."""
    encoder = OpenAIChatEncoder(include_usage=True)
    body = encoder.encode_many(chunks)
    finish_reason = encoder.finish_reason
    key = f"random-{len(server[1])}"
    BODIES[key] = body + encoder.finish()
    # What the wire carries, in the order it carries it (see openai_chat.normalize).
    expected = normalize(chunks, include_usage=True)
    calls: dict[str, dict[str, str]] = {}
    for chunk in expected:
        if isinstance(chunk, ToolCallBeginChunk):
            calls[chunk.tool_call_id] = {
                "id": chunk.tool_call_id,
                "name": chunk.tool_name,
                "arguments": "",
            }
        elif isinstance(chunk, ToolCallDeltaChunk):
            calls[chunk.tool_call_id]["arguments"] += chunk.args_text_delta
    finish = expected[-1]
    client = openai.OpenAI(base_url=base_url(server, key), api_key="x", max_retries=0)
    with client:
        stream = client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        got = reassemble(list(stream))
    assert got["content"] == "".join(c.text_delta for c in chunks if isinstance(c, TextDeltaChunk))
    assert got["reasoning"] == "".join(
        c.reasoning_delta for c in chunks if isinstance(c, ReasoningDeltaChunk)
    )
    assert got["tool_calls"] == list(calls.values())
    assert got["finish"] == [finish_reason]
    assert got["usage"]["prompt_tokens"] == getattr(finish, "input_tokens", None)
    assert got["usage"]["completion_tokens"] == getattr(finish, "output_tokens", None)
