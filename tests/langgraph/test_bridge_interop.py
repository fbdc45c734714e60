"""One LangGraph agent, every client: the real decoders read what stream_langgraph sent.

The weather agent (a subgraph with a tool node, then a summary call) runs once
through ``stream_langgraph``; its chunks are encoded for each protocol and read
back by the real clients:

* Data Stream and Assistant Transport: npm ``assistant-stream``'s decoders and
  ``AssistantMessageAccumulator`` (``tests/interop/decode.mjs``);
* UI Message Stream: ``readUIMessageStream`` of npm ``ai`` (5.x and current)
  and assistant-ui's ``UIMessageStreamDecoder`` (``tests/interop/ui_message.mjs``);
* OpenAI chat: every frame validated as the ``openai`` SDK's ``ChatCompletionChunk``.

Each must show the same text and the same tool calls.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from assistant_stream_core.chunks import Chunk
from assistant_stream_core.protocols.assistant_transport import AssistantTransportEncoder
from assistant_stream_core.protocols.data_stream import DataStreamEncoder
from assistant_stream_core.protocols.openai_chat import OpenAIChatEncoder
from assistant_stream_core.protocols.ui_message_stream import UIMessageStreamEncoder
from tests.interop.conftest import NodeScripts

from .test_bridge import EXPECTED_PARTS, essential, weather_run

pytestmark = [pytest.mark.anyio, pytest.mark.interop]

TEXT = "Checking the weather.It is 21°C in Paris. Summary: sunny."
REASONING = "The user wants Paris."
TOOL_CALLS = [{"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}]


#: What assistant-ui's UIMessageStreamDecoder builds: since assistant-stream
#: 0.3.57 it keeps the stream's text parts (``text-start`` to ``text-end``), and
#: the encoder ends one at each step, so the reply and the summary stay apart.
UI_MESSAGE_PARTS = [
    *EXPECTED_PARTS[:-1],
    {"type": "text", "text": "It is 21°C in Paris."},
    {"type": "text", "text": " Summary: sunny."},
]


def encode(encoder: Any, chunks: list[Chunk]) -> bytes:
    return bytes(encoder.encode_many(chunks) + encoder.finish())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
async def chunks() -> list[Chunk]:
    return await weather_run()


async def test_assistant_ui_decoders(chunks: list[Chunk], node_scripts: NodeScripts) -> None:
    cases = [
        {"id": name, "protocol": name, "data": b64(encode(encoder, chunks))}
        for name, encoder in (
            ("data-stream", DataStreamEncoder()),
            ("assistant-transport", AssistantTransportEncoder()),
        )
    ]
    cases += [{**case, "id": f"{case['id']}/split", "split": {"seed": 7}} for case in cases]
    results = node_scripts.run_batch("decode.mjs", cases)
    for case_id, result in results.items():
        assert result["ok"], (case_id, result.get("error"))
        message = result["message"]
        assert [essential(part) for part in message["parts"]] == EXPECTED_PARTS, case_id
        steps = message["metadata"]["steps"]
        assert [(s["messageId"], s["finishReason"], s["usage"]) for s in steps] == [
            ("msg_1", "tool-calls", {"inputTokens": 10, "outputTokens": 5}),
            ("msg_2", "stop", {"inputTokens": 20, "outputTokens": 7}),
            ("msg_3", "stop", {"inputTokens": 30, "outputTokens": 3}),
        ], case_id


def _ui_summary(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Text, reasoning and tool calls of an ``ai`` UIMessage's parts."""
    text = "".join(p["text"] for p in parts if p["type"] == "text")
    reasoning = "".join(p["text"] for p in parts if p["type"] == "reasoning")
    tools = [
        {"id": p["toolCallId"], "name": p["type"].removeprefix("tool-"), "args": p["input"]}
        for p in parts
        if p["type"].startswith("tool-")
    ]
    outputs = [p.get("output") for p in parts if p["type"].startswith("tool-")]
    return {"text": text, "reasoning": reasoning, "tools": tools, "outputs": outputs}


async def test_vercel_ai_sdk_clients(chunks: list[Chunk], node_scripts: NodeScripts) -> None:
    data = b64(encode(UIMessageStreamEncoder(), chunks))
    results = node_scripts.run_batch(
        "ui_message.mjs",
        [{"id": "whole", "data": data}, {"id": "split", "data": data, "split": {"seed": 3}}],
    )
    for case_id, result in results.items():
        for client in ("ai5", "ai"):
            read = result[client]
            assert read["errors"] == [], (case_id, client, read["errors"])
            assert _ui_summary(read["message"]["parts"]) == {
                "text": TEXT,
                "reasoning": REASONING,
                "tools": TOOL_CALLS,
                "outputs": ["Paris: 21°C"],
            }, (case_id, client)
            steps = [p for p in read["message"]["parts"] if p["type"] == "step-start"]
            assert len(steps) == 3, (case_id, client)
        assistant_ui = result["assistantStream"]
        assert "error" not in assistant_ui, assistant_ui.get("error")
        assert [essential(p) for p in assistant_ui["message"]["parts"]] == UI_MESSAGE_PARTS


async def test_openai_sdk_chunks(chunks: list[Chunk]) -> None:
    from openai.types.chat import ChatCompletionChunk

    body = encode(OpenAIChatEncoder(include_usage=True), chunks).decode()
    frames = [frame.removeprefix("data: ") for frame in body.split("\n\n") if frame]
    assert frames[-1] == "[DONE]"
    parsed = [ChatCompletionChunk.model_validate_json(frame) for frame in frames[:-1]]
    text, reasoning, finish = "", "", []
    calls: dict[int, dict[str, str]] = {}
    usage = None
    for chunk in parsed:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
            for call in choice.delta.tool_calls or ():
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            if choice.finish_reason is not None:
                finish.append(choice.finish_reason)
    assert text == TEXT
    assert reasoning == REASONING
    assert [
        {"id": c["id"], "name": c["name"], "args": json.loads(c["arguments"])}
        for c in calls.values()
    ] == TOOL_CALLS
    # The agent loop ended with a plain answer: the last step says "stop".
    assert finish == ["stop"]
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (60, 15)
