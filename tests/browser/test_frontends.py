"""The front ends of ``examples/frontends`` chatting with the example server, in Chromium.

Three clients: assistant-ui on the Data Stream and on the Assistant Transport
(one app, two runtimes), and the Vercel AI SDK's ``useChat`` on the UI Message
Stream. For each, ``frontends.mjs`` asks a question, waits for the run to
end, reads the rendered thread and state panel, then asks a second question
in the same thread; once as is and once with ``?fail=1`` (the first answer
fails, the second is sent after unticking the switch). The apps are the built
ones that ``scripts/build-frontends.sh`` writes and the server serves under
``/apps/``; screenshots of each finished thread go to the test's temporary
folder (printed with ``-s``; kept by pytest for the last runs). Last, the
same apps under Vite's dev server, on another origin than the chat routes:
what CORS and the exposed protocol headers must allow.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.adapters.servers import uvicorn_server
from tests.conftest import require_executable, require_tool

from .conftest import ROOT

SCRIPT = Path(__file__).with_name("frontends.mjs")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PLAYWRIGHT = ROOT / "tests" / "interop" / "node_modules" / "playwright-core" / "package.json"
FRONTENDS = ROOT / "examples" / "frontends"
DIST = FRONTENDS / "dist"
VITE = FRONTENDS / "node_modules" / ".bin" / "vite"
#: Seconds between the fake model's tokens: each step reaches the page in
#: its own read, and a run takes about a second.
DELAY = 0.02
#: Client name -> page path (without the query's delay/fail).
CLIENTS = {
    "assistant-ui-data-stream": "/apps/assistant-ui/?protocol=data-stream",
    "assistant-ui-assistant-transport": "/apps/assistant-ui/?protocol=assistant-transport",
    "ai-sdk-ui-message-stream": "/apps/ai-sdk/?",
}
#: What a finished tool card says about its state, per client.
TOOL_DONE = {
    "assistant-ui-data-stream": "complete",
    "assistant-ui-assistant-transport": "complete",
    "ai-sdk-ui-message-stream": "output-available",
}
SECOND = "And what about the weather in Rome?"


def _weather(city: str) -> dict[str, Any]:
    return {"city": city, "temp_c": 21, "sky": "clear", "wind_kmh": 12}


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("frontend-screenshots")
    print(f"screenshots of the front ends: {path}")
    return path


def _chat(base: str, screenshots: Path, scenarios: list[dict[str, str]]) -> dict[str, Any]:
    """Run ``frontends.mjs`` on ``scenarios`` against the pages at ``base``."""
    node = require_executable("node")
    require_tool(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}")
    require_tool(PLAYWRIGHT.is_file(), "npm playwright-core in tests/interop/node_modules")
    completed = subprocess.run(
        [node, str(SCRIPT), base, str(screenshots), json.dumps(scenarios)],
        capture_output=True,
        timeout=100,  # under the per-test timeout (pyproject.toml)
        check=False,
    )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"frontends.mjs failed:\n{stderr}"
    results: dict[str, Any] = json.loads(completed.stdout)
    assert sorted(results) == sorted(s["name"] for s in scenarios)
    return results


class BodyRecorder:
    """ASGI middleware: the JSON body of every POST, with its path, in order."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[tuple[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        pieces: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                pieces.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append((scope["path"], json.loads(b"".join(pieces))))
            return message

        await self.app(scope, recording_receive, send)


@pytest.fixture(scope="module")
def recorder(example: ModuleType) -> BodyRecorder:
    """The example app, recording what the clients POST."""
    return BodyRecorder(example.create_app())


@pytest.fixture(scope="module")
def visits(recorder: BodyRecorder, screenshots: Path) -> dict[str, dict[str, Any]]:
    """What each client showed, keyed ``<client>`` and ``<client>-fail``."""
    require_tool(
        (DIST / "assistant-ui" / "index.html").is_file()
        and (DIST / "ai-sdk" / "index.html").is_file(),
        "the built front ends (scripts/build-frontends.sh)",
    )
    scenarios = []
    for name, path in CLIENTS.items():
        scenarios.append({"name": name, "path": f"{path}&delay={DELAY}", "second": SECOND})
        scenarios.append(
            {"name": f"{name}-fail", "path": f"{path}&delay={DELAY}&fail=1", "second": SECOND}
        )
    with uvicorn_server(recorder) as url:
        return _chat(url, screenshots, scenarios)


def test_apps_page_links_both(example: ModuleType) -> None:
    require_tool(
        (DIST / "index.html").is_file(), "the built front ends (scripts/build-frontends.sh)"
    )
    with uvicorn_server(example.create_app()) as url:
        response = httpx.get(url + "/apps/")
        assert response.status_code == 200
        assert 'href="./assistant-ui/"' in response.text
        assert 'href="./ai-sdk/"' in response.text
        # Without the slash, the page's relative links would miss: redirected.
        bare = httpx.get(url + "/apps/assistant-ui")
        assert bare.status_code == 307
        assert bare.headers["location"].endswith("/apps/assistant-ui/")


def _roles(page: dict[str, Any]) -> list[str]:
    return [message["role"] for message in page["messages"]]


def _assert_answer(client: str, message: dict[str, Any], question: str, city: str) -> None:
    assert message["role"] == "assistant"
    assert message["errors"] == []
    kinds = [part["kind"] for part in message["parts"]]
    assert kinds == ["reasoning", "text", "tool", "text"]
    reasoning, first, tool, final = message["parts"]
    assert reasoning["open"] is False  # shown collapsed
    assert f"The user asks: “{question}”" in reasoning["text"]
    assert first["text"] == f"Let me check the weather in {city}."
    assert tool["toolName"] == "get_weather"
    assert tool["toolState"] == TOOL_DONE[client]
    assert json.loads(tool["args"]) == {"city": city, "unit": "celsius"}
    assert json.loads(tool["result"]) == _weather(city)
    assert (
        final["text"].strip() == f"It is 21 °C and clear in {city}, with a light wind of 12 km/h."
    )


@pytest.mark.parametrize("client", CLIENTS)
def test_answer_is_rendered(visits: dict[str, dict[str, Any]], client: str) -> None:
    visit = visits[client]
    assert visit["consoleErrors"] == []
    page = visit["turns"][0]
    assert _roles(page) == ["user", "assistant"]
    user, answer = page["messages"]
    assert [part["text"] for part in user["parts"]] == ["What is the weather in Paris?"]
    _assert_answer(client, answer, "What is the weather in Paris?", "Paris")
    assert page["errors"] == []
    assert page["state"] == {"status": "done", "weather": _weather("Paris")}
    # The card showed the arguments before the tool's result came, as they
    # streamed: assistant-ui shows the raw text (a prefix of the final text),
    # useChat its partial parse (values that are prefixes of the final ones).
    # On a busy machine the browser may skip frames, so later pieces can render
    # together with the result: only the first piece is required here (the
    # server pauses 20 ms between pieces); _assert_answer checks the end.
    final_text = answer["parts"][2]["args"]
    final_args = json.loads(final_text)
    shown = page["argsBeforeResult"]
    assert shown, "the tool card never showed arguments before its result"
    for text in shown:
        try:
            partial = json.loads(text)
        except json.JSONDecodeError:
            assert final_text.startswith(text), (text, final_text)
        else:
            assert all(final_args[key].startswith(value) for key, value in partial.items()), text


@pytest.mark.parametrize("client", CLIENTS)
def test_second_message_keeps_the_history(visits: dict[str, dict[str, Any]], client: str) -> None:
    first, second = visits[client]["turns"]
    assert _roles(second) == ["user", "assistant", "user", "assistant"]
    assert second["messages"][:2] == first["messages"]
    assert [part["text"] for part in second["messages"][2]["parts"]] == [SECOND]
    _assert_answer(client, second["messages"][3], SECOND, "Rome")
    assert second["state"] == {"status": "done", "weather": _weather("Rome")}


@pytest.mark.parametrize("client", CLIENTS)
def test_failure_is_shown_and_the_chat_goes_on(
    visits: dict[str, dict[str, Any]], client: str, example: ModuleType
) -> None:
    visit = visits[f"{client}-fail"]
    assert visit["consoleErrors"] == []
    failed, recovered = visit["turns"]
    assert _roles(failed) == ["user", "assistant"]
    assert failed["errors"] == [example.FAIL_MESSAGE]
    parts = failed["messages"][1]["parts"]
    assert [part["kind"] for part in parts] == ["reasoning", "text"]
    assert parts[1]["text"] == "Let me check the weather in Paris."
    assert failed["state"] == {"status": "thinking"}
    assert failed["inputEnabled"]
    # The next question is sent and answered in the same thread.
    assert _roles(recovered) == ["user", "assistant", "user", "assistant"]
    assert recovered["messages"][1]["parts"] == parts
    _assert_answer(client, recovered["messages"][3], SECOND, "Rome")
    assert recovered["state"] == {"status": "done", "weather": _weather("Rome")}


def _text(message: dict[str, Any]) -> str:
    """The text of a message in any client's body (content or parts)."""
    content = message.get("content", message.get("parts"))
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def test_clients_post_the_conversation(
    visits: dict[str, dict[str, Any]], recorder: BodyRecorder
) -> None:
    """Per client, four POSTs: two questions, then two more with ``?fail=1``."""
    by_path: dict[str, list[Any]] = {}
    for path, body in recorder.bodies:
        by_path.setdefault(path, []).append(body)
    assert sorted(by_path) == [
        "/api/chat/assistant-transport",
        "/api/chat/data-stream",
        "/api/chat/ui-message-stream",
    ]
    for path, bodies in by_path.items():
        assert [body["fail"] for body in bodies] == [False, False, True, False], path

    # The Data Stream and useChat send the whole conversation every time: as
    # language-model messages (the tool result in a message of its own) and
    # as UI messages (the tool call and result in one part).
    history = {
        "/api/chat/data-stream": ["user", "assistant", "tool", "assistant", "user"],
        "/api/chat/ui-message-stream": ["user", "assistant", "user"],
    }
    for path, roles in history.items():
        first, second, failed, retry = by_path[path]
        assert [m["role"] for m in first["messages"]] == ["user"]
        assert [m["role"] for m in second["messages"]] == roles
        assert _text(second["messages"][-1]) == SECOND
        # The failed answer (text only) stays in the history of the next request.
        assert [m["role"] for m in failed["messages"]] == ["user"]
        assert [m["role"] for m in retry["messages"]] == ["user", "assistant", "user"]
    assert by_path["/api/chat/ui-message-stream"][1]["trigger"] == "submit-message"

    # The Assistant Transport sends the new message as a command, and the thread as state.
    first, second = by_path["/api/chat/assistant-transport"][:2]
    assert first["state"] == {"messages": []}
    (command,) = second["commands"]
    assert command["type"] == "add-message"
    assert _text(command["message"]) == SECOND
    assert [m["role"] for m in second["state"]["messages"]] == ["user", "assistant"]
    assert second["state"]["weather"] == _weather("Paris")


def test_screenshots_of_each_thread(visits: dict[str, dict[str, Any]], screenshots: Path) -> None:
    names = sorted(path.name for path in screenshots.glob("*.png"))
    assert names == sorted(f"{name}-{turn}.png" for name in visits for turn in (1, 2))
    for path in screenshots.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def vite_dev_server(api: str) -> Iterator[str]:
    """Vite's dev server on ``examples/frontends``, calling the routes at ``api``."""
    port = _free_port()
    # --bypass-lock: a developer's own dev server on the project may be running.
    command = [
        str(VITE),
        "--port",
        str(port),
        "--strictPort",
        "--host",
        "127.0.0.1",
        "--bypass-lock",
    ]
    process = subprocess.Popen(
        command,
        cwd=FRONTENDS,
        env={**os.environ, "VITE_API_BASE": api},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, ended as a whole below
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/ai-sdk/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, f"vite exited with {process.returncode}"
                assert time.monotonic() < deadline, "vite's dev server did not answer in 30 s"
                time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def test_apps_on_vites_dev_server_call_another_origin(example: ModuleType, tmp_path: Path) -> None:
    require_tool(
        VITE.is_file(), "Vite in examples/frontends/node_modules (scripts/build-frontends.sh)"
    )
    scenarios = [
        {"name": name, "path": f"{path.removeprefix('/apps')}&delay={DELAY}", "second": SECOND}
        for name, path in CLIENTS.items()
    ]
    with uvicorn_server(example.create_app()) as api, vite_dev_server(api) as url:
        assert url != api
        results = _chat(url, tmp_path, scenarios)
    for client, visit in results.items():
        assert visit["consoleErrors"] == []
        first, second = visit["turns"]
        _assert_answer(client, first["messages"][1], "What is the weather in Paris?", "Paris")
        assert _roles(second) == ["user", "assistant", "user", "assistant"]
        _assert_answer(client, second["messages"][3], SECOND, "Rome")
        assert second["state"] == {"status": "done", "weather": _weather("Rome")}


def test_recorded_bodies_read_as_conversations(
    visits: dict[str, dict[str, Any]], recorder: BodyRecorder
) -> None:
    """What assistant-ui and useChat really POST reads into the neutral conversation."""
    from assistant_stream_core.conversation import ToolCallPart, decode_request
    from assistant_stream_core.conversation.assistant_transport import read_thread

    protocols = {
        "/api/chat/data-stream": "data_stream",
        "/api/chat/assistant-transport": "assistant_transport",
        "/api/chat/ui-message-stream": "ui_message_stream",
    }
    read: dict[str, list[Any]] = {}
    for path, body in recorder.bodies:
        read.setdefault(path, []).append(decode_request(protocols[path], body))
    for path in ("/api/chat/data-stream", "/api/chat/ui-message-stream"):
        second = read[path][1]
        roles = [m.role for m in second.messages]
        # The tool result is folded onto its call: no "tool" message is left.
        assert roles in (["user", "assistant", "user"], ["user", "assistant", "assistant", "user"])
        assert second.last_user_text == SECOND
        calls = [p for m in second.messages for p in m.parts if isinstance(p, ToolCallPart)]
        (call,) = calls
        assert (call.tool_name, call.args) == ("get_weather", {"city": "Paris", "unit": "celsius"})
        assert call.result is not None
        assert call.result.value == _weather("Paris")
        assert "It is 21 °C" in "".join(m.text for m in second.messages)
    first, second = read["/api/chat/assistant-transport"][:2]
    assert [(m.role, m.text) for m in second.messages] == [("user", SECOND)]
    assert second.state["weather"] == _weather("Paris")
    assert first.state == {"messages": []}
    # The thread the example keeps in state reads back too: the whole history.
    thread = read_thread(second.state["messages"])
    assert [m.role for m in thread] == ["user", "assistant"]
    (call,) = [p for p in thread[1].parts if isinstance(p, ToolCallPart)]
    assert call.result is not None
    assert call.result.value == _weather("Paris")
