"""Every chat route of the example server, over a real socket, read back by our decoders.

The browser test covers the page and the Data Stream; this one covers the
other protocols the example serves on the same port, the question taken from
``?q=`` and from each client's JSON body (read with the library's request
decoders), and ``?fail=1`` in every protocol.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import time
from types import ModuleType

import httpx
import pytest

from assistant_stream_core.chunks import Chunk, ErrorChunk
from assistant_stream_core.conversation import Conversation, Message, encode_request
from assistant_stream_core.conversation import TextPart as AskedText
from assistant_stream_core.message import ReasoningPart, TextPart, ToolCallPart, accumulate
from assistant_stream_core.protocols.base import Decoder
from tests.conftest import require_executable

from .conftest import ROOT

#: Route, protocol module, decoder class, and what the wire format cannot carry:
#: OpenAI's stream has no tool results (the client runs the tools) and no
#: state; the UI Message Stream has no state.
ROUTES = [
    ("/api/chat/data-stream", "data_stream", "DataStreamDecoder", set()),
    ("/api/chat/assistant-transport", "assistant_transport", "AssistantTransportDecoder", set()),
    ("/v1/chat/completions", "openai_chat", "OpenAIChatDecoder", {"result", "state"}),
    ("/api/chat/ui-message-stream", "ui_message_stream", "UIMessageStreamDecoder", {"state"}),
    ("/api/chat/ag-ui", "ag_ui", "AGUIDecoder", set()),
]
IDS = [route[1] for route in ROUTES]
WEATHER = {"city": "Rome", "temp_c": 21, "sky": "clear", "wind_kmh": 12}


def _decode(protocol: str, decoder_class: str, body: bytes) -> list[Chunk]:
    module = importlib.import_module(f"assistant_stream_core.protocols.{protocol}")
    decoder: Decoder = getattr(module, decoder_class)()
    chunks: list[Chunk] = []
    # Small pieces: the decoders must not care where the reads split.
    for start in range(0, len(body), 7):
        chunks += decoder.feed(body[start : start + 7])
    return chunks + decoder.finish()


def _post(client: httpx.Client, path: str, query: str = "") -> httpx.Response:
    """POST the question in the body its route's client sends.

    The Assistant Transport route gets the plain page's body (the Data Stream
    runtime's ``{"messages": [...]}``, which the page at ``/`` posts to both
    assistant-ui routes); ``test_example_frontend_routes`` sends it commands.
    """
    protocol = {route[0]: route[1] for route in ROUTES}[path]
    question = Message(
        role="user", id="u1", parts=(AskedText(text="What is the weather in Rome?"),)
    )
    body = encode_request(
        "data_stream" if protocol == "assistant_transport" else protocol,
        Conversation(messages=(question,)),
    )
    return client.post(path + query, json=body)


def test_a_malformed_body_gets_a_json_400(client: httpx.Client) -> None:
    response = client.post("/api/chat/ui-message-stream", json={"messages": [{"role": "user"}]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "messages[0].parts"


@pytest.mark.parametrize(("path", "protocol", "decoder", "lacks"), ROUTES, ids=IDS)
def test_route_streams_the_scripted_answer(
    client: httpx.Client, path: str, protocol: str, decoder: str, lacks: set[str]
) -> None:
    response = _post(client, path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache, no-transform"
    message = accumulate(_decode(protocol, decoder, response.content), strict=True)
    assert [type(part) for part in message.parts] == [
        ReasoningPart,
        TextPart,
        ToolCallPart,
        TextPart,
    ]
    reasoning, first, tool, final = message.parts
    assert isinstance(reasoning, ReasoningPart)
    assert "What is the weather in Rome?" in reasoning.text
    assert isinstance(first, TextPart)
    assert first.text == "Let me check the weather in Rome."
    assert isinstance(tool, ToolCallPart)
    assert tool.tool_name == "get_weather"
    assert tool.args == {"city": "Rome", "unit": "celsius"}
    if "result" not in lacks:
        assert tool.result == WEATHER
    assert isinstance(final, TextPart)
    assert final.text == " It is 21 °C and clear in Rome, with a light wind of 12 km/h."
    if "state" not in lacks:
        assert message.metadata.unstable_state == {"status": "done", "weather": WEATHER}
    assert message.errors == ()


@pytest.mark.parametrize(("path", "protocol", "decoder", "lacks"), ROUTES, ids=IDS)
def test_fail_ends_with_the_error(
    client: httpx.Client,
    example: ModuleType,
    path: str,
    protocol: str,
    decoder: str,
    lacks: set[str],
) -> None:
    response = _post(client, path, "?fail=1")
    assert response.status_code == 200
    chunks = _decode(protocol, decoder, response.content)
    errors = [chunk for chunk in chunks if isinstance(chunk, ErrorChunk)]
    assert [error.error for error in errors] == [example.FAIL_MESSAGE]
    message = accumulate(chunks)
    assert [type(part) for part in message.parts] == [ReasoningPart, TextPart]


@pytest.mark.parametrize("path", ["/api/chat/data-stream", "/api/chat/ag-ui"])
def test_get_takes_the_question_from_the_query(client: httpx.Client, path: str) -> None:
    protocol, decoder = {
        "/api/chat/data-stream": ("data_stream", "DataStreamDecoder"),
        "/api/chat/ag-ui": ("ag_ui", "AGUIDecoder"),
    }[path]
    response = client.get(path, params={"q": "And in New York?"})
    message = accumulate(_decode(protocol, decoder, response.content), strict=True)
    tool = message.parts[2]
    assert isinstance(tool, ToolCallPart)
    assert tool.args == {"city": "New York", "unit": "celsius"}


def test_openai_route_is_post_only(client: httpx.Client) -> None:
    assert client.get("/v1/chat/completions").status_code == 405


def test_page_is_served(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/api/chat/data-stream" in response.text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_readme_demo_command_serves_the_example() -> None:
    """``./scripts/demo.sh --port N`` (the README's first command) serves the app."""
    bash = require_executable("bash")
    port = _free_port()
    process = subprocess.Popen(
        [bash, str(ROOT / "scripts" / "demo.sh"), "--port", str(port), "--delay", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        # demo.sh checks the install and the front ends' build before serving:
        # seconds on a quiet machine, much longer on a loaded one.
        deadline = time.monotonic() + 90
        while True:
            try:
                response = httpx.get(url + "/api/chat/data-stream", params={"q": "in Oslo"})
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else b""
                    pytest.fail(f"demo.sh did not serve:\n{output.decode(errors='replace')}")
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        message = accumulate(_decode("data_stream", "DataStreamDecoder", response.content))
        assert message.metadata.unstable_state == {
            "status": "done",
            "weather": {**WEATHER, "city": "Oslo"},
        }
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
