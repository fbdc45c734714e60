"""The example chat page (``examples/server.py``) in headless Chromium.

The example app runs under uvicorn on 127.0.0.1 in a thread; ``page.mjs``
drives Debian's Chromium through npm ``playwright-core`` and reports what the
page rendered and in which order it appeared. One Node process makes every
visit (starting Chromium is the slow part): each protocol the page decodes,
opened with ``?q=`` so it streams without a click, then a follow-up question;
``?fail=1``; and a phone-width window. Each protocol's page is saved as a
screenshot (under ``$SCREENSHOT_DIR`` when set, to look at them).
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


PROTOCOLS = ("data-stream", "assistant-transport")
QUESTION = "What is the weather in Paris?"
FOLLOW_UP = "And in Rome?"
#: A phone held upright.
NARROW = 360


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def visits(example: ModuleType, screenshots: Path) -> dict[str, dict[str, Any]]:
    """What the page showed on each visit, keyed by protocol, ``fail`` and ``narrow``."""
    node = require_executable("node")
    require_tool(Path(CHROMIUM).is_file(), f"Chromium at {CHROMIUM}", GET_CHROMIUM)
    require_tool(PLAYWRIGHT.is_file(), "npm playwright-core in tests/interop/node_modules")
    ask = f"q={QUESTION.replace(' ', '+')}&delay={DELAY}"
    plan: dict[str, dict[str, Any]] = {
        protocol: {
            "path": f"/?{ask}&protocol={protocol}",
            "followUp": FOLLOW_UP,
            "screenshot": str(screenshots / f"{protocol}.png"),
        }
        for protocol in PROTOCOLS
    }
    plan["fail"] = {"path": f"/?{ask}&fail=1"}
    plan["narrow"] = {
        "path": f"/?{ask}",
        "width": NARROW,
        "screenshot": str(screenshots / "narrow.png"),
    }
    with uvicorn_server(example.create_app()) as url:
        completed = subprocess.run(
            [node, str(SCRIPT), url, json.dumps(list(plan.values()))],
            capture_output=True,
            timeout=90,
            check=False,
        )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.returncode == 0, f"page.mjs failed:\n{stderr}"
    results = json.loads(completed.stdout)
    assert len(results) == len(plan)
    return dict(zip(plan, results, strict=True))


WEATHER = {"temp_c": 21, "sky": "clear", "wind_kmh": 12}


def answer_text(city: str) -> str:
    return (
        f"Let me check the weather in {city}. It is 21 °C and clear in {city}, "
        "with a light wind of 12 km/h."
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_answer_renders_in_order(visits: dict[str, dict[str, Any]], protocol: str) -> None:
    page = visits[protocol]
    assert page["status"] == "done"
    assert page["error"] is None
    assert page["consoleErrors"] == []
    # The follow-up's answer, the last on the page.
    kinds = [part["kind"] for part in page["parts"]]
    assert kinds == ["reasoning", "text", "tool", "text"]
    reasoning, first, tool, final = page["parts"]
    assert FOLLOW_UP in reasoning["text"]
    assert first["text"] == "Let me check the weather in Rome."
    assert tool["toolName"] == "get_weather"
    assert json.loads(tool["args"]) == {"city": "Rome", "unit": "celsius"}
    assert json.loads(tool["result"]) == {"city": "Rome", **WEATHER}
    assert final["text"] == " It is 21 °C and clear in Rome, with a light wind of 12 km/h."
    assert page["state"] == {"status": "done", "weather": {"city": "Rome", **WEATHER}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_query_in_the_url_streams_without_a_click(
    visits: dict[str, dict[str, Any]], protocol: str
) -> None:
    first = visits[protocol]["posted"][0]
    assert first == {
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_conversation_is_kept_and_sent(
    visits: dict[str, dict[str, Any]], protocol: str
) -> None:
    page = visits[protocol]
    assert [turn["role"] for turn in page["turns"]] == ["user", "assistant"] * 2
    assert [turn["text"] for turn in page["turns"][::2]] == [QUESTION, FOLLOW_UP]
    history = page["posted"][1]["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    texts = [m["content"][0]["text"] for m in history]
    assert texts == [QUESTION, answer_text("Paris"), FOLLOW_UP]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_answer_streams_incrementally(visits: dict[str, dict[str, Any]], protocol: str) -> None:
    page = visits[protocol]  # the milestones of the first answer
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


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_a_screenshot_per_protocol(visits: dict[str, dict[str, Any]], screenshots: Path) -> None:
    for protocol in PROTOCOLS:
        width, height = png_size(screenshots / f"{protocol}.png")
        assert width >= 800
        assert height >= 600


def test_tidy_at_narrow_widths(visits: dict[str, dict[str, Any]], screenshots: Path) -> None:
    narrow = visits["narrow"]
    assert narrow["status"] == "done"
    assert narrow["overflow"] <= 0, "the page scrolls sideways"
    assert png_size(screenshots / "narrow.png")[0] == NARROW
    # The status text coming and going leaves the input's width alone.
    for protocol in PROTOCOLS:
        assert len(set(visits[protocol]["inputWidths"])) == 1, visits[protocol]["inputWidths"]
