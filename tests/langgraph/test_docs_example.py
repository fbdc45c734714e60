"""The LangGraph guide's code runs: its FastAPI app serves assistant-ui and the OpenAI SDK.

The code blocks of ``docs/guides/langgraph.rst`` are executed as written,
except that ``langchain_openai.ChatOpenAI`` (a network model) is replaced by
the scripted model; the app is served by uvicorn on 127.0.0.1, the Data Stream
endpoint is read over HTTP and decoded, and the guide's ``openai`` SDK snippet
runs against the OpenAI endpoint. The last block (upstream's state helpers)
runs on the guide's graph, with ``messages`` supplied.
"""

from __future__ import annotations

import itertools
import re
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant_stream_core.message import MessageAccumulator
from assistant_stream_core.protocols.data_stream import DataStreamDecoder
from tests.adapters.servers import uvicorn_server

from ._agent import ScriptedChatModel, ai

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "langgraph.rst"
BLOCK = re.compile(r"\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)")


def code_blocks() -> list[str]:
    return [textwrap.dedent(block) for block in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))]


def scripted_chat_openai(**_kwargs: Any) -> ScriptedChatModel:
    answers = [
        ai(
            "Checking the weather.",
            "msg_1",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
            usage=(10, 5),
            finish_reason="tool_calls",
        ),
        ai("It is 21°C in Paris.", "msg_2", usage=(20, 7)),
    ]
    return ScriptedChatModel(messages=itertools.cycle(answers))


@pytest.fixture
def guide_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = types.ModuleType("langchain_openai")
    fake.ChatOpenAI = scripted_chat_openai  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain_openai", fake)
    agent, server = code_blocks()[:2]
    namespace: dict[str, Any] = {"__name__": "guide"}
    exec(compile(agent + server, str(GUIDE), "exec"), namespace)
    return namespace["app"]


ASSISTANT_UI_NEXT_TURN = {
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking the weather."},
                {
                    "type": "tool-call",
                    "toolCallId": "call_1",
                    "toolName": "get_weather",
                    "args": {"city": "Paris"},
                },
            ],
        },
        {
            "role": "tool",
            "content": [
                {
                    "type": "tool-result",
                    "toolCallId": "call_1",
                    "toolName": "get_weather",
                    "result": "Paris: 21°C, sunny",
                }
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "It is 21°C in Paris."}]},
        {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]},
    ]
}


def test_every_block_is_valid_python() -> None:
    blocks = code_blocks()
    assert len(blocks) == 4  # each is run by a test below
    for block in blocks:
        compile(block, str(GUIDE), "exec")


def test_guide_app_serves_assistant_ui_and_the_openai_sdk(
    guide_app: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with uvicorn_server(guide_app) as url:
        response = httpx.post(
            f"{url}/api/chat",
            json={"messages": [{"role": "user", "content": "Weather in Paris?"}]},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        decoder = DataStreamDecoder()
        accumulator = MessageAccumulator(strict=True)
        accumulator.add_many(decoder.feed(response.content) + decoder.finish())
        message = accumulator.finish().to_client_json()
        assert [(p["type"], p.get("text"), p.get("result")) for p in message["parts"]] == [
            ("text", "Checking the weather.", None),
            ("tool-call", None, "Paris: 21°C, sunny"),
            ("text", "It is 21°C in Paris.", None),
        ]
        assert message["status"] == {"type": "complete", "reason": "stop"}

        # The next turn as assistant-ui's useDataStreamRuntime posts it: AI SDK
        # messages, the tool call and its result as content parts.
        response = httpx.post(f"{url}/api/chat", json=ASSISTANT_UI_NEXT_TURN, timeout=30)
        assert response.status_code == 200, response.text
        decoder = DataStreamDecoder()
        accumulator = MessageAccumulator(strict=True)
        accumulator.add_many(decoder.feed(response.content) + decoder.finish())
        assert accumulator.finish().to_client_json()["status"]["type"] == "complete"

        response = httpx.post(f"{url}/api/chat", json={"messages": 3}, timeout=30)
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "messages"

        openai_snippet = code_blocks()[2].replace("http://127.0.0.1:8000", url)
        exec(compile(openai_snippet, str(GUIDE), "exec"), {"__name__": "snippet"})
    assert capsys.readouterr().out == "Checking the weather.It is 21°C in Paris."


def test_state_helpers_block_streams_the_graph_into_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last block: ``append_langgraph_event`` folds the agent's events into state."""
    import anyio

    from assistant_stream_core.run import create_run

    fake = types.ModuleType("langchain_openai")
    fake.ChatOpenAI = scripted_chat_openai  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain_openai", fake)
    blocks = code_blocks()
    # The block's free names: the guide's graph, and the conversation so far.
    namespace: dict[str, Any] = {"__name__": "guide", "messages": [("user", "Weather in Paris?")]}
    exec(compile(blocks[0] + blocks[3], str(GUIDE), "exec"), namespace)

    chunks: list[Any] = []

    async def collect() -> None:
        async for chunk in create_run(namespace["run"]):
            chunks.append(chunk)

    anyio.run(collect)
    accumulator = MessageAccumulator()
    accumulator.add_many(chunks)
    state = accumulator.finish().metadata.unstable_state
    contents = [message.get("content") for message in state["messages"]]
    assert contents[0] == "Checking the weather."
    assert contents[-1] == "It is 21°C in Paris."
    assert any(message.get("type") == "tool" for message in state["messages"])
