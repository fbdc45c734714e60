"""What the example server does for the front ends of ``examples/frontends``.

Over a real socket, without a browser: an Assistant Transport request
(``{"commands": [...], "state": {...}}``) gets its thread kept in the state,
``{"fail": true}`` in a body fails the run, pages on a local origin may call
the routes (CORS), and ``/apps/`` says how to build the apps when they are
not built. ``test_frontends.py`` drives the built apps in Chromium.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from assistant_stream_core.chunks import ErrorChunk
from assistant_stream_core.conversation import Conversation, Message, TextPart, encode_request
from assistant_stream_core.message import accumulate
from assistant_stream_core.protocols.assistant_transport import AssistantTransportDecoder
from tests.adapters.servers import uvicorn_server

ROUTE = "/api/chat/assistant-transport"
WEATHER = {"city": "Rome", "temp_c": 21, "sky": "clear", "wind_kmh": 12}


def _ask(text: str, message_id: str) -> dict[str, Any]:
    """An ``add-message`` command as ``useAssistantTransportRuntime`` sends it."""
    message = {"role": "user", "id": message_id, "parts": [{"type": "text", "text": text}]}
    return {"type": "add-message", "message": message, "parentId": None, "sourceId": None}


def _run(client: httpx.Client, body: dict[str, Any]) -> tuple[Any, list[Any]]:
    """POST ``body``; the state the client ends with, and the chunks."""
    response = client.post(ROUTE, json=body)
    assert response.status_code == 200
    decoder = AssistantTransportDecoder()
    chunks = decoder.feed(response.content) + decoder.finish()
    message = accumulate(chunks, state=body["state"], strict=True)
    return message.metadata.unstable_state, chunks


def test_assistant_transport_thread_lives_in_the_state(client: httpx.Client) -> None:
    state, _ = _run(
        client, {"commands": [_ask("Weather in Rome?", "u1")], "state": {"messages": []}}
    )
    user, answer = state["messages"]
    assert user == {
        "id": "u1",
        "role": "user",
        "content": [{"type": "text", "text": "Weather in Rome?"}],
    }
    assert answer["role"] == "assistant"
    assert answer["status"] == {"type": "complete", "reason": "stop"}
    assert [part["type"] for part in answer["content"]] == [
        "reasoning",
        "text",
        "tool-call",
        "text",
    ]
    reasoning, first, tool, final = answer["content"]
    assert "Weather in Rome?" in reasoning["text"]
    assert first["text"] == "Let me check the weather in Rome."
    assert tool["toolName"] == "get_weather"
    assert tool["argsText"] == '{"city": "Rome", "unit": "celsius"}'
    assert tool["args"] == {"city": "Rome", "unit": "celsius"}
    assert tool["result"] == WEATHER
    assert tool["isError"] is False
    assert final["text"] == " It is 21 °C and clear in Rome, with a light wind of 12 km/h."
    # The inner run's own state goes to the top level, beside the thread.
    assert state["status"] == "done"
    assert state["weather"] == WEATHER

    # The client sends its state back with the next question: the thread grows.
    again, _ = _run(client, {"commands": [_ask("And in Oslo?", "u2")], "state": state})
    assert [m["role"] for m in again["messages"]] == ["user", "assistant", "user", "assistant"]
    assert again["messages"][:2] == state["messages"]
    assert again["weather"]["city"] == "Oslo"


def test_assistant_transport_failure_is_recorded_on_the_message(
    client: httpx.Client, example: ModuleType
) -> None:
    body = {"commands": [_ask("Weather?", "u1")], "state": {"messages": []}, "fail": True}
    state, chunks = _run(client, body)
    answer = state["messages"][-1]
    assert answer["status"] == {
        "type": "incomplete",
        "reason": "error",
        "error": example.FAIL_MESSAGE,
    }
    assert [part["type"] for part in answer["content"]] == ["reasoning", "text"]
    assert chunks[-1] == ErrorChunk(error=example.FAIL_MESSAGE)


@pytest.mark.parametrize("path", ["/api/chat/data-stream", "/api/chat/ui-message-stream"])
def test_fail_in_the_body(client: httpx.Client, path: str, example: ModuleType) -> None:
    protocol = path.rsplit("/", 1)[1].replace("-", "_")
    question = Message(role="user", id="u1", parts=(TextPart(text="Weather?"),))
    for fail in (True, False):
        body = encode_request(protocol, Conversation(messages=(question,), extras={"fail": fail}))
        response = client.post(path, json=body)
        assert response.status_code == 200
        assert (example.FAIL_MESSAGE in response.text) is fail


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:4173"])
def test_local_origins_may_call_the_routes(client: httpx.Client, origin: str) -> None:
    preflight = client.options(
        ROUTE,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    response = client.post(
        "/api/chat/data-stream", json={"messages": []}, headers={"Origin": origin}
    )
    assert response.headers["access-control-allow-origin"] == origin
    # The protocol header that useDataStreamRuntime reads is readable cross-origin.
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "x-vercel-ai-data-stream" in exposed


def test_other_origins_may_not(client: httpx.Client) -> None:
    response = client.post(
        "/api/chat/data-stream", json={"messages": []}, headers={"Origin": "http://example.com"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_apps_not_built_say_how_to_build_them(
    example: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example, "FRONTENDS_DIST", tmp_path / "missing")
    with uvicorn_server(example.create_app(delay=0)) as url:
        response = httpx.get(url + "/apps/assistant-ui/")
    assert response.status_code == 404
    assert "scripts/build-frontends.sh" in response.text


def test_built_apps_are_served(
    example: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ai-sdk").mkdir()
    (tmp_path / "ai-sdk" / "index.html").write_text("<title>useChat</title>")
    monkeypatch.setattr(example, "FRONTENDS_DIST", tmp_path)
    with uvicorn_server(example.create_app(delay=0)) as url:
        response = httpx.get(url + "/apps/ai-sdk/")
    assert response.status_code == 200
    assert response.text == "<title>useChat</title>"
