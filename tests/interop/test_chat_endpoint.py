"""examples/chat_endpoint in every framework, with the real clients, over several requests.

Each framework's app is started with the command its docstring documents, in
front of the local fake OpenAI-compatible server (``examples/fake_openai_server.py``,
no network). ``ai``'s ``AbstractChat`` (``useChat``'s engine) holds two turns
that each run a server tool; assistant-ui's Data Stream bodies and
``@ag-ui/client``'s ``HttpAgent`` offer a tool the browser runs, answer it,
and get the model's answer on the next request. The fake records what the
model was sent, so the tests check the conversation the model saw as well as
what each client shows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.adapters.servers import uvicorn_server

from .conftest import NodeScripts

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "chat_endpoint"
FRAMEWORKS = ["fastapi_app", "aiohttp_app", "django_app"]
SHOW_MAP = {
    "name": "show_map",
    "description": "Show a city on the map, in the browser",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
WEATHER = {"city": "Paris", "temp_c": 21, "sky": "clear"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, Any]]:
    path = ROOT / "examples" / "fake_openai_server.py"
    spec = importlib.util.spec_from_file_location("fake_openai_server_for_endpoints", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.FakeModel()
    with uvicorn_server(module.create_app(model)) as url:
        yield url, model


def _documented_command(framework: str) -> list[str]:
    """The command in the example's docstring, after the environment assignments."""
    text = (EXAMPLES / f"{framework}.py").read_text(encoding="utf-8")
    match = re.search(r"MODEL=fake-model \\\\\n\s+(.*?)(?:\s+#.*)?\n", text)
    assert match is not None, f"no run command in {framework}.py"
    return match.group(1).split()


@pytest.fixture(scope="module", params=FRAMEWORKS)
def endpoint(request: pytest.FixtureRequest, fake: tuple[str, Any]) -> Iterator[str]:
    """The example app of one framework, served by its documented command."""
    port = _free_port()
    command = _documented_command(request.param)
    if command[0] == "uvicorn":
        command += ["--port", str(port)]
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "OPENAI_BASE_URL": f"{fake[0]}/v1",
        "OPENAI_API_KEY": "test",
        "MODEL": "fake-model",
        "PORT": str(port),
    }
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"{command} did not listen on {port}"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def _text(parts: list[dict[str, Any]]) -> str:
    return "".join(p["text"] for p in parts if p["type"] == "text")


def test_use_chat_two_turns_with_a_server_tool(
    node_scripts: NodeScripts, endpoint: str, fake: tuple[str, Any]
) -> None:
    before = len(fake[1].requests)
    case = {
        "id": "ai",
        "client": "ai",
        "url": f"{endpoint}/api/ai-sdk",
        "prompts": ["What is the weather in Paris?", "And the weather in Rome?"],
    }
    result = node_scripts.run_batch("endpoint_clients.mjs", [case])["ai"]
    assert result["ok"], result
    assert (result["status"], result["errors"]) == ("ready", [])
    messages = result["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    for message, city, call_id in [
        (messages[1], "Paris", "call_weather_1"),
        (messages[3], "Rome", "call_weather_2"),
    ]:
        (tool,) = [p for p in message["parts"] if p["type"] == "tool-get_weather"]
        weather = {**WEATHER, "city": city}
        assert (tool["toolCallId"], tool["state"]) == (call_id, "output-available")
        assert (tool["input"], tool["output"]) == ({"city": city}, weather)
        said = json.dumps(weather, separators=(",", ":"))
        assert _text(message["parts"]) == f"The tool said: {said}"

    # The model saw each turn's agent loop as its own calls, in order.
    sent = [body["messages"] for body in fake[1].requests[before:]]
    assert len(sent) == 4  # two model calls per turn: the call, then the answer
    history = sent[2]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant", "user"]
    assert history[1]["tool_calls"][0]["id"] == "call_weather_1"
    assert history[2] == {
        "role": "tool",
        "tool_call_id": "call_weather_1",
        "content": json.dumps(WEATHER, separators=(",", ":")),
    }
    assert history[3] == {"role": "assistant", "content": _text(messages[1]["parts"])}
    assert [t["function"]["name"] for t in fake[1].requests[before]["tools"]] == ["get_weather"]


def test_use_chat_regenerates_a_message_under_its_id(
    node_scripts: NodeScripts, endpoint: str
) -> None:
    case = {
        "id": "regenerate",
        "client": "ai-regenerate",
        "url": f"{endpoint}/api/ai-sdk",
        "prompts": ["Hello there"],
    }
    result = node_scripts.run_batch("endpoint_clients.mjs", [case])["regenerate"]
    assert result["ok"], result
    assert (result["status"], result["errors"]) == ("ready", [])
    first = result["first"]
    assert [m["role"] for m in result["messages"]] == ["user", "assistant"]
    again = result["messages"][1]
    assert _text(first["parts"]) == _text(again["parts"]) == "Echo: Hello there"
    assert again["id"] == first["id"]


def test_assistant_ui_and_ag_ui_run_a_browser_tool_and_continue(
    node_scripts: NodeScripts, endpoint: str, fake: tuple[str, Any]
) -> None:
    prompt = "Please call show_map for Paris"
    before = len(fake[1].requests)
    assistant_ui = {
        "id": "assistant-ui",
        "client": "data-stream-tool",
        "url": f"{endpoint}/api/assistant-ui",
        "prompts": [prompt],
        "tools": [SHOW_MAP],
        "toolResult": "The map shows Paris",
    }
    result = node_scripts.run_batch("endpoint_clients.mjs", [assistant_ui])["assistant-ui"]
    assert result["ok"], result
    first, second = result["messages"]
    (call,) = [p for p in first["content"] if p["type"] == "tool-call"]
    assert (call["toolName"], call["args"]) == ("show_map", {"city": "Paris"})
    assert "result" not in call  # the browser runs it: the turn ends there
    assert _text(second["content"]) == "The tool said: The map shows Paris"

    ag_ui = {
        "id": "ag-ui",
        "client": "ag-ui-tool-round",
        "url": f"{endpoint}/api/ag-ui",
        "prompt": prompt,
        "tools": [SHOW_MAP],
        "toolResult": "The map shows Paris",
    }
    result = node_scripts.run_batch("chat_clients.mjs", [ag_ui])["ag-ui"]
    assert result["ok"], result
    answers = [m.get("content") for m in result["messages"] if m["role"] == "assistant"]
    assert answers[-1] == "The tool said: The map shows Paris"

    sent = fake[1].requests[before:]
    assert len(sent) == 4
    for body in sent:  # the browser's tool and the server's, offered together
        names = [t["function"]["name"] for t in body["tools"]]
        assert names == ["show_map", "get_weather"]
    for body in (sent[1], sent[3]):
        *_, asked, answered = body["messages"]
        assert asked["tool_calls"][0]["function"]["name"] == "show_map"
        assert answered == {
            "role": "tool",
            "tool_call_id": asked["tool_calls"][0]["id"],
            "content": "The map shows Paris",
        }
    assert sent[1]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_a_server_tool_runs_within_its_step(endpoint: str) -> None:
    body = {
        "messages": [
            {"id": "u", "role": "user", "parts": [{"type": "text", "text": "Weather in Oslo?"}]}
        ]
    }
    response = httpx.post(f"{endpoint}/api/ai-sdk", json=body, timeout=10)
    assert response.status_code == 200
    kinds = [
        json.loads(line[6:])["type"]
        for line in response.text.splitlines()
        if line.startswith("data: {")
    ]
    output = kinds.index("tool-output-available")
    assert kinds.index("tool-input-available") < output < kinds.index("finish-step")
    assert kinds.count("finish-step") == 2  # the call and its tool, then the answer
    assert kinds[-1] == "finish"


def test_bad_requests_get_json_errors(endpoint: str) -> None:
    body = {"messages": [{"id": "m", "role": "robot", "parts": []}]}
    response = httpx.post(f"{endpoint}/api/ai-sdk", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "messages[0].role"
    assert httpx.post(f"{endpoint}/api/smoke-signals", json={}, timeout=10).status_code == 404
