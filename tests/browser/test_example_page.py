"""The example chat page (``examples/server.py``) in headless Chromium.

The example app runs under uvicorn on 127.0.0.1 in a thread; ``page.mjs``
drives Debian's Chromium through npm ``playwright-core`` and reports what the
page rendered and in which order it appeared. One Node process visits both
pages (a normal answer, then ``?fail=1``): starting Chromium is the slow part.
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

SCRIPT = Path(__file__).with_name("page.mjs")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
#: The README's "Try it" says the same.
GET_CHROMIUM = (
    "install it with `sudo apt-get install chromium` (Debian/Ubuntu; .ci/run does this), "
    "or point CHROMIUM_PATH at a Chromium or Chrome binary"
)
PLAYWRIGHT = ROOT / "tests" / "interop" / "node_modules" / "playwright-core" / "package.json"
#: Seconds between the fake model's tokens: long enough that each step
#: reaches the page in its own read, short enough for a fast test.
DELAY = 0.02


@pytest.fixture(scope="module")
def visits(example: ModuleType) -> dict[str, dict[str, Any]]:
    """What the page showed for ``/`` and ``/?fail=1``, keyed by ``ok``/``fail``."""
    node = require_executable("node")
    require_tool(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}", GET_CHROMIUM)
    require_tool(PLAYWRIGHT.is_file(), "npm playwright-core in tests/interop/node_modules")
    paths = {"ok": f"/?delay={DELAY}", "fail": f"/?fail=1&delay={DELAY}"}
    with uvicorn_server(example.create_app()) as url:
        completed = subprocess.run(
            [node, str(SCRIPT), url, *paths.values()],
            capture_output=True,
            timeout=60,
            check=False,
        )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"page.mjs failed:\n{stderr}"
    results = json.loads(completed.stdout)
    assert len(results) == len(paths)
    return dict(zip(paths, results, strict=True))


def test_answer_renders_in_order(visits: dict[str, dict[str, Any]]) -> None:
    page = visits["ok"]
    assert page["status"] == "done"
    assert page["error"] is None
    assert page["consoleErrors"] == []
    kinds = [part["kind"] for part in page["parts"]]
    assert kinds == ["reasoning", "text", "tool", "text"]
    reasoning, first, tool, final = page["parts"]
    assert "What is the weather in Paris?" in reasoning["text"]
    assert first["text"] == "Let me check the weather in Paris."
    assert tool["toolName"] == "get_weather"
    assert json.loads(tool["args"]) == {"city": "Paris", "unit": "celsius"}
    weather = {"city": "Paris", "temp_c": 21, "sky": "clear", "wind_kmh": 12}
    assert json.loads(tool["result"]) == weather
    assert final["text"] == " It is 21 °C and clear in Paris, with a light wind of 12 km/h."
    assert page["state"] == {"status": "done", "weather": weather}


def test_answer_streams_incrementally(visits: dict[str, dict[str, Any]]) -> None:
    page = visits["ok"]
    seen = page["seen"]
    order = ["reasoning", "text", "args", "argsComplete", "result", "state", "finalText"]
    assert set(order) <= seen.keys()
    # Each milestone shows no earlier than the one before it; the run sleeps
    # between them, so most land in separate renders, but a busy machine may
    # deliver two steps in one read.
    ticks = [seen[name] for name in order]
    assert ticks == sorted(ticks), seen
    assert seen["reasoning"] < seen["finalText"], seen
    # The arguments were on screen before they were complete JSON.
    assert seen["args"] <= seen["argsComplete"]
    # The first sentence grew on screen, token by token (7 tokens).
    assert len(page["textLengths"]) >= 3, page["textLengths"]
    assert page["textLengths"] == sorted(page["textLengths"])
    assert page["textLengths"][-1] == len("Let me check the weather in Paris.")


def test_failing_run_shows_the_error(
    visits: dict[str, dict[str, Any]], example: ModuleType
) -> None:
    page = visits["fail"]
    assert page["status"] == "failed"
    assert page["error"] == f"Error: {example.FAIL_MESSAGE}"
    # What streamed before the failure stays; nothing after it arrived.
    assert [part["kind"] for part in page["parts"]] == ["reasoning", "text"]
    assert page["parts"][1]["text"] == "Let me check the weather in Paris."
    assert page["state"] == {"status": "thinking"}
    assert page["seen"]["text"] <= page["seen"]["error"]
