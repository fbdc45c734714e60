"""examples/openai_proxy.py in front of a local fake OpenAI-compatible server, with real clients.

No network: the fake (``examples/fake_openai_server.py``) and the proxy both
listen on 127.0.0.1. The real clients — ``ai``'s ``AbstractChat`` (current
major and 5.x), ``@ag-ui/client``'s ``HttpAgent``, assistant-stream's decoders
with assistant-ui's request bodies, and the ``openai`` Python SDK — chat with
the proxy over HTTP and must show the model's answer.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.adapters.servers import uvicorn_server

from .conftest import NodeScripts

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CLIENTS = ["ai", "ai5", "ag-ui", "data-stream", "assistant-transport"]
ROUTES = {
    "ai": "ui_message_stream",
    "ai5": "ui_message_stream",
    "ag-ui": "ag_ui",
    "data-stream": "data_stream",
    "assistant-transport": "assistant_transport",
}


def _load(name: str, path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, Any]]:
    module = _load("fake_openai_server", "examples/fake_openai_server.py")
    model = module.FakeModel()
    with uvicorn_server(module.create_app(model)) as url:
        yield url, model


@pytest.fixture(scope="module")
def proxy(fake: tuple[str, Any]) -> Iterator[str]:
    from openai import AsyncOpenAI

    module = _load("openai_proxy", "examples/openai_proxy.py")
    # No pooled connections: the client's event loop (uvicorn's) ends with the
    # server, and a pooled connection would be left for the garbage collector.
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
    module.client = AsyncOpenAI(
        base_url=f"{fake[0]}/v1", api_key="test", max_retries=0, http_client=http
    )
    module.MODEL = "fake-model"
    with uvicorn_server(module.app) as url:
        yield url


def _chat(
    node_scripts: NodeScripts, proxy: str, prompt: str, tools: list[Any] | None = None
) -> dict[str, Any]:
    cases = [
        {
            "id": client,
            "client": client,
            "url": f"{proxy}/api/{ROUTES[client]}",
            "prompt": prompt,
            "tools": tools,
        }
        for client in CLIENTS
    ]
    results = node_scripts.run_batch("chat_clients.mjs", cases)
    for result in results.values():
        assert result["ok"], result
    return results


def _shown(client: str, result: dict[str, Any]) -> dict[str, Any]:
    """What the client shows of the assistant's answer: text, reasoning, tool calls."""
    if client in ("ai", "ai5"):
        (message,) = [m for m in result["messages"] if m["role"] == "assistant"]
        parts = message["parts"]
        return {
            "text": "".join(p["text"] for p in parts if p["type"] == "text"),
            "reasoning": "".join(p["text"] for p in parts if p["type"] == "reasoning"),
            "calls": [
                (p["toolCallId"], p["type"].removeprefix("tool-"), p["input"])
                for p in parts
                if p["type"].startswith("tool-")
            ],
        }
    if client == "ag-ui":
        messages = result["messages"]
        calls = [
            (c["id"], c["function"]["name"], c["function"]["arguments"])
            for m in messages
            if m["role"] == "assistant"
            for c in m.get("toolCalls") or ()
        ]
        return {
            "text": "".join(m.get("content") or "" for m in messages if m["role"] == "assistant"),
            "reasoning": "".join(m["content"] for m in messages if m["role"] == "reasoning"),
            "calls": [(i, n, json.loads(a)) for i, n, a in calls],
        }
    content = result["message"]["content"]
    return {
        "text": "".join(p["text"] for p in content if p["type"] == "text"),
        "reasoning": "".join(p["text"] for p in content if p["type"] == "reasoning"),
        "calls": [
            (p["toolCallId"], p["toolName"], p["args"]) for p in content if p["type"] == "tool-call"
        ],
    }


def test_every_client_shows_the_proxied_answer(
    node_scripts: NodeScripts, proxy: str, fake: tuple[str, Any]
) -> None:
    results = _chat(node_scripts, proxy, "Hello there")
    for client in CLIENTS:
        assert _shown(client, results[client]) == {
            "text": "Echo: Hello there",
            "reasoning": "Thinking it over.",
            "calls": [],
        }, client


def test_every_client_shows_a_tool_call_and_its_tools_reach_the_model(
    node_scripts: NodeScripts, proxy: str, fake: tuple[str, Any]
) -> None:
    before = len(fake[1].requests)
    results = _chat(node_scripts, proxy, "What is the weather in Paris?", [WEATHER_TOOL])
    for client in CLIENTS:
        shown = _shown(client, results[client])
        if client in ("ai", "ai5"):  # useChat offers no tools (the server defines them)
            assert shown["calls"] == [], client
            assert shown["text"] == "Echo: What is the weather in Paris?"
            continue
        assert shown["calls"] == [("call_weather_1", "get_weather", {"city": "Paris"})], client
        assert shown["text"] == ""
    requests = fake[1].requests[before:]
    assert len(requests) == len(CLIENTS)
    for body in requests:
        assert body["messages"][-1] == {"role": "user", "content": "What is the weather in Paris?"}
        if "tools" in body:  # useChat sends no tools: the server defines them
            assert body["tools"] == [{"type": "function", "function": WEATHER_TOOL}]
    offered = [b for b in requests if "tools" in b]
    assert len(offered) == 3  # AG-UI, Data Stream, Assistant Transport
    systems = [b["messages"][0] for b in requests if b["messages"][0]["role"] == "system"]
    assert systems == [{"role": "system", "content": "Be brief."}] * 2


def test_the_openai_sdk_reads_the_proxy(proxy: str) -> None:
    from openai import OpenAI

    text, reasoning, finish = "", "", None
    with OpenAI(base_url=f"{proxy}/v1", api_key="-", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="any",
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "Hi"}],
        )
        usage = None
        for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                reasoning += (choice.delta.model_extra or {}).get("reasoning_content") or ""
                finish = choice.finish_reason or finish
    assert (text, reasoning, finish) == ("Echo: Hi", "Thinking it over.", "stop")
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (12, 7)


def test_a_malformed_request_gets_a_json_400(proxy: str) -> None:
    response = httpx.post(f"{proxy}/api/ui_message_stream", json={"messages": [{"role": "robot"}]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "messages[0].role"
    unknown = httpx.post(f"{proxy}/api/smoke_signals", json={})
    assert unknown.status_code == 404
    # The route's protocol names use underscores; the 404 lists them.
    assert "ui_message_stream" in unknown.text


def test_the_client_leaving_closes_the_model_request(proxy: str, fake: tuple[str, Any]) -> None:
    model = fake[1]
    before = model.disconnects
    body = {"messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "slow"}]}]}
    with (
        httpx.Client(timeout=10) as http,
        http.stream("POST", f"{proxy}/api/ui_message_stream", json=body) as response,
    ):
        seen = b""
        for piece in response.iter_bytes():
            seen += piece
            if seen.count(b"tick") >= 3:
                break
    # The proxy's run is cancelled, and stream_chat_completion closes the model stream.
    deadline = time.monotonic() + 5
    while model.disconnects == before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert model.disconnects == before + 1


def test_an_ag_ui_frontend_tool_answered_by_the_browser_reaches_the_model(
    node_scripts: NodeScripts, proxy: str, fake: tuple[str, Any]
) -> None:
    """Two runs of a real HttpAgent: the proxy reads the tool result from RunAgentInput."""
    before = len(fake[1].requests)
    case = {
        "id": "round",
        "client": "ag-ui-tool-round",
        "url": f"{proxy}/api/ag_ui",
        "prompt": "What is the weather in Paris?",
        "tools": [WEATHER_TOOL],
        "toolResult": "21 C and sunny",
    }
    result = node_scripts.run_batch("chat_clients.mjs", [case])["round"]
    assert result["ok"], result
    second = fake[1].requests[before + 1]["messages"]
    function = second[-2]["tool_calls"][0]["function"]
    assert function["name"] == "get_weather"
    assert json.loads(function["arguments"]) == {"city": "Paris"}
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": "call_weather_1",
        "content": "21 C and sunny",
    }
    answers = [m.get("content") for m in result["messages"] if m["role"] == "assistant"]
    assert answers[-1] == "The tool said: 21 C and sunny"


def test_a_model_error_reaches_every_client(node_scripts: NodeScripts, proxy: str) -> None:
    """The model's error frame makes the openai SDK raise; the run sends the error on."""
    cases = [
        {"id": c, "client": c, "url": f"{proxy}/api/{ROUTES[c]}", "prompt": "please fail"}
        for c in CLIENTS
    ]
    results = node_scripts.run_batch("chat_clients.mjs", cases)
    for client in CLIENTS:
        result = results[client]
        assert result["ok"], result
        assert _shown(client, result)["text"] == "Let me", client
        if client in ("ai", "ai5"):
            assert (result["status"], result["errors"]) == ("error", ["model overloaded"])
        elif client == "ag-ui":
            assert result["errors"] == ["model overloaded"]
        else:
            status = result["message"]["status"]
            assert (status["reason"], status["error"]["message"]) == ("error", "model overloaded")
