"""examples/human_in_the_loop.py with real clients over two round trips, and a fake model.

The example server (uvicorn) asks for approval before its ``delete_file`` tool
runs; the fake OpenAI-compatible model (``examples/fake_openai_server.py``)
calls it. Each real client — ``ai``'s ``AbstractChat``, ``@ag-ui/client``'s
``HttpAgent`` (an interrupt and a resume entry), assistant-stream's Data
Stream decoder and accumulator with the body assistant-ui's runtime sends —
sees the call wait, answers it, sends the
next request, and shows the model's continuation; the model's second request
must carry the tool's output (approved) or the denial.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.adapters.servers import uvicorn_server

from .conftest import NodeScripts
from .test_openai_proxy import _load

pytestmark = pytest.mark.interop

PROMPT = "Please delete notes.txt"
ROUTES = {
    "ai-approval": "ui_message_stream",
    "ag-ui-approval": "ag_ui",
    "data-stream-approval": "data_stream",
}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[str, Any]]:
    module = _load("fake_openai_server_hitl", "examples/fake_openai_server.py")
    model = module.FakeModel()
    with uvicorn_server(module.create_app(model)) as url:
        yield url, model


@pytest.fixture(scope="module")
def server(fake: tuple[str, Any]) -> Iterator[str]:
    from openai import AsyncOpenAI

    module = _load("human_in_the_loop", "examples/human_in_the_loop.py")
    http = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
    module.client = AsyncOpenAI(
        base_url=f"{fake[0]}/v1", api_key="test", max_retries=0, http_client=http
    )
    module.MODEL = "fake-model"
    with uvicorn_server(module.app) as url:
        yield url


def _run(
    node_scripts: NodeScripts, server: str, approved: bool, reason: str | None = None
) -> dict[str, Any]:
    cases = [
        {
            "id": client,
            "client": client,
            "url": f"{server}/api/{route}",
            "prompt": PROMPT,
            "approved": approved,
            "reason": reason,
        }
        for client, route in ROUTES.items()
    ]
    results = node_scripts.run_batch("chat_clients.mjs", cases)
    for result in results.values():
        assert result["ok"], result
    return results


def _model_saw(fake: tuple[str, Any], before: int) -> list[list[dict[str, Any]]]:
    return [body["messages"] for body in fake[1].requests[before:]]


def test_every_client_approves_and_the_run_continues(
    node_scripts: NodeScripts, server: str, fake: tuple[str, Any]
) -> None:
    before = len(fake[1].requests)
    results = _run(node_scripts, server, approved=True)

    # ai: the first response stops at the approval request; the second (sent by
    # sendAutomaticallyWhen) fills the same part with the output, then the answer.
    chat = results["ai-approval"]
    assert chat["errors"] == []
    (waiting,) = [p for p in chat["first"][-1]["parts"] if p["type"] == "tool-delete_file"]
    assert waiting["state"] == "approval-requested"
    assert waiting["input"] == {"path": "notes.txt"}
    assert waiting["approval"] == {
        "id": "approval-call_delete_1",
        "requestReason": "delete_file cannot be undone",
    }
    sent = chat["bodies"][1]["messages"][-1]["parts"]
    (answered,) = [p for p in sent if p["type"] == "tool-delete_file"]
    assert answered["state"] == "approval-responded"
    assert answered["approval"]["approved"] is True
    assert len(chat["messages"]) == 2  # the continuation is the same assistant message
    parts = chat["messages"][-1]["parts"]
    (done,) = [p for p in parts if p["type"] == "tool-delete_file"]
    assert done["state"] == "output-available"
    assert done["output"] == {"deleted": "notes.txt"}
    text = "".join(p["text"] for p in parts if p["type"] == "text")
    assert text == 'The tool said: {"deleted":"notes.txt"}'

    # AG-UI: the run ends with an interrupt; a resume entry answers it, and the
    # second run's tool message gives the call its output in the client's thread.
    agent = results["ag-ui-approval"]
    calls = [c for m in agent["first"] for c in m.get("toolCalls") or ()]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("delete_file", {"path": "notes.txt"})
    ]
    assert agent["interrupts"] == [
        {
            "id": "approval-call_delete_1",
            "reason": "tool_approval",
            "message": "delete_file cannot be undone",
            "toolCallId": "call_delete_1",
        }
    ]
    assert agent["pending"] == []
    tool_messages = [m for m in agent["messages"] if m["role"] == "tool"]
    assert [(m["toolCallId"], m["content"]) for m in tool_messages] == [
        ("call_delete_1", '{"deleted":"notes.txt"}')
    ]
    answers = [m.get("content") for m in agent["messages"] if m["role"] == "assistant"]
    assert answers[-1] == 'The tool said: {"deleted":"notes.txt"}'

    # assistant-ui: the accumulated message requires action, then the answer.
    stream = results["data-stream-approval"]
    assert stream["first"]["status"] == {"type": "requires-action", "reason": "tool-calls"}
    (call,) = [p for p in stream["first"]["content"] if p["type"] == "tool-call"]
    assert (call["toolName"], call["args"], call.get("result")) == (
        "delete_file",
        {"path": "notes.txt"},
        None,
    )
    content = stream["message"]["content"]
    assert "".join(p["text"] for p in content if p["type"] == "text") == (
        'The tool said: {"deleted":"notes.txt"}'
    )

    # Each client's second request reached the model with the tool's output.
    seen = _model_saw(fake, before)
    assert len(seen) == 6
    continued = [m for m in seen if m[-1]["role"] == "tool"]
    assert len(continued) == 3
    for messages in continued:
        assert messages[-1]["content"] == '{"deleted":"notes.txt"}'
        assert messages[-2]["tool_calls"][0]["function"]["name"] == "delete_file"


def test_a_denial_with_a_reason_reaches_the_model(
    node_scripts: NodeScripts, server: str, fake: tuple[str, Any]
) -> None:
    before = len(fake[1].requests)
    results = _run(node_scripts, server, approved=False, reason="keep it")
    denied = "The user denied this: keep it"
    for messages in (m for m in _model_saw(fake, before) if m[-1]["role"] == "tool"):
        assert messages[-1]["content"] == denied
    chat = results["ai-approval"]
    (part,) = [p for p in chat["messages"][-1]["parts"] if p["type"] == "tool-delete_file"]
    assert part["state"] == "output-denied"
    assert part["approval"]["reason"] == "keep it"
    text = "".join(p["text"] for p in chat["messages"][-1]["parts"] if p["type"] == "text")
    assert text == f"The tool said: {denied}"
    assert chat["status"] == "ready"
    messages = results["ag-ui-approval"]["messages"]
    assert messages[-1]["content"] == f"The tool said: {denied}"
    tool_messages = [m for m in messages if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["The user denied this tool call."]


def test_an_ag_ui_frontend_tool_continues_the_run(
    node_scripts: NodeScripts, server: str, fake: tuple[str, Any]
) -> None:
    """A client's own tool: the run leaves the call to the browser, the next request answers."""
    weather = {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    before = len(fake[1].requests)
    case = {
        "id": "round",
        "client": "ag-ui-tool-round",
        "url": f"{server}/api/ag_ui",
        "prompt": "What is the weather in Paris?",
        "tools": [weather],
        "toolResult": "21 C and sunny",
    }
    result = node_scripts.run_batch("chat_clients.mjs", [case])["round"]
    assert result["ok"], result
    answers = [m.get("content") for m in result["messages"] if m["role"] == "assistant"]
    assert answers[-1] == "The tool said: 21 C and sunny"
    first, second = _model_saw(fake, before)
    # The client's tool and the server's own reach the model; the answer comes back.
    assert [t["function"]["name"] for t in fake[1].requests[before]["tools"]] == [
        "get_weather",
        "delete_file",
    ]
    assert first[-1]["role"] == "user"
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": "call_weather_1",
        "content": "21 C and sunny",
    }


@pytest.fixture(scope="module")
def location_server() -> Iterator[str]:
    """An endpoint whose run leaves a ``get_location`` call to the browser, any protocol."""
    from assistant_stream_starlette import AssistantStreamResponse, read_conversation
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.routing import Route

    from assistant_stream_core.conversation import response_encoder, tool_answers
    from assistant_stream_core.run import RunController, create_run

    async def chat(request: Request) -> AssistantStreamResponse:
        protocol = request.path_params["protocol"]
        conversation = await read_conversation(request, protocol)
        outputs = [a.result.value for a in tool_answers(conversation) if a.result is not None]

        async def run(controller: RunController) -> None:
            if outputs:
                controller.append_text(f"You are in {outputs[0]}.")
                return
            tool = await controller.add_tool_call("get_location", "call_location_1")
            tool.append_args_text("{}")
            tool.close()  # no result: the browser runs it

        encoder = response_encoder(protocol, conversation)
        return AssistantStreamResponse(create_run(run), encoder)

    app = Starlette(routes=[Route("/api/{protocol}", chat, methods=["POST"])])
    with uvicorn_server(app) as url:
        yield url


def test_an_ai_sdk_frontend_tool_runs_in_the_browser(
    node_scripts: NodeScripts, location_server: str
) -> None:
    case = {
        "id": "tool",
        "client": "ai-frontend-tool",
        "url": f"{location_server}/api/ui_message_stream",
        "prompt": "Where am I?",
        "toolOutput": "Lyon",
    }
    result = node_scripts.run_batch("chat_clients.mjs", [case])["tool"]
    assert result["ok"], result
    assert result["errors"] == []
    sent = result["bodies"][1]["messages"][-1]["parts"]
    (answered,) = [p for p in sent if p["type"] == "tool-get_location"]
    assert (answered["state"], answered["output"]) == ("output-available", "Lyon")
    (message,) = [m for m in result["messages"] if m["role"] == "assistant"]
    text = "".join(p["text"] for p in message["parts"] if p["type"] == "text")
    assert text == "You are in Lyon."


def test_an_assistant_transport_human_tool_call_gets_its_result(
    node_scripts: NodeScripts, location_server: str
) -> None:
    """The accumulator shows the call waiting; an add-tool-result command answers it."""
    case = {
        "id": "tool",
        "client": "assistant-transport-tool-round",
        "url": f"{location_server}/api/assistant_transport",
        "prompt": "Where am I?",
        "toolOutput": "Lyon",
    }
    result = node_scripts.run_batch("chat_clients.mjs", [case])["tool"]
    assert result["ok"], result
    first = result["first"]
    assert first["status"] == {"type": "requires-action", "reason": "tool-calls"}
    (call,) = [p for p in first["content"] if p["type"] == "tool-call"]
    assert (call["toolCallId"], call["toolName"], call.get("result")) == (
        "call_location_1",
        "get_location",
        None,
    )
    content = result["message"]["content"]
    assert "".join(p["text"] for p in content if p["type"] == "text") == "You are in Lyon."
