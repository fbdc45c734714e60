"""Each adapter's one-line request reader on a real server: a conversation, or JSON 400/413."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import msgspec
import pytest

from assistant_stream_core.conversation import Conversation, decode_request

from . import request_apps, servers

BODIES: dict[str, dict[str, Any]] = {
    "ui_message_stream": {
        "id": "thread-1",
        "trigger": "submit-message",
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]}],
    },
    "ag_ui": {
        "threadId": "t",
        "runId": "r",
        "state": {"n": 1},
        "messages": [{"id": "u1", "role": "user", "content": "Hi"}],
        "tools": [{"name": "get_weather", "description": "Weather", "parameters": {}}],
        "context": [],
        "forwardedProps": {},
    },
    "openai_chat": {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
    "data_stream": {
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
        "tools": {},
    },
    "assistant_transport": {
        "state": {},
        "commands": [
            {
                "type": "add-message",
                "message": {"role": "user", "parts": [{"type": "text", "text": "Hi"}]},
                "parentId": None,
                "sourceId": None,
            }
        ],
    },
}

SERVERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "starlette": lambda: servers.uvicorn_server(request_apps.starlette_app()),
    "fastapi": lambda: servers.uvicorn_server(request_apps.fastapi_app()),
    "aiohttp": lambda: servers.aiohttp_server(request_apps.aiohttp_app()),
    "django-asgi": lambda: servers.uvicorn_server(request_apps.django_asgi_app()),
    "django-wsgi": lambda: servers.wsgi_server(request_apps.django_wsgi_app()),
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with SERVERS[request.param]() as url:
        yield request.param, url


@pytest.mark.parametrize("protocol", sorted(BODIES))
def test_reads_every_protocol(server: tuple[str, str], protocol: str) -> None:
    body = msgspec.json.encode(BODIES[protocol])
    response = httpx.post(f"{server[1]}/read/{protocol}", content=body)
    assert response.status_code == 200, response.text
    conversation = msgspec.json.decode(response.content, type=Conversation)
    assert conversation == decode_request(protocol, body)
    assert conversation.last_user_text == "Hi"


def _error(response: httpx.Response, framework: str) -> str:
    """The error message, from the JSON body each framework sends."""
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    if framework == "fastapi":  # FastAPI's own handler: {"detail": "..."}
        return str(data["detail"])
    assert data["error"]["type"] in ("invalid_request", "request_too_large")
    return f"{data['error']['message']} field={data['error']['field']}"


def test_malformed_body_is_400_naming_the_field(server: tuple[str, str]) -> None:
    framework, url = server
    body = {"messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": 5}]}]}
    response = httpx.post(f"{url}/read/ui_message_stream", json=body)
    assert response.status_code == 400
    assert "messages[0].parts[0].text" in _error(response, framework)


@pytest.mark.parametrize("body", [b"{", b"[]", b"", b"\xff\xfe"])
def test_not_json_is_400(server: tuple[str, str], body: bytes) -> None:
    framework, url = server
    response = httpx.post(f"{url}/read/openai_chat", content=body)
    assert response.status_code == 400
    assert "request body" in _error(response, framework)


def test_declared_oversized_body_is_413(server: tuple[str, str]) -> None:
    framework, url = server
    body = msgspec.json.encode({**BODIES["openai_chat"], "pad": "x" * 2000})
    response = httpx.post(f"{url}/read/openai_chat?max_bytes=1000", content=body)
    assert response.status_code == 413
    assert "limit" in _error(response, framework)


def test_streamed_oversized_body_is_413(server: tuple[str, str]) -> None:
    """A chunked body (no Content-Length) is cut off at the limit while it is read."""
    framework, url = server
    if framework == "django-wsgi":
        # wsgiref reads no chunked request body at all: Django sees an empty one.
        response = httpx.post(f"{url}/read/openai_chat", content=iter([b"{}"]))
        assert response.status_code == 400
        return

    def pieces() -> Iterator[bytes]:
        yield b'{"messages": [], "pad": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    response = httpx.post(f"{url}/read/openai_chat?max_bytes=1000", content=pieces())
    assert response.status_code == 413
    assert "limit" in _error(response, framework)


def test_without_the_json_handler_starlette_still_answers_400() -> None:
    with servers.uvicorn_server(request_apps.starlette_app(json_errors=False)) as url:
        response = httpx.post(f"{url}/read/ag_ui", json={"messages": [{"role": "user"}]})
        too_large = httpx.post(f"{url}/read/ag_ui?max_bytes=10", json={"messages": []})
    assert response.status_code == 400
    assert "messages[0]" in response.text
    assert too_large.status_code == 413


EXAMPLE_SERVERS: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "starlette": lambda: servers.uvicorn_server(request_apps.read_requests_example().starlette_app),
    "aiohttp": lambda: servers.aiohttp_server(request_apps.read_requests_example().aiohttp_app),
    "django-asgi": lambda: servers.uvicorn_server(request_apps.django_asgi_app()),
}


@pytest.mark.parametrize("framework", sorted(EXAMPLE_SERVERS))
def test_the_guides_example_in_each_framework(framework: str) -> None:
    """examples/read_requests.py, as docs/guides/requests.rst shows it."""
    path = "/example/chat" if framework.startswith("django") else "/chat"
    with EXAMPLE_SERVERS[framework]() as url:
        ok = httpx.post(url + path, json=BODIES["ag_ui"])
        bad = httpx.post(url + path, json={"messages": [{"id": "1", "role": "tool"}]})
    assert ok.status_code == 200
    assert ok.json() == {"messages": 1, "last_user_text": "Hi", "tools": ["get_weather"]}
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "messages[0].toolCallId"
