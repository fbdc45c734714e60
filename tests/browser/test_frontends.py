"""The front ends of ``examples/frontends`` chatting with the example server, in Chromium.

Three clients: assistant-ui on the Data Stream and on the Assistant Transport
(one app, two runtimes), and the Vercel AI SDK's ``useChat`` on the UI Message
Stream. For each, ``frontends.mjs`` asks a question, waits for the run to
end, reads the rendered thread and state panel, then asks a second question
in the same thread; once as is and once with ``?fail=1`` (the first answer
fails, the second is sent after unticking the switch). The apps are the built
ones that ``scripts/build-frontends.sh`` writes and the server serves under
``/apps/``; screenshots of each finished thread go to the test's temporary
folder (printed with ``-s``; kept by pytest for the last runs).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.adapters.servers import uvicorn_server
from tests.conftest import require_executable, require_tool

from .conftest import ROOT

SCRIPT = Path(__file__).with_name("frontends.mjs")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PLAYWRIGHT = ROOT / "tests" / "interop" / "node_modules" / "playwright-core" / "package.json"
DIST = ROOT / "examples" / "frontends" / "dist"
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


@pytest.fixture(scope="module")
def visits(example: ModuleType, screenshots: Path) -> dict[str, dict[str, Any]]:
    """What each client showed, keyed ``<client>`` and ``<client>-fail``."""
    node = require_executable("node")
    require_tool(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}")
    require_tool(PLAYWRIGHT.is_file(), "npm playwright-core in tests/interop/node_modules")
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
    with uvicorn_server(example.create_app()) as url:
        completed = subprocess.run(
            [node, str(SCRIPT), url, str(screenshots), json.dumps(scenarios)],
            capture_output=True,
            timeout=100,  # under the per-test timeout (pyproject.toml)
            check=False,
        )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"frontends.mjs failed:\n{stderr}"
    results: dict[str, dict[str, Any]] = json.loads(completed.stdout)
    assert sorted(results) == sorted(s["name"] for s in scenarios)
    return results


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
    # The card showed the arguments before the tool's result came.
    assert page["argsBeforeResult"], "the tool card never showed arguments before its result"
    assert json.loads(page["argsBeforeResult"][-1]) == {"city": "Paris", "unit": "celsius"}


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


def test_screenshots_of_each_thread(visits: dict[str, dict[str, Any]], screenshots: Path) -> None:
    names = sorted(path.name for path in screenshots.glob("*.png"))
    assert names == sorted(f"{name}-{turn}.png" for name in visits for turn in (1, 2))
    for path in screenshots.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
